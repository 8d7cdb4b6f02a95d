/*
 * test_riding_views.c — session_windows and session_trace against the real
 * compute module (the numbers are compute's; what riding adds is reading
 * the stored CSV for the right caller, and nothing else).
 *
 * Expected values come from the spec, not from running the code: the
 * windows tile the session and their times per gait add up to the summary's
 * (docs/compute.md "windows"); a sensor at rest under gravity plus a vertical
 * sinusoid of amplitude A has a vertical dynamic acceleration of A sin(ωt),
 * so every bucket longer than a period shows min ≈ −A and max ≈ +A (within
 * the ripple of compute's 2 s gravity filter, A / (2π f τ) = 4 % at 2 Hz).
 * Access: a stranger gets the answer a missing session gets; a horse shared
 * as viewer is readable; unsharing takes it away again.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/runtime-internal.h"
#include "core/events-internal.h"
#include "fakes/test_runtime.h"
#include "compute/compute.h"
#include "riding/riding.h"
#include "auth/auth.h"
#include "auth/auth-internal.h"
#include "kv/kv.h"
#include "riding_call.h"

extern const keel_module keel_module_compute;

typedef struct fix {
    struct keel_test_rt t;
    json_int_t a, b, adm;
} fix;

static json_t *g_who;  /* principal of the next call (owned) */

static void as_user(json_int_t id)
{
    json_decref(g_who);
    g_who = json_pack("{s:I, s:s, s:[s]}", "user_id", id, "email", "x@example.com", "scopes",
                      "riding:write");
}

static json_int_t add_user(fix *f, const char *email, const char *scope)
{
    keel_store *st = keel_module_store(keel__rt_find(f->t.rt, "auth"));
    json_t *scopes = json_pack("[s]", scope), *user = NULL;
    json_int_t id;

    assert_int_equal(auth_user_create(st, email, "unusable", scopes, &user), 0);
    id = json_integer_value(json_object_get(user, "id"));
    json_decref(user);
    json_decref(scopes);
    return id;
}

static int setup(void **state)
{
    static const keel_module *const mods[] = { &keel_module_compute, &keel_module_kv,
                                               &keel_module_auth, &keel_module_riding, NULL };
    fix *f = calloc(1, sizeof *f);
    char err[512];

    if (f == NULL || keel_test_rt_start(&f->t, "riding-views", mods, NULL, err, sizeof err) != 0)
        fail_msg("runtime: %s", f == NULL ? "out of memory" : err);
    /* the summaries come from the riding.session_uploaded handler */
    assert_int_equal(keel__events_start(f->t.rt, err, sizeof err), 0);
    f->a = add_user(f, "ann@example.com", "riding:write");
    f->b = add_user(f, "bob@example.com", "riding:write");
    f->adm = add_user(f, "root@example.com", "admin");
    as_user(f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fix *f = *state;
    keel_test_rt_stop(&f->t);
    free(f);
    json_decref(g_who);
    g_who = NULL;
    return 0;
}

/* riding.<method>(input) as g_who (NULL: nobody); raw as a text/csv body.
 * *body gets the error body on failure (may be NULL). */
static int call_raw(fix *f, const char *method, const char *input, const char *raw,
                    json_t **out, json_t **body)
{
    return riding_test_call(f->t.rt, g_who, method, input, raw, out, body);
}

static int call(fix *f, const char *method, const char *input, json_t **out)
{
    return call_raw(f, method, input, NULL, out, NULL);
}

/* 100 Hz, seconds long: gravity on z plus amp·sin(2π·hz·t) on z, no
 * rotation.  malloc'd text. */
static char *sine_csv(double seconds, double amp, double hz)
{
    size_t n = (size_t)(seconds * 100), cap = 64 + n * 64, used = 0;
    char *s = malloc(cap);

    assert_non_null(s);
    used += (size_t)snprintf(s, cap, "time,ax,ay,az,gx,gy,gz\n");
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / 100.0;
        used += (size_t)snprintf(s + used, cap - used, "%.2f,0,0,%.6f,0,0,0\n", t,
                                 9.80665 + amp * sin(2 * M_PI * hz * t));
    }
    return s;
}

/* A horse of the current user with one session of csv: its session id. */
static json_int_t upload(fix *f, const char *horse, const char *csv, json_int_t *horse_id)
{
    json_t *out = NULL;
    char in[160];
    json_int_t id;

    snprintf(in, sizeof in, "{\"name\":\"%s\"}", horse);
    assert_int_equal(call(f, "create_horse", in, &out), 0);
    *horse_id = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-01T10:00:00Z\"}",
             (long long)*horse_id);
    assert_int_equal(call_raw(f, "upload_session", in, csv, &out, NULL), 0);
    id = json_integer_value(json_object_get(out, "session_id"));
    json_decref(out);
    return id;
}

