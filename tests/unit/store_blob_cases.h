/*
 * store_blob_cases.h — keel_store_exec_blob / keel_store_one_blob, the same
 * cases on both backends (test_store_blob.c: SQLite, test_store_blob_pg.c:
 * PostgreSQL).  The including file defines
 *     static keel_store *open_module(const char *ns, const char *migration);
 * (a store for module ns with the migration applied) and the setup and
 * teardown of one database per test, then lists BLOB_CASES in its main.
 */
#ifndef KEEL_TESTS_STORE_BLOB_CASES_H
#define KEEL_TESTS_STORE_BLOB_CASES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/error.h"
#include "keel/store.h"

static keel_store *open_module(const char *ns, const char *migration);

static const char A_MIG[] =
    "CREATE TABLE a_blobs (id INTEGER PRIMARY KEY, b BLOB, t TEXT, n INTEGER);";
static const char B_MIG[] =
    "CREATE TABLE b_blobs (id INTEGER PRIMARY KEY, b BLOB, t TEXT, n INTEGER);";

static const char INS[] = "INSERT INTO a_blobs (b, t) VALUES ($1, $2) RETURNING id";
static const char SEL[] = "SELECT b FROM a_blobs WHERE id = $1";

/* Stores data[0..len) (NULL: SQL NULL) with a text tag; its id. */
static json_int_t put(keel_store *st, const void *data, size_t len)
{
    json_t *p = json_pack("[n,s]", "tag"), *rows = NULL;
    json_int_t id;
    int rc = keel_store_exec_blob(st, INS, p, 1, data, len, &rows);

    json_decref(p);
    if (rc != 0)
        fail_msg("exec_blob: %s (%s)", keel_strerror(rc), keel_store_errmsg(st));
    assert_int_equal(json_array_size(rows), 1);
    id = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
    json_decref(rows);
    return id;
}

static int get(keel_store *st, const char *sql, json_int_t id, void **data, size_t *len)
{
    json_t *p = json_pack("[I]", id);
    int rc = keel_store_one_blob(st, sql, p, data, len);
    json_decref(p);
    return rc;
}

/* A column of row id through keel_store_one (the JSON path), new reference. */
static json_t *col(keel_store *st, const char *sql, json_int_t id)
{
    json_t *p = json_pack("[I]", id), *row = NULL;
    int rc = keel_store_one(st, sql, p, &row);
    json_decref(p);
    if (rc != 0)
        fail_msg("%s: %s (%s)", sql, keel_strerror(rc), keel_store_errmsg(st));
    return row;
}

/* Every byte value, NULs among them, both ways; stored as bytes (length()
 * counts bytes, and the JSON path reads the same bytes as base64). */
static void test_blob_all_bytes(void **state)
{
    keel_store *st = open_module("a", A_MIG);
    unsigned char in[1024];
    void *out = NULL;
    size_t n = 0, i;
    json_int_t id;
    json_t *row;

    (void)state;
    for (i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)(i * 7 + i / 256);   /* each value 4 times, NULs inside */
    id = put(st, in, sizeof in);
    assert_int_equal(get(st, SEL, id, &out, &n), 0);
    assert_int_equal(n, sizeof in);
    assert_memory_equal(out, in, sizeof in);
    assert_int_equal(((unsigned char *)out)[n], 0);   /* the NUL after them */
    free(out);
    row = col(st, "SELECT length(b) AS n FROM a_blobs WHERE id = $1", id);
    assert_int_equal(json_integer_value(json_object_get(row, "n")), sizeof in);
    json_decref(row);
    /* the first bytes 0x00 0x07 0x0e → base64 "AAcO" */
    row = col(st, SEL, id);
    assert_int_equal(strncmp(json_string_value(json_object_get(row, "b")), "AAcO", 4), 0);
    json_decref(row);
    keel_store_close(st);
}

/* An empty blob is not NULL; NULL reads as NULL. */
static void test_blob_empty_and_null(void **state)
{
    keel_store *st = open_module("a", A_MIG);
    void *out = NULL;
    size_t n = 99;
    json_int_t e, z;
    json_t *row;

    (void)state;
    e = put(st, "", 0);
    z = put(st, NULL, 5);
    assert_int_equal(get(st, SEL, e, &out, &n), 0);
    assert_non_null(out);
    assert_int_equal(n, 0);
    free(out);
    out = (void *)1;
    n = 99;
    assert_int_equal(get(st, SEL, z, &out, &n), 0);
    assert_null(out);
    assert_int_equal(n, 0);
    row = col(st, "SELECT b IS NULL AS nul FROM a_blobs WHERE id = $1", e);
    assert_false(json_is_true(json_object_get(row, "nul")) ||
                 json_integer_value(json_object_get(row, "nul")) == 1);
    json_decref(row);
    row = col(st, "SELECT b FROM a_blobs WHERE id = $1", z);
    assert_true(json_is_null(json_object_get(row, "b")));
    json_decref(row);
    keel_store_close(st);
}

/* 8 MiB of pseudo-random bytes (no structure to lean on), twice through the
 * same statement (its cached form, bindings cleared in between). */
