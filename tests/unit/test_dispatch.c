/* test_dispatch.c — validation before handlers, error detail, nested calls,
 * typed interfaces with version checks, the authn gate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/runtime-internal.h"

static int handler_runs;

static int h_add(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    handler_runs++;
    *out = json_pack("{s:I}", "sum", json_integer_value(json_object_get(in, "a")) +
                                     json_integer_value(json_object_get(in, "b")));
    return 0;
}

static int h_fail(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)in;
    *out = json_object(); /* must be released by dispatch on error */
    keel_ctx_error_field_new(ctx, "row", json_integer(7));
    return keel_ctx_error(ctx, KEEL_EBADDATA, "row 7: not a number");
}

/* Calls calc.add through keel_call, and calc.fail to see errors travel up. */
static int h_nested(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_t *r = NULL, *args = json_pack("{s:i, s:i}", "a", 2, "b", 3);
    int rc = keel_call(ctx, "calc", json_is_true(json_object_get(in, "fail")) ? "fail" : "add",
                       args, &r);
    json_decref(args); /* keel_call borrows its input */
    if (rc != 0)
        return rc;
    *out = r;
    return 0;
}

static int h_raw(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const char *d;
    size_t n;
    int rc = keel_ctx_input_text(ctx, in, &d, &n);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:s%}", "text", d, n);
    return 0;
}

typedef struct calc_iface {
    unsigned version;
    int (*add)(keel_module_ctx *self, keel_ctx *ctx, int a, int b);
} calc_iface;

/* Adds, and proves self is calc's own module ctx, not the caller's. */
static int calc_add(keel_module_ctx *self, keel_ctx *ctx, int a, int b)
{
    (void)ctx;
    return strcmp(keel_module_name(self), "calc") == 0 ? a + b : -1;
}
static const calc_iface calc_v2 = {.version = 2, .add = calc_add};

static const char add_schema[] =
    "{\"type\":\"object\",\"required\":[\"a\",\"b\"],\"additionalProperties\":false,"
    "\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\",\"minimum\":0}}}";

/* Hands its input back, so a test sees exactly what the handler got. */
static int h_echo_in(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    *out = json_deep_copy(in);
    return 0;
}

static const char ids_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"ids\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
    "\"n\":{\"type\":[\"integer\",\"null\"]},"
    "\"x\":{\"type\":\"number\"},"
    "\"any\":{},"
    "\"sub\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}}}";

static int h_badout(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx; (void)in;
    *out = json_pack("{s:s}", "sum", "not a number");
    return 0;
}

static const char sum_out_schema[] =
    "{\"type\":\"object\",\"required\":[\"sum\"],\"properties\":{\"sum\":{\"type\":\"integer\"}}}";

static const keel_method calc_methods[] = {
    {.name = "add", .handler = h_add, .flags = KEEL_READONLY, .in_schema = add_schema,
     .out_schema = sum_out_schema},
    {.name = "badout", .handler = h_badout, .out_schema = sum_out_schema},
    {.name = "ids", .handler = h_echo_in, .in_schema = ids_schema},
    {.name = "fail", .handler = h_fail},
    {.name = "nested", .handler = h_nested, .flags = KEEL_PUBLIC},
    {.name = "raw", .handler = h_raw, .flags = KEEL_RAW_IN, .raw_types = "text/csv", .raw_field = "csv"},
    {0}
};

static const keel_module m_calc = {.abi = KEEL_ABI, .name = "calc", .methods = calc_methods,
                                   .iface = &calc_v2, .iface_version = 2};

/* A fake authn module: token "good" has scope calc:read only. */
static int fake_authenticate(keel_module_ctx *self, keel_ctx *ctx, const char *token,
                             const char *scope, json_t **p)
{
    if (strcmp(keel_module_name(self), "gate") != 0)
        return keel_ctx_error(ctx, KEEL_EINTERNAL, "self is not the authn module");
    if (token == NULL || strcmp(token, "good") != 0)
        return keel_ctx_error(ctx, KEEL_EUNAUTH, "bad token");
    if (strcmp(scope, "calc:read") != 0)
        return keel_ctx_error(ctx, KEEL_EFORBIDDEN, "needs %s", scope);
    *p = json_pack("{s:s}", "email", "a@b.c");
    return 0;
}
static const keel_authn_iface fake_authn = {.version = KEEL_AUTHN_IFACE_V2,
                                            .authenticate = fake_authenticate};
