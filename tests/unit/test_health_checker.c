/* test_health_checker.c — /readyz reads the health checker's snapshot
 * (src/core/health.c, docs/observability.md "Health"): a slow hook never
 * makes keel__rt_ready (run on an event loop) wait; a hook stuck past
 * health_timeout_ms is `timeout` and makes the process unready; a change
 * shows after at most one interval; health_interval_ms=0 keeps the hooks
 * inline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/runtime-internal.h"

static atomic_int hook_ms;     /* how long the hook takes */
static atomic_int hook_down;   /* what it answers */
static atomic_int hook_sleeping; /* inside its delay */

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int slow_health(keel_module_ctx *mc, json_t **detail)
{
    int ms = atomic_load(&hook_ms);
    (void)mc;
    if (ms > 0) {
        atomic_store(&hook_sleeping, 1);
        sleep_ms(ms);
        atomic_store(&hook_sleeping, 0);
    }
    if (atomic_load(&hook_down))
        *detail = json_pack("{s:s}", "why", "database unreachable");
    return atomic_load(&hook_down) ? KEEL_EUNAVAIL : 0;
}

static int noop(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    (void)in;
    *out = json_object();
    return 0;
}

static const keel_method methods[] = {{.name = "m", .handler = noop}, {0}};
static const keel_module m_slow = {.abi = KEEL_ABI, .name = "slow", .methods = methods,
                                   .health = slow_health};
static const keel_module *const mods[] = {&m_slow, NULL};

/* first_ms: how long the hook takes from the first pass on; wait: return
 * once that pass has completed */
static keel_runtime *start_ex(const char *interval, const char *timeout, int first_ms, int wait)
{
    char e1[64], e2[64], err[512];
    char *envp[] = {"KEEL_LOG_LEVEL=error", e1, e2, NULL};
    keel_runtime *rt = NULL;
    snprintf(e1, sizeof e1, "KEEL_HEALTH_INTERVAL_MS=%s", interval);
    snprintf(e2, sizeof e2, "KEEL_HEALTH_TIMEOUT_MS=%s", timeout);
    atomic_store(&hook_ms, 0);
    atomic_store(&hook_down, 0);
    assert_int_equal(keel__rt_new(mods, &rt, err, sizeof err), 0);
    if (keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0)
        fail_msg("configure: %s", err);
    if (keel__rt_start(rt, NULL, err, sizeof err) != 0)
        fail_msg("start: %s", err);
    atomic_store(&hook_ms, first_ms);
    if (keel__health_start(rt, err, sizeof err) != 0)
        fail_msg("health start: %s", err);
    /* the first pass runs on the checker thread: until it completes, the
     * module is "starting" (test_first_pass_is_starting) */
    if (wait && keel__health_rounds(rt, 0) < 1 && keel__health_rounds(rt, 5000) < 1)
        fail_msg("no health pass within 5 s");
    return rt;
}

static keel_runtime *start(const char *interval, const char *timeout)
{
    return start_ex(interval, timeout, 0, strcmp(interval, "0") != 0);
}

static void finish(keel_runtime *rt)
{
    atomic_store(&hook_ms, 0);
    keel__health_stop(rt);
    keel__rt_stop(rt);
    keel__rt_free(rt);
}

static const char *mstatus(const json_t *doc)
{
    const json_t *v = json_object_get(json_object_get(json_object_get(doc, "modules"), "slow"),
                                      "status");
    return json_is_string(v) ? json_string_value(v) : "(absent)";
}

/* keel__rt_ready's wall time in ms, its document in *doc. */
static int64_t timed_ready(keel_runtime *rt, json_t **doc, int *ok)
{
    int64_t t0 = keel__now_ms();
    *doc = keel__rt_ready(rt, NULL, ok);
    return keel__now_ms() - t0;
}

/* Waits until the checker is inside a slow hook. */
static void wait_sleeping(void)
{
    int64_t until = keel__now_ms() + 5000;
    while (!atomic_load(&hook_sleeping) && keel__now_ms() < until)
        sleep_ms(2);
    assert_true(atomic_load(&hook_sleeping));
}

