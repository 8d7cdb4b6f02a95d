/*
 * thread-internal.h — one begin/end hook for every thread keel starts.
 *
 * Event-loop threads (src/api/http.c) and handler workers (src/api/
 * http_pool.c) call keel__thread_begin first thing and keel__thread_end
 * last.  Per-thread state of other units (metric shards, a per-thread
 * buffer) is set up and torn down there, so no unit has to know who starts
 * threads.  The main thread never calls them: it is KEEL_THREAD_MAIN.
 */
#ifndef KEEL_THREAD_INTERNAL_H
#define KEEL_THREAD_INTERNAL_H

typedef enum keel_thread_kind {
    KEEL_THREAD_MAIN   = 0, /* the process's first thread, CLI, tests */
    KEEL_THREAD_LOOP   = 1, /* an HTTP event loop: must never block */
    KEEL_THREAD_WORKER = 2  /* a handler worker: may block until the call's deadline */
} keel_thread_kind;

/* Marks the calling thread as kind number index (0-based within its kind)
 * and runs the per-thread set-up of the units that need one. */
void keel__thread_begin(keel_thread_kind kind, int index);
/* Runs the per-thread tear-down; the thread is KEEL_THREAD_MAIN again. */
void keel__thread_end(void);

/* What the calling thread is, and its index within its kind. */
keel_thread_kind keel__thread_kind(void);
int              keel__thread_index(void);
const char      *keel__thread_kind_name(keel_thread_kind kind);

/* The CLOCK_REALTIME instant ms milliseconds from now (0 or less: now), the
 * form pthread_cond_timedwait and pthread_timedjoin_np take. */
struct timespec;
void keel__realtime_after_ms(struct timespec *ts, long long ms);

#endif /* KEEL_THREAD_INTERNAL_H */