static void test_trace_of_a_vertical_sine(void **state)
{
    fix *f = *state;
    char *csv = sine_csv(60, 3.0, 2.0), in[96];
    json_t *out = NULL, *t, *mn, *mx;
    json_int_t h, s = upload(f, "Sine", csv, &h);
    size_t i, n;

    snprintf(in, sizeof in, "{\"session_id\":%lld,\"max_points\":20}", (long long)s);
    assert_int_equal(call(f, "session_trace", in, &out), 0);
    t = json_object_get(out, "t");
    mn = json_object_get(out, "min");
    mx = json_object_get(out, "max");
    n = json_array_size(t);
    assert_int_equal(json_integer_value(json_object_get(out, "session_id")), s);
    assert_string_equal(json_string_value(json_object_get(out, "unit")), "m/s2");
    assert_int_equal(json_integer_value(json_object_get(out, "samples")), 6000);
    /* at most max_points buckets, at least half of them, covering the session */
    assert_true(n <= 20 && n >= 10);
    assert_int_equal(json_array_size(mn), n);
    assert_int_equal(json_array_size(mx), n);
    assert_true(json_real_value(json_object_get(out, "bucket_s")) * (double)n >= 59.99);
    for (i = 0; i < n; i++) {
        double lo = json_number_value(json_array_get(mn, i));
        double hi = json_number_value(json_array_get(mx, i));
        assert_true(json_number_value(json_array_get(t, i)) >= 0);
        if (i > 0)
            assert_true(json_number_value(json_array_get(t, i))
                        > json_number_value(json_array_get(t, i - 1)));
        if (fabs(lo + 3.0) > 0.3 || fabs(hi - 3.0) > 0.3)
            fail_msg("bucket %zu: min %.3f max %.3f, want -3 and +3 within 10 %%", i, lo, hi);
    }
    json_decref(out);

    /* default max_points; bounds from the schema */
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)s);
    assert_int_equal(call(f, "session_trace", in, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "max_points")), 1000);
    assert_true(json_array_size(json_object_get(out, "t")) <= 1000);
    json_decref(out);
    snprintf(in, sizeof in, "{\"session_id\":%lld,\"max_points\":9}", (long long)s);
    assert_int_equal(call(f, "session_trace", in, &out), KEEL_EINVAL);
    snprintf(in, sizeof in, "{\"session_id\":%lld,\"max_points\":5001}", (long long)s);
    assert_int_equal(call(f, "session_trace", in, &out), KEEL_EINVAL);
    free(csv);
}

static void test_windows_tile_the_summary(void **state)
{
    fix *f = *state;
    char *csv = sine_csv(40, 3.0, 2.0), in[64];
    json_t *out = NULL, *session = NULL, *w, *gaits;
    json_int_t h, s = upload(f, "Tiles", csv, &h);
    double per_gait[6] = {0}, prev_end = 0, duration;
    static const char *const names[] = { "halt", "walk", "trot", "canter", "gallop",
                                         "unclassified" };
    size_t i, n;

    snprintf(in, sizeof in, "{\"session_id\":%lld,\"wait_ms\":20000}", (long long)s);
    assert_int_equal(call(f, "get_session", in, &session), 0);
    assert_string_equal(json_string_value(json_object_get(session, "status")), "ready");
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)s);
    assert_int_equal(call(f, "session_windows", in, &out), 0);
    w = json_object_get(out, "windows");
    n = json_array_size(w);
    assert_int_equal(json_integer_value(json_object_get(out, "count")), n);
    duration = json_number_value(json_object_get(json_object_get(session, "summary"),
                                                 "duration_s"));
    /* 2 s windows tiling 40 s */
    assert_true(n >= 15 && n <= 21);
    for (i = 0; i < n; i++) {
        json_t *r = json_array_get(w, i);
        double t0 = json_number_value(json_object_get(r, "t_start"));
        double t1 = json_number_value(json_object_get(r, "t_end"));
        const char *g = json_string_value(json_object_get(r, "gait"));
        int known = 0;
        assert_true(fabs(t0 - prev_end) < 1e-6);
        assert_true(t1 > t0);
        for (size_t k = 0; k < 6; k++) {
            if (strcmp(names[k], g) == 0) {
                per_gait[k] += t1 - t0;
                known = 1;
            }
        }
        assert_true(known);
        prev_end = t1;
    }
    assert_true(fabs(prev_end - duration) < 1e-3);
    gaits = json_object_get(json_object_get(session, "summary"), "gaits");
    for (i = 0; i < 5; i++)
        assert_true(fabs(per_gait[i] - json_number_value(json_object_get(
                                           json_object_get(gaits, names[i]), "time_s"))) < 0.01);
    json_decref(out);
    json_decref(session);
    free(csv);
}

