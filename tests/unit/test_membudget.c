/*
 * test_membudget.c — keel_ctx_mem_reserve: a handler's working memory
 * against the in-flight budget the HTTP server shares (membudget.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include "keel/module.h"
#include "core/membudget-internal.h"
#include "core/runtime-internal.h"

static atomic_llong ctr;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* No server in the process: granted at once, nothing counted. */
static void test_no_budget(void **state)
{
    keel_ctx *ctx = keel__ctx_new(NULL, KEEL_TR_LOCAL, NULL, 0);
    (void)state;

    keel__mem_budget_set(NULL, 0);
    assert_int_equal(keel_ctx_mem_reserve(ctx, (int64_t)1 << 40), 0);
    keel__ctx_free(ctx);
}

/* Held until the call ends, then given back; never past the budget. */
static void test_reserve_release(void **state)
{
    keel_ctx *a = keel__ctx_new(NULL, KEEL_TR_LOCAL, NULL, 0);
    keel_ctx *b = keel__ctx_new(NULL, KEEL_TR_LOCAL, NULL, mono_ms() + 100);
    int64_t t0;
    (void)state;

    atomic_store(&ctr, 0);
    keel__mem_budget_set(&ctr, 1000);
    assert_int_equal(keel_ctx_mem_reserve(a, 600), 0);
    assert_int_equal(atomic_load(&ctr), 600);
    /* 600 + 600 > 1000: b waits until its deadline (100 ms), then 503's code */
    t0 = mono_ms();
    assert_int_equal(keel_ctx_mem_reserve(b, 600), KEEL_EUNAVAIL);
    assert_true(mono_ms() - t0 >= 90);
    assert_int_equal(atomic_load(&ctr), 600);
    assert_int_equal(keel_ctx_mem_reserve(b, 400), 0);   /* exactly the budget */
    assert_int_equal(atomic_load(&ctr), 1000);
    keel__ctx_free(a);
    assert_int_equal(atomic_load(&ctr), 400);
    keel__ctx_free(b);
    assert_int_equal(atomic_load(&ctr), 0);
    keel__mem_budget_set(NULL, 0);
}

/* More than the whole budget can never fit: KEEL_ETOOBIG at once, not a wait. */
static void test_over_budget(void **state)
{
    keel_ctx *ctx = keel__ctx_new(NULL, KEEL_TR_LOCAL, NULL, 0);
    int64_t t0 = mono_ms();
    (void)state;

    atomic_store(&ctr, 0);
    keel__mem_budget_set(&ctr, 1000);
    assert_int_equal(keel_ctx_mem_reserve(ctx, 1001), KEEL_ETOOBIG);
    assert_true(mono_ms() - t0 < 1000);
    assert_int_equal(atomic_load(&ctr), 0);
    keel__ctx_free(ctx);
    keel__mem_budget_set(NULL, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_budget),
        cmocka_unit_test(test_reserve_release),
        cmocka_unit_test(test_over_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
