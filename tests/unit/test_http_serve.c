/* test_http_serve.c — keel__http_serve against a test module: internal
 * methods are not served, a 503 names its module, a raw body reaches the
 * handler, and SIGTERM while a slow handler runs still delivers its answer
 * before keel__http_serve returns 0; a request sent behind a call on a worker
 * neither spins the loop nor is lost; the on_listening hook runs once while
 * the loops answer, and its failure stops the server with its error. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "api/http-internal.h"
#include "fakes/test_server.h"

static int h_echo(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    *out = json_deep_copy(in);
    return *out ? 0 : KEEL_ENOMEM;
}

static int h_slow(keel_ctx *ctx, const json_t *in, json_t **out)
{
    struct timespec ts = {0, 400 * 1000000L};
    (void)ctx;
    (void)in;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    *out = json_pack("{s:b}", "slept", 1);
    return 0;
}

static int h_down(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)in;
    (void)out;
    return keel_ctx_error(ctx, KEEL_EUNAVAIL, "backend is down");
}

static int h_raw(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const char *data;
    size_t len;
    int rc = keel_ctx_input_text(ctx, in, &data, &len);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:s%}", "text", data, len);
    if (*out && json_object_get(in, "n"))
        json_object_set(*out, "n", json_object_get(in, "n"));
    return *out ? 0 : KEEL_ENOMEM;
}

static const keel_method t_methods[] = {
    {.name = "echo", .handler = h_echo, .flags = KEEL_PUBLIC},
    {.name = "hidden", .handler = h_echo, .flags = KEEL_PUBLIC | KEEL_INTERNAL},
    {.name = "slow", .handler = h_slow, .flags = KEEL_PUBLIC},
    {.name = "down", .handler = h_down, .flags = KEEL_PUBLIC},
    {.name = "raw", .handler = h_raw, .flags = KEEL_PUBLIC | KEEL_RAW_IN,
     .in_schema = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},"
                  "\"text\":{\"type\":\"string\"}},\"additionalProperties\":false}",
     .raw_types = "text/csv", .raw_field = "text"},
    {0}
};

static const keel_module m_t = {.abi = KEEL_ABI, .name = "t", .version = "1.0.0",
                                .methods = t_methods};

typedef struct keel_test_server server;

/* tests/fakes/test_server.h: a served runtime with auth off on one loop. */
static void server_start(server *s)
{
    static const keel_module *const mods[] = {&m_t, NULL};
    const char *const env[] = {NULL};
    char err[256];

    if (keel_test_server_start(s, mods, env, err, sizeof err) != 0)
        fail_msg("server: %s", err);
}

static void server_stop(server *s, int signal_it)
{
    assert_int_equal(keel_test_server_stop(s, signal_it), 0);
}

