/*
 * test_kv.c — the kv module through the runtime: JSON handlers (schema
 * checks included), the typed interface (local and client), namespace
 * denial, ttl expiry and list paging.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "keel/keel.h"
#include "core/runtime-internal.h"
#include "core/store-internal.h"
#include "fakes/test_runtime.h"
#include "kv/kv.h"

typedef struct fixture {
    struct keel_test_rt t;   /* t.rt, t.dir, t.url */
    keel_ctx           *ctx;
} fixture;

static long long fake_now = 1790000000000LL;   /* ms; tests move it */
static long long fake_clock(void) { return fake_now; }

static int setup(void **state)
{
    static const keel_module *const mods[] = { &keel_module_kv, NULL };
    fixture *f = calloc(1, sizeof *f);
    char err[512];

    if (f == NULL)
        return -1;
    kv_set_clock(fake_clock);
    if (keel_test_rt_start(&f->t, "kv", mods, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "setup: %s\n", err);
        return -1;
    }
    f->ctx = keel__ctx_new(f->t.rt, KEEL_TR_CLI, "r-test-kv", 0);
    *state = f;
    return f->ctx != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    fixture *f = *state;
    int rc;

    keel__ctx_free(f->ctx);
    rc = keel_test_rt_stop(&f->t);
    kv_set_clock(NULL);
    free(f);
    return rc;
}

/* Calls kv.method with JSON text; *out new reference (may be NULL). */
static int call(fixture *f, const char *method, const char *in_text, json_t **out)
{
    json_t *in = json_loads(in_text, 0, NULL), *o = NULL;
    int rc;

    assert_non_null(in);
    rc = keel__call_root(f->ctx, "kv", method, in, &o);
    json_decref(in);
    if (out != NULL)
        *out = o;
    else
        json_decref(o);
    return rc;
}

static void test_handlers(void **state)
{
    fixture *f = *state;
    json_t *out = NULL;

    assert_int_equal(call(f, "put", "{\"key\":\"a\",\"value\":\"h\\u00e9\"}", &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "key")), "a");
    assert_string_equal(json_string_value(json_object_get(out, "updated_at")),
                        "2026-09-21T14:13:20.000Z");
    json_decref(out);
    assert_int_equal(call(f, "get", "{\"key\":\"a\"}", &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "value")), "h\xc3\xa9");
    json_decref(out);
    /* put replaces */
    assert_int_equal(call(f, "put", "{\"key\":\"a\",\"value\":\"\"}", NULL), 0);
    assert_int_equal(call(f, "get", "{\"key\":\"a\"}", &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "value")), "");
    json_decref(out);
    assert_int_equal(call(f, "delete", "{\"key\":\"a\"}", &out), 0);
    assert_true(json_is_true(json_object_get(out, "deleted")));
    json_decref(out);
    assert_int_equal(call(f, "delete", "{\"key\":\"a\"}", &out), 0);
    assert_true(json_is_false(json_object_get(out, "deleted")));
    json_decref(out);
    assert_int_equal(call(f, "get", "{\"key\":\"a\"}", &out), KEEL_ENOTFOUND);
    assert_null(out);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "'a' not found"));
}

static void test_bad_input(void **state)
{
    fixture *f = *state;
    char *big, *in;
    size_t n = KV_VALUE_MAX + 1;

    assert_int_equal(call(f, "put", "{\"key\":\"\",\"value\":\"v\"}", NULL), KEEL_EINVAL);
    assert_int_equal(call(f, "put", "{\"key\":\"k\"}", NULL), KEEL_EINVAL);
    assert_int_equal(call(f, "put", "{\"key\":\"k\",\"value\":1}", NULL), KEEL_EINVAL);
    assert_int_equal(call(f, "put", "{\"key\":\"k\",\"value\":\"v\",\"ttl_s\":0}", NULL), KEEL_EINVAL);
    assert_int_equal(call(f, "put", "{\"key\":\"k\",\"value\":\"v\",\"extra\":1}", NULL), KEEL_EINVAL);
    assert_int_equal(call(f, "list", "{\"limit\":0}", NULL), KEEL_EINVAL);
    assert_int_equal(call(f, "list", "{\"limit\":1001}", NULL), KEEL_EINVAL);
    /* keys: 256 bytes ok, 257 refused */
    big = malloc(n + 64);
    in = malloc(n + 64);
    assert_non_null(big);
    assert_non_null(in);
    memset(big, 'k', 257);
    big[257] = '\0';
    snprintf(in, n + 64, "{\"key\":\"%s\",\"value\":\"v\"}", big);
    assert_int_equal(call(f, "put", in, NULL), KEEL_EINVAL);
    big[256] = '\0';
    snprintf(in, n + 64, "{\"key\":\"%s\",\"value\":\"v\"}", big);
    assert_int_equal(call(f, "put", in, NULL), 0);
    /* values: 1 MiB ok, one byte more refused */
    memset(big, 'v', n);
    big[n] = '\0';
    snprintf(in, n + 64, "{\"key\":\"big\",\"value\":\"%s\"}", big);
    assert_int_equal(call(f, "put", in, NULL), KEEL_EINVAL);
    big[n - 1] = '\0';
    snprintf(in, n + 64, "{\"key\":\"big\",\"value\":\"%s\"}", big);
    assert_int_equal(call(f, "put", in, NULL), 0);
    free(big);
    free(in);
}

