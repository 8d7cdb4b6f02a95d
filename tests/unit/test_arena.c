/* test_arena.c — bump allocation, large blocks, LIFO cleanups, the
 * per-thread spare. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "keel/arena.h"

static int order[8];
static int norder;

static void record(void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
}

static void test_alloc_and_align(void **state)
{
    keel_arena *a = keel_arena_new();
    int i;
    (void)state;
    assert_non_null(a);
    for (i = 1; i < 200; i++) {
        unsigned char *p = keel_arena_alloc(a, (size_t)i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)i);
    }
    /* A large block bigger than any chunk. */
    assert_non_null(keel_arena_alloc(a, 1 << 20));
    assert_true(keel_arena_used(a) >= (1 << 20));
    keel_arena_free(a);
}

static void test_strings(void **state)
{
    keel_arena *a = keel_arena_new();
    (void)state;
    assert_string_equal(keel_arena_strdup(a, "hello"), "hello");
    assert_string_equal(keel_arena_strndup(a, "hello", 3), "hel");
    assert_string_equal(keel_arena_printf(a, "%s-%d", "x", 42), "x-42");
    keel_arena_free(a);
}

static void test_cleanups_lifo(void **state)
{
    keel_arena *a = keel_arena_new();
    (void)state;
    norder = 0;
    assert_int_equal(keel_arena_cleanup(a, record, (void *)1), 0);
    assert_int_equal(keel_arena_cleanup(a, record, (void *)2), 0);
    assert_int_equal(keel_arena_cleanup(a, record, (void *)3), 0);
    keel_arena_free(a);
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
    keel_arena_free(NULL);
}

/* A freed arena comes back clean: nothing used, no cleanups left to run,
 * and it serves allocations across several blocks again.  In a release
 * build it is the same arena (the thread's spare). */
static void test_spare_comes_back_clean(void **state)
{
    keel_arena *a = keel_arena_new(), *b;
    unsigned char *p;
    int i;
    (void)state;
    assert_non_null(a);
    for (i = 0; i < 40; i++)   /* ~10 blocks of 4 KB */
        assert_non_null(keel_arena_alloc(a, 1000));
    assert_non_null(keel_arena_alloc(a, 1 << 16));   /* a large one */
    norder = 0;
    assert_int_equal(keel_arena_cleanup(a, record, (void *)7), 0);
    keel_arena_free(a);
    assert_int_equal(norder, 1);
    b = keel_arena_new();
    assert_non_null(b);
#ifndef KEEL_ARENA_DEBUG
    assert_ptr_equal(a, b);
#endif
    assert_int_equal(keel_arena_used(b), 0);
    for (i = 0; i < 40; i++) {
        p = keel_arena_alloc(b, 1000);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, i, 1000);
    }
    keel_arena_free(b);
    assert_int_equal(norder, 1);   /* the cleanup ran once, with its arena */
}

static void *churn(void *arg)
{
    int i, j;
    (void)arg;
    for (i = 0; i < 2000; i++) {
        keel_arena *a = keel_arena_new();
        if (a == NULL)
            return (void *)1;
        for (j = 0; j < i % 9; j++)
            memset(keel_arena_alloc(a, 700), j, 700);
        keel_arena_free(a);
    }
    return NULL;
}

/* Arenas made on one thread and freed on another (a worker ends a call a
 * loop began) and threads that end with a spare: no race, nothing lost
 * (the thread sanitizer and leak checkers run this). */
static void test_spare_across_threads(void **state)
{
    pthread_t t[4];
    keel_arena *made[64];
    int i;
    void *rv;
    (void)state;
    for (i = 0; i < 64; i++) {
        made[i] = keel_arena_new();
        assert_non_null(made[i]);
        assert_non_null(keel_arena_alloc(made[i], 3000));
    }
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, churn, NULL), 0);
    for (i = 0; i < 64; i++)
        keel_arena_free(made[i]);
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], &rv), 0);
        assert_null(rv);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_and_align),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_cleanups_lifo),
        cmocka_unit_test(test_spare_comes_back_clean),
        cmocka_unit_test(test_spare_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
