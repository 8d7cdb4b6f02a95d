/*
 * test_compute_placed.c — compute placed in another process, seen from the
 * caller: compute_client.aggregate_csv_gz sends the caller's gzip member as
 * the request body of compute.aggregate (Content-Encoding: gzip, the bytes
 * unchanged: no JSON string, no base64, no inflate on this side), units and
 * thresholds in the query, and hands back compute's answer.  The far side is
 * tests/fakes/fake_http_server, which records what it was sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zlib.h>

#include "fakes/remote_fixture.h"
#include "compute-internal.h"

extern const keel_module keel_module_compute;

static int setup(void **state)
{
    remote_fix *f = remote_fix_start(&keel_module_compute, COMPUTE_IFACE_VERSION, "r-test-placed");

    pthread_mutex_lock(&f->s->mu);
    f->s->status = 200;
    snprintf(f->s->reply, sizeof f->s->reply, "{\"samples\":6000,\"duration_s\":60}");
    pthread_mutex_unlock(&f->s->mu);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    remote_fix_stop(*state);
    return 0;
}

/* A CSV of n rows, its gzip member into *gz (malloc'd), its length returned. */
static size_t gz_csv(size_t rows, unsigned char **gz)
{
    size_t cap = 64 + rows * 48, used = 0, bound;
    char *csv = malloc(cap);
    z_stream zs;

    assert_non_null(csv);
    used += (size_t)snprintf(csv, cap, "time,ax,ay,az,gx,gy,gz\n");
    for (size_t i = 0; i < rows; i++)
        used += (size_t)snprintf(csv + used, cap - used, "%.2f,0.1,-0.2,%.3f,0,0,0.01\n",
                                 (double)i / 100.0, 9.8 + (double)(i % 50) / 25.0);
    memset(&zs, 0, sizeof zs);
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    bound = deflateBound(&zs, (uLong)used);
    *gz = malloc(bound);
    assert_non_null(*gz);
    zs.next_in = (Bytef *)csv;
    zs.avail_in = (uInt)used;
    zs.next_out = *gz;
    zs.avail_out = (uInt)bound;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    deflateEnd(&zs);
    free(csv);
    return bound - zs.avail_out;
}

static void test_gzip_goes_as_it_is(void **state)
{
    remote_fix *f = *state;
    unsigned char *gz = NULL;
    size_t n = gz_csv(6000, &gz);
    compute_params p;
    compute_options opt = { .time_unit = COMPUTE_TIME_S, .accel_unit = COMPUTE_ACCEL_MS2,
                            .params = &p };
    json_t *out = NULL;
    char cl[48];

    assert_true(n > sizeof f->s->last_body);   /* more than one piece on the wire */
    compute_params_defaults(&p);
    p.window_s = 6.0;
    assert_int_equal(compute_client.aggregate_csv_gz(NULL, f->ctx, gz, n, 0, &opt, &out), 0);
    /* compute's answer, as it came */
    assert_int_equal(json_integer_value(json_object_get(out, "samples")), 6000);
    json_decref(out);
    /* the member itself is the body: its length, its first bytes */
    assert_int_equal(f->s->last_body_len, n);
    assert_memory_equal(f->s->last_body, gz, sizeof f->s->last_body);
    snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", n);
    assert_non_null(strstr(f->s->last_head, cl));
    assert_non_null(strstr(f->s->last_head, "POST /v1/compute/aggregate?"));
    assert_non_null(strstr(f->s->last_head, "Content-Type: text/csv\r\n"));
    assert_non_null(strstr(f->s->last_head, "Content-Encoding: gzip\r\n"));
    /* units as text, the thresholds as one JSON object */
    assert_non_null(strstr(f->s->last_head, "time_unit=s"));
    assert_non_null(strstr(f->s->last_head, "accel_unit=m%2Fs2"));
    assert_non_null(strstr(f->s->last_head, "options=%7B%22window_s%22%3A6.0"));
    /* no options: no query at all */
    assert_int_equal(compute_client.aggregate_csv_gz(NULL, f->ctx, gz, n, 0, NULL, &out), 0);
    json_decref(out);
    assert_non_null(strstr(f->s->last_head, "POST /v1/compute/aggregate HTTP/1.1\r\n"));
    free(gz);
}

/* compute's refusal comes back as the caller's error code and message. */
static void test_remote_refusal(void **state)
{
    remote_fix *f = *state;
    static const unsigned char cut[] = { 0x1f, 0x8b, 0x08, 0x00 };
    json_t *out = (json_t *)1;

    pthread_mutex_lock(&f->s->mu);
    f->s->status = 400;
    snprintf(f->s->reply, sizeof f->s->reply,
             "{\"error\":{\"code\":\"bad_data\",\"message\":\"gzip body: cut short\"}}");
    pthread_mutex_unlock(&f->s->mu);
    assert_int_equal(compute_client.aggregate_csv_gz(NULL, f->ctx, cut, sizeof cut, 0, NULL, &out),
                     KEEL_EBADDATA);
    assert_null(out);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "cut short"));
    assert_int_equal(f->s->last_body_len, sizeof cut);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gzip_goes_as_it_is, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_refusal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
