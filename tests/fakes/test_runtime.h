/*
 * test_runtime.h — a real runtime for a module test: the given modules,
 * configured from the environment only, over a SQLite file in a fresh temp
 * directory (tmpdir.h), started; stopped and removed by keel_test_rt_stop.
 * With KEEL_TEST_RT_BACKEND=pg in the environment the database is a fresh
 * PostgreSQL one on the test cluster instead (pgtest.h), dropped at stop:
 * how a unit test runs again on PostgreSQL (CMakeLists.txt, *_pg tests).
 *
 *     static const keel_module *const mods[] = { &keel_module_kv, NULL };
 *     struct keel_test_rt t;
 *     if (keel_test_rt_start(&t, "kv", mods, NULL, err, sizeof err) != 0)
 *         fail_msg("runtime: %s", err);
 *     ... t.rt ...
 *     keel_test_rt_stop(&t);
 */
#ifndef KEEL_TEST_RUNTIME_H
#define KEEL_TEST_RUNTIME_H

#include <stddef.h>

#include "keel/module.h"
#include "core/runtime-internal.h"

struct keel_test_rt {
    char          dir[64];   /* /tmp/keel-<tag>-XXXXXX */
    char          url[256];  /* sqlite:<dir>/t.db or postgres://…, the KEEL_DATABASE_URL */
    keel_runtime *rt;        /* owned; NULL until started */
};

/* Fills t: temp dir, then keel__rt_new(mods), configure with the env
 * {KEEL_DATABASE_URL=<url>, KEEL_DATA_DIR=<dir>, env... (NULL-terminated,
 * may be NULL; at most 8), KEEL_LOG_LEVEL=error} and start.  0, or -1 with err set; on failure
 * whatever was made is undone. */
int keel_test_rt_start(struct keel_test_rt *t, const char *tag, const keel_module *const *mods,
                       const char *const *env, char *err, size_t errlen);

/* 1 when KEEL_TEST_RT_BACKEND=pg asks for PostgreSQL. */
int keel_test_rt_pg(void);

/* For a test's main: 1 when it should exit KEEL_TEST_SKIP (77) because
 * PostgreSQL is asked for and no cluster is configured (reason printed). */
int keel_test_rt_skip(void);

/* Stops and frees the runtime and removes the temp dir.  0, or -1 if the
 * directory could not be removed.  Safe to call twice. */
int keel_test_rt_stop(struct keel_test_rt *t);

#endif /* KEEL_TEST_RUNTIME_H */
