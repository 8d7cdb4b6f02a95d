/*
 * test_client_raw.c — keel_client_call_raw (include/keel/client.h): a raw
 * body for a KEEL_RAW_IN method in both placements.  Remote, against the
 * in-test server of tests/fakes/fake_http_server: the bytes on the wire are
 * the caller's, unchanged (no JSON string), with their Content-Type and
 * Content-Encoding, the parameters as the query string, retries of an
 * idempotent method resending the same bytes, the callee's error adopted.
 * Local: a gzip body decoded as the HTTP gateway decodes it (its caps and
 * codes), the parameters as the input, refusals before anything runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>
#include <zlib.h>

#include "api/remote-internal.h"
#include "fakes/remote_fixture.h"
#include "keel/client.h"

/* Echoes its input and adds the raw text it got as "text". */
static int traw_upload(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const char *data = NULL;
    size_t len = 0;

    *out = json_deep_copy(in);
    if (keel_ctx_input_text(ctx, in, &data, &len) == 0)
        json_object_set_new(*out, "text", json_stringn(data, len));
    return 0;
}

static const keel_method traw_methods[] = {
    { .name = "upload", .handler = traw_upload, .flags = KEEL_RAW_IN, .summary = "raw body",
      .raw_types = "text/csv", .raw_field = "csv" },
    { .name = "upload_idem", .handler = traw_upload, .flags = KEEL_RAW_IN | KEEL_IDEMPOTENT,
      .summary = "raw body, idempotent", .raw_types = "text/csv", .raw_field = "csv" },
    { .name = "secret", .handler = traw_upload, .flags = KEEL_RAW_IN | KEEL_BODY_ONLY,
      .summary = "raw body, no query", .raw_types = "text/plain", .raw_field = "text" },
    { .name = "json", .handler = traw_upload, .summary = "JSON only" },
    { 0 }
};

static const keel_module traw_module = {
    .abi = KEEL_ABI, .name = "traw", .version = "1.0.0", .summary = "raw call test module",
    .methods = traw_methods, .iface_version = 1,
};

/* bytes a JSON string could not hold: a NUL, invalid UTF-8, a quote */
static const unsigned char wire[] = { 0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, '"', '\\', 0x00, 'z' };

static size_t gzip_of(const char *text, unsigned char *out, size_t cap)
{
    z_stream zs;
    size_t n;

    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)text;
    zs.avail_in = (uInt)strlen(text);
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    n = cap - zs.avail_out;
    deflateEnd(&zs);
    return n;
}

/* ---- remote --------------------------------------------------------------------- */

static int rfix_setup(void **state)
{
    remote_fix *f = remote_fix_start(&traw_module, 1, "r-test-raw");

    pthread_mutex_lock(&f->s->mu);
    f->s->status = 200;
    snprintf(f->s->reply, sizeof(f->s->reply), "{\"ok\":true}");
    pthread_mutex_unlock(&f->s->mu);
    *state = f;
    return 0;
}

static int rfix_teardown(void **state)
{
    remote_fix_stop(*state);
    return 0;
}

