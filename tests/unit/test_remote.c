/*
 * test_remote.c — the remote-module client: URL parsing, circuit breaker
 * (fake clock), backoff bounds, the HTTP client against an in-test server
 * thread on port 0 (pool reuse, chunked replies, stale connections, deadline,
 * refused), and keel_call end to end through the vtable (headers, error
 * adoption, skew check, retries, breaker).
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

/* ---- an in-test HTTP server ------------------------------------------------------ */

/* FS_DROP_SECOND: answers a connection's first request, reads its second in
 * full and closes without a reply (a server that died mid-request). */
/* FS_RAW: sends reply as it is (a whole HTTP response) and closes. */
enum { FS_REPLY = 0, FS_SILENT, FS_CLOSE_AFTER, FS_CHUNKED, FS_DROP_SECOND, FS_RAW };

typedef struct fake_srv {
    int             lfd, port;
    pthread_t       th;
    pthread_mutex_t mu;
    int             mode;
    int             accepts, requests, active, stop;
    int             fail_first;        /* POSTs answered 503 before normal replies */
    int             status;            /* fixed POST reply when non-zero */
    char            reply[1024];
    char            modules[1024];     /* GET /v1/modules body */
    char            last_head[4096];
} fake_srv;

typedef struct fake_conn {
    fake_srv *s;
    int       fd;
} fake_conn;

static int srv_stopping(fake_srv *s)
{
    int v;
    pthread_mutex_lock(&s->mu);
    v = s->stop;
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* Reads into buf until pred; -1 on EOF/stop. */
static int conn_read_more(fake_srv *s, int fd, char *buf, size_t *len, size_t cap)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        if (srv_stopping(s))
            return -1;
        if (poll(&p, 1, 20) <= 0)
            continue;
        n = recv(fd, buf + *len, cap - *len - 1, 0);
        if (n <= 0)
            return -1;
        *len += (size_t)n;
        buf[*len] = '\0';
        return 0;
    }
}

