/* test_log.c — log lines: a loop thread's buffered lines reach stderr whole,
 * in order, in one write at keel__log_flush (or at once for warn and worse);
 * the access line's fields (docs/http.md "Access log"), JSON and text;
 * generated request ids keep their documented shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/ctx-internal.h"

static int firsts;
static void on_first(void *arg)
{
    (void)arg;
    firsts++;
}

/* Everything written to the file fd since the last call, NUL-terminated
 * (static buffer). */
static const char *drain(int fd)
{
    static char buf[200000];
    static off_t seen;
    ssize_t n = pread(fd, buf, sizeof buf - 1, seen);
    buf[n > 0 ? n : 0] = '\0';
    if (n > 0)
        seen += n;
    return buf;
}

static void test_buffered_lines(void **state)
{
    char path[] = "/tmp/keel-test-log-XXXXXX";
    int p[2], saved;
    const char *out, *a, *b, *c, *d;
    (void)state;
    /* stderr into a file (a pipe would fill up and block the writer) */
    p[1] = mkstemp(path);
    assert_true(p[1] >= 0);
    unlink(path);
    p[0] = dup(p[1]);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
    keel__log_set_level(KEEL_LOG_INFO);
    keel__log_set_format(1);

    assert_int_equal(keel__log_buffer(on_first, NULL), 0);
    keel_log(NULL, KEEL_LOG_INFO, "line one");
    keel_log(NULL, KEEL_LOG_INFO, "line two");
    assert_int_equal(firsts, 1);              /* once per empty -> non-empty */
    assert_string_equal(drain(p[0]), "");     /* nothing written yet */
    keel__log_flush();
    out = drain(p[0]);
    a = strstr(out, "line one");
    b = strstr(out, "line two");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    keel_log(NULL, KEEL_LOG_INFO, "line three");
    assert_int_equal(firsts, 2);
    keel_log(NULL, KEEL_LOG_WARN, "a warning");   /* written at once, after three */
    out = drain(p[0]);
    c = strstr(out, "line three");
    d = strstr(out, "a warning");
    assert_non_null(c);
    assert_non_null(d);
    assert_true(c < d);
    /* a buffer that fills up is written, nothing is lost */
    {
        int i, n = 0;
        const char *q;
        for (i = 0; i < 400; i++)
            keel_log(NULL, KEEL_LOG_INFO, "filler %03d %0100d", i, 0);
        keel__log_buffer(NULL, NULL);          /* flushes and turns it off */
        for (q = drain(p[0]); (q = strstr(q, "filler ")) != NULL; q++)
            n++;
        assert_int_equal(n, 400);
    }
    keel_log(NULL, KEEL_LOG_INFO, "unbuffered");   /* off: written at once */
    assert_non_null(strstr(drain(p[0]), "unbuffered"));
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[0]);
    close(p[1]);
    keel__log_set_format(-1);
    keel__log_set_level(KEEL_LOG_ERROR);
}

/* stderr into a fresh file; returns the reading fd, *saved the old stderr */
static int capture(int *saved)
{
    char path[] = "/tmp/keel-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stderr);
    *saved = dup(STDERR_FILENO);
    assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
    return fd;
}

static void release(int fd, int saved)
{
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fd);
}