static void test_blob_large(void **state)
{
    keel_store *st = open_module("a", A_MIG);
    size_t len = 8u << 20, i, n = 0;
    unsigned char *in = malloc(len);
    uint32_t x = 2463534242u;
    void *out = NULL;
    json_int_t id1, id2;

    (void)state;
    assert_non_null(in);
    for (i = 0; i < len; i++) {   /* xorshift32 */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        in[i] = (unsigned char)(x >> 24);
    }
    id1 = put(st, in, len);
    id2 = put(st, in + 1, len - 1);
    assert_int_equal(get(st, SEL, id1, &out, &n), 0);
    assert_int_equal(n, len);
    assert_memory_equal(out, in, len);
    free(out);
    assert_int_equal(get(st, SEL, id2, &out, &n), 0);
    assert_int_equal(n, len - 1);
    assert_memory_equal(out, in + 1, len - 1);
    free(out);
    free(in);
    keel_store_close(st);
}

/* Module b may neither write nor read a's table through the blob calls. */
static void test_blob_namespace(void **state)
{
    keel_store *a = open_module("a", A_MIG), *b = open_module("b", B_MIG);
    json_t *p = json_pack("[n,s]", "x");
    void *out = NULL;
    size_t n = 0;
    json_int_t id;

    (void)state;
    id = put(a, "abc", 3);
    assert_int_equal(keel_store_exec_blob(b, INS, p, 1, "xyz", 3, NULL), KEEL_EDENIED);
    assert_int_equal(get(b, SEL, id, &out, &n), KEEL_EDENIED);
    assert_null(out);
    /* b's own table works through the same calls */
    assert_int_equal(keel_store_exec_blob(b, "INSERT INTO b_blobs (b, t) VALUES ($1, $2)", p, 1,
                                          "xyz", 3, NULL), 0);
    assert_int_equal(keel_store_one_blob(b, "SELECT b FROM b_blobs", NULL, &out, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "xyz", 3);
    free(out);
    json_decref(p);
    keel_store_close(a);
    keel_store_close(b);
}

typedef struct blob_tx {
    json_int_t id;
    int        fail;
} blob_tx;

/* Inside a transaction: stores, reads its own write back, then fails or
 * not. */
static int tx_blob(keel_store *tx, void *arg)
{
    blob_tx *t = arg;
    void *out = NULL;
    size_t n = 0;

    t->id = put(tx, "\x1f\x8b\0tx", 5);
    if (get(tx, SEL, t->id, &out, &n) != 0 || n != 5 || memcmp(out, "\x1f\x8b\0tx", 5) != 0) {
        free(out);
        return KEEL_EINTERNAL;
    }
    free(out);
    return t->fail ? KEEL_ECONFLICT : 0;
}

static void test_blob_tx(void **state)
{
    keel_store *st = open_module("a", A_MIG);
    blob_tx t = {.fail = 1};
    void *out = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(keel_store_tx(st, tx_blob, &t), KEEL_ECONFLICT);
    assert_int_equal(get(st, SEL, t.id, &out, &n), KEEL_ENOTFOUND);   /* rolled back */
    assert_null(out);
    t.fail = 0;
    assert_int_equal(keel_store_tx(st, tx_blob, &t), 0);
    assert_int_equal(get(st, SEL, t.id, &out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "\x1f\x8b\0tx", 5);
    free(out);
    keel_store_close(st);
}

/* What the calls refuse, and a TEXT column's bytes. */
static void test_blob_errors(void **state)
{
    keel_store *st = open_module("a", A_MIG);
    json_t *p = json_pack("[s,s]", "not null", "t");
    void *out = NULL;
    size_t n = 0;
    json_int_t id;

    (void)state;
    /* the placeholder must be null, and inside params */
    assert_int_equal(keel_store_exec_blob(st, INS, p, 1, "x", 1, NULL), KEEL_EINVAL);
    assert_int_equal(keel_store_exec_blob(st, INS, p, 3, "x", 1, NULL), KEEL_EINVAL);
    assert_int_equal(keel_store_exec_blob(st, INS, p, 0, "x", 1, NULL), KEEL_EINVAL);
    assert_int_equal(keel_store_exec_blob(st, INS, NULL, 1, "x", 1, NULL), KEEL_EINVAL);
    json_decref(p);
    id = put(st, "ab", 2);
    put(st, "cd", 2);
    /* no row, two rows, an integer column */
    assert_int_equal(get(st, SEL, id + 100, &out, &n), KEEL_ENOTFOUND);
    assert_int_equal(keel_store_one_blob(st, "SELECT b FROM a_blobs", NULL, &out, &n),
                     KEEL_ESTORE);
    assert_null(out);
    assert_int_equal(get(st, "SELECT id FROM a_blobs WHERE id = $1", id, &out, &n),
                     KEEL_EINVAL);
    assert_null(out);
    /* a TEXT column: its UTF-8 bytes */
    assert_int_equal(get(st, "SELECT t FROM a_blobs WHERE id = $1", id, &out, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "tag", 3);
    free(out);
    keel_store_close(st);
}

#define BLOB_CASES                                                              \
    cmocka_unit_test_setup_teardown(test_blob_all_bytes, setup, teardown),      \
    cmocka_unit_test_setup_teardown(test_blob_empty_and_null, setup, teardown), \
    cmocka_unit_test_setup_teardown(test_blob_large, setup, teardown),          \
    cmocka_unit_test_setup_teardown(test_blob_namespace, setup, teardown),      \
    cmocka_unit_test_setup_teardown(test_blob_tx, setup, teardown),             \
    cmocka_unit_test_setup_teardown(test_blob_errors, setup, teardown)

#endif