static void test_remote_wire(void **state)
{
    remote_fix *f = *state;
    json_t *params = json_pack("{s:i, s:s, s:{s:f}, s:n}", "horse_id", 4, "note", "a b&c=d",
                               "options", "x", 1.5, "gone");
    json_t *out = NULL;

    assert_int_equal(keel__ctx_set_traceparent(f->ctx, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"), 0);
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "upload", "text/csv", "gzip", wire,
                                          sizeof wire, params, &out), 0);
    assert_non_null(json_object_get(out, "ok"));
    json_decref(out);
    /* the caller's bytes, as they are: not a JSON string of them */
    assert_int_equal(f->s->last_body_len, sizeof wire);
    assert_memory_equal(f->s->last_body, wire, sizeof wire);
    assert_non_null(strstr(f->s->last_head, "POST /v1/traw/upload?horse_id=4&note=a%20b%26c%3Dd"
                                            "&options=%7B%22x%22%3A1.5%7D HTTP/1.1\r\n"));
    assert_non_null(strstr(f->s->last_head, "Content-Type: text/csv\r\n"));
    assert_non_null(strstr(f->s->last_head, "Content-Encoding: gzip\r\n"));
    assert_non_null(strstr(f->s->last_head, "Content-Length: 10\r\n"));
    assert_non_null(strstr(f->s->last_head, "X-Keel-Caller: keel\r\n"));
    assert_non_null(strstr(f->s->last_head, "X-Request-Id: r-test-raw\r\n"));
    assert_non_null(strstr(f->s->last_head, "X-Keel-Deadline-Ms: "));
    assert_non_null(strstr(f->s->last_head, "traceparent: 00-0af7651916cd43dd8448eb211c80319c-"));
    /* no encoding, no parameters: neither header nor query */
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "upload", "text/csv; charset=utf-8",
                                          NULL, "t\n1\n", 4, NULL, NULL), 0);
    assert_non_null(strstr(f->s->last_head, "POST /v1/traw/upload HTTP/1.1\r\n"));
    assert_null(strstr(f->s->last_head, "Content-Encoding"));
    assert_non_null(strstr(f->s->last_head, "Content-Type: text/csv; charset=utf-8\r\n"));
    assert_int_equal(f->s->last_body_len, 4);
    json_decref(params);
}

static void test_remote_refused_before_sending(void **state)
{
    remote_fix *f = *state;
    int before = f->s->requests;
    json_t *p = json_pack("{s:s}", "k", "v"), *out = (json_t *)1;

    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "upload", "application/json", NULL,
                                          "{}", 2, NULL, &out), KEEL_EMEDIA);
    assert_null(out);
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "upload", "text/csv", "br", "x", 1,
                                          NULL, NULL), KEEL_EMEDIA);
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "json", "text/csv", NULL, "x", 1,
                                          NULL, NULL), KEEL_EMEDIA);
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "secret", "text/plain", NULL, "x", 1,
                                          p, NULL), KEEL_EINVAL);
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "upload", "text/csv\r\nX-Evil: 1",
                                          NULL, "x", 1, NULL, NULL), KEEL_EMEDIA);
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "nope", "text/csv", NULL, "x", 1,
                                          NULL, NULL), KEEL_ENOMETHOD);
    assert_int_equal(f->s->requests, before);
    json_decref(p);
}

static void test_remote_retries_and_errors(void **state)
{
    remote_fix *f = *state;
    int before;

    /* idempotent: two 503s, the same bytes a third time */
    (void)keel_client_call_raw(f->ctx, "traw", "upload_idem", "text/csv", NULL, "t\n", 2, NULL,
                               NULL);   /* the skew check's GET out of the count */
    pthread_mutex_lock(&f->s->mu);
    f->s->fail_first = 2;
    before = f->s->requests;
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "upload_idem", "text/csv", "gzip",
                                          wire, sizeof wire, NULL, NULL), 0);
    assert_int_equal(f->s->requests, before + 3);
    assert_memory_equal(f->s->last_body, wire, sizeof wire);
    /* not idempotent: one attempt */
    pthread_mutex_lock(&f->s->mu);
    f->s->fail_first = 2;
    before = f->s->requests;
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "upload", "text/csv", "gzip", wire,
                                          sizeof wire, NULL, NULL), KEEL_EUNAVAIL);
    assert_int_equal(f->s->requests, before + 1);
    /* the callee's error, code and message */
    pthread_mutex_lock(&f->s->mu);
    f->s->fail_first = 0;
    f->s->status = 400;
    snprintf(f->s->reply, sizeof(f->s->reply),
             "{\"error\":{\"code\":\"bad_data\",\"message\":\"the gzip body is truncated\"}}");
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(keel_client_call_raw(f->ctx, "traw", "upload", "text/csv", "gzip", wire,
                                          sizeof wire, NULL, NULL), KEEL_EBADDATA);
    assert_string_equal(keel_ctx_errmsg(f->ctx), "the gzip body is truncated");
}

