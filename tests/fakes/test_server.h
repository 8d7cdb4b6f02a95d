/*
 * test_server.h — a runtime served by keel__http_serve on a thread, for
 * tests that speak HTTP to it over loopback.  No store: give modules that
 * need one to keel_test_rt_start (test_runtime.h) instead.
 *
 *     static const keel_module *const mods[] = { &m_t, NULL };
 *     const char *const env[] = { "KEEL_WORKERS=1", NULL };
 *     struct keel_test_server s;
 *     if (keel_test_server_start(&s, mods, env, err, sizeof err) != 0)
 *         fail_msg("server: %s", err);
 *     ... connect to 127.0.0.1:s.port ...
 *     assert_int_equal(keel_test_server_stop(&s, 1), 0);   // SIGTERM, then join
 */
#ifndef KEEL_TEST_SERVER_H
#define KEEL_TEST_SERVER_H

#include <pthread.h>
#include <stddef.h>

#include "keel/module.h"
#include "core/runtime-internal.h"

struct keel_test_server {
    keel_runtime *rt;      /* owned; NULL until started */
    int           port;    /* the loopback port it serves on */
    int           rc;      /* keel__http_serve's result, after stop */
    pthread_t     thread;
};

/* A loopback TCP port that was free a moment ago, or -1. */
int keel_test_free_port(void);

/* keel__rt_new(mods), configured from the env {KEEL_PORT=<free>,
 * KEEL_HOST=127.0.0.1, KEEL_THREADS=1, KEEL_AUTH_DISABLED=1,
 * KEEL_LOG_LEVEL=error, env... (NULL-terminated, may be NULL, at most 8;
 * later entries win)}, started and served on a thread; returns once
 * /healthz answers (10 s at most).  0, or -1 with err set and everything
 * undone. */
int keel_test_server_start(struct keel_test_server *s, const keel_module *const *mods,
                           const char *const *env, char *err, size_t errlen);

/* With signal_it, sends this process SIGTERM (the server's own drain) first;
 * then joins the serving thread and stops and frees the runtime.  Returns
 * keel__http_serve's result (0 after a clean drain). */
int keel_test_server_stop(struct keel_test_server *s, int signal_it);

#endif /* KEEL_TEST_SERVER_H */