static void send_str(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

static void *conn_main(void *arg)
{
    fake_conn *c = arg;
    fake_srv *s = c->s;
    char buf[65536], out[70000], reply[4096];
    size_t len = 0;
    int nreq = 0;

    buf[0] = '\0';   /* strstr below reads buf before the first recv */

    for (;;) {
        char *e, *cl, method[8] = "", path[256] = "";
        size_t hlen, blen = 0;
        int status = 200, mode;

        while (!(e = strstr(buf, "\r\n\r\n")) || len == 0) {
            if (conn_read_more(s, c->fd, buf, &len, sizeof(buf)) != 0)
                goto out;
        }
        hlen = (size_t)(e - buf) + 4;
        cl = strcasestr(buf, "Content-Length:");
        if (cl && cl < e)
            blen = (size_t)strtoul(cl + 15, NULL, 10);
        while (len < hlen + blen)
            if (conn_read_more(s, c->fd, buf, &len, sizeof(buf)) != 0)
                goto out;
        sscanf(buf, "%7s %255s", method, path);
        pthread_mutex_lock(&s->mu);
        s->requests++;
        mode = s->mode;
        snprintf(s->last_head, sizeof(s->last_head), "%.*s", (int)hlen, buf);
        if (strcmp(method, "GET") == 0 && strcmp(path, "/v1/modules") == 0) {
            snprintf(reply, sizeof(reply), "%s", s->modules);
        } else if (s->fail_first > 0) {
            s->fail_first--;
            status = 503;
            snprintf(reply, sizeof(reply), "{\"error\":{\"code\":\"unavailable\",\"message\":\"busy\"}}");
        } else if (s->status) {
            status = s->status;
            snprintf(reply, sizeof(reply), "%s", s->reply);
        } else {
            snprintf(reply, sizeof(reply), "%.*s", (int)blen, buf + hlen);
        }
        pthread_mutex_unlock(&s->mu);
        if (mode == FS_DROP_SECOND && ++nreq == 2)
            goto out;
        if (mode == FS_SILENT) {
            while (conn_read_more(s, c->fd, buf, &len, sizeof(buf)) == 0)
                len = 0;
            goto out;
        }
        if (mode == FS_RAW) {
            send_str(c->fd, reply);
            goto out;
        }
        if (mode == FS_CHUNKED) {
            size_t half = strlen(reply) / 2;
            snprintf(out, sizeof(out),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "%zx;ext=1\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
                     status, half, (int)half, reply, strlen(reply) - half, reply + half);
        } else {
            snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s", status, strlen(reply), reply);
        }
        send_str(c->fd, out);
        memmove(buf, buf + hlen + blen, len - hlen - blen);
        len -= hlen + blen;
        buf[len] = '\0';
        if (mode == FS_CLOSE_AFTER)
            goto out;
    }
out:
    close(c->fd);
    pthread_mutex_lock(&s->mu);
    s->active--;
    pthread_mutex_unlock(&s->mu);
    free(c);
    return NULL;
}

static void *srv_main(void *arg)
{
    fake_srv *s = arg;

    while (!srv_stopping(s)) {
        struct pollfd p = { .fd = s->lfd, .events = POLLIN };
        fake_conn *c;
        pthread_t th;
        int fd;

        if (poll(&p, 1, 20) <= 0)
            continue;
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        c = calloc(1, sizeof(*c));
        c->s = s;
        c->fd = fd;
        pthread_mutex_lock(&s->mu);
        s->accepts++;
        s->active++;
        pthread_mutex_unlock(&s->mu);
        pthread_create(&th, NULL, conn_main, c);
        pthread_detach(th);
    }
    return NULL;
}

static fake_srv *srv_start(int mode)
{
    fake_srv *s = calloc(1, sizeof(*s));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    int one = 1;

    assert_non_null(s);
    pthread_mutex_init(&s->mu, NULL);
    s->mode = mode;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
    return s;
}

static void srv_stop(fake_srv *s)
{
    int active = 1;

    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    close(s->lfd);
    while (active) {
        pthread_mutex_lock(&s->mu);
        active = s->active;
        pthread_mutex_unlock(&s->mu);
        if (active)
            usleep(5000);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
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
    fake_srv *s = srv_start(FS_REPLY);
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
    srv_stop(s);
}

static void test_chunked_reply(void **state)
{
    fake_srv *s = srv_start(FS_CHUNKED);
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
    srv_stop(s);
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
        fake_srv *s = srv_start(FS_RAW);
        keel_http_pool *p = pool_for(s->port);
        s->status = 200;
        snprintf(s->reply, sizeof(s->reply), "%s", bad[i]);
        if (post(p, "{}", 1000, &rep, err, sizeof(err)) != KEEL_EIO)
            fail_msg("reply %d '%s' was accepted: status %d, body '%s'", i, bad[i], rep.status,
                     rep.body ? rep.body : "");
        assert_null(rep.body);
        keel__http_pool_free(p);
        srv_stop(s);
    }
    /* the strict reader still takes what servers send */
    {
        fake_srv *s = srv_start(FS_RAW);
        keel_http_pool *p = pool_for(s->port);
        s->status = 200;
        snprintf(s->reply, sizeof(s->reply), "HTTP/1.0 201\r\ncontent-length:\t2 \r\n\r\n{}");
        assert_int_equal(post(p, "{}", 1000, &rep, err, sizeof(err)), 0);
        assert_int_equal(rep.status, 201);
        assert_string_equal(rep.body, "{}");
        keel__http_reply_clear(&rep);
        keel__http_pool_free(p);
        srv_stop(s);
    }
}

static void test_stale_connection(void **state)
{
    fake_srv *s = srv_start(FS_CLOSE_AFTER);
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
    srv_stop(s);
}

/* A reused connection that dies after the whole request was written may have
 * run it: a non-idempotent request is not sent again (the caller gets 503
 * and decides); an idempotent one is, once, on a fresh connection. */
static void test_no_resend_after_written(void **state)
{
    static const char *const h[] = { "Content-Type: application/json", NULL };
    fake_srv *s = srv_start(FS_DROP_SECOND);
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
    srv_stop(s);
}

static void test_deadline(void **state)
{
    fake_srv *s = srv_start(FS_SILENT);
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
    srv_stop(s);
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

typedef struct rfix {
    fake_srv     *s;
    keel_runtime *rt;
    keel_ctx     *ctx;
} rfix;

static void rfix_modules(rfix *f, int iface_version, const char *digest)
{
    pthread_mutex_lock(&f->s->mu);
    snprintf(f->s->modules, sizeof(f->s->modules),
             "{\"modules\":[{\"name\":\"other\"},{\"name\":\"trem\",\"placement\":\"local\","
             "\"iface_version\":%d,\"digest\":\"%s\"}]}", iface_version, digest);
    pthread_mutex_unlock(&f->s->mu);
}

static int rfix_setup(void **state)
{
    static const keel_module *const mods[] = { &trem_module, NULL };
    rfix *f = calloc(1, sizeof(*f));
    char env_remote[96], err[512];
    char *envp[] = { env_remote, "KEEL_CALL_TIMEOUT_MS=3000", "KEEL_LOG_LEVEL=error", NULL };

    f->s = srv_start(FS_REPLY);
    snprintf(env_remote, sizeof(env_remote), "KEEL_REMOTE_TREM=http://127.0.0.1:%d", f->s->port);
    if (keel__rt_new(mods, &f->rt, err, sizeof(err)) != 0 ||
        keel__rt_configure(f->rt, NULL, envp, NULL, err, sizeof(err)) != 0 ||
        keel__remote_install(f->rt, err, sizeof(err)) != 0)
        fail_msg("runtime: %s", err);
    assert_int_equal(keel__mc_placement(keel__rt_find(f->rt, "trem")), KEEL_PLACE_REMOTE);
    rfix_modules(f, 3, keel__mc_digest(keel__rt_find(f->rt, "trem")));
    f->ctx = keel__ctx_new(f->rt, KEEL_TR_LOCAL, "r-test-remote", 0);
    assert_non_null(f->ctx);
    *state = f;
    return 0;
}

static int rfix_teardown(void **state)
{
    rfix *f = *state;

    keel__ctx_free(f->ctx);
    keel__remote_uninstall(f->rt);
    keel__remote_uninstall(f->rt);  /* idempotent */
    keel__rt_free(f->rt);
    srv_stop(f->s);
    free(f);
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

    rfix_modules(f, 4, keel__mc_digest(keel__rt_find(f->rt, "trem")));
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

    rfix_modules(f, 3, "00000000deadbeef");
    assert_int_equal(keel_call(f->ctx, "trem", "echo", NULL, &out), KEEL_EVERSION);
    assert_non_null(strstr(keel_ctx_errmsg(f->ctx), "schema digest 00000000dead"));
}

/* A mixed build: this process against a peer built before the wave-2 typed
 * calling convention (self first), where every module's iface was v1.  The
 * schemas are the same (same digest), so only the iface version tells them
 * apart, and the skew check must refuse; the same version is let through. */
static void test_mixed_build_refused(void **state)
{
    fake_srv *s = srv_start(FS_REPLY);
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
    srv_stop(s);
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
    srv_stop(f->s);
    f->s = srv_start(FS_REPLY);  /* a fresh server on another port; the old one is gone */
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
