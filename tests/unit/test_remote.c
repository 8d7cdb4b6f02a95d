/*
 * test_remote.c — the remote-module client: URL parsing, circuit breaker
 * (fake clock), backoff bounds, and the HTTP client against an in-test
 * server thread on port 0 (tests/fakes/fake_http_server: pool reuse,
 * chunked replies, stale connections, deadline, refused).  keel_call end to
 * end through the vtable is test_remote_call.c.
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
#include "fakes/fake_http_server.h"
#include "keel/client.h"

/* ---- URL parsing ------------------------------------------------------------ */

static void test_url_parse(void **state)
{
    keel_remote_url u;
    char err[256];
    static const char *const bad[] = {
        "https://x:1", "http://", "http://:80", "http://h:0", "http://h:70000", "http://h:8a",
        "http://u@h:1", "http://h:1/p?q=1", "http://h:1#f", "http://[::1", "ftp://h", "http://h x",
        NULL
    };
    const char *const *b;

    assert_int_equal(keel__remote_url_parse("http://127.0.0.1:8081", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_string_equal(u.port, "8081");
    assert_string_equal(u.base, "");
    assert_int_equal(keel__remote_url_parse("http://compute/api/", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "compute");
    assert_string_equal(u.port, "80");
    assert_string_equal(u.base, "/api");
    assert_int_equal(keel__remote_url_parse("http://[::1]:9000/", &u, err, sizeof(err)), 0);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.port, "9000");
    assert_string_equal(u.base, "");
    for (b = bad; *b; b++) {
        err[0] = '\0';
        if (keel__remote_url_parse(*b, &u, err, sizeof(err)) != KEEL_ECONFIG)
            fail_msg("url '%s' was accepted", *b);
        assert_non_null(strstr(err, "remote url"));
    }
}

/* ---- breaker ------------------------------------------------------------------ */

static void test_breaker(void **state)
{
    keel_breaker b;
    int64_t now = 1000;
    int i;

    keel__breaker_init(&b, 5, 2000);
    assert_int_equal(b.state, KEEL_BREAKER_CLOSED);
    /* Successes reset the count: 4 failures, 1 success, 4 failures stays closed. */
    for (i = 0; i < 4; i++) {
        assert_true(keel__breaker_allow(&b, now));
        assert_int_equal(keel__breaker_record(&b, 0, now), 0);
    }
    assert_true(keel__breaker_allow(&b, now));
    keel__breaker_record(&b, 1, now);
    assert_int_equal(b.failures, 0);
    for (i = 0; i < 4; i++) {
        assert_true(keel__breaker_allow(&b, now));
        assert_int_equal(keel__breaker_record(&b, 0, now), 0);
    }
    assert_int_equal(b.state, KEEL_BREAKER_CLOSED);
    /* The fifth consecutive failure opens it. */
    assert_true(keel__breaker_allow(&b, now));
    assert_int_equal(keel__breaker_record(&b, 0, now), 1);
    assert_int_equal(b.state, KEEL_BREAKER_OPEN);
    assert_string_equal(keel__breaker_state_name(b.state), "open");
    /* Open: fail fast until the cool-down has passed. */
    assert_false(keel__breaker_allow(&b, now + 1));
    assert_false(keel__breaker_allow(&b, now + 1999));
    /* Cool-down over: exactly one probe. */
    assert_true(keel__breaker_allow(&b, now + 2000));
    assert_int_equal(b.state, KEEL_BREAKER_HALF_OPEN);
    assert_string_equal(keel__breaker_state_name(b.state), "half_open");
    assert_false(keel__breaker_allow(&b, now + 2001));
    /* Probe fails: open again, cool-down restarts from the failure. */
    keel__breaker_record(&b, 0, now + 2100);
    assert_int_equal(b.state, KEEL_BREAKER_OPEN);
    assert_false(keel__breaker_allow(&b, now + 4000));
    assert_true(keel__breaker_allow(&b, now + 4100));
    /* Probe succeeds: closed, count cleared. */
    keel__breaker_record(&b, 1, now + 4150);
    assert_int_equal(b.state, KEEL_BREAKER_CLOSED);
    assert_int_equal(b.failures, 0);
    assert_true(keel__breaker_allow(&b, now + 4151));
    assert_true(keel__breaker_allow(&b, now + 4152));
    /* Threshold 0 is clamped to 1. */
    keel__breaker_init(&b, 0, 10);
    keel__breaker_allow(&b, 0);
    assert_int_equal(keel__breaker_record(&b, 0, 0), 1);
}

/* ---- backoff -------------------------------------------------------------------- */

static void test_backoff(void **state)
{
    static const uint64_t rnds[] = { 0, 1, 24, 25, 26, 399, 400, 401, 12345, UINT64_MAX };
    int a;
    size_t i;
    int64_t max_seen = 0, d;

    for (a = 0; a < 12; a++) {
        int64_t ceil_ms = 25;
        int k;
        for (k = 0; k < a && ceil_ms < 400; k++)
            ceil_ms *= 2;
        if (ceil_ms > 400)
            ceil_ms = 400;
        for (i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
            d = keel__backoff_ms(a, 25, 400, rnds[i]);
            assert_true(d >= 0);
            assert_true(d <= ceil_ms);
        }
        /* rnd == ceil hits the ceiling exactly: the range is inclusive. */
        assert_int_equal(keel__backoff_ms(a, 25, 400, (uint64_t)ceil_ms), ceil_ms);
    }
    /* Jitter is spread, not constant. */
    for (i = 0; i < 200; i++) {
        d = keel__backoff_ms(3, 25, 400, keel__remote_rand());
        assert_true(d >= 0 && d <= 200);
        if (d > max_seen)
            max_seen = d;
    }
    assert_true(max_seen > 100);
    assert_int_equal(keel__backoff_ms(-3, 25, 400, 7), 7);
    assert_int_equal(keel__backoff_ms(2, 0, 400, 7), 0);
}

static keel_http_pool *pool_for(int port)
{
    keel_remote_url u;
    keel_http_pool *p;
    char url[64], err[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    assert_int_equal(keel__remote_url_parse(url, &u, err, sizeof(err)), 0);
    assert_int_equal(keel__http_pool_new(&u, 8, &p), 0);
    return p;
}

static int post(keel_http_pool *p, const char *body, int64_t timeout_ms, keel_http_reply *rep,
                char *err, size_t errlen)
{
    static const char *const h[] = { "Content-Type: application/json", NULL };
    return keel__http_request(p, "POST", "/v1/x/y", h, body, strlen(body), 0,
                              keel__now_ms() + timeout_ms, rep, err, errlen);
}

/* ---- HTTP client ------------------------------------------------------------------ */

static void test_pool_reuse(void **state)
{
    fake_srv *s = fake_srv_start(FS_REPLY);
    keel_http_pool *p = pool_for(s->port);
    keel_http_reply rep;
    char err[256], body[64];
    int i;

    for (i = 0; i < 20; i++) {
        snprintf(body, sizeof(body), "{\"i\":%d}", i);
        assert_int_equal(post(p, body, 1000, &rep, err, sizeof(err)), 0);
        assert_int_equal(rep.status, 200);
        assert_string_equal(rep.body, body);
        keel__http_reply_clear(&rep);
    }
    assert_int_equal(keel__http_pool_connects(p), 1);
    assert_int_equal(keel__http_pool_idle(p), 1);
    assert_int_equal(s->accepts, 1);
    assert_int_equal(s->requests, 20);
    assert_non_null(strstr(s->last_head, "POST /v1/x/y HTTP/1.1\r\n"));
    assert_non_null(strstr(s->last_head, "Content-Length: 8\r\n"));
    keel__http_pool_free(p);
    fake_srv_stop(s);
}

static void test_chunked_reply(void **state)
{
    fake_srv *s = fake_srv_start(FS_CHUNKED);
    keel_http_pool *p = pool_for(s->port);
    keel_http_reply rep;
    char err[256];
    int i;

    for (i = 0; i < 3; i++) {
        assert_int_equal(post(p, "{\"hello\":\"chunked world\"}", 1000, &rep, err, sizeof(err)), 0);
        assert_int_equal(rep.status, 200);
        assert_string_equal(rep.body, "{\"hello\":\"chunked world\"}");
        keel__http_reply_clear(&rep);
    }
    assert_int_equal(keel__http_pool_connects(p), 1);
    keel__http_pool_free(p);
    fake_srv_stop(s);
}

/* Found by fuzz_remote_reply: the status line and Content-Length were read
 * with sscanf/strtoll, which skip line ends, so a status or a length could
 * come from the body; "+5" and "5x" were lengths too.  Each is refused now. */
static void test_reply_head_strict(void **state)
{
    static const char *const bad[] = {
        "HTTP/1.\r\n\r\n0 404 {}",                              /* status from the body */
        "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n2{}",          /* length from the body */
        "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}",
        "HTTP/1.1 +200 OK\r\nContent-Length: 2\r\n\r\n{}",
        "HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\n{}",
        NULL
    };
    keel_http_reply rep;
    char err[256];
    int i;
    (void)state;

    for (i = 0; bad[i] != NULL; i++) {
        fake_srv *s = fake_srv_start(FS_RAW);
        keel_http_pool *p = pool_for(s->port);
        s->status = 200;
        snprintf(s->reply, sizeof(s->reply), "%s", bad[i]);
        if (post(p, "{}", 1000, &rep, err, sizeof(err)) != KEEL_EIO)
            fail_msg("reply %d '%s' was accepted: status %d, body '%s'", i, bad[i], rep.status,
                     rep.body ? rep.body : "");
        assert_null(rep.body);
        keel__http_pool_free(p);
        fake_srv_stop(s);
    }
    /* the strict reader still takes what servers send */
    {
        fake_srv *s = fake_srv_start(FS_RAW);
        keel_http_pool *p = pool_for(s->port);
        s->status = 200;
        snprintf(s->reply, sizeof(s->reply), "HTTP/1.0 201\r\ncontent-length:\t2 \r\n\r\n{}");
        assert_int_equal(post(p, "{}", 1000, &rep, err, sizeof(err)), 0);
        assert_int_equal(rep.status, 201);
        assert_string_equal(rep.body, "{}");
        keel__http_reply_clear(&rep);
        keel__http_pool_free(p);
        fake_srv_stop(s);
    }
}

static void test_stale_connection(void **state)
{
    fake_srv *s = fake_srv_start(FS_CLOSE_AFTER);
    keel_http_pool *p = pool_for(s->port);
    keel_http_reply rep;
    char err[256];
    int i;

    /* The server closes after each reply without saying so: each pooled
     * connection is dead when reused and must be replaced transparently. */
    for (i = 0; i < 3; i++) {
        assert_int_equal(post(p, "{}", 1000, &rep, err, sizeof(err)), 0);
        assert_int_equal(rep.status, 200);
        keel__http_reply_clear(&rep);
        usleep(20000);
    }
    assert_int_equal(keel__http_pool_connects(p), 3);
    assert_int_equal(s->requests, 3);
    keel__http_pool_free(p);
    fake_srv_stop(s);
}

/* A reused connection that dies after the whole request was written may have
 * run it: a non-idempotent request is not sent again (the caller gets 503
 * and decides); an idempotent one is, once, on a fresh connection. */
static void test_no_resend_after_written(void **state)
{
    static const char *const h[] = { "Content-Type: application/json", NULL };
    fake_srv *s = fake_srv_start(FS_DROP_SECOND);
    keel_http_pool *p = pool_for(s->port);
    keel_http_reply rep;
    char err[256];
    (void)state;

    assert_int_equal(post(p, "{\"n\":1}", 1000, &rep, err, sizeof(err)), 0);
    keel__http_reply_clear(&rep);
    assert_int_equal(post(p, "{\"n\":2}", 1000, &rep, err, sizeof(err)), KEEL_EUNAVAIL);
    assert_null(rep.body);
    assert_non_null(strstr(err, "closed the connection"));
    usleep(50000);
    pthread_mutex_lock(&s->mu);
    assert_int_equal(s->requests, 2);   /* the server saw "n":2 exactly once */
    pthread_mutex_unlock(&s->mu);

    /* the same loss for an idempotent request: sent again, answered */
    assert_int_equal(post(p, "{\"n\":3}", 1000, &rep, err, sizeof(err)), 0);   /* fresh conn */
    keel__http_reply_clear(&rep);
    assert_int_equal(keel__http_request(p, "POST", "/v1/x/y", h, "{\"n\":4}", 7, 1,
                                        keel__now_ms() + 1000, &rep, err, sizeof(err)), 0);
    assert_int_equal(rep.status, 200);
    assert_string_equal(rep.body, "{\"n\":4}");
    keel__http_reply_clear(&rep);
    pthread_mutex_lock(&s->mu);
    assert_int_equal(s->requests, 5);   /* 3, then 4 twice */
    pthread_mutex_unlock(&s->mu);
    keel__http_pool_free(p);
    fake_srv_stop(s);
}

static void test_deadline(void **state)
{
    fake_srv *s = fake_srv_start(FS_SILENT);
    keel_http_pool *p = pool_for(s->port);
    keel_http_reply rep;
    char err[256];
    int64_t t0 = keel__now_ms(), dt;

    assert_int_equal(post(p, "{}", 200, &rep, err, sizeof(err)), KEEL_ETIMEDOUT);
    dt = keel__now_ms() - t0;
    assert_true(dt >= 195);
    assert_true(dt < 1000);
    assert_non_null(strstr(err, "deadline"));
    assert_null(rep.body);
    assert_int_equal(keel__http_pool_idle(p), 0);
    keel__http_pool_free(p);
    fake_srv_stop(s);
}

static int closed_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);  /* bound, never listened, now closed: connect is refused */
    return ntohs(a.sin_port);
}

/* A resolver that takes 3 s (a DNS server that does not answer). */
static int slow_getaddrinfo(const char *host, const char *port, const struct addrinfo *hints,
                            struct addrinfo **res)
{
    struct timespec ts = {3, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return getaddrinfo(host, port, hints, res);
}

/* Name resolution honours the call's deadline; addresses need no resolver. */
static void test_resolve_deadline(void **state)
{
    struct addrinfo *res = NULL;
    char err[256];
    int64_t t0;
    (void)state;

    keel__remote_set_resolver(slow_getaddrinfo);
    /* a numeric address does not go through the (slow) resolver */
    t0 = keel__now_ms();
    assert_int_equal(keel__remote_resolve("127.0.0.1", "80", t0 + 200, &res, err, sizeof err), 0);
    assert_non_null(res);
    freeaddrinfo(res);
    res = NULL;
    assert_true(keel__now_ms() - t0 < 150);
    /* a name: the caller stops waiting at the deadline, not after 3 s */
    t0 = keel__now_ms();
    assert_int_equal(keel__remote_resolve("localhost", "80", t0 + 200, &res, err, sizeof err),
                     KEEL_ETIMEDOUT);
    assert_null(res);
    assert_true(keel__now_ms() - t0 >= 190);
    assert_true(keel__now_ms() - t0 < 1500);
    assert_non_null(strstr(err, "deadline"));
    keel__remote_set_resolver(NULL);
    /* the real resolver answers a name from /etc/hosts */
    assert_int_equal(keel__remote_resolve("localhost", "80", keel__now_ms() + 5000, &res, err,
                                          sizeof err), 0);
    assert_non_null(res);
    freeaddrinfo(res);
}

static void test_refused(void **state)
{
    keel_http_pool *p = pool_for(closed_port());
    keel_http_reply rep;
    char err[256];
    int64_t t0 = keel__now_ms();

    assert_int_equal(post(p, "{}", 5000, &rep, err, sizeof(err)), KEEL_EUNAVAIL);
    assert_true(keel__now_ms() - t0 < 500);
    assert_non_null(strstr(err, "refused"));
    keel__http_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_breaker),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_pool_reuse),
        cmocka_unit_test(test_chunked_reply),
        cmocka_unit_test(test_reply_head_strict),
        cmocka_unit_test(test_stale_connection),
        cmocka_unit_test(test_no_resend_after_written),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_resolve_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