static const keel_method authn_methods[] = {{0}};
static const keel_module m_authn = {.abi = KEEL_ABI, .name = "gate", .methods = authn_methods,
                                    .iface = &fake_authn, .iface_version = KEEL_AUTHN_IFACE_V2,
                                    .mflags = KEEL_MOD_AUTHN};

static keel_runtime *rt;

static int setup(void **state)
{
    const keel_module *mods[] = {&m_calc, &m_authn, NULL};
    char err[512];
    char *env[] = {"KEEL_CHECK_OUTPUT=1", NULL}; /* as the test and debug builds run */
    (void)state;
    if (keel__rt_new(mods, &rt, err, sizeof(err)) != 0)
        return -1;
    if (keel__rt_configure(rt, NULL, env, NULL, err, sizeof(err)) != 0)
        return -1;
    return keel__rt_start(rt, NULL, err, sizeof(err));
}

static int teardown(void **state)
{
    (void)state;
    keel__rt_free(rt);
    return 0;
}

static int call(keel_ctx *ctx, const char *mod, const char *meth, const char *in_text, json_t **out)
{
    json_t *in = in_text ? json_loads(in_text, 0, NULL) : NULL;
    int rc = keel__call_root(ctx, mod, meth, in, out);
    json_decref(in);
    return rc;
}

static void test_valid_call(void **state)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    json_t *out = NULL;
    (void)state;
    assert_int_equal(call(ctx, "calc", "add", "{\"a\":1,\"b\":2}", &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "sum")), 3);
    json_decref(out);
    keel__ctx_free(ctx);
}

/* {"a": 3.0} is an integer by JSON Schema; handlers read integers with
 * json_integer_value, which is 0 for a real.  Dispatch hands them integers. */
static void test_integers_normalised(void **state)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    json_t *out = NULL, *v;
    (void)state;
    assert_int_equal(call(ctx, "calc", "add", "{\"a\":1.0,\"b\":2e0}", &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "sum")), 3);
    json_decref(out);

    assert_int_equal(call(ctx, "calc", "ids", "{\"ids\":[1.0,-2e3,3],\"n\":4.0,\"x\":5.0,"
                          "\"any\":6.0,\"sub\":{\"k\":7.0}}", &out), 0);
    v = json_object_get(out, "ids");
    assert_true(json_is_integer(json_array_get(v, 0)) && json_is_integer(json_array_get(v, 1)));
    assert_int_equal(json_integer_value(json_array_get(v, 1)), -2000);
    assert_true(json_is_integer(json_object_get(out, "n")));
    assert_int_equal(json_integer_value(json_object_get(out, "n")), 4);
    assert_true(json_is_integer(json_object_get(json_object_get(out, "sub"), "k")));
    /* number and untyped values are the caller's as sent */
    assert_true(json_is_real(json_object_get(out, "x")));
    assert_true(json_is_real(json_object_get(out, "any")));
    json_decref(out);
    keel__ctx_free(ctx);

    /* integral but beyond int64: a clear 400, not a wrapped number */
    ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    assert_int_equal(call(ctx, "calc", "add", "{\"a\":1e300,\"b\":1}", &out), KEEL_EINVAL);
    assert_null(out);
    assert_non_null(strstr(keel_ctx_errmsg(ctx), "/a"));
    keel__ctx_free(ctx);
    ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    assert_int_equal(call(ctx, "calc", "add", "{\"a\":9223372036854775808.0,\"b\":1}", &out),
                     KEEL_EINVAL);
    keel__ctx_free(ctx);
}

/* Found by fuzz_http_input: a message quoting the caller's bytes (here a
 * Content-Type that is not UTF-8) made the JSON error body impossible, so
 * HTTP sent the generic text instead of the detail.  Messages are UTF-8 now. */
