/*
 * pool-internal.h — the handler worker pool and the per-loop mailboxes.
 *
 * docs/architecture.md, wave-2 decision 2: I/O stays on the event loops;
 * a method that may block runs on one of at most KEEL_WORKERS threads, and
 * its finished job is posted back to the mailbox of the loop that owns the
 * request.  Only that loop thread runs the job's done callback, so only it
 * touches its evhttp_request.
 *
 *   loop thread                 worker thread               loop thread
 *   keel__pool_submit(job) ──► job->run(job) ──► mailbox ──► job->done(job)
 *          │ queue full / draining: KEEL_EUNAVAIL, the job stays the caller's
 *
 * Workers are started on demand (a job waits and no worker is idle) up to
 * the maximum and then stay until keel__pool_free.  At most max_queue jobs
 * wait for a worker; one more is refused (counted in rejected) so that the
 * caller answers 503 at once instead of queueing past every deadline.
 */
#ifndef KEEL_POOL_INTERNAL_H
#define KEEL_POOL_INTERNAL_H

#include <stddef.h>

struct event_base;

typedef struct keel_pool    keel_pool;
typedef struct keel_mailbox keel_mailbox;
typedef struct keel_job     keel_job;

/* One unit of work.  The submitter fills run, done and home and keeps the
 * memory alive until done has run; the pool only links it. */
struct keel_job {
    keel_job     *next;                  /* queue / mailbox link: the pool's */
    void        (*run)(keel_job *job);   /* on a worker thread */
    /* On the home mailbox's loop thread (or in keel__mailbox_free): ran is
     * 1 after run, 0 when the pool drained the job before any worker took
     * it (the caller answers 503).  done may free the job. */
    void        (*done)(keel_job *job, int ran);
    keel_mailbox *home;                  /* borrowed: where done is posted */
    int           ran;                   /* the pool's */
};

/* ---- mailboxes (one per event loop) ----------------------------------------- */

/* A mailbox whose jobs' done callbacks run on base's loop (an eventfd the
 * posting thread writes to; no other thread calls into base, which may
 * have no lock).  base borrowed.  *out new.  KEEL_ENOMEM. */
int  keel__mailbox_new(struct event_base *base, keel_mailbox **out);
/* Runs done of every job still posted (on the calling thread), then frees.
 * Call once no worker can post to it any more (after keel__pool_free). */
void keel__mailbox_free(keel_mailbox *mb);
/* Any thread: appends job and wakes the loop.  job borrowed until done. */
void keel__mailbox_post(keel_mailbox *mb, keel_job *job);

/* ---- the pool ------------------------------------------------------------------ */

typedef struct keel_pool_stats {
    int           workers;    /* threads started so far */
    int           busy;       /* running a job now */
    int           queued;     /* waiting for a worker */
    unsigned long done;       /* jobs run to the end */
    unsigned long rejected;   /* refused: queue full or draining */
    unsigned long drained;    /* queued jobs handed back by keel__pool_drain */
    unsigned long dropped;    /* replies nobody waited for any more (keel__pool_note_dropped) */
} keel_pool_stats;

/* At most max_workers threads (1..1024) and max_queue waiting jobs
 * (0..1 000 000; 0 = a job needs an idle or new worker).  *out new.
 * KEEL_EINVAL for bounds, KEEL_ENOMEM. */
int  keel__pool_new(int max_workers, int max_queue, keel_pool **out);
/* Takes job (it must have run, done and home).  0, or KEEL_EUNAVAIL when
 * the queue is full or the pool is draining — then the job stays the
 * caller's and nothing of it runs. */
int  keel__pool_submit(keel_pool *p, keel_job *job);
/* Stops taking jobs; every queued job not yet started is posted to its home
 * with ran = 0.  Running jobs go on.  Returns at once; idempotent. */
void keel__pool_drain(keel_pool *p);
/* Drains, waits for running jobs (bounded by their own deadlines), joins
 * the threads and frees.  NULL is a no-op. */
void keel__pool_free(keel_pool *p);
/* A consistent snapshot of the counters. */
void keel__pool_stats(keel_pool *p, keel_pool_stats *st);
/* Counts a finished job whose result was thrown away (the client left). */
void keel__pool_note_dropped(keel_pool *p);

#endif /* KEEL_POOL_INTERNAL_H */
