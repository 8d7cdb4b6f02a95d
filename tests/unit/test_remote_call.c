/*
 * test_remote_call.c — keel_call end to end through the remote vtable,
 * against the in-test server of tests/fakes/fake_http_server: headers
 * (request id, traceparent, principal), raw bodies, concurrent calls, error
 * adoption, the interface-version and digest skew checks, a mixed v1/v2
 * build refused, retries and the breaker.  The client's pieces on their own
 * are test_remote.c.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "api/remote-internal.h"
#include "fakes/remote_fixture.h"
#include "keel/client.h"

/* ---- keel_call through the remote vtable ----------------------------------------- */

static int trem_handler(keel_ctx *ctx, const json_t *in, json_t **out)
{
    *out = json_deep_copy(in);
    return 0;
}

static const keel_method trem_methods[] = {
    { .name = "echo", .handler = trem_handler, .flags = KEEL_READONLY | KEEL_IDEMPOTENT,
      .summary = "echo (idempotent)" },
    { .name = "put", .handler = trem_handler, .summary = "not idempotent" },
    { .name = "upload", .handler = trem_handler, .flags = KEEL_RAW_IN, .summary = "raw body",
      .raw_types = "text/csv", .raw_field = "csv" },
    { 0 }
};

static const keel_module trem_module = {
    .abi = KEEL_ABI, .name = "trem", .version = "1.0.0", .summary = "remote test module",
    .methods = trem_methods, .iface_version = 3,
};

typedef remote_fix rfix;

static int rfix_setup(void **state)
{
    rfix *f = remote_fix_start(&trem_module, 3, "r-test-remote");

    assert_int_equal(keel__mc_placement(keel__rt_find(f->rt, "trem")), KEEL_PLACE_REMOTE);
    *state = f;
    return 0;
}

static int rfix_teardown(void **state)
{
    rfix *f = *state;

    keel__ctx_free(f->ctx);
    f->ctx = NULL;
    keel__remote_uninstall(f->rt);  /* idempotent: remote_fix_stop uninstalls again */
    remote_fix_stop(f);
    return 0;
}

static json_t *remote_status(rfix *f)
{
    json_t *d = keel__rt_describe(f->rt), *m, *st = NULL;
    size_t i;

    json_array_foreach(json_object_get(d, "modules"), i, m)
        if (strcmp(json_string_value(json_object_get(m, "name")), "trem") == 0)
            st = json_incref(json_object_get(m, "remote"));
    json_decref(d);
    return st;
}

