/*
 * pgtest.h — a fresh PostgreSQL database per test run, on the throw-away
 * cluster scripts/pg-cluster.sh started (the ctest fixture "pg", or
 * scripts/test.sh).  The cluster's admin URL comes from KEEL_TEST_PG_URL, or
 * the file KEEL_TEST_PG_DIR/url.
 *
 *     char url[256];
 *     if (keel_test_pg_db(url, sizeof url, "store") != 0) { skip… }
 *     …                             // url: postgres://…/keel_store_<pid>_<n>
 *     keel_test_pg_drop(url);
 */
#ifndef KEEL_TEST_PGTEST_H
#define KEEL_TEST_PGTEST_H

#include <stddef.h>

/* Exit status that ctest reports as "skipped" (SKIP_RETURN_CODE). */
#define KEEL_TEST_SKIP 77

/* The cluster's admin URL into buf.  0, or -1 when no cluster is configured
 * (the reason is printed). */
int keel_test_pg_admin(char *buf, size_t len);

/* Creates database keel_<tag>_<pid>_<n> and writes its URL (same login as the
 * admin URL) to url.  0, or -1 (reason printed). */
int keel_test_pg_db(char *url, size_t len, const char *tag);

/* Drops the database url names (after closing every store on it). */
void keel_test_pg_drop(const char *url);

/* Runs one SQL statement without parameters on url (a short-lived
 * connection); 0, or -1 with the server's message printed. */
int keel_test_pg_sql(const char *url, const char *sql);

/* The first column of the first row of a query on url, as an integer;
 * -1 on any error (message printed). */
long long keel_test_pg_int(const char *url, const char *sql);

#endif /* KEEL_TEST_PGTEST_H */