static void test_access_line(void **state)
{
    keel_ctx *ctx = keel__ctx_new(NULL, KEEL_TR_HTTP, "acc-1", 0);
    keel__access a = {.method = "GET", .path = "/a\"b\\c", .status = 404, .bytes_in = 5,
                      .bytes_out = 0, .duration_us = 1234};
    char buf[8192];
    const char *tail;
    ssize_t n;
    int saved, fd;
    (void)state;
    assert_non_null(ctx);
    ctx->principal = json_pack("{s:I,s:s}", "user_id", (json_int_t)42, "email", "u@example.com");
    keel__ctx_set_client(ctx, "10.0.0.7");
    fd = capture(&saved);
    keel__log_set_level(KEEL_LOG_INFO);
    keel__log_set_format(1);
    keel__log_access(ctx, &a);
    keel__log_set_format(0);
    a.note = "reply dropped";
    a.duration_us = 250;
    keel__log_access(ctx, &a);
    /* a refusal by the connection hook: the same fields and its reason */
    keel__log_set_format(1);
    a.reason = "body_too_large";
    a.note = NULL;
    keel__log_access(ctx, &a);
    keel__log_set_format(0);
    keel__log_set_level(KEEL_LOG_WARN);  /* the access log is at info */
    keel__log_access(ctx, &a);
    n = pread(fd, buf, sizeof buf - 1, 0);
    release(fd, saved);
    assert_true(n > 0);
    buf[n] = '\0';
    /* the path escaped as JSON (RFC 8259 7: quote and reverse solidus), the
     * ids from ctx, 1234 us = 1.23 ms */
    assert_memory_equal(buf, "{\"ts\":\"", 7);
    assert_non_null(strstr(buf, "\"level\":\"info\",\"request_id\":\"acc-1\",\"msg\":"));
    tail = "\"msg\":\"http GET /a\\\"b\\\\c 404 1.23ms\",\"method\":\"GET\",\"path\":\"/a\\\"b\\\\c\","
           "\"status\":404,\"bytes_in\":5,\"bytes_out\":0,\"duration_us\":1234,\"user_id\":42,"
           "\"peer\":\"10.0.0.7\"}\n";
    assert_non_null(strstr(buf, tail));
    /* text: the summary (with the note), then the fields, then the request id */
    assert_non_null(strstr(buf, "info  http GET /a\"b\\c 404 0.25ms (reply dropped) in=5 out=0 user=42 "
                                "from 10.0.0.7 [acc-1]\n"));
    assert_non_null(strstr(buf, "\"duration_us\":250,\"user_id\":42,\"peer\":\"10.0.0.7\","
                                "\"reason\":\"body_too_large\"}\n"));
    assert_null(strstr(strstr(buf, "\"reason\":") + 1, "http GET")); /* nothing at warn */
    keel__ctx_free(ctx);
    keel__log_set_format(-1);
    keel__log_set_level(KEEL_LOG_ERROR);
}

/* A message's control characters, quotes and backslashes are escaped as
 * JSON, and a message longer than a line is cut with the line still whole
 * JSON text ending in "}\n". */
static void test_message_escaped_and_cut(void **state)
{
    static char big[6000];
    char buf[16384];
    const char *second;
    ssize_t n;
    int saved, fd;
    (void)state;
    memset(big, 'x', sizeof big - 1);
    fd = capture(&saved);
    keel__log_set_level(KEEL_LOG_INFO);
    keel__log_set_format(1);
    keel_log(NULL, KEEL_LOG_WARN, "a\"b\\c\001d\te\nf plain run");
    keel_log(NULL, KEEL_LOG_WARN, "%s", big);
    n = pread(fd, buf, sizeof buf - 1, 0);
    release(fd, saved);
    keel__log_set_format(-1);
    keel__log_set_level(KEEL_LOG_ERROR);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "\"msg\":\"a\\\"b\\\\c\\u0001d\\u0009e\\nf plain run\"}\n"));
    second = strchr(buf, '\n') + 1;
    assert_true(strlen(second) <= 4096);
    assert_memory_equal(second + strlen(second) - 4, "x\"}\n", 4);
}

static void test_request_id_shape(void **state)
{
    keel_ctx *a = keel__ctx_new(NULL, KEEL_TR_HTTP, NULL, 0);
    keel_ctx *b = keel__ctx_new(NULL, KEEL_TR_HTTP, NULL, 0);
    const char *id;
    size_t i;
    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    id = keel_ctx_request_id(a);
    assert_int_equal(strlen(id), 18);
    assert_memory_equal(id, "r-", 2);
    for (i = 2; i < 18; i++)
        assert_non_null(strchr("0123456789abcdef", id[i]));
    assert_string_not_equal(id, keel_ctx_request_id(b));
    keel__ctx_free(a);
    keel__ctx_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffered_lines),
        cmocka_unit_test(test_access_line),
        cmocka_unit_test(test_message_escaped_and_cut),
        cmocka_unit_test(test_request_id_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