static void test_call_ok(void **state)
{
    rfix *f = *state;
    json_t *in = json_pack("{s:s, s:i}", "msg", "hi", "n", 7), *out = NULL;
    json_t *st;

    assert_int_equal(keel__ctx_set_traceparent(f->ctx, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), 0);
    keel__ctx_set_tracestate(f->ctx, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
    assert_int_equal(keel_call(f->ctx, "trem", "echo", in, &out), 0);
    assert_true(json_equal(in, out));
    assert_non_null(strstr(f->s->last_head, "POST /v1/trem/echo HTTP/1.1"));
    assert_non_null(strstr(f->s->last_head, "X-Request-Id: r-test-remote\r\n"));
    assert_non_null(strstr(f->s->last_head, "X-Keel-Caller: keel\r\n"));
    assert_non_null(strstr(f->s->last_head, "Content-Type: application/json\r\n"));
    {
        /* same trace, sampled; the parent is the span of this hop (W3C:
         * each participant sends its own span id as parent-id), not the
         * caller's; tracestate travels unchanged */
        const char *tp = strstr(f->s->last_head, "traceparent: 00-0af7651916cd43dd8448eb211c80319c-");
        assert_non_null(tp);
        tp += strlen("traceparent: 00-0af7651916cd43dd8448eb211c80319c-");
        assert_true(strspn(tp, "0123456789abcdef") == 16);
        assert_memory_not_equal(tp, "b7ad6b7169203331", 16);
        assert_memory_not_equal(tp, "0000000000000000", 16);
        assert_memory_equal(tp + 16, "-01\r\n", 5);
        assert_non_null(strstr(f->s->last_head,
                               "tracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7\r\n"));
    }
    assert_null(strstr(f->s->last_head, "Authorization:"));   /* no caller token: none sent */
    {
        const char *dl = strstr(f->s->last_head, "X-Keel-Deadline-Ms: ");
        long v;
        assert_non_null(dl);
        v = strtol(dl + 20, NULL, 10);
        assert_true(v > 2500 && v <= 3000);  /* call_timeout_ms=3000 */
    }
    json_decref(out);
    /* Second call: skew check cached (one GET), connection reused; the
     * caller's bearer token travels with it so the callee sees the same caller. */
    assert_int_equal(keel__ctx_set_token(f->ctx, "kt_caller-token"), 0);
    assert_int_equal(keel_call(f->ctx, "trem", "put", in, &out), 0);
    assert_non_null(strstr(f->s->last_head, "Authorization: Bearer kt_caller-token\r\n"));
    assert_int_equal(keel__ctx_set_token(f->ctx, NULL), 0);
    assert_int_equal(f->s->requests, 3);
    assert_int_equal(f->s->accepts, 1);
    json_decref(out);
    /* keel/client.h helpers. */
    assert_int_equal(keel_client_callf(f->ctx, "trem", "echo", &out, "{s:s, s:I}", "k", "v",
                                       "n", (json_int_t)42), 0);
    {
        const char *k = NULL;
        json_int_t n = 0;
        assert_int_equal(keel_client_unpack(f->ctx, "trem.echo", out, "{s:s, s:I}", "k", &k, "n", &n), 0);
        assert_string_equal(k, "v");
        assert_int_equal(n, 42);
        assert_int_equal(keel_client_unpack(f->ctx, "trem.echo", out, "{s:s, s:I}", "k", &k,
                                            "missing", &n), KEEL_EIO);
        assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "trem.echo"));
        assert_int_equal(keel_client_unpack(f->ctx, "trem.echo", out, "{s:I}", "k", &n), KEEL_EIO);
    }
    json_decref(out);
    assert_int_equal(keel_client_callf(f->ctx, "trem", "echo", &out, "{s:s}", "k", (char *)NULL),
                     KEEL_EINVAL);
    assert_null(out);
    assert_int_equal(keel_client_call(f->ctx, "trem", "echo", json_incref(in), NULL), 0);
    st = remote_status(f);
    assert_string_equal(json_string_value(json_object_get(st, "breaker")), "closed");
    assert_string_equal(json_string_value(json_object_get(st, "skew")), "ok");
    assert_int_equal(json_integer_value(json_object_get(st, "failures")), 0);
    json_decref(st);
    json_decref(in);
}

static void test_call_raw_body(void **state)
{
    rfix *f = *state;
    static const char csv[] = "t,ax\n0.01,9.8\n0.02,\"q\"\n";
    json_t *in = json_pack("{s:i}", "horse_id", 4), *out = NULL;

    /* An upload that arrived as text/csv travels in the method's raw_field. */
    keel__ctx_set_raw(f->ctx, csv, strlen(csv), "text/csv");
    assert_int_equal(keel__call_root(f->ctx, "trem", "upload", in, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "csv")), csv);
    assert_int_equal(json_integer_value(json_object_get(out, "horse_id")), 4);
    assert_int_equal(json_object_size(in), 1);  /* the caller's input is untouched */
    json_decref(out);
    /* A csv field already in the input wins over nothing else being there. */
    keel__ctx_set_raw(f->ctx, NULL, 0, NULL);
    json_object_set_new(in, "csv", json_string("x\n1\n"));
    assert_int_equal(keel__call_root(f->ctx, "trem", "upload", in, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "csv")), "x\n1\n");
    json_decref(out);
    /* Raw bytes that are not UTF-8 cannot go into JSON: a clear error, nothing sent. */
    keel__ctx_set_raw(f->ctx, "a\xff\xfe", 3, "text/csv");
    json_object_del(in, "csv");
    assert_int_equal(keel__call_root(f->ctx, "trem", "upload", in, &out), KEEL_EBADDATA);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "UTF-8"));
    json_decref(in);
}

typedef struct worker_arg {
    rfix *f;
    int   ok;
} worker_arg;

