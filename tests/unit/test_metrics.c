/* test_metrics.c — per-thread counters merged on scrape: counts from many
 * threads add up, survive the threads, land in the right histogram bucket
 * and error code; dispatch counts every call by transport; typed-iface sites
 * count per member; KEEL_METRICS=false records nothing. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/metrics-internal.h"
#include "keel/metrics.h"

/* The value of the sample whose line starts with series + " ", or -1. */
static double sample(const char *text, const char *series)
{
    size_t n = strlen(series);
    const char *p = text;
    while ((p = strstr(p, series)) != NULL) {
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
        p += n;
    }
    return -1;
}

static char *scrape(keel_runtime *rt)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(keel__metrics_render(rt, &text, &len), 0);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

#define PER_THREAD 10000
static int worker_slot;

static void *worker(void *arg)
{
    int i;
    (void)arg;
    for (i = 0; i < PER_THREAD; i++)
        keel__metrics_call(worker_slot, KEEL_TR_HTTP, i % 10 == 0 ? KEEL_EUNAVAIL : 0, 50000);
    return NULL;
}

static void test_threads_add_up_and_survive(void **state)
{
    pthread_t th[4];
    char *text;
    int i;
    (void)state;
    worker_slot = keel__metrics_method_slot("tmod", "work");
    assert_true(worker_slot >= 0);
    assert_int_equal(keel__metrics_method_slot("tmod", "work"), worker_slot); /* same name, same slot */
    for (i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, NULL), 0);
    for (i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    /* the threads are gone; their counts are not */
    text = scrape(NULL);
    assert_true(sample(text, "keel_method_calls_total{module=\"tmod\",method=\"work\",transport=\"http\"}")
                == 4 * PER_THREAD);
    assert_true(sample(text, "keel_method_errors_total{module=\"tmod\",method=\"work\",transport=\"http\","
                             "code=\"unavailable\"}") == 4.0 * PER_THREAD / 10);
    /* 50 µs is under the first bound (100 µs) */
    assert_true(sample(text, "keel_method_duration_seconds_bucket{module=\"tmod\",method=\"work\","
                             "transport=\"http\",le=\"0.0001\"}") == 4 * PER_THREAD);
    assert_true(sample(text, "keel_method_duration_seconds_sum{module=\"tmod\",method=\"work\","
                             "transport=\"http\"}") > 4 * PER_THREAD * 50e-6 * 0.999);
    free(text);
    /* a new thread reuses a retired shard: the totals keep growing */
    assert_int_equal(pthread_create(&th[0], NULL, worker, NULL), 0);
    pthread_join(th[0], NULL);
    text = scrape(NULL);
    assert_true(sample(text, "keel_method_calls_total{module=\"tmod\",method=\"work\",transport=\"http\"}")
                == 5 * PER_THREAD);
    free(text);
}

static void test_buckets_are_cumulative(void **state)
{
    int slot = keel__metrics_method_slot("tmod", "buckets");
    char *text;
    (void)state;
    keel__metrics_call(slot, KEEL_TR_CLI, 0, 100000);        /* exactly 100 µs: le="0.0001" (le is ≤) */
    keel__metrics_call(slot, KEEL_TR_CLI, 0, 2000000);       /* 2 ms: first bucket 0.0025 */
    keel__metrics_call(slot, KEEL_TR_CLI, 0, 20000000000LL); /* 20 s: only +Inf */
    keel__metrics_call(slot, KEEL_TR_CLI, -999, 1);          /* a code outside the table */
    text = scrape(NULL);
#define B(le) sample(text, "keel_method_duration_seconds_bucket{module=\"tmod\",method=\"buckets\"," \
                           "transport=\"cli\",le=\"" le "\"}")
    assert_true(B("0.0001") == 2);
    assert_true(B("0.001") == 2);
    assert_true(B("0.0025") == 3);
    assert_true(B("10") == 3);
    assert_true(B("+Inf") == 4);
#undef B
    assert_true(sample(text, "keel_method_duration_seconds_count{module=\"tmod\",method=\"buckets\","
                             "transport=\"cli\"}") == 4);
    assert_true(sample(text, "keel_method_errors_total{module=\"tmod\",method=\"buckets\",transport=\"cli\","
                             "code=\"unknown\"}") == 1);
    /* bytes are only for wire transports */
    assert_null(strstr(text, "keel_method_request_bytes_total{module=\"tmod\",method=\"buckets\""));
    free(text);
}

