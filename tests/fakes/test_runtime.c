/*
 * test_runtime.c — see test_runtime.h.
 */
#include <stdio.h>
#include <string.h>

#include "test_runtime.h"
#include "tmpdir.h"

#define TEST_RT_MAXENV 8   /* the caller's; 4 more are the fixture's */

int keel_test_rt_start(struct keel_test_rt *t, const char *tag, const keel_module *const *mods,
                       const char *const *env, char *err, size_t errlen)
{
    char db[160], datadir[96];
    char *envp[TEST_RT_MAXENV + 5];
    size_t n = 0;

    memset(t, 0, sizeof *t);
    envp[n++] = db;
    envp[n++] = datadir;
    for (; env != NULL && *env != NULL; env++) {
        if (n >= TEST_RT_MAXENV + 2) {
            snprintf(err, errlen, "more than %d env entries", TEST_RT_MAXENV);
            return -1;
        }
        envp[n++] = (char *)*env;
    }
    envp[n++] = "KEEL_LOG_LEVEL=error";
    envp[n++] = "KEEL_CHECK_OUTPUT=1";   /* every reply checked against its output schema */
    envp[n] = NULL;
    if (keel_test_tmpdir(t->dir, sizeof t->dir, tag) != 0) {
        snprintf(err, errlen, "mkdtemp /tmp/keel-%s-XXXXXX failed", tag);
        return -1;
    }
    snprintf(t->url, sizeof t->url, "sqlite:%s/t.db", t->dir);
    snprintf(db, sizeof db, "KEEL_DATABASE_URL=%s", t->url);
    snprintf(datadir, sizeof datadir, "KEEL_DATA_DIR=%s", t->dir);
    if (keel__rt_new(mods, &t->rt, err, errlen) != 0
        || keel__rt_configure(t->rt, NULL, envp, NULL, err, errlen) != 0
        || keel__rt_start(t->rt, NULL, err, errlen) != 0) {
        keel_test_rt_stop(t);
        return -1;
    }
    return 0;
}

int keel_test_rt_stop(struct keel_test_rt *t)
{
    int rc = 0;

    if (t->rt != NULL) {
        keel__rt_stop(t->rt);
        keel__rt_free(t->rt);
        t->rt = NULL;
    }
    if (t->dir[0] != '\0')
        rc = keel_test_rmtree(t->dir);
    t->dir[0] = '\0';
    return rc;
}