static void *call_worker(void *p)
{
    worker_arg *w = p;
    keel_ctx *ctx = keel__ctx_new(w->f->rt, KEEL_TR_LOCAL, NULL, 0);
    int i;

    for (i = 0; i < 100; i++) {
        json_t *in = json_pack("{s:i}", "i", i), *out = NULL;
        if (keel_call(ctx, "trem", "put", in, &out) == 0 && json_equal(in, out))
            w->ok++;
        json_decref(in);
        json_decref(out);
    }
    keel__ctx_free(ctx);
    return NULL;
}

static void test_call_concurrent(void **state)
{
    rfix *f = *state;
    pthread_t th[6];
    worker_arg w[6];
    json_t *st;
    int i;

    for (i = 0; i < 6; i++) {
        w[i] = (worker_arg){ f, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, call_worker, &w[i]), 0);
    }
    for (i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].ok, 100);
    }
    /* At most one connection per concurrent caller, never one per call. */
    assert_true(f->s->accepts >= 1 && f->s->accepts <= 6);
    st = remote_status(f);
    assert_string_equal(json_string_value(json_object_get(st, "breaker")), "closed");
    json_decref(st);
}

static void test_call_error_adopted(void **state)
{
    rfix *f = *state;
    json_t *out = (json_t *)1, *body;
    const json_t *e;

    pthread_mutex_lock(&f->s->mu);
    f->s->status = 400;
    snprintf(f->s->reply, sizeof(f->s->reply),
             "{\"error\":{\"code\":\"bad_data\",\"message\":\"row 3: speed is not a number\","
             "\"row\":3,\"request_id\":\"r-other\"}}");
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(keel_call(f->ctx, "trem", "echo", NULL, &out), KEEL_EBADDATA);
    assert_null(out);
    assert_string_equal(keel_ctx_errmsg(f->ctx), "row 3: speed is not a number");
    body = keel__ctx_error_body(f->ctx, KEEL_EBADDATA);
    e = json_object_get(body, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "bad_data");
    assert_int_equal(json_integer_value(json_object_get(e, "row")), 3);
    assert_string_equal(json_string_value(json_object_get(e, "request_id")), "r-test-remote");
    json_decref(body);
    /* An application error is not a transport failure: the breaker stays closed. */
    assert_int_equal(f->s->requests, 2);
    /* A reply without a keel error body is mapped by status. */
    pthread_mutex_lock(&f->s->mu);
    f->s->status = 404;
    snprintf(f->s->reply, sizeof(f->s->reply), "not json");
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(keel_call(f->ctx, "trem", "put", NULL, &out), KEEL_ENOTFOUND);
    if (!strstr(keel_ctx_errmsg(f->ctx), "HTTP 404"))
        fail_msg("message: %s", keel_ctx_errmsg(f->ctx));
    /* A 2xx reply that is not JSON. */
    pthread_mutex_lock(&f->s->mu);
    f->s->status = 200;
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(keel_call(f->ctx, "trem", "put", NULL, &out), KEEL_EIO);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "not valid JSON"));
}

static void test_call_skew(void **state)
{
    rfix *f = *state;
    json_t *out = NULL;
    const char *msg;

    remote_fix_modules(f, 4, keel__mc_digest(keel__rt_find(f->rt, "trem")));
    assert_int_equal(keel_call(f->ctx, "trem", "echo", NULL, &out), KEEL_EVERSION);
    msg = keel_ctx_errmsg(f->ctx);
    assert_non_null(strstr(msg, "iface_version 4"));
    assert_non_null(strstr(msg, "iface_version 3"));
    /* Cached: no second GET, no POST. */
    assert_int_equal(keel_call(f->ctx, "trem", "echo", NULL, &out), KEEL_EVERSION);
    assert_int_equal(f->s->requests, 1);
}

static void test_call_digest_skew(void **state)
{
    rfix *f = *state;
    json_t *out = NULL;

    remote_fix_modules(f, 3, "00000000deadbeef");
    assert_int_equal(keel_call(f->ctx, "trem", "echo", NULL, &out), KEEL_EVERSION);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "schema digest 00000000dead"));
}

