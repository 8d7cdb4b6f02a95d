/*
 * pgtest.c — see pgtest.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "pgtest.h"

int keel_test_pg_admin(char *buf, size_t len)
{
    const char *env = getenv("KEEL_TEST_PG_URL"), *dir = getenv("KEEL_TEST_PG_DIR");
    char path[512];
    FILE *f;
    size_t n;

    if (env != NULL && env[0] != '\0') {
        snprintf(buf, len, "%s", env);
        return 0;
    }
    if (dir == NULL || dir[0] == '\0') {
        printf("skip: no PostgreSQL cluster (set KEEL_TEST_PG_URL, or run through ctest, "
               "whose fixture starts one with scripts/pg-cluster.sh)\n");
        return -1;
    }
    snprintf(path, sizeof path, "%s/url", dir);
    f = fopen(path, "r");
    if (f == NULL) {
        printf("skip: no PostgreSQL cluster at %s (is the postgresql package installed? "
               "see %s/../pg-cluster.log)\n", dir, dir);
        return -1;
    }
    n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return n > 0 ? 0 : -1;
}

int keel_test_pg_sql(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = NULL;
    int rc = -1;

    if (PQstatus(c) != CONNECTION_OK) {
        printf("pgtest: connect: %s", PQerrorMessage(c));
        goto out;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        printf("pgtest: %s: %s", sql, PQerrorMessage(c));
        goto out;
    }
    rc = 0;
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

long long keel_test_pg_int(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    PGresult *r = NULL;
    long long v = -1;

    if (PQstatus(c) != CONNECTION_OK) {
        printf("pgtest: connect: %s", PQerrorMessage(c));
        goto out;
    }
    r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1 || PQgetisnull(r, 0, 0)) {
        printf("pgtest: %s: %s", sql, PQerrorMessage(c));
        goto out;
    }
    v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
out:
    PQclear(r);
    PQfinish(c);
    return v;
}

/* url with its database name replaced by db. */
static int with_db(const char *url, const char *db, char *out, size_t len)
{
    const char *slash = strstr(url, "://"), *q;
    if (slash == NULL)
        return -1;
    slash = strchr(slash + 3, '/');
    if (slash == NULL)
        return -1;
    q = strchr(slash, '?');
    snprintf(out, len, "%.*s/%s%s", (int)(slash - url), url, db, q != NULL ? q : "");
    return 0;
}

int keel_test_pg_db(char *url, size_t len, const char *tag)
{
    static int seq;
    char admin[512], db[96], sql[160];

    if (keel_test_pg_admin(admin, sizeof admin) != 0)
        return -1;
    snprintf(db, sizeof db, "keel_%s_%ld_%d", tag, (long)getpid(), ++seq);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    if (keel_test_pg_sql(admin, sql) != 0)
        return -1;
    return with_db(admin, db, url, len);
}

void keel_test_pg_drop(const char *url)
{
    char admin[512], sql[200];
    const char *p = strrchr(url, '/');
    size_t n;

    if (p == NULL || keel_test_pg_admin(admin, sizeof admin) != 0)
        return;
    p++;
    n = strcspn(p, "?");
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %.*s WITH (FORCE)", (int)n, p);
    (void)keel_test_pg_sql(admin, sql);
}
