/*
 * test_http_head.c — the connection hook's head parser (src/api/
 * http_conn_head.c) on heads written here: the request line's fields, the
 * headers the hook decides on, and RFC 9110's token grammar for header names
 * checked byte by byte against the RFC's own list of tchar.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "api/http_conn-internal.h"

static ssize_t parse(conn_head *h, const char *text)
{
    return keel__http_head_parse(h, text, strlen(text));
}

static void test_request_line_and_fields(void **state)
{
    static const char head[] = "POST /v1/echo/echo?x=1 HTTP/1.1\r\nHost: a\r\n"
                               "content-length: 12\r\nX-Request-Id: abc-1\r\n\r\n{\"msg\":\"hi\"}";
    conn_head h;

    (void)state;
    assert_int_equal(parse(&h, head), (ssize_t)(strstr(head, "\r\n\r\n") + 4 - head));
    assert_string_equal(h.method, "POST");
    assert_string_equal(h.path, "/v1/echo/echo");
    assert_int_equal(h.clen, 12);
    assert_string_equal(h.rid, "abc-1");
    assert_null(h.bad);
    /* incomplete: no end of the head yet */
    assert_int_equal(parse(&h, "GET / HTTP/1.1\r\nHost: a\r\n"), 0);
    /* two different lengths, a length that is not a number */
    assert_int_equal(parse(&h, "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), -1);
    assert_string_equal(h.bad, "two different Content-Length headers");
    assert_int_equal(parse(&h, "POST / HTTP/1.1\r\nContent-Length: 1e3\r\n\r\n"), -1);
    assert_string_equal(h.bad, "Content-Length is not a number");
    assert_int_equal(parse(&h, "GET / HTTP/1.1\r\n Folded: x\r\n\r\n"), -1);
    assert_string_equal(h.bad, "folded header line");
}

/* A header name is 1*tchar (RFC 9110 5.1, 5.6.2): every byte but these
 * makes "X?Y: 1" a malformed line. */
static void test_header_name_is_a_token(void **state)
{
    static const char tchar_extra[] = "!#$%&'*+-.^_`|~";
    char head[64];
    conn_head h;
    int b;

    (void)state;
    for (b = 1; b < 256; b++) {
        int want = (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
                   memchr(tchar_extra, b, sizeof tchar_extra - 1) != NULL;
        ssize_t n;

        if (b == '\r' || b == '\n' || b == ':')
            continue;   /* they end the name or the line: not a byte inside it */
        snprintf(head, sizeof head, "GET / HTTP/1.1\r\nX%cY: 1\r\n\r\n", b);
        n = parse(&h, head);
        if (want && n <= 0)
            fail_msg("byte 0x%02x: a tchar, but the head was refused (%s)", b, h.bad ? h.bad : "?");
        if (!want && (n != -1 || h.bad == NULL))
            fail_msg("byte 0x%02x: not a tchar, but the head was taken", b);
    }
}

/* What the /healthz fast path (http_conn_fast.c) asks of a head: the
 * version, Connection: close as a token of a list in any case, a query
 * string, and whether a header the router reads is present. */
static void test_probe_fields(void **state)
{
    conn_head h;

    (void)state;
    assert_true(parse(&h, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n") > 0);
    assert_int_equal(h.http10, 0);
    assert_int_equal(h.close, 0);
    assert_int_equal(h.query, 0);
    assert_int_equal(h.routed, 0);
    assert_true(parse(&h, "GET /healthz HTTP/1.0\r\n\r\n") > 0);
    assert_int_equal(h.http10, 1);
    assert_true(parse(&h, "GET /healthz HTTP/1.1\r\nConnection: keep-alive, CLOSE\r\n\r\n") > 0);
    assert_int_equal(h.close, 1);
    assert_true(parse(&h, "GET /healthz HTTP/1.1\r\nConnection: closed, x-close\r\n\r\n") > 0);
    assert_int_equal(h.close, 0);   /* tokens, not substrings */
    assert_true(parse(&h, "GET /healthz?verbose HTTP/1.1\r\n\r\n") > 0);
    assert_int_equal(h.query, 1);
    assert_string_equal(h.path, "/healthz");
    static const char *const routed[] = {
        "X-Forwarded-For: 10.0.0.1", "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "TraceState: a=b", "x-keel-deadline-ms: 100", "X-Keel-Caller: keel", NULL
    };
    for (int i = 0; routed[i] != NULL; i++) {
        char head[256];
        snprintf(head, sizeof head, "GET /healthz HTTP/1.1\r\n%s\r\n\r\n", routed[i]);
        assert_true(parse(&h, head) > 0);
        assert_int_equal(h.routed, 1);
    }
    assert_true(parse(&h, "GET /healthz HTTP/1.1\r\nX-Request-Id: a\r\nUser-Agent: b\r\n\r\n") > 0);
    assert_int_equal(h.routed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_line_and_fields),
        cmocka_unit_test(test_header_name_is_a_token),
        cmocka_unit_test(test_probe_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