/* A mixed build: this process against a peer built before the wave-2 typed
 * calling convention (self first), where every module's iface was v1.  The
 * schemas are the same (same digest), so only the iface version tells them
 * apart, and the skew check must refuse; the same version is let through. */
static void test_mixed_build_refused(void **state)
{
    fake_srv *s = fake_srv_start(FS_REPLY);
    size_t i, checked = 0;

    (void)state;
    for (i = 0; keel_builtin_modules[i] != NULL; i++) {
        const keel_module *d = keel_builtin_modules[i];
        char env_remote[160], up[64], err[512];
        char *envp[] = { env_remote, "KEEL_CALL_TIMEOUT_MS=3000", "KEEL_LOG_LEVEL=error", NULL };
        keel_runtime *rt = NULL;
        keel_module_ctx *mc, *self = NULL;
        keel_ctx *ctx;
        json_t *out = NULL;
        size_t k;

        if (d->iface == NULL || d->client == NULL || d->methods == NULL || d->methods[0].name == NULL)
            continue;
        /* every typed iface was bumped past the wave-1 line */
        assert_true(d->iface_version >= 2);
        assert_int_equal(*(const unsigned *)d->iface, d->iface_version);
        assert_int_equal(*(const unsigned *)d->client, d->iface_version);
        for (k = 0; d->name[k] != '\0' && k + 1 < sizeof up; k++)
            up[k] = (char)(d->name[k] >= 'a' && d->name[k] <= 'z' ? d->name[k] - 32 : d->name[k]);
        up[k] = '\0';
        snprintf(env_remote, sizeof env_remote, "KEEL_REMOTE_%s=http://127.0.0.1:%d", up, s->port);
        if (keel__rt_new(keel_builtin_modules, &rt, err, sizeof err) != 0 ||
            keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0 ||
            keel__remote_install(rt, err, sizeof err) != 0)
            fail_msg("runtime for %s: %s", d->name, err);
        mc = keel__rt_find(rt, d->name);
        assert_int_equal(keel__mc_placement(mc), KEEL_PLACE_REMOTE);
        ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, "r-test-mixed", 0);
        /* the typed path hands out the client with the remote module as self */
        assert_ptr_equal(keel_iface(ctx, d->name, d->iface_version, &self), d->client);
        assert_ptr_equal(self, mc);

        pthread_mutex_lock(&s->mu);
        snprintf(s->modules, sizeof s->modules,
                 "{\"modules\":[{\"name\":\"%s\",\"placement\":\"local\","
                 "\"iface_version\":%u,\"digest\":\"%s\"}]}",
                 d->name, d->iface_version - 1, keel__mc_digest(mc));
        pthread_mutex_unlock(&s->mu);
        assert_int_equal(keel_call(ctx, d->name, d->methods[0].name, NULL, &out), KEEL_EVERSION);
        assert_null(out);
        if (!strstr(keel_ctx_errmsg(ctx), "refusing to call across versions"))
            fail_msg("%s: %s", d->name, keel_ctx_errmsg(ctx));
        keel__ctx_free(ctx);
        keel__remote_uninstall(rt);
        keel__rt_free(rt);

        /* the same build on both sides passes the check */
        if (keel__rt_new(keel_builtin_modules, &rt, err, sizeof err) != 0 ||
            keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0 ||
            keel__remote_install(rt, err, sizeof err) != 0)
            fail_msg("runtime for %s: %s", d->name, err);
        pthread_mutex_lock(&s->mu);
        snprintf(s->modules, sizeof s->modules,
                 "{\"modules\":[{\"name\":\"%s\",\"placement\":\"local\","
                 "\"iface_version\":%u,\"digest\":\"%s\"}]}",
                 d->name, d->iface_version, keel__mc_digest(keel__rt_find(rt, d->name)));
        pthread_mutex_unlock(&s->mu);
        ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, "r-test-mixed", 0);
        assert_int_not_equal(keel_call(ctx, d->name, d->methods[0].name, NULL, &out), KEEL_EVERSION);
        json_decref(out);
        keel__ctx_free(ctx);
        keel__remote_uninstall(rt);
        keel__rt_free(rt);
        checked++;
    }
    fake_srv_stop(s);
    /* a build with no typed iface at all has nothing to skew */
    if (checked == 0)
        print_message("mixed build: no built-in module has a typed iface and client\n");
}

