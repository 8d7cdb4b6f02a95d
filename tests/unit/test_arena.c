/* test_arena.c — bump allocation, large blocks, LIFO cleanups. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_and_align),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_cleanups_lifo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