static void test_slow_hook_does_not_hold_ready(void **state)
{
    keel_runtime *rt = start("20", "5000");
    json_t *doc;
    int ok = -1;
    int64_t ms;
    (void)state;

    /* the hook now takes 700 ms and finds its database down; /readyz
     * answers at once with the last completed check (ok) meanwhile */
    atomic_store(&hook_ms, 700);
    wait_sleeping();
    atomic_store(&hook_down, 1);
    ms = timed_ready(rt, &doc, &ok);
    if (ms >= 100)
        fail_msg("/readyz waited %lld ms on a running hook", (long long)ms);
    assert_int_equal(ok, 1);
    assert_string_equal(mstatus(doc), "ok");
    json_decref(doc);

    /* once that pass completes, the failure shows */
    assert_true(keel__health_rounds(rt, 0) < keel__health_rounds(rt, 3000));
    atomic_store(&hook_ms, 0);
    doc = keel__rt_ready(rt, NULL, &ok);
    assert_int_equal(ok, 0);
    assert_string_equal(mstatus(doc), "unavailable");
    json_decref(doc);
    finish(rt);
}

static void test_stuck_hook_is_timeout(void **state)
{
    keel_runtime *rt = start("20", "200");
    json_t *doc, *detail;
    int ok = -1;
    uint64_t seen;
    (void)state;

    atomic_store(&hook_ms, 900);
    wait_sleeping();
    sleep_ms(350);  /* past health_timeout_ms, before the hook returns */
    doc = keel__rt_ready(rt, NULL, &ok);
    assert_int_equal(ok, 0);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "unavailable");
    assert_string_equal(mstatus(doc), "timeout");
    detail = json_object_get(json_object_get(json_object_get(doc, "modules"), "slow"), "detail");
    assert_string_equal(json_string_value(json_object_get(detail, "check")), "stuck");
    assert_true(json_integer_value(json_object_get(detail, "ms")) >= 200);
    json_decref(doc);

    /* the hook returns ok: ready again after its pass */
    atomic_store(&hook_ms, 0);
    seen = keel__health_rounds(rt, 0);
    assert_true(keel__health_rounds(rt, 3000) > seen);      /* the stuck pass ends */
    assert_true(keel__health_rounds(rt, 3000) > seen + 1);  /* a pass with ms = 0 */
    doc = keel__rt_ready(rt, NULL, &ok);
    assert_int_equal(ok, 1);
    assert_string_equal(mstatus(doc), "ok");
    json_decref(doc);
    finish(rt);
}

/* Start-up: the first pass runs on the checker thread, after
 * keel__health_start returns; until it completes the module is not ready
 * ("starting"), never "ok" unchecked. */
static void test_first_pass_is_starting(void **state)
{
    keel_runtime *rt = start_ex("20", "5000", 400, 0);
    json_t *doc, *detail;
    int ok = -1;
    int64_t ms;
    (void)state;

    ms = timed_ready(rt, &doc, &ok);
    if (ms >= 100)
        fail_msg("/readyz waited %lld ms for the first pass", (long long)ms);
    assert_int_equal(ok, 0);
    assert_string_equal(mstatus(doc), "unavailable");
    detail = json_object_get(json_object_get(json_object_get(doc, "modules"), "slow"), "detail");
    assert_string_equal(json_string_value(json_object_get(detail, "check")), "starting");
    assert_true(json_is_true(json_object_get(doc, "starting")));
    json_decref(doc);

    atomic_store(&hook_ms, 0);
    assert_true(keel__health_rounds(rt, 3000) >= 1);
    doc = keel__rt_ready(rt, NULL, &ok);
    assert_int_equal(ok, 1);
    assert_string_equal(mstatus(doc), "ok");
    assert_null(json_object_get(doc, "starting"));
    json_decref(doc);
    finish(rt);
}

static void test_interval_zero_is_inline(void **state)
{
    keel_runtime *rt = start("0", "200");
    json_t *doc;
    int ok = -1;
    int64_t ms;
    (void)state;

    assert_int_equal(keel__health_rounds(rt, 0), 0);  /* no checker thread */
    atomic_store(&hook_down, 1);
    atomic_store(&hook_ms, 150);
    ms = timed_ready(rt, &doc, &ok);  /* the hook runs in the call */
    assert_true(ms >= 150);
    assert_int_equal(ok, 0);
    assert_string_equal(mstatus(doc), "unavailable");
    json_decref(doc);
    finish(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_hook_does_not_hold_ready),
        cmocka_unit_test(test_stuck_hook_is_timeout),
        cmocka_unit_test(test_first_pass_is_starting),
        cmocka_unit_test(test_interval_zero_is_inline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