/* ---- local ------------------------------------------------------------------------ */

static void test_local(void **state)
{
    static const keel_module *const mods[] = { &traw_module, NULL };
    static const char csv[] = "t,ax\n0.01,9.8\n0.02,9.7\n";
    char *envp[] = { "KEEL_LOG_LEVEL=error", "KEEL_MAX_GZIP_RATIO=2", NULL };
    unsigned char gz[256];
    keel_runtime *rt = NULL;
    keel_ctx *ctx;
    json_t *params = json_pack("{s:i}", "horse_id", 4), *out = NULL;
    char err[512], *big;
    size_t n = gzip_of(csv, gz, sizeof gz), bn;
    unsigned char *bgz;

    (void)state;
    if (keel__rt_new(mods, &rt, err, sizeof err) != 0 ||
        keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0 ||
        keel__rt_start(rt, NULL, err, sizeof err) != 0)
        fail_msg("runtime: %s", err);
    ctx = keel__ctx_new(rt, KEEL_TR_LOCAL, "r-test-raw-local", 0);
    /* gzip: the method reads the decoded text, the parameters are its input */
    assert_int_equal(keel_client_call_raw(ctx, "traw", "upload", "text/csv", "gzip", gz, n,
                                          params, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "text")), csv);
    assert_int_equal(json_integer_value(json_object_get(out, "horse_id")), 4);
    json_decref(out);
    /* no encoding: the bytes as they are */
    assert_int_equal(keel_client_call_raw(ctx, "traw", "upload", "text/csv", NULL, csv,
                                          strlen(csv), NULL, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "text")), csv);
    json_decref(out);
    /* cut short, corrupt, followed by other bytes: bad_data, as over HTTP */
    assert_int_equal(keel_client_call_raw(ctx, "traw", "upload", "text/csv", "gzip", gz, n - 4,
                                          NULL, &out), KEEL_EBADDATA);
    assert_null(out);
    assert_non_null(strstr(keel_ctx_errmsg(ctx), "truncated"));
    gz[n - 8] ^= 0x55;  /* the CRC32 */
    assert_int_equal(keel_client_call_raw(ctx, "traw", "upload", "text/csv", "gzip", gz, n, NULL,
                                          NULL), KEEL_EBADDATA);
    assert_non_null(strstr(keel_ctx_errmsg(ctx), "corrupt"));
    assert_int_equal(keel_client_call_raw(ctx, "traw", "upload", "text/csv", "gzip", csv,
                                          strlen(csv), NULL, NULL), KEEL_EBADDATA);
    /* KEEL_MAX_GZIP_RATIO=2: 4 MiB of one letter is a bomb here too */
    bn = 4u << 20;
    big = malloc(bn + 1);
    bgz = malloc(bn);
    memset(big, 'a', bn);
    big[bn] = '\0';
    n = gzip_of(big, bgz, bn);
    assert_int_equal(keel_client_call_raw(ctx, "traw", "upload", "text/csv", "gzip", bgz, n, NULL,
                                          NULL), KEEL_ETOOBIG);
    assert_non_null(strstr(keel_ctx_errmsg(ctx), "KEEL_MAX_GZIP_RATIO"));
    free(big);
    free(bgz);
    /* a type the method does not list, a non-raw method */
    assert_int_equal(keel_client_call_raw(ctx, "traw", "upload", "text/plain", NULL, "x", 1, NULL,
                                          NULL), KEEL_EMEDIA);
    assert_int_equal(keel_client_call_raw(ctx, "traw", "json", "text/csv", NULL, "x", 1, NULL,
                                          NULL), KEEL_EMEDIA);
    json_decref(params);
    keel__ctx_free(ctx);
    keel__rt_stop(rt);
    keel__rt_free(rt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_remote_wire, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_remote_refused_before_sending, rfix_setup, rfix_teardown),
        cmocka_unit_test_setup_teardown(test_remote_retries_and_errors, rfix_setup, rfix_teardown),
        cmocka_unit_test(test_local),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
