/*
 * test_evmem.c — libevent on keel's allocator (src/api/evmem.c): buffers
 * that grow through every size class and past the largest, pulled up
 * (libevent's realloc), drained and refilled, strings libevent hands back
 * (evhttp_uriencode) freed with keel__ev_free, and threads that allocate,
 * free and exit (their free lists go with them).  Every byte is checked.
 * In sanitizer builds the allocator is not installed and this runs on
 * malloc (the same checks, against libevent's own behaviour).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "api/evmem-internal.h"

static int setup(void **state)
{
    (void)state;
    keel__evmem_install();   /* before any libevent object, as main() does */
    return 0;
}

/* Fills an evbuffer with n bytes in pieces of every size up to 3000, pulls
 * it up into one block and checks the pattern. */
static void fill_and_check(size_t n, unsigned seed)
{
    struct evbuffer *b = evbuffer_new();
    unsigned char piece[3000];
    size_t added = 0, k = 1;

    assert_non_null(b);
    while (added < n) {
        size_t len = k % sizeof piece + 1;
        if (len > n - added)
            len = n - added;
        for (size_t i = 0; i < len; i++)
            piece[i] = (unsigned char)((added + i) * 31 + seed);
        assert_int_equal(evbuffer_add(b, piece, len), 0);
        added += len;
        k = k * 7 + 3;
    }
    assert_int_equal(evbuffer_get_length(b), n);
    const unsigned char *p = evbuffer_pullup(b, -1);
    assert_true(n == 0 || p != NULL);
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 31 + seed))
            fail_msg("byte %zu of %zu differs", i, n);
    assert_int_equal(evbuffer_drain(b, n / 2), 0);
    assert_int_equal(evbuffer_get_length(b), n - n / 2);
    evbuffer_free(b);
}

static void test_buffers_of_every_size(void **state)
{
    (void)state;
    for (size_t n = 0; n < 2100; n += 7)
        fill_and_check(n, (unsigned)n);
    fill_and_check(1 << 20, 5);
    /* reuse: the same sizes again come from the free lists */
    for (int r = 0; r < 50; r++)
        fill_and_check(100 + (size_t)r * 37, (unsigned)r);
}

static void test_strings_libevent_returns(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        char in[64];
        snprintf(in, sizeof in, "key %d/&=?é", i);
        char *enc = evhttp_uriencode(in, -1, 0);
        assert_non_null(enc);
        char *dec = evhttp_uridecode(enc, 0, NULL);
        assert_non_null(dec);
        assert_string_equal(dec, in);
        keel__ev_free(enc);
        keel__ev_free(dec);
    }
}

static void *churn(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int r = 0; r < 200; r++)
        fill_and_check(1 + (size_t)((r * 131 + seed) % 5000), seed + (unsigned)r);
    return NULL;
}

static void test_threads(void **state)
{
    pthread_t t[4];
    (void)state;
    for (int round = 0; round < 3; round++) {
        for (uintptr_t i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(i + 1)), 0);
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffers_of_every_size),
        cmocka_unit_test(test_strings_libevent_returns),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
