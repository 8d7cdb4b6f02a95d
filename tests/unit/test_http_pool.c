/* test_http_pool.c — the handler worker pool (http_pool.c) alone and behind
 * keel__http_serve: a job runs on a worker and its done callback on the
 * loop thread; a full queue refuses (503 unavailable + Retry-After over
 * HTTP) and counts; a cheap method is answered while every worker is busy;
 * a reply whose client left is dropped and counted; SIGTERM answers the
 * queued calls 503 and lets the running one finish. */
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
#include <sys/socket.h>
#include <cmocka.h>

#include <event2/event.h>

#include "api/http-internal.h"
#include "fakes/test_server.h"
#include "core/thread-internal.h"

/* ---- a gate the blocking jobs and handlers wait on ------------------------ */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_inside;

static void gate_reset(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = 0;
    gate_inside = 0;
    pthread_mutex_unlock(&gate_mu);
}

static void gate_pass(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_inside++;
    pthread_cond_broadcast(&gate_cv);
    while (!gate_open)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
}

static void gate_release(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

/* Waits (up to 5 s) until n callers are inside the gate. */
static void gate_wait_inside(int n)
{
    struct timespec ts;
    pthread_mutex_lock(&gate_mu);
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    while (gate_inside < n)
        if (pthread_cond_timedwait(&gate_cv, &gate_mu, &ts) == ETIMEDOUT)
            break;
    assert_int_equal(gate_inside, n);
    pthread_mutex_unlock(&gate_mu);
}

/* ---- the pool alone --------------------------------------------------------- */

typedef struct tjob {
    keel_job         job;
    int              block;      /* waits at the gate */
    keel_thread_kind run_kind;
    pthread_t        done_thread;
    int              done_calls, ran;
} tjob;

static void tjob_run(keel_job *j)
{
    tjob *t = (tjob *)j;
    t->run_kind = keel__thread_kind();
    if (t->block)
        gate_pass();
}

static void tjob_done(keel_job *j, int ran)
{
    tjob *t = (tjob *)j;
    t->done_thread = pthread_self();
    t->done_calls++;
    t->ran = ran;
}

static void tjob_init(tjob *t, keel_mailbox *mb, int block)
{
    memset(t, 0, sizeof *t);
    t->job.run = tjob_run;
    t->job.done = tjob_done;
    t->job.home = mb;
    t->block = block;
}

/* A base as the HTTP loops make them: no lock, so no other thread may call
 * into it (the mailbox wakes it through its eventfd). */
static struct event_base *nolock_base(void)
{
    struct event_config *cfg = event_config_new();
    struct event_base *base;
    assert_non_null(cfg);
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    return base;
}

/* Runs base until every job in js has had its done callback (5 s cap). */
static void loop_until_done(struct event_base *base, tjob **js, int n)
{
    int i, left;
    int64_t until = keel__now_ms() + 5000;
    do {
        struct timeval tick = {0, 10000};
        event_base_loopexit(base, &tick);
        event_base_dispatch(base);
        for (left = 0, i = 0; i < n; i++)
            left += js[i]->done_calls == 0;
    } while (left > 0 && keel__now_ms() < until);
    assert_int_equal(left, 0);
}

static void test_pool_runs_on_worker_done_on_loop(void **state)
{
    struct event_base *base;
    keel_mailbox *mb;
    keel_pool *p;
    keel_pool_stats st;
    tjob a, b, c, *js[2] = {&a, &b};
    (void)state;

    gate_reset();
    assert_non_null(base = nolock_base());
    assert_int_equal(keel__mailbox_new(base, &mb), 0);
    assert_int_equal(keel__pool_new(1, 1, &p), 0);
    tjob_init(&a, mb, 1);
    tjob_init(&b, mb, 0);
    tjob_init(&c, mb, 0);
    assert_int_equal(keel__pool_submit(p, &a.job), 0);
    gate_wait_inside(1);                         /* the one worker is busy */
    assert_int_equal(keel__pool_submit(p, &b.job), 0);  /* the one queue slot */
    assert_int_equal(keel__pool_submit(p, &c.job), KEEL_EUNAVAIL);
    keel__pool_stats(p, &st);
    assert_int_equal(st.workers, 1);
    assert_int_equal(st.busy, 1);
    assert_int_equal(st.queued, 1);
    assert_int_equal(st.rejected, 1);
    gate_release();
    loop_until_done(base, js, 2);
    assert_int_equal(a.ran, 1);
    assert_int_equal(b.ran, 1);
    assert_int_equal(c.done_calls, 0);          /* refused: never touched */
    assert_int_equal(a.run_kind, KEEL_THREAD_WORKER);
    assert_true(pthread_equal(a.done_thread, pthread_self()));
    assert_true(pthread_equal(b.done_thread, pthread_self()));
    keel__pool_stats(p, &st);
    assert_int_equal(st.done, 2);
    keel__pool_free(p);
    keel__mailbox_free(mb);
    event_base_free(base);
}

static void test_pool_drain_hands_back_queued(void **state)
{
    struct event_base *base;
    keel_mailbox *mb;
    keel_pool *p;
    keel_pool_stats st;
    tjob a, b, c, *js[2] = {&a, &b};
    (void)state;

    gate_reset();
    assert_non_null(base = nolock_base());
    assert_int_equal(keel__mailbox_new(base, &mb), 0);
    assert_int_equal(keel__pool_new(1, 4, &p), 0);
    tjob_init(&a, mb, 1);
    tjob_init(&b, mb, 0);
    tjob_init(&c, mb, 0);
    assert_int_equal(keel__pool_submit(p, &a.job), 0);
    gate_wait_inside(1);
    assert_int_equal(keel__pool_submit(p, &b.job), 0);
    keel__pool_drain(p);
    assert_int_equal(keel__pool_submit(p, &c.job), KEEL_EUNAVAIL); /* draining */
    gate_release();                              /* the running job finishes */
    loop_until_done(base, js, 2);
    assert_int_equal(a.ran, 1);
    assert_int_equal(b.ran, 0);                 /* never started: the caller answers 503 */
    keel__pool_stats(p, &st);
    assert_int_equal(st.drained, 1);
    assert_int_equal(st.rejected, 1);
    keel__pool_free(p);
    keel__mailbox_free(mb);
    event_base_free(base);
}

typedef struct late_post { keel_mailbox *mb; keel_job *job; } late_post;

static void *post_later(void *arg)
{
    late_post *lp = arg;
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
    keel__mailbox_post(lp->mb, lp->job);
    return NULL;
}

static void never_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* A post from another thread wakes a loop that is blocked waiting for
 * events (its base has no lock, so libevent's own cross-thread wake-up is
 * not there: the mailbox's eventfd is).  Before, the post made the event
 * active from the worker thread, which a lock-free base does not notice
 * until something else wakes it: here the 3 s timer. */
static void test_mailbox_wakes_blocked_loop(void **state)
{
    struct event_base *base;
    struct event *timer;
    struct timeval three = {3, 0};
    keel_mailbox *mb;
    pthread_t th;
    late_post lp;
    tjob a;
    int64_t t0;
    (void)state;

    assert_non_null(base = nolock_base());
    assert_int_equal(keel__mailbox_new(base, &mb), 0);
    assert_non_null(timer = event_new(base, -1, 0, never_cb, NULL));
    event_add(timer, &three);
    tjob_init(&a, mb, 0);
    a.job.ran = 1;
    lp.mb = mb;
    lp.job = &a.job;
    t0 = keel__now_ms();
    assert_int_equal(pthread_create(&th, NULL, post_later, &lp), 0);
    while (a.done_calls == 0 && keel__now_ms() - t0 < 5000)
        event_base_loop(base, EVLOOP_ONCE);
    pthread_join(th, NULL);
    assert_int_equal(a.done_calls, 1);
    assert_true(keel__now_ms() - t0 < 1000);
    assert_true(pthread_equal(a.done_thread, pthread_self()));
    event_free(timer);
    keel__mailbox_free(mb);
    event_base_free(base);
}

/* A job still posted when the mailbox is freed gets its done callback then. */
static void test_mailbox_free_runs_late_jobs(void **state)
{
    struct event_base *base;
    keel_mailbox *mb;
    tjob a;
    (void)state;
    assert_non_null(base = nolock_base());
    assert_int_equal(keel__mailbox_new(base, &mb), 0);
    tjob_init(&a, mb, 0);
    a.job.ran = 1;
    keel__mailbox_post(mb, &a.job);
    keel__mailbox_free(mb);
    assert_int_equal(a.done_calls, 1);
    event_base_free(base);
}

/* ---- behind keel__http_serve ---------------------------------------------------- */

static int h_block(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    (void)in;
    gate_pass();
    *out = json_pack("{s:s}", "thread", keel__thread_kind_name(keel__thread_kind()));
    return *out ? 0 : KEEL_ENOMEM;
}

static int h_where(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    (void)in;
    *out = json_pack("{s:s}", "thread", keel__thread_kind_name(keel__thread_kind()));
    return *out ? 0 : KEEL_ENOMEM;
}

static const keel_method t_methods[] = {
    {.name = "block", .handler = h_block, .flags = KEEL_PUBLIC},
    {.name = "cheap", .handler = h_where, .flags = KEEL_PUBLIC | KEEL_CHEAP},
    {.name = "where", .handler = h_where, .flags = KEEL_PUBLIC},
    {0}
};

static const keel_module m_t = {.abi = KEEL_ABI, .name = "t", .version = "1.0.0",
                                .methods = t_methods};

typedef struct keel_test_server server;

/* tests/fakes/test_server.h: a served runtime with auth off on one loop; one worker, a queue of one: the second blocked call waits, the third is refused. */
static void server_start(server *s)
{
    static const keel_module *const mods[] = {&m_t, NULL};
    const char *const env[] = {"KEEL_WORKERS=1", "KEEL_WORKER_QUEUE=1", NULL};
    char err[256];

    if (keel_test_server_start(s, mods, env, err, sizeof err) != 0)
        fail_msg("server: %s", err);
}

static void server_stop(server *s, int signal_it)
{
    assert_int_equal(keel_test_server_stop(s, signal_it), 0);
}

static int connect_to(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void send_call(int fd, const char *method, const char *path)
{
    char req[512];
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
             "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}", method, path);
    assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
}

/* The whole answer (headers and body) into buf; the status, or -1. */
static int read_answer(int fd, char *buf, size_t len)
{
    size_t got = 0;
    ssize_t n;
    int status = -1;
    while (got + 1 < len && (n = recv(fd, buf + got, len - 1 - got, 0)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fd);
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

static int call(int port, const char *method, const char *path, char *buf, size_t len)
{
    int fd = connect_to(port);
    send_call(fd, method, path);
    return read_answer(fd, buf, len);
}

/* One of /readyz's "workers" counters. */
static long long workers_stat(int port, const char *name)
{
    char buf[4096], key[64];
    const char *p;
    assert_true(call(port, "GET", "/readyz", buf, sizeof buf) > 0);
    snprintf(key, sizeof key, "\"%s\":", name);
    p = strstr(buf, "\"workers\":");
    assert_non_null(p);
    p = strstr(p, key);
    assert_non_null(p);
    return atoll(p + strlen(key));
}

typedef struct bg_call {
    int       port;
    int       status;
    char      buf[2048];
    pthread_t t;
} bg_call;

static void *bg_main(void *arg)
{
    bg_call *c = arg;
    c->status = call(c->port, "POST", "/v1/t/block", c->buf, sizeof c->buf);
    return NULL;
}

static void bg_start(bg_call *c, int port)
{
    memset(c, 0, sizeof *c);
    c->port = port;
    assert_int_equal(pthread_create(&c->t, NULL, bg_main, c), 0);
}

static void wait_stat(int port, const char *name, long long want)
{
    int i;
    for (i = 0; i < 250 && workers_stat(port, name) != want; i++)
        usleep(20000);
    assert_int_equal(workers_stat(port, name), want);
}

static void test_full_queue_answers_503_and_cheap_stays_on_loop(void **state)
{
    server s;
    bg_call a, b;
    char buf[2048];
    (void)state;
    gate_reset();
    server_start(&s);
    /* a method that is not cheap runs on a worker, a cheap one on the loop */
    assert_int_equal(call(s.port, "POST", "/v1/t/where", buf, sizeof buf), 200);
    assert_non_null(strstr(buf, "{\"thread\":\"worker\"}"));
    assert_int_equal(call(s.port, "POST", "/v1/t/cheap", buf, sizeof buf), 200);
    assert_non_null(strstr(buf, "{\"thread\":\"loop\"}"));

    bg_start(&a, s.port);
    gate_wait_inside(1);                 /* the one worker is busy */
    bg_start(&b, s.port);
    wait_stat(s.port, "queued", 1);      /* the one queue slot is taken */
    assert_int_equal(call(s.port, "POST", "/v1/t/block", buf, sizeof buf), 503);
    assert_non_null(strstr(buf, "\r\nRetry-After: 1\r\n"));
    assert_non_null(strstr(buf, "\"code\":\"unavailable\""));
    assert_int_equal(workers_stat(s.port, "rejected"), 1);
    /* the loop is not stalled by the busy pool */
    assert_int_equal(call(s.port, "POST", "/v1/t/cheap", buf, sizeof buf), 200);
    assert_int_equal(call(s.port, "GET", "/healthz", buf, sizeof buf), 200);
    gate_release();
    pthread_join(a.t, NULL);
    pthread_join(b.t, NULL);
    assert_int_equal(a.status, 200);
    assert_int_equal(b.status, 200);
    assert_non_null(strstr(a.buf, "{\"thread\":\"worker\"}"));
    server_stop(&s, 1);
}

static void test_reply_dropped_when_client_left(void **state)
{
    server s;
    char buf[2048];
    int fd;
    (void)state;
    gate_reset();
    server_start(&s);
    fd = connect_to(s.port);
    send_call(fd, "POST", "/v1/t/block");
    gate_wait_inside(1);
    close(fd);                           /* the client gives up */
    usleep(100000);
    gate_release();
    wait_stat(s.port, "dropped", 1);
    assert_int_equal(workers_stat(s.port, "done"), 1);
    /* and the server goes on serving */
    assert_int_equal(call(s.port, "POST", "/v1/t/where", buf, sizeof buf), 200);
    server_stop(&s, 1);
}

static void test_sigterm_answers_queued_503_and_finishes_running(void **state)
{
    server s;
    bg_call a, b;
    (void)state;
    gate_reset();
    server_start(&s);
    bg_start(&a, s.port);
    gate_wait_inside(1);
    bg_start(&b, s.port);
    wait_stat(s.port, "queued", 1);
    kill(getpid(), SIGTERM);
    pthread_join(b.t, NULL);             /* answered while a still runs */
    assert_int_equal(b.status, 503);
    assert_non_null(strstr(b.buf, "\r\nRetry-After: 1\r\n"));
    assert_non_null(strstr(b.buf, "\r\nConnection: close\r\n"));
    assert_non_null(strstr(b.buf, "shutting down"));
    gate_release();
    pthread_join(a.t, NULL);
    assert_int_equal(a.status, 200);
    server_stop(&s, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_on_worker_done_on_loop),
        cmocka_unit_test(test_pool_drain_hands_back_queued),
        cmocka_unit_test(test_mailbox_wakes_blocked_loop),
        cmocka_unit_test(test_mailbox_free_runs_late_jobs),
        cmocka_unit_test(test_full_queue_answers_503_and_cheap_stays_on_loop),
        cmocka_unit_test(test_reply_dropped_when_client_left),
        cmocka_unit_test(test_sigterm_answers_queued_503_and_finishes_running),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