static void test_call_retries(void **state)
{
    rfix *f = *state;
    json_t *out = NULL;

    /* Idempotent: two 503s then success, within the retry budget. */
    pthread_mutex_lock(&f->s->mu);
    f->s->fail_first = 2;
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(keel_call(f->ctx, "trem", "echo", NULL, &out), 0);
    json_decref(out);
    assert_int_equal(f->s->requests, 4);  /* GET /v1/modules + 3 POSTs */
    /* Not idempotent: one attempt only, the remote's 503 comes back. */
    pthread_mutex_lock(&f->s->mu);
    f->s->fail_first = 1;
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(keel_call(f->ctx, "trem", "put", NULL, &out), KEEL_EUNAVAIL);
    assert_int_equal(f->s->requests, 5);
    assert_string_equal(keel_ctx_errmsg(f->ctx), "busy");
    /* Idempotent, always failing: bounded at 3 attempts. */
    pthread_mutex_lock(&f->s->mu);
    f->s->fail_first = 100;
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(keel_call(f->ctx, "trem", "echo", NULL, &out), KEEL_EUNAVAIL);
    assert_int_equal(f->s->requests, 8);
    /* Retries never sleep past the caller's deadline. */
    {
        keel_ctx *c = keel__ctx_new(f->rt, KEEL_TR_LOCAL, NULL, keel__now_ms() + 30);
        int64_t t0 = keel__now_ms();
        int rc = keel_call(c, "trem", "echo", NULL, &out);
        assert_true(rc == KEEL_EUNAVAIL || rc == KEEL_ETIMEDOUT);
        assert_true(keel__now_ms() - t0 < 30 + 25);  /* a sleep past it would add up to 50 ms */
        keel__ctx_free(c);
    }
}

static void test_call_breaker(void **state)
{
    rfix *f = *state;
    json_t *out = NULL, *st, *body;
    int i;
    int64_t t0;

    pthread_mutex_lock(&f->s->mu);
    f->s->mode = FS_SILENT;
    pthread_mutex_unlock(&f->s->mu);
    /* Deadline exceeded through keel_call: a child of a ctx with 150 ms left. */
    {
        keel_ctx *c = keel__ctx_new(f->rt, KEEL_TR_LOCAL, NULL, keel__now_ms() + 150);
        t0 = keel__now_ms();
        assert_int_equal(keel_call(c, "trem", "echo", NULL, &out), KEEL_ETIMEDOUT);
        assert_true(keel__now_ms() - t0 < 600);
        keel__ctx_free(c);
    }
    fake_srv_stop(f->s);
    f->s = fake_srv_start(FS_REPLY);  /* a fresh server on another port; the old one is gone */
    /* The remote is down (old port refused): 4 more failures open the breaker. */
    for (i = 0; i < 4; i++) {
        t0 = keel__now_ms();
        assert_int_equal(keel_call(f->ctx, "trem", "put", NULL, &out), KEEL_EUNAVAIL);
        assert_true(keel__now_ms() - t0 < 500);
        body = keel__ctx_error_body(f->ctx, KEEL_EUNAVAIL);
        assert_string_equal(json_string_value(json_object_get(json_object_get(body, "error"),
                                                              "module")), "trem");
        json_decref(body);
    }
    st = remote_status(f);
    assert_string_equal(json_string_value(json_object_get(st, "breaker")), "open");
    assert_int_equal(json_integer_value(json_object_get(st, "failures")), 5);
    json_decref(st);
    assert_int_equal(keel_call(f->ctx, "trem", "put", NULL, &out), KEEL_EUNAVAIL);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "circuit open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_call_ok, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_call_raw_body, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_call_concurrent, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_call_error_adopted, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_call_skew, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_call_digest_skew, rfix_setup, rfix_teardown),
        cmocka_unit_test(test_mixed_build_refused),
        cmocka_unit_test_setup_teardown(test_call_retries, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_call_breaker, rfix_setup, rfix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
