/*
 * http_server-internal.h — the HTTP server's state, shared by http.c (its
 * life: listeners, loops, signals, drain) and http_config.c (what the
 * configuration says it should be).  Not for routes: they see only
 * keel_http_worker and keel_http_scope (http-internal.h).
 */
#ifndef KEEL_HTTP_SERVER_INTERNAL_H
#define KEEL_HTTP_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "api/http-internal.h"
#include "core/thread-internal.h"

#define HTTP_LISTENERS (2 + KEEL_HTTP_MAX_EXPOSE) /* main, expose…, admin */
#define HTTP_MAX_THREADS 64

typedef struct http_loop {
    keel_http_worker     w;          /* first: routes see only this part */
    struct http_server  *srv;
    struct event_base   *base;
    struct evhttp       *http[HTTP_LISTENERS];
    struct evhttp_bound_socket *bound[HTTP_LISTENERS];
    keel_http_scope      scope[HTTP_LISTENERS];
    keel_job             stop;       /* posted to the mailbox by the main thread */
    struct event        *drain_ev;
    struct event        *flush_ev;   /* writes the access-log lines of one iteration */
    int64_t              drain_deadline_ms;
    pthread_t            thread;
    int                  started;
} http_loop;

typedef struct http_server {
    keel_runtime     *rt;
    const char       *host;
    int               nlisteners;        /* 1 + expose count (+ 1 admin) */
    int               ports[HTTP_LISTENERS];
    const char       *hosts[HTTP_LISTENERS];
    const char       *modules[HTTP_LISTENERS]; /* NULL for the main port */
    int               admin_li;          /* index of the admin listener, 0 = none */
    keel_http_expose  expose[KEEL_HTTP_MAX_EXPOSE];
    int               nloops;
    http_loop        *loops;
    long long         max_body;
    long long         timeout_ms;
    keel_http_limits  limits;            /* the connection hook's (http_conn.c) */
    long long         evhttp_max_body;   /* the largest route limit: evhttp never answers 413 */
    long long         drain_delay_ms;
    int               workers, worker_queue;
    keel_pool        *pool;              /* handler workers, shared by the loops */
    atomic_int        stopping;          /* first signal: /readyz answers 503 */
    atomic_int        force;             /* second signal: end the drain now */
} http_server;

/* Reads the core keys, the limits and KEEL_EXPOSE into srv (rt borrowed).
 * KEEL_ECONFIG with err naming the key. */
int keel__http_configure(http_server *srv, keel_runtime *rt, char *err, size_t errlen);

#endif