/* One request with Connection: close; returns the status, body into buf. */
static int request(int port, const char *method, const char *path, const char *ctype,
                   const char *body, char *buf, size_t len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char req[2048];
    size_t got = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
    ssize_t n;
    char *p;

    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
             "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
             method, path, ctype, strlen(body), body);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
    while (got + 1 < len && (n = recv(fd, buf + got, len - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    p = strstr(buf, "\r\n\r\n");
    if (p)
        memmove(buf, p + 4, strlen(p + 4) + 1);
    return status;
}

static void test_routes_of_a_module(void **state)
{
    server s;
    char buf[4096];
    (void)state;
    server_start(&s);
    assert_int_equal(request(s.port, "POST", "/v1/t/echo", "application/json", "{\"a\":1}",
                             buf, sizeof buf), 200);
    assert_string_equal(buf, "{\"a\":1}\n");
    assert_int_equal(request(s.port, "POST", "/v1/t/hidden", "application/json", "{}",
                             buf, sizeof buf), 404);
    assert_non_null(strstr(buf, "\"unknown_method\""));
    assert_int_equal(request(s.port, "POST", "/v1/t/down", "application/json", "{}",
                             buf, sizeof buf), 503);
    assert_non_null(strstr(buf, "\"module\":\"t\""));
    assert_non_null(strstr(buf, "backend is down"));
    assert_int_equal(request(s.port, "POST", "/v1/t/raw?n=7", "text/csv", "a,b\n1,2\n",
                             buf, sizeof buf), 200);
    assert_string_equal(buf, "{\"text\":\"a,b\\n1,2\\n\",\"n\":7}\n");
    assert_int_equal(request(s.port, "POST", "/v1/t/raw?n=x", "text/csv", "a",
                             buf, sizeof buf), 400);
    assert_int_equal(request(s.port, "POST", "/v1/t/raw", "application/json",
                             "{\"text\":\"x,y\"}", buf, sizeof buf), 200);
    assert_string_equal(buf, "{\"text\":\"x,y\"}\n");
    assert_int_equal(request(s.port, "POST", "/v1/t/raw", "text/plain", "a", buf, sizeof buf), 415);
    /* bytes that are not UTF-8 in a query parameter are the caller's fault */
    assert_int_equal(request(s.port, "POST", "/v1/t/echo?a=%ff", "application/json", "{}",
                             buf, sizeof buf), 400);
    server_stop(&s, 1);
}

typedef struct slow_call {
    int  port;
    int  status;
    char body[1024];
} slow_call;

static void *slow_main(void *arg)
{
    slow_call *c = arg;
    c->status = request(c->port, "POST", "/v1/t/slow", "application/json", "{}",
                        c->body, sizeof c->body);
    return NULL;
}

static void test_sigterm_drains_running_handler(void **state)
{
    server s;
    slow_call c = {0};
    pthread_t t;
    (void)state;
    server_start(&s);
    c.port = s.port;
    assert_int_equal(pthread_create(&t, NULL, slow_main, &c), 0);
    usleep(150000);                /* the handler is sleeping now */
    server_stop(&s, 1);            /* returns once the drain is over */
    pthread_join(t, NULL);
    assert_int_equal(c.status, 200);
    assert_string_equal(c.body, "{\"slept\":true}\n");
}

/* ---- on_listening: what starts once the listeners accept -------------------- */

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* http_conn_keep.c keeps a second read interest in each socket through
 * evhttp's pause between a request and its answer.  A client that sends its
 * next request while the first runs on a worker leaves input nobody reads
 * for that while: level-triggered epoll would wake the loop at every turn
 * (this process would burn the 400 ms of the slow call on the loop thread)
 * unless the interest is taken out.  Both answers come, in order. */
static void test_pipelined_behind_a_worker_call(void **state)
{
    server s;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    const char *one = "POST /v1/t/slow HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                      "Content-Length: 2\r\n\r\n{}";
    const char *two = "POST /v1/t/echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                      "Connection: close\r\nContent-Length: 8\r\n\r\n{\"n\":42}";
    char buf[4096];
    size_t got = 0;
    ssize_t n;
    int fd;
    double cpu0, cpu;
    (void)state;

    server_start(&s);
    sa.sin_port = htons((uint16_t)s.port);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cpu0 = cpu_s();
    assert_int_equal(send(fd, one, strlen(one), 0), (ssize_t)strlen(one));
    usleep(100000);                /* the slow call runs on a worker now */
    assert_int_equal(send(fd, two, strlen(two), 0), (ssize_t)strlen(two));
    while (got + 1 < sizeof buf && (n = recv(fd, buf + got, sizeof buf - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    cpu = cpu_s() - cpu0;
    close(fd);
    server_stop(&s, 1);
    const char *a = strstr(buf, "{\"slept\":true}"), *b = strstr(buf, "{\"n\":42}");
    if (a == NULL || b == NULL || b < a)
        fail_msg("answers missing or out of order: %s", buf);
    if (cpu > 0.2)
        fail_msg("the process used %.0f ms of CPU while one call slept 400 ms: the loop spun", cpu * 1e3);
    printf("# %.1f ms of CPU while a call slept 400 ms with the next request waiting\n", cpu * 1e3);
}

typedef struct direct {
    keel_runtime           *rt;
    keel__http_listening_fn fn;
    int                     port, rc;
    char                    err[256];
} direct;

static direct *cur;               /* the callbacks' view of the running test */
/* what the serving thread's callback saw, under mu: the test thread waits
 * on cv, which also orders its kill() after the server's signal set-up */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int calls, probed = -1;

static int listening_ok(keel_runtime *rt, char *err, size_t errlen)
{
    /* the loops answer while this runs: the first answer waits for nothing
     * started here */
    int got = keel__http_health_probe("127.0.0.1", cur->port, 2000);

    (void)err;
    (void)errlen;
    pthread_mutex_lock(&mu);
    calls += rt == cur->rt;
    probed = got;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    return 0;
}

static int listening_fails(keel_runtime *rt, char *err, size_t errlen)
{
    (void)rt;
    pthread_mutex_lock(&mu);
    calls++;
    pthread_mutex_unlock(&mu);
    snprintf(err, errlen, "events: cannot start dispatcher threads");
    return KEEL_ENOMEM;
}

static void *direct_main(void *arg)
{
    direct *d = arg;
    d->rc = keel__http_serve(d->rt, d->fn, d->err, sizeof d->err);
    return NULL;
}

static void direct_start(direct *d, keel__http_listening_fn fn, pthread_t *t)
{
    static const keel_module *const mods[] = {&m_t, NULL};
    char port[32], err[256];
    char *env[] = {port, "KEEL_HOST=127.0.0.1", "KEEL_THREADS=1", "KEEL_AUTH_DISABLED=1",
                   "KEEL_LOG_LEVEL=error", NULL};

    memset(d, 0, sizeof *d);
    d->fn = fn;
    d->port = keel_test_free_port();
    assert_true(d->port > 0);
    snprintf(port, sizeof port, "KEEL_PORT=%d", d->port);
    if (keel__rt_new(mods, &d->rt, err, sizeof err) != 0 ||
        keel__rt_configure(d->rt, NULL, env, NULL, err, sizeof err) != 0 ||
        keel__rt_start(d->rt, NULL, err, sizeof err) != 0)
        fail_msg("runtime: %s", err);
    cur = d;
    calls = 0;
    probed = -1;
    assert_int_equal(pthread_create(t, NULL, direct_main, d), 0);
}

static void direct_free(direct *d)
{
    keel__rt_stop(d->rt);
    keel__rt_free(d->rt);
    cur = NULL;
}

static void test_on_listening_runs_once_while_serving(void **state)
{
    direct d;
    pthread_t t;
    struct timespec until;
    (void)state;
    direct_start(&d, listening_ok, &t);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&mu);
    while (calls == 0 && pthread_cond_timedwait(&cv, &mu, &until) == 0)
        ;
    assert_int_equal(calls, 1);
    assert_int_equal(probed, 0);
    pthread_mutex_unlock(&mu);
    kill(getpid(), SIGTERM);
    pthread_join(t, NULL);
    assert_int_equal(d.rc, 0);
    assert_int_equal(calls, 1);
    direct_free(&d);
}

static void test_on_listening_failure_stops_the_server(void **state)
{
    direct d;
    pthread_t t;
    (void)state;
    direct_start(&d, listening_fails, &t);
    pthread_join(t, NULL);      /* returns by itself: nobody signals */
    assert_int_equal(calls, 1);
    assert_int_equal(d.rc, KEEL_ENOMEM);
    assert_string_equal(d.err, "events: cannot start dispatcher threads");
    /* and the listeners are closed */
    assert_int_not_equal(keel__http_health_probe("127.0.0.1", d.port, 500), 0);
    direct_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_of_a_module),
        cmocka_unit_test(test_sigterm_drains_running_handler),
        cmocka_unit_test(test_pipelined_behind_a_worker_call),
        cmocka_unit_test(test_on_listening_runs_once_while_serving),
        cmocka_unit_test(test_on_listening_failure_stops_the_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