static void test_iface_sites(void **state)
{
    char *text;
    int i;
    (void)state;
    for (i = 0; i < 7; i++)
        KEEL_IFACE_COUNT("tmod", "typed_a");
    KEEL_IFACE_COUNT("tmod", "typed_b");
    text = scrape(NULL);
    assert_true(sample(text, "keel_iface_calls_total{module=\"tmod\",method=\"typed_a\"}") == 7);
    assert_true(sample(text, "keel_iface_calls_total{module=\"tmod\",method=\"typed_b\"}") == 1);
    free(text);
}

static void test_disabled_records_nothing(void **state)
{
    int slot = keel__metrics_method_slot("tmod", "off");
    char *text;
    (void)state;
    keel__metrics_set_enabled(0);
    keel__metrics_call(slot, KEEL_TR_LOCAL, 0, 1000);
    KEEL_IFACE_COUNT("tmod", "typed_off");
    keel__metrics_set_enabled(1);
    text = scrape(NULL);
    assert_null(strstr(text, "method=\"off\""));
    assert_null(strstr(text, "typed_off\"} 1"));
    free(text);
}

static void test_bad_names_get_no_slot(void **state)
{
    char long_name[80];
    (void)state;
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(keel__metrics_method_slot(long_name, "x"), -1);
    assert_int_equal(keel__metrics_method_slot("x", ""), -1);
    keel__metrics_call(-1, KEEL_TR_LOCAL, 0, 1); /* ignored, no crash */
}

/* Dispatch: a module's calls are counted by the transport of the ctx. */
static int h_ok(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx; (void)in;
    *out = json_object();
    return 0;
}
static int h_nested(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)in;
    return keel_call(ctx, "mcalc", "ok", NULL, out);
}
static const keel_method mcalc_methods[] = {
    {.name = "ok", .handler = h_ok, .flags = KEEL_PUBLIC},
    {.name = "nested", .handler = h_nested, .flags = KEEL_PUBLIC},
    {0}};
static const keel_module m_mcalc = {.abi = KEEL_ABI, .name = "mcalc", .methods = mcalc_methods};

static void test_dispatch_counts_by_transport(void **state)
{
    const keel_module *mods[] = {&m_mcalc, NULL};
    keel_runtime *rt;
    keel_ctx *ctx;
    json_t *out = NULL, *bad;
    char err[256], *text;
    char *env[] = {NULL};
    (void)state;
    assert_int_equal(keel__rt_new(mods, &rt, err, sizeof err), 0);
    assert_int_equal(keel__rt_configure(rt, NULL, env, NULL, err, sizeof err), 0);
    assert_int_equal(keel__rt_start(rt, NULL, err, sizeof err), 0);
    ctx = keel__ctx_new(rt, KEEL_TR_CLI, NULL, 0);
    assert_int_equal(keel__call_root(ctx, "mcalc", "nested", NULL, &out), 0);
    json_decref(out);
    bad = json_string("not an object");
    assert_int_equal(keel__call_root(ctx, "mcalc", "ok", bad, &out), KEEL_EINVAL);
    json_decref(bad);
    keel__ctx_free(ctx);
    text = scrape(rt);
    assert_true(sample(text, "keel_method_calls_total{module=\"mcalc\",method=\"nested\",transport=\"cli\"}") == 1);
    /* the nested call is a local one */
    assert_true(sample(text, "keel_method_calls_total{module=\"mcalc\",method=\"ok\",transport=\"local\"}") == 1);
    assert_true(sample(text, "keel_method_calls_total{module=\"mcalc\",method=\"ok\",transport=\"cli\"}") == 1);
    assert_true(sample(text, "keel_method_errors_total{module=\"mcalc\",method=\"ok\",transport=\"cli\","
                             "code=\"invalid_input\"}") == 1);
    assert_non_null(strstr(text, "\nprocess_open_fds "));
    assert_non_null(strstr(text, "\nprocess_resident_memory_bytes "));
    free(text);
    keel__rt_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_add_up_and_survive),
        cmocka_unit_test(test_buckets_are_cumulative),
        cmocka_unit_test(test_iface_sites),
        cmocka_unit_test(test_disabled_records_nothing),
        cmocka_unit_test(test_bad_names_get_no_slot),
        cmocka_unit_test(test_dispatch_counts_by_transport),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