static void check_iface(fixture *f, const kv_iface *kv, keel_module_ctx *self, int nul_ok)
{
    char *v = NULL;
    size_t len = 99;
    int deleted = -1;
    json_t *out = NULL;

    assert_int_equal(kv->version, KV_IFACE_VERSION);
    if (nul_ok) {   /* NUL bytes are only promised on the local path (kv.h) */
        assert_int_equal(kv->put(self, f->ctx, "t", "one\0two", 7), 0);
        assert_int_equal(kv->get(self, f->ctx, "t", &v, &len), 0);
        assert_int_equal(len, 7);
        assert_memory_equal(v, "one\0two", 8);
        free(v);
    }
    /* the same row through the JSON handler */
    assert_int_equal(kv->put(self, f->ctx, "t", "plain", 5), 0);
    assert_int_equal(call(f, "get", "{\"key\":\"t\"}", &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "value")), "plain");
    json_decref(out);
    assert_int_equal(kv->del(self, f->ctx, "t", &deleted), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(kv->del(self, f->ctx, "t", &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(kv->get(self, f->ctx, "t", &v, &len), KEEL_ENOTFOUND);
    assert_null(v);
    assert_int_equal(len, 0);
    assert_int_equal(kv->put(self, f->ctx, "", "x", 1), KEEL_EINVAL);
    assert_int_equal(kv->put_ttl(self, f->ctx, "ttl", "x", 1, 5), 0);
    assert_int_equal(kv->get(self, f->ctx, "ttl", &v, &len), 0);
    free(v);
    fake_now += 5000;
    assert_int_equal(kv->get(self, f->ctx, "ttl", &v, &len), KEEL_ENOTFOUND);
}

static void test_typed_local(void **state)
{
    fixture *f = *state;
    keel_module_ctx *self = NULL, *none;
    const kv_iface *kv = keel_iface(f->ctx, "kv", KV_IFACE_VERSION, &self);

    assert_ptr_equal(kv, &kv_local);
    assert_ptr_equal(self, keel__rt_find(f->t.rt, "kv"));  /* kv's own ctx, not the caller's */
    none = self;
    assert_null(keel_iface(f->ctx, "kv", KV_IFACE_VERSION + 1, &none));
    assert_null(none);                                      /* cleared when refused */
    check_iface(f, kv, self, 1);
}

static void test_typed_client(void **state)
{
    fixture *f = *state;
    check_iface(f, &kv_client, keel__rt_find(f->t.rt, "kv"), 0);
}

static void test_namespace_denied(void **state)
{
    fixture *f = *state;
    keel_store *kvst = keel_module_store(keel__rt_find(f->t.rt, "kv")), *auth = NULL;
    char err[256];

    assert_non_null(kvst);
    assert_int_equal(keel__store_open_url(f->t.url, "auth", &auth, err, sizeof err), 0);
    assert_int_equal(keel_store_exec(auth, "CREATE TABLE auth_users (email TEXT)", NULL, NULL), 0);
    assert_int_equal(keel_store_exec(kvst, "SELECT * FROM auth_users", NULL, NULL), KEEL_EDENIED);
    assert_string_equal(keel_store_errmsg(kvst), "module 'kv' may not access table 'auth_users'");
    assert_int_equal(keel_store_exec(kvst, "DROP TABLE auth_users", NULL, NULL), KEEL_EDENIED);
    /* and auth cannot read kv */
    assert_int_equal(keel_store_exec(auth, "SELECT * FROM kv_items", NULL, NULL), KEEL_EDENIED);
    keel_store_close(auth);
}

static void test_ttl(void **state)
{
    fixture *f = *state;
    json_t *out = NULL;

    assert_int_equal(call(f, "put", "{\"key\":\"s\",\"value\":\"x\",\"ttl_s\":10}", &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "expires_at")), fake_now + 10000);
    json_decref(out);
    assert_int_equal(call(f, "put", "{\"key\":\"p\",\"value\":\"y\"}", NULL), 0);
    fake_now += 9999;
    assert_int_equal(call(f, "get", "{\"key\":\"s\"}", NULL), 0);
    fake_now += 1;
    assert_int_equal(call(f, "get", "{\"key\":\"s\"}", NULL), KEEL_ENOTFOUND);
    assert_int_equal(call(f, "list", "{}", &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "items")), 1);
    json_decref(out);
    assert_int_equal(call(f, "delete", "{\"key\":\"s\"}", &out), 0);
    assert_true(json_is_false(json_object_get(out, "deleted")));
    json_decref(out);
    /* a put without ttl revives the key for good */
    assert_int_equal(call(f, "put", "{\"key\":\"s\",\"value\":\"z\"}", NULL), 0);
    fake_now += 100000000;
    assert_int_equal(call(f, "get", "{\"key\":\"s\"}", NULL), 0);
}