/* The error body of a call expected to fail (new reference). */
static json_t *error_of(fix *f, const char *method, json_int_t session_id)
{
    json_t *out = NULL, *body = NULL;
    char in[64];

    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)session_id);
    assert_int_not_equal(call_raw(f, method, in, NULL, &out, &body), 0);
    assert_null(out);
    assert_non_null(body);
    return body;
}

static void expect_not_found(fix *f, const char *method, json_int_t id)
{
    json_t *body = NULL, *out = NULL;
    char in[64], want[64];

    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)id);
    assert_int_equal(call_raw(f, method, in, NULL, &out, &body), KEEL_ENOTFOUND);
    snprintf(want, sizeof want, "session %lld not found", (long long)id);
    /* exactly what a session that does not exist answers: no hint it does */
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "error"),
                                                          "message")), want);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "error"),
                                                        "session_id")), id);
    json_decref(body);
}

static void test_owner_checks(void **state)
{
    fix *f = *state;
    char *csv = sine_csv(12, 2.0, 2.0), in[128];
    json_t *out = NULL, *body;
    json_int_t h, s = upload(f, "Private", csv, &h);
    static const char *const methods[] = { "session_windows", "session_trace" };

    for (int m = 0; m < 2; m++) {
        as_user(f->a);
        expect_not_found(f, methods[m], s + 1000);   /* missing */
        as_user(f->b);
        expect_not_found(f, methods[m], s);          /* a stranger's: the same */
    }
    /* shared as viewer: readable; unshared: gone again */
    as_user(f->a);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"user_id\":%lld,\"role\":\"viewer\"}",
             (long long)h, (long long)f->b);
    assert_int_equal(call(f, "share_horse", in, &out), 0);
    json_decref(out);
    as_user(f->b);
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)s);
    assert_int_equal(call(f, "session_windows", in, &out), 0);
    assert_true(json_array_size(json_object_get(out, "windows")) > 0);
    json_decref(out);
    assert_int_equal(call(f, "session_trace", in, &out), 0);
    assert_true(json_array_size(json_object_get(out, "t")) > 0);
    json_decref(out);
    as_user(f->a);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"user_id\":%lld}", (long long)h,
             (long long)f->b);
    assert_int_equal(call(f, "unshare_horse", in, &out), 0);
    json_decref(out);
    as_user(f->b);
    expect_not_found(f, "session_trace", s);
    /* an admin reads everything; nobody is not signed in */
    json_decref(g_who);
    g_who = json_pack("{s:I, s:s, s:[s]}", "user_id", f->adm, "email", "root@example.com",
                      "scopes", "admin");
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)s);
    assert_int_equal(call(f, "session_windows", in, &out), 0);
    json_decref(out);
    json_decref(g_who);
    g_who = NULL;
    body = error_of(f, "session_trace", s);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "error"),
                                                          "code")), "unauthorized");
    json_decref(body);
    free(csv);
}

/* compute_client (what keel_iface hands out when compute runs elsewhere)
 * gives what compute_local gives: riding's views work in any placement. */
static void test_client_matches_local(void **state)
{
    fix *f = *state;
    char *csv = sine_csv(20, 2.0, 2.0);
    keel_ctx *ctx = keel__ctx_new(f->t.rt, KEEL_TR_HTTP, NULL, 0);
    json_t *lw = NULL, *cw = NULL, *lt = NULL, *ct = NULL;

    assert_non_null(ctx);
    assert_true(compute_local.version >= COMPUTE_IFACE_V3);
    assert_int_equal(compute_local.windows_csv(NULL, ctx, csv, strlen(csv), NULL, &lw), 0);
    assert_int_equal(compute_client.windows_csv(NULL, ctx, csv, strlen(csv), NULL, &cw), 0);
    assert_true(json_equal(lw, cw));
    assert_int_equal(compute_local.trace_csv(NULL, ctx, csv, strlen(csv), NULL, 50, &lt), 0);
    assert_int_equal(compute_client.trace_csv(NULL, ctx, csv, strlen(csv), NULL, 50, &ct), 0);
    assert_true(json_equal(lt, ct));
    json_decref(lt);
    assert_int_equal(compute_local.trace_csv(NULL, ctx, csv, strlen(csv), NULL, 5, &lt),
                     KEEL_EINVAL);
    assert_null(lt);
    json_decref(lw);
    json_decref(cw);
    json_decref(ct);
    keel__ctx_free(ctx);
    free(csv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_trace_of_a_vertical_sine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_windows_tile_the_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_matches_local, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
