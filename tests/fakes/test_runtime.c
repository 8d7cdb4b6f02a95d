/*
 * test_runtime.c — see test_runtime.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtest.h"
#include "test_runtime.h"
#include "tmpdir.h"

int keel_test_rt_pg(void)
{
    const char *b = getenv("KEEL_TEST_RT_BACKEND");
    return b != NULL && strcmp(b, "pg") == 0;
}

int keel_test_rt_skip(void)
{
    char admin[512];
    return keel_test_rt_pg() && keel_test_pg_admin(admin, sizeof admin) != 0;
}

/* A fresh PostgreSQL database for tag into url (database names take
 * [a-z0-9_] only). */
static int rt_pg_db(char *url, size_t len, const char *tag)
{
    char clean[32];
    size_t i;

    for (i = 0; tag[i] != '\0' && i + 1 < sizeof clean; i++)
        clean[i] = (tag[i] >= 'a' && tag[i] <= 'z') || (tag[i] >= '0' && tag[i] <= '9')
                   ? tag[i] : '_';
    clean[i] = '\0';
    return keel_test_pg_db(url, len, clean);
}

#define TEST_RT_MAXENV 8   /* the caller's; 4 more are the fixture's */

int keel_test_rt_start(struct keel_test_rt *t, const char *tag, const keel_module *const *mods,
                       const char *const *env, char *err, size_t errlen)
{
    char db[300], datadir[96];
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
    if (keel_test_rt_pg()) {
        if (rt_pg_db(t->url, sizeof t->url, tag) != 0) {
            snprintf(err, errlen, "no PostgreSQL database for %s", tag);
            keel_test_rt_stop(t);
            return -1;
        }
    } else {
        snprintf(t->url, sizeof t->url, "sqlite:%s/t.db", t->dir);
    }
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
    if (strncmp(t->url, "postgres", 8) == 0)
        keel_test_pg_drop(t->url);
    t->url[0] = '\0';
    if (t->dir[0] != '\0')
        rc = keel_test_rmtree(t->dir);
    t->dir[0] = '\0';
    return rc;
}
