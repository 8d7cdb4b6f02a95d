/*
 * store_count.h — what the event tests (events_fixture.h, test_events_batch.c)
 * count rows with: `SELECT count(*) AS n …` on a module's or the core's
 * store, now or once the dispatcher has caught up.  Include after cmocka.h.
 */
#ifndef KEEL_TESTS_STORE_COUNT_H
#define KEEL_TESTS_STORE_COUNT_H

#include <unistd.h>

#include "keel/store.h"

static inline json_int_t count(keel_store *st, const char *sql)
{
    json_t *row = NULL;
    json_int_t n;
    assert_int_equal(keel_store_one(st, sql, NULL, &row), 0);
    n = json_integer_value(json_object_get(row, "n"));
    json_decref(row);
    return n;
}

/* Waits up to 10 s for sql's n to reach want; the last n read. */
static inline json_int_t wait_count(keel_store *st, const char *sql, json_int_t want)
{
    json_int_t n = -1;
    int i;
    for (i = 0; i < 2000 && (n = count(st, sql)) != want; i++)
        usleep(5000);
    return n;
}

#endif
