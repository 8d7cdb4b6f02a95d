/*
 * metrics-internal.h — per-method counters, merged on scrape (docs/observability.md).
 *
 * Every thread that records a call owns one shard: counters it alone writes
 * (relaxed atomic load + store, no lock-prefixed instruction, no lock, no
 * allocation after the thread's first call into a chunk of methods).  Shards
 * sit in one append-only list; a scrape walks it and sums with relaxed
 * loads.  A thread that exits leaves its shard (and its counts) behind for
 * the next new thread to reuse, so counters never go backwards.
 *
 * Methods get a slot by name (module, method) when a runtime is built;
 * several runtimes in one process (tests) share the slot of a name.
 */
#ifndef KEEL_METRICS_INTERNAL_H
#define KEEL_METRICS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/runtime-internal.h"

#define KEEL_METRICS_MAX_METHODS 1024  /* method slots per process */
#define KEEL_METRICS_MAX_IFACE   512   /* typed-iface call sites per process */
#define KEEL_METRICS_TRANSPORTS  4     /* keel_transport: local, http, cli, remote */

/* Turns recording on (default) or off (KEEL_METRICS=false): off makes
 * keel__metrics_call / _bytes / keel_iface_count return at once. */
void keel__metrics_set_enabled(int on);
int  keel__metrics_enabled(void);

/* The slot of module.method (registered on first sight, names copied).
 * -1 when KEEL_METRICS_MAX_METHODS are in use (the method is then not
 * counted) or a name is longer than 63 bytes. */
int  keel__metrics_method_slot(const char *module, const char *method);

/* One finished call of slot over transport tr: rc 0 or KEEL_E*, duration in
 * ns.  Cheap: no lock, no allocation (after the thread's first call). */
void keel__metrics_call(int slot, keel_transport tr, int rc, int64_t dur_ns);
/* Body bytes of one call (HTTP and remote transports). */
void keel__metrics_bytes(int slot, keel_transport tr, uint64_t in, uint64_t out);

/* Bytes of the call last dispatched on ctx (its module and method), for
 * the HTTP layer that knows body sizes; nothing if no method ran. */
void keel__metrics_ctx_bytes(keel_ctx *ctx, uint64_t in, uint64_t out);

/* Server-level counters, per thread like the rest; a gauge is the
 * difference of two counters (in flight = started - finished), so each
 * side is still written by one thread only.  Names in metrics_text.c. */
typedef enum keel_metrics_counter {
    KEEL_MC_HTTP_STARTED = 0,    /* requests routed */
    KEEL_MC_HTTP_FINISHED,       /* replies handed back (sent or dropped) */
    KEEL_MC_TRACE_EXPORTED,      /* spans the collector accepted (always counted) */
    KEEL_MC_TRACE_DROPPED,       /* spans lost: queue full or collector failing */
    KEEL_MC__COUNT
} keel_metrics_counter;

void keel__metrics_count(keel_metrics_counter c, uint64_t v);
/* One HTTP reply with status 100..599 (others are counted as 0). */
void keel__metrics_http_status(int status);

/* ---- exposition ---------------------------------------------------------- */

/* A growing text buffer for the Prometheus text format. */
typedef struct keel_metrics_buf {
    char  *p;
    size_t len, cap;
    int    oom;      /* an append failed: the text is incomplete */
} keel_metrics_buf;

void keel__mbuf_printf(keel_metrics_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "# HELP name help\n# TYPE name type\n" */
void keel__mbuf_family(keel_metrics_buf *b, const char *name, const char *type, const char *help);
/* A label value escaped for the text format (\\, \", \n). */
void keel__mbuf_label(keel_metrics_buf *b, const char *value);

/* Extra families written on every scrape, after keel's own: the HTTP
 * server's connection counters (the core writes its event and store pool
 * families itself: keel__events_metrics, keel__store_pool_read).  fn runs on the
 * scraping thread and must write whole families with keel__mbuf_family
 * first; names must not collide.  At most 16 collectors.  0, or KEEL_ELIMIT. */
typedef void (*keel_metrics_collector)(void *arg, keel_runtime *rt, keel_metrics_buf *b);
int  keel__metrics_collector_add(keel_metrics_collector fn, void *arg);
void keel__metrics_collector_remove(keel_metrics_collector fn, void *arg);

/* The whole exposition for rt: per-method families, typed-iface counters,
 * process families (metrics_process.c), remote breakers, collectors.
 * *text new (free), NUL-terminated.  0 or KEEL_ENOMEM. */
int  keel__metrics_render(keel_runtime *rt, char **text, size_t *len);

/* process_* families from /proc/self (metrics_process.c). */
void keel__metrics_process(keel_metrics_buf *b);
/* keel_heap_bytes and keel_sqlite_memory_bytes (metrics_process.c; called
 * by keel__metrics_process). */
void keel__metrics_memory(keel_metrics_buf *b);

#endif /* KEEL_METRICS_INTERNAL_H */