static void test_error_message_utf8(void **state)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    json_t *body;
    const char *msg;
    (void)state;

    assert_int_equal(keel_ctx_error(ctx, KEEL_EMEDIA, "Content-Type '%s' not accepted", "\x95\x8f" "a/b\xc3"),
                     KEEL_EMEDIA);
    body = keel__ctx_error_body(ctx, KEEL_EMEDIA);
    assert_non_null(body);
    msg = json_string_value(json_object_get(json_object_get(body, "error"), "message"));
    assert_non_null(msg);
    assert_string_equal(msg, "Content-Type '??a/b?' not accepted");
    json_decref(body);
    /* valid multi-byte text is kept as it is */
    keel_ctx_error(ctx, KEEL_EINVAL, "name '%s'", "Pferd \xc3\xbc");
    assert_string_equal(keel_ctx_errmsg(ctx), "name 'Pferd \xc3\xbc'");
    keel__ctx_free(ctx);
}

static void test_schema_rejects_before_handler(void **state)
{
    static const char *const bad[] = {
        "{\"a\":1}", "{\"a\":\"1\",\"b\":2}", "{\"a\":1,\"b\":-1}", "{\"a\":1,\"b\":2,\"c\":3}", "[1,2]",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
        json_t *out = NULL;
        int before = handler_runs;
        assert_int_equal(call(ctx, "calc", "add", bad[i], &out), KEEL_EINVAL);
        assert_null(out);
        assert_int_equal(handler_runs, before);
        assert_non_null(keel_ctx_errmsg(ctx));
        keel__ctx_free(ctx);
    }
}

static void test_unknown_module_and_method(void **state)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    json_t *out = NULL;
    (void)state;
    assert_int_equal(call(ctx, "nope", "add", NULL, &out), KEEL_ENOMODULE);
    assert_int_equal(call(ctx, "calc", "nope", NULL, &out), KEEL_ENOMETHOD);
    assert_non_null(strstr(keel_ctx_errmsg(ctx), "nope"));
    keel__ctx_free(ctx);
}

static void test_error_detail_travels_up(void **state)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_HTTP, "r-test", 0);
    json_t *out = NULL, *body;
    (void)state;
    assert_int_equal(call(ctx, "calc", "nested", "{\"fail\":true}", &out), KEEL_EBADDATA);
    assert_null(out);
    body = keel__ctx_error_body(ctx, KEEL_EBADDATA);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "error"), "code")), "bad_data");
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "error"), "message")),
                        "row 7: not a number");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "error"), "row")), 7);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "error"), "request_id")), "r-test");
    json_decref(body);
    assert_int_equal(call(ctx, "calc", "nested", "{}", &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "sum")), 5);
    json_decref(out);
    keel__ctx_free(ctx);
}

static void test_output_schema_checked(void **state)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    json_t *out = NULL;
    (void)state;
    assert_int_equal(call(ctx, "calc", "badout", "{}", &out), KEEL_EINTERNAL);
    assert_null(out);
    assert_non_null(strstr(keel_ctx_errmsg(ctx), "/sum"));
    keel__ctx_free(ctx);
}

/* Output schemas are compiled only where replies are checked (check_output,
 * on in tests and debug builds): a release start-up skips them, and a bad
 * one still stops a checking process at configure, naming the method. */
static void test_output_schemas_compiled_when_checked(void **state)
{
    static const keel_method bad_methods[] = {
        {.name = "m", .handler = h_badout, .out_schema = "{\"type\":"}, {0}};
    static const keel_module m_bad = {.abi = KEEL_ABI, .name = "broken", .methods = bad_methods};
    const keel_module *mods[] = {&m_bad, NULL};
    char *off[] = {"KEEL_CHECK_OUTPUT=0", NULL}, *on[] = {"KEEL_CHECK_OUTPUT=1", NULL};
    keel_runtime *r = NULL;
    char err[512] = "";
    (void)state;

    assert_int_equal(keel__rt_new(mods, &r, err, sizeof err), 0);
    assert_int_equal(keel__rt_configure(r, NULL, off, NULL, err, sizeof err), 0);
    keel__rt_free(r);
    assert_int_equal(keel__rt_new(mods, &r, err, sizeof err), 0);
    assert_int_equal(keel__rt_configure(r, NULL, on, NULL, err, sizeof err), KEEL_EINVAL);
    assert_non_null(strstr(err, "module 'broken' method 'm': output schema"));
    keel__rt_free(r);
}

