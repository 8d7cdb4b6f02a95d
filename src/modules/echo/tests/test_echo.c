/* test_echo.c — echo's typed iface, local and through its client.
 *
 * The client is exercised with echo placed remotely and a loopback remote
 * transport that runs the handler in-process: what is tested is the client's
 * marshalling (text in, text out, arena-owned reply), not the network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "core/runtime-internal.h"
#include "echo.h"

static int loop_calls;

static int loop_call(void *self, keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                     const json_t *in, json_t **out)
{
    (void)self; (void)mc;
    loop_calls++;
    return m->handler(ctx, in, out);
}

static const keel_remote_vt loopback = {.version = 1, .call = loop_call};

static keel_runtime *runtime(char **env)
{
    const keel_module *mods[] = {&keel_module_echo, NULL};
    keel_runtime *rt;
    char err[256];
    assert_int_equal(keel__rt_new(mods, &rt, err, sizeof(err)), 0);
    assert_int_equal(keel__rt_configure(rt, NULL, env, NULL, err, sizeof(err)), 0);
    keel__rt_set_remote(rt, &loopback, NULL);
    assert_int_equal(keel__rt_start(rt, NULL, err, sizeof(err)), 0);
    return rt;
}

static void test_local_is_zero_copy(void **state)
{
    char *env[] = {NULL};
    keel_runtime *rt = runtime(env);
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    keel_module_ctx *self = NULL;
    const echo_iface *e = keel_iface(ctx, "echo", ECHO_IFACE_VERSION, &self);
    const char *in = "hello", *out = NULL;
    size_t n = 0;
    (void)state;
    assert_non_null(e);
    assert_ptr_equal(self, keel__rt_find(rt, "echo"));
    assert_int_equal(e->echo(self, ctx, in, 5, &out, &n), 0);
    assert_ptr_equal(out, in);
    assert_int_equal(n, 5);
    keel__ctx_free(ctx);
    keel__rt_free(rt);
}

static void test_client_round_trip(void **state)
{
    char *env[] = {"KEEL_REMOTE_ECHO=http://127.0.0.1:9", NULL};
    keel_runtime *rt = runtime(env);
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, NULL, 0);
    keel_module_ctx *self = NULL;
    const echo_iface *e = keel_iface(ctx, "echo", ECHO_IFACE_VERSION, &self);
    const char in[] = "caf\xc3\xa9 \"quoted\"", *out = NULL;
    size_t n = 0;
    (void)state;
    assert_int_equal(keel__mc_placement(keel__rt_find(rt, "echo")), KEEL_PLACE_REMOTE);
    assert_non_null(e);
    assert_ptr_equal(self, keel__rt_find(rt, "echo"));   /* the module as placed remotely */
    loop_calls = 0;
    assert_int_equal(e->echo(self, ctx, in, sizeof(in) - 1, &out, &n), 0);
    assert_int_equal(loop_calls, 1);        /* it went through the transport */
    assert_true(out != in);                 /* a copy owned by the ctx's arena */
    assert_int_equal(n, sizeof(in) - 1);
    assert_memory_equal(out, in, n);
    keel__ctx_free(ctx);
    keel__rt_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_is_zero_copy),
        cmocka_unit_test(test_client_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
