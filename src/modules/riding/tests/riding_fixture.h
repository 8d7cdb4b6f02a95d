/*
 * riding_fixture.h — the runtime test_riding and test_riding_access share:
 * {fake compute, riding, auth, kv}, the fake implementing compute_iface
 * with a tiny summary (samples = number of data lines; KEEL_EBADDATA on any
 * CSV holding the word "bad"; KEEL_EUNAVAIL while fake_unavail says so),
 * the principal the calls run as (users A, B, C, an admin, the operator,
 * nobody) set on the ctx the way the gateway sets it from a bearer token,
 * and the events dispatcher running (summaries come from the
 * riding.session_uploaded handler; backoff shortened to milliseconds).
 * Functions are static inline: each test file uses its own subset.
 */
#ifndef KEEL_RIDING_TESTS_FIXTURE_H
#define KEEL_RIDING_TESTS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/runtime-internal.h"
#include "core/events-internal.h"
#include "fakes/faulty_store.h"
#include "fakes/test_runtime.h"
#include "compute/compute.h"
#include "riding/riding.h"
#include "riding/riding-internal.h"
#include "auth/auth.h"
#include "auth/auth-internal.h"
#include "kv/kv.h"
#include "riding_call.h"

/* ---- fake compute --------------------------------------------------------- */

/* summaries asked for (the dispatcher's thread counts, the test reads) */
static atomic_int fake_calls;
/* calls still to fail with KEEL_EUNAVAIL (compute down); -1 = every one */
static atomic_int fake_unavail;
/* while set, a summary waits (a slow compute) */
static atomic_int fake_hold;

static inline int fake_aggregate_csv(keel_module_ctx *self, keel_ctx *ctx, const char *csv, size_t len,
                              const compute_options *opt, json_t **summary)
{
    size_t i, lines = 0;

    assert_string_equal(keel_module_name(self), "compute");   /* compute's own ctx */
    fake_calls++;
    *summary = NULL;
    while (atomic_load(&fake_hold))
        usleep(1000);
    if (atomic_load(&fake_unavail) != 0) {
        if (atomic_load(&fake_unavail) > 0)
            atomic_fetch_sub(&fake_unavail, 1);
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "compute is not available");
    }
    for (i = 0; i < len; i++)
        if (csv[i] == '\n')
            lines++;
    if (memmem(csv, len, "bad", 3) != NULL) {
        keel_ctx_error_field_new(ctx, "row", json_integer(2));
        return keel_ctx_error(ctx, KEEL_EBADDATA, "row 2: column ax: not a number");
    }
    *summary = json_pack("{s:f, s:I, s:{s:{s:f}}}", "duration_s", 1.0 * (double)lines,
                         "samples", (json_int_t)(lines > 0 ? lines - 1 : 0),
                         "gaits", "trot", "share", 1.0);
    return 0;
}

static inline int fake_trend(keel_module_ctx *self, keel_ctx *ctx, const json_t *sessions, json_t **out)
{
    json_t *dates = json_array(), *v;
    size_t i;

    assert_string_equal(keel_module_name(self), "compute");
    json_array_foreach(sessions, i, v)
        json_array_append(dates, json_object_get(v, "date"));
    /* the shape of compute's trend output (riding's horse_trend.out.json
     * checks it), with the dates it was given in the horse's entry */
    *out = json_pack("{s:[{s:O, s:I, s:{}, s:[], s:o}], s:{}}", "horses", "horse_id",
                     json_object_get(json_array_get(sessions, 0), "horse_id"),
                     "sessions", (json_int_t)json_array_size(sessions), "metrics", "flags",
                     "dates", dates, "options");
    return 0;
}

static const compute_iface fake_compute_iface = {
    .version = COMPUTE_IFACE_VERSION,
    .aggregate_csv = fake_aggregate_csv,
    .trend = fake_trend,
};

static inline int fake_noop(keel_ctx *ctx, const json_t *in, json_t **out)
{
    *out = json_object();
    return 0;
}

static const keel_method fake_compute_methods[] = {
    { .name = "noop", .handler = fake_noop, .flags = KEEL_READONLY, .summary = "unused" },
    {0}
};

static const keel_module fake_compute = {
    .abi = KEEL_ABI, .name = "compute", .version = "0.0.1", .summary = "fake compute",
    .methods = fake_compute_methods, .iface = &fake_compute_iface,
    .iface_version = COMPUTE_IFACE_VERSION,
};

/* ---- fixture --------------------------------------------------------------- */

typedef struct fix {
    struct keel_test_rt t;
    json_int_t a, b, c, adm;  /* user ids */
} fix;

/* The principal the next call runs as (owned), set by as_user / as_json. */
static json_t *g_who;

static inline void as_json(json_t *principal_new)
{
    json_decref(g_who);
    g_who = principal_new;
}

static inline void as_user(json_int_t id)
{
    as_json(json_pack("{s:I, s:s, s:[s,s]}", "user_id", id, "email", "someone@example.com",
                      "scopes", "riding:write", "compute:read"));
}

static inline void as_operator(void)
{
    as_json(json_pack("{s:b, s:[s]}", "operator", 1, "scopes", "admin"));
}