static void test_typed_iface_version(void **state)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    const calc_iface *c;
    keel_module_ctx *self = NULL, *other;
    (void)state;
    c = keel_iface(ctx, "calc", 1, &self);
    assert_non_null(c);
    assert_ptr_equal(self, keel__rt_find(rt, "calc"));
    assert_int_equal(c->add(self, ctx, 2, 2), 4);
    assert_non_null(keel_iface(ctx, "calc", 2, NULL));     /* self may be NULL */
    other = self;
    assert_null(keel_iface(ctx, "calc", 3, &other));   /* too old for this caller */
    assert_null(other);                                /* and self is cleared */
    other = self;
    assert_null(keel_iface(ctx, "nope", 1, &other));
    assert_null(other);
    keel__ctx_free(ctx);
}

static void test_raw_input(void **state)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_HTTP, NULL, 0);
    json_t *out = NULL;
    (void)state;
    keel__ctx_set_raw(ctx, "a,b\n1,2\n", 8, "text/csv");
    assert_int_equal(call(ctx, "calc", "raw", "{}", &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "text")), "a,b\n1,2\n");
    json_decref(out);
    keel__ctx_free(ctx);
    ctx = keel__ctx_new(rt, KEEL_TR_HTTP, NULL, 0);
    assert_int_equal(call(ctx, "calc", "raw", "{\"csv\":\"x\"}", &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "text")), "x");
    json_decref(out);
    assert_int_equal(call(ctx, "calc", "raw", "{}", &out), KEEL_EINVAL);
    keel__ctx_free(ctx);
}

static void test_authorize(void **state)
{
    keel_module_ctx *mc = keel__rt_find(rt, "calc");
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_HTTP, NULL, 0);
    (void)state;
    assert_string_equal(keel__mc_scope(mc, keel__mc_method(mc, "add")), "calc:read");
    assert_string_equal(keel__mc_scope(mc, keel__mc_method(mc, "fail")), "calc:write");
    assert_int_equal(keel__authorize(ctx, mc, keel__mc_method(mc, "add"), NULL), KEEL_EUNAUTH);
    assert_int_equal(keel__authorize(ctx, mc, keel__mc_method(mc, "add"), "bad"), KEEL_EUNAUTH);
    assert_int_equal(keel__authorize(ctx, mc, keel__mc_method(mc, "fail"), "good"), KEEL_EFORBIDDEN);
    assert_int_equal(keel__authorize(ctx, mc, keel__mc_method(mc, "nested"), NULL), 0); /* public */
    assert_int_equal(keel__authorize(ctx, mc, keel__mc_method(mc, "add"), "good"), 0);
    assert_string_equal(json_string_value(json_object_get(keel_ctx_principal(ctx), "email")), "a@b.c");
    keel__ctx_free(ctx);
}

static void test_deadline(void **state)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, keel__now_ms() - 1);
    json_t *out = NULL;
    (void)state;
    assert_int_equal(call(ctx, "calc", "add", "{\"a\":1,\"b\":2}", &out), KEEL_ETIMEDOUT);
    assert_true(keel_ctx_remaining_ms(ctx) <= 0);
    keel__ctx_free(ctx);
}

static void test_describe(void **state)
{
    json_t *d = keel__rt_describe(rt);
    json_t *m = json_array_get(json_object_get(d, "modules"), 0);
    (void)state;
    assert_string_equal(json_string_value(json_object_get(m, "name")), "calc");
    assert_string_equal(json_string_value(json_object_get(m, "placement")), "local");
    assert_int_equal(json_integer_value(json_object_get(m, "iface_version")), 2);
    assert_int_equal(strlen(json_string_value(json_object_get(m, "digest"))), 64);
    assert_int_equal(json_array_size(json_object_get(m, "methods")), 6);
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_call),
        cmocka_unit_test(test_integers_normalised),
        cmocka_unit_test(test_schema_rejects_before_handler),
        cmocka_unit_test(test_unknown_module_and_method),
        cmocka_unit_test(test_error_detail_travels_up),
        cmocka_unit_test(test_output_schema_checked),
        cmocka_unit_test(test_output_schemas_compiled_when_checked),
        cmocka_unit_test(test_typed_iface_version),
        cmocka_unit_test(test_raw_input),
        cmocka_unit_test(test_authorize),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_error_message_utf8),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