static void expect_page(fixture *f, const char *in, const char *keys, const char *next)
{
    json_t *out = NULL, *it;
    char got[128] = "";
    size_t i;

    assert_int_equal(call(f, "list", in, &out), 0);
    json_array_foreach(json_object_get(out, "items"), i, it) {
        strcat(got, json_string_value(json_object_get(it, "key")));
        strcat(got, " ");
    }
    assert_string_equal(got, keys);
    if (next == NULL)
        assert_null(json_object_get(out, "next"));
    else
        assert_string_equal(json_string_value(json_object_get(out, "next")), next);
    json_decref(out);
}

static void test_list_paging(void **state)
{
    fixture *f = *state;
    static const char *const keys[] = { "a5", "a1", "b1", "a3", "a2", "a4", "a%", "a_", NULL };
    char in[96];
    int i;

    for (i = 0; keys[i] != NULL; i++) {
        snprintf(in, sizeof in, "{\"key\":\"%s\",\"value\":\"v%d\"}", keys[i], i);
        assert_int_equal(call(f, "put", in, NULL), 0);
    }
    expect_page(f, "{\"prefix\":\"a\",\"limit\":3}", "a% a1 a2 ", "a2");
    expect_page(f, "{\"prefix\":\"a\",\"limit\":3,\"after\":\"a2\"}", "a3 a4 a5 ", "a5");
    expect_page(f, "{\"prefix\":\"a\",\"limit\":3,\"after\":\"a5\"}", "a_ ", NULL);
    /* LIKE metacharacters are plain text in a prefix */
    expect_page(f, "{\"prefix\":\"a%\"}", "a% ", NULL);
    expect_page(f, "{\"prefix\":\"a_\"}", "a_ ", NULL);
    expect_page(f, "{\"prefix\":\"zz\"}", "", NULL);
    expect_page(f, "{\"limit\":8}", "a% a1 a2 a3 a4 a5 a_ b1 ", NULL);
    expect_page(f, "{\"limit\":7}", "a% a1 a2 a3 a4 a5 a_ ", "a_");
}

/* The vtable layout is a wire of its own (append-only): pin it. */
static void test_iface_layout(void **state)
{
    (void)state;
    assert_int_equal(offsetof(kv_iface, version), 0);
    assert_int_equal(offsetof(kv_iface, put), sizeof(void *));
    assert_int_equal(offsetof(kv_iface, get), 2 * sizeof(void *));
    assert_int_equal(offsetof(kv_iface, del), 3 * sizeof(void *));
    assert_int_equal(offsetof(kv_iface, put_ttl), 4 * sizeof(void *));
    assert_int_equal(sizeof(kv_iface), 5 * sizeof(void *));
    assert_int_equal(keel_module_kv.iface_version, KV_IFACE_VERSION);
    assert_ptr_equal(keel_module_kv.iface, &kv_local);
    assert_ptr_equal(keel_module_kv.client, &kv_client);
    assert_int_equal(kv_local.version, kv_client.version);
}

static void test_stopped(void **state)
{
    fixture *f = *state;
    char *v = NULL;
    size_t len = 0;

    keel_module_ctx *self = keel__rt_find(f->t.rt, "kv");

    keel__rt_stop(f->t.rt);
    assert_int_equal(kv_local.put(self, f->ctx, "k", "v", 1), KEEL_EUNAVAIL);
    assert_int_equal(kv_local.get(self, f->ctx, "k", &v, &len), KEEL_EUNAVAIL);
    assert_null(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handlers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_namespace_denied, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stopped, setup, teardown),
        cmocka_unit_test(test_iface_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