static inline json_int_t add_user(fix *f, const char *email, const char *scope)
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

static inline int setup(void **state)
{
    static const keel_module *const mods[] = { &fake_compute, &keel_module_kv, &keel_module_auth,
                                               &keel_module_riding, NULL };
    /* retries in milliseconds, not the default seconds */
    static const char *const env[] = { "KEEL_EVENTS_BACKOFF_MS=5", "KEEL_EVENTS_BACKOFF_MAX_MS=20",
                                       NULL };
    fix *f = calloc(1, sizeof *f);
    char err[512];

    if (f == NULL || keel_test_rt_start(&f->t, "riding", mods, env, err, sizeof err) != 0)
        fail_msg("runtime: %s", f == NULL ? "out of memory" : err);
    assert_int_equal(keel__events_start(f->t.rt, err, sizeof err), 0);
    f->a = add_user(f, "ann@example.com", "riding:write");
    f->b = add_user(f, "bob@example.com", "riding:write");
    f->c = add_user(f, "cid@example.com", "riding:write");
    f->adm = add_user(f, "root@example.com", "admin");
    as_user(f->a);
    fake_calls = 0;
    fake_unavail = 0;
    fake_hold = 0;
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    fix *f = *state;
    /* a test that failed while holding compute must not leave the handler
     * spinning: stopping the runtime joins the dispatcher, and the failure
     * (cmocka prints it after teardown) would become a hang until ctest's
     * timeout, with no message */
    fake_hold = 0;
    keel_test_rt_stop(&f->t);
    free(f);
    as_json(NULL);
    return 0;
}

/* riding.<method>(input) as g_who; raw (may be NULL) as a text/csv body.
 * *out new ref or NULL; *body (may be NULL) gets the error body on failure. */
static inline int call_raw(fix *f, const char *method, const char *input, const char *raw,
                           json_t **out, json_t **body)
{
    return riding_test_call(f->t.rt, g_who, method, input, raw, out, body);
}

static inline int call(fix *f, const char *method, const char *input, json_t **out)
{
    return call_raw(f, method, input, NULL, out, NULL);
}

/* Like call, for a call expected to fail: the error code text. */
static inline const char *fails(fix *f, const char *method, const char *input, char *code, size_t len)
{
    json_t *out = NULL, *body = NULL;
    int rc = call_raw(f, method, input, NULL, &out, &body);

    assert_int_not_equal(rc, 0);
    assert_null(out);
    snprintf(code, len, "%s", json_string_value(json_object_get(json_object_get(body, "error"),
                                                                "code")));
    json_decref(body);
    return code;
}

static inline json_int_t new_horse(fix *f, const char *name)
{
    json_t *out = NULL;
    char in[128];
    json_int_t id;

    snprintf(in, sizeof in, "{\"name\":\"%s\"}", name);
    assert_int_equal(call(f, "create_horse", in, &out), 0);
    id = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    return id;
}

static inline size_t count_rows(fix *f, const char *sql)
{
    json_t *rows = NULL;
    size_t n;

    assert_int_equal(keel_store_exec(keel_module_store(keel__rt_find(f->t.rt, "riding")), sql, NULL,
                                     &rows), 0);
    n = (size_t)json_integer_value(json_object_get(json_array_get(rows, 0), "n"));
    json_decref(rows);
    return n;
}

/* get_session with wait_ms (up to 10 s: ASan and a loaded machine) as
 * g_who; the session (new reference), asserted to have left 'pending'. */
static inline json_t *settled(fix *f, json_int_t sid)
{
    json_t *out = NULL;
    char in[96];

    snprintf(in, sizeof in, "{\"session_id\":%lld,\"wait_ms\":10000}", (long long)sid);
    assert_int_equal(call(f, "get_session", in, &out), 0);
    assert_string_not_equal(json_string_value(json_object_get(out, "status")), "pending");
    return out;
}

/* upload_session of csv for horse h at started_at, waited until settled:
 * the session's id; its status must be want. */
static inline json_int_t upload_settled(fix *f, json_int_t h, const char *started_at,
                                        const char *csv, const char *want)
{
    json_t *out = NULL;
    char in[160];
    json_int_t sid;

    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"%s\"}", (long long)h,
             started_at);
    assert_int_equal(call_raw(f, "upload_session", in, csv, &out, NULL), 0);
    sid = json_integer_value(json_object_get(out, "session_id"));
    json_decref(out);
    out = settled(f, sid);
    assert_string_equal(json_string_value(json_object_get(out, "status")), want);
    json_decref(out);
    return sid;
}

#define CSV_A "time,ax,ay,az,gx,gy,gz\n0,0,0,9.8,0,0,0\n0.01,0,0,9.8,0,0,0\n"
#define CSV_B "time,ax,ay,az,gx,gy,gz\n0,1,0,9.8,0,0,0\n"
/* malformed where upload_session's structural check sees it (line 2) */
#define CSV_BAD "time,ax,ay,az,gx,gy,gz\nbad,0,0,9.8,0,0,0\n"
/* well-formed, but the fake compute calls it bad: fails in the handler */
#define CSV_LATE_BAD "time,ax,ay,az,gx,gy,gz,badge\n0,0,0,9.8,0,0,0,1\n"

#endif
