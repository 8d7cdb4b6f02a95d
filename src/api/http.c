/*
 * http.c — the HTTP server's life: listeners, event loops, signals, drain.
 *
 * KEEL_THREADS loops, each with its own event_base (epoll changelist) and one
 * evhttp per listener: the main port plus one per KEEL_EXPOSE item.  Every
 * loop binds its own SO_REUSEPORT socket to the same address; with port 0 the
 * first bind picks the port and the others reuse it.  Calls that may block
 * run on the shared handler worker pool (http_pool.c, http_call.c); each
 * loop has a mailbox for their replies.  The calling thread waits for
 * SIGTERM/SIGINT on a self-pipe, then (wave-2 decision 6): /readyz answers
 * 503, KEEL_DRAIN_DELAY_MS later each loop's stop event closes its
 * listeners, the pool hands back the calls no worker started (503), running
 * calls finish, and each loop answers further requests with "Connection:
 * close" and frees its evhttps once nothing is pending and no byte arrived
 * for KEEL_HTTP_QUIET_MS — or after KEEL_HTTP_GRACE_MS, or at a second
 * signal.  Then the pool's threads are joined.  Request handling is in
 * http_routes.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "api/http-internal.h"
#include "api/http_server-internal.h"
#include "core/events-internal.h"
#include "core/log-internal.h"
#include "core/metrics-internal.h"
#include "core/thread-internal.h"

/* The one process-level datum: signal handlers can only reach a global. */
static int http_sig_fd = -1;

static void http_on_signal(int sig)
{
    int saved = errno;
    unsigned char c = (unsigned char)sig;
    if (http_sig_fd >= 0 && write(http_sig_fd, &c, 1) < 0) {
        /* nothing to do: the pipe is full, a signal is already pending */
    }
    errno = saved;
}

/* ---- drain --------------------------------------------------------------- */

static void http_loop_close(http_loop *lp)
{
    int i;
    for (i = 0; i < HTTP_LISTENERS; i++) {
        if (lp->http[i])
            evhttp_free(lp->http[i]); /* closes connections still open */
        lp->http[i] = NULL;
        lp->bound[i] = NULL;
    }
}

static void http_drain_tick(evutil_socket_t fd, short what, void *arg)
{
    http_loop *lp = arg;
    int64_t now = keel__now_ms();
    (void)fd;
    (void)what;
    /* the quiet second guards requests whose head has not arrived yet on
     * an open connection; with no connection open anywhere in the process
     * there is none, so an idle server stops at once (the count is every
     * listener's: all of them go through keel__http_conn_new) */
    if (!lp->srv->force && now < lp->drain_deadline_ms
        && (lp->w.pending > 0
            || (atomic_load(&keel__http_conn_stats.open) > 0
                && now - lp->w.last_input_ms < KEEL_HTTP_QUIET_MS)))
        return;
    if (now >= lp->drain_deadline_ms)
        keel_log(NULL, KEEL_LOG_WARN, "http: loop %d: drain grace of %d ms over, closing %d pending",
                 (int)(lp - lp->srv->loops), KEEL_HTTP_GRACE_MS, lp->w.pending);
    event_del(lp->drain_ev);
    http_loop_close(lp);
    event_base_loopexit(lp->base, NULL);
}

/* The main thread's stop, run on the loop (the base has no lock: no other
 * thread may call into it, so the stop comes through the mailbox). */
static void http_stop_cb(keel_job *job, int ran)
{
    http_loop *lp = (http_loop *)((char *)job - offsetof(http_loop, stop));
    struct timeval tick = {0, 20000};
    int i;
    (void)ran;
    if (lp->w.draining)
        return;
    for (i = 0; i < HTTP_LISTENERS; i++) {
        if (lp->http[i] && lp->bound[i])
            evhttp_del_accept_socket(lp->http[i], lp->bound[i]); /* closes the socket */
        lp->bound[i] = NULL;
    }
    lp->w.draining = 1;
    lp->w.last_input_ms = keel__now_ms();
    lp->drain_deadline_ms = lp->w.last_input_ms + KEEL_HTTP_GRACE_MS;
    if (!lp->drain_ev || event_add(lp->drain_ev, &tick) != 0) {
        http_loop_close(lp);
        event_base_loopexit(lp->base, NULL);
    }
}

/* Log lines of a loop are buffered: the flush event has the lowest
 * priority, so libevent runs it in an iteration with no other active event
 * — always before the loop blocks in epoll_wait (an active event makes the
 * wait return at once) — and a full buffer is written at once. */
static void http_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    keel__log_flush();
}

static void http_log_pending(void *arg)
{
    http_loop *lp = arg;
    event_active(lp->flush_ev, EV_READ, 0);
}

static void *http_loop_main(void *arg)
{
    http_loop *lp = arg;
    keel__thread_begin(KEEL_THREAD_LOOP, (int)(lp - lp->srv->loops));
    keel__log_buffer(http_log_pending, lp);
    event_base_dispatch(lp->base);
    keel__log_buffer(NULL, NULL);
    keel__thread_end();
    return NULL;
}

/* ---- setup --------------------------------------------------------------- */

/* SO_REUSEPORT would let a second keel process (same user) silently share a
 * port that is already in use: before the first loop binds a fixed port,
 * check that a plain bind would succeed.  0, or KEEL_EIO with a message. */
static int http_port_free(const struct addrinfo *ai, const char *host, int port,
                          char *err, size_t errlen)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, rc = 0;
    if (fd < 0)
        return 0; /* let the real bind report it */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* TIME_WAIT is fine */
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE) {
        snprintf(err, errlen, "cannot listen on %s:%d: address already in use", host, port);
        rc = KEEL_EIO;
    }
    close(fd);
    return rc;
}

/* Binds listener li of loop lp on srv->host:srv->ports[li] (updated with the
 * actual port when it was 0). */
static int http_bind(http_server *srv, http_loop *lp, int li, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    struct evconnlistener *lev;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof ss;
    char port[16];
    int rc = 0;

    snprintf(port, sizeof port, "%d", srv->ports[li]);
    if (getaddrinfo(srv->hosts[li], port, &hints, &ai) != 0 || !ai) {
        snprintf(err, errlen, "%s=%s: cannot resolve", li == srv->admin_li && li ? "KEEL_ADMIN_HOST"
                                                       : "KEEL_HOST", srv->hosts[li]);
        rc = KEEL_ECONFIG;
        goto out;
    }
    if (lp == &srv->loops[0] && srv->ports[li] != 0
        && (rc = http_port_free(ai, srv->hosts[li], srv->ports[li], err, errlen)) != 0)
        goto out;
    lev = evconnlistener_new_bind(lp->base, NULL, NULL,
                                  LEV_OPT_REUSEABLE_PORT | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE
                                      | LEV_OPT_CLOSE_ON_EXEC,
                                  1024, ai->ai_addr, (int)ai->ai_addrlen);
    if (!lev) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", srv->hosts[li], srv->ports[li], strerror(errno));
        rc = KEEL_EIO;
        goto out;
    }
    lp->bound[li] = evhttp_bind_listener(lp->http[li], lev);
    if (!lp->bound[li]) {
        evconnlistener_free(lev);
        snprintf(err, errlen, "cannot listen on %s:%d", srv->hosts[li], srv->ports[li]);
        rc = KEEL_EIO;
        goto out;
    }
    if (srv->ports[li] == 0 && getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss, &sslen) == 0)
        srv->ports[li] = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                        : ((struct sockaddr_in *)&ss)->sin_port);
out:
    freeaddrinfo(ai);
    return rc;
}

static int http_loop_init(http_server *srv, http_loop *lp, char *err, size_t errlen)
{
    struct event_config *cfg = event_config_new();
    struct timeval tv = {srv->timeout_ms / 1000, (srv->timeout_ms % 1000) * 1000};
    int li, rc = 0;

    if (!cfg) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    /* one thread per base: the others reach it through its mailbox only */
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    lp->base = event_base_new_with_config(cfg);
    /* priorities 0..2: everything at the default 1, the log flush at 2 */
    if (lp->base && event_base_priority_init(lp->base, 3) == 0) {
        lp->flush_ev = event_new(lp->base, -1, 0, http_flush_cb, lp);
        if (lp->flush_ev)
            event_priority_set(lp->flush_ev, 2);
    }
    lp->stop.done = http_stop_cb;
    lp->drain_ev = lp->base ? event_new(lp->base, -1, EV_PERSIST, http_drain_tick, lp) : NULL;
    if (!lp->base || !lp->drain_ev || !lp->flush_ev
        || keel__mailbox_new(lp->base, &lp->w.mailbox) != 0) {
        snprintf(err, errlen, "cannot create an event loop");
        rc = KEEL_ENOMEM;
        goto out;
    }
    for (li = 0; li < srv->nlisteners; li++) {
        struct evhttp *h = evhttp_new(lp->base);
        if (!h) {
            rc = KEEL_ENOMEM;
            goto out;
        }
        lp->http[li] = h;
        lp->scope[li].worker = &lp->w;
        lp->scope[li].module = srv->modules[li];
        lp->scope[li].limits = &srv->limits;
        lp->w.limits = &srv->limits;
        /* the hook refuses first, in JSON; evhttp's own caps sit above it */
        evhttp_set_max_body_size(h, (ev_ssize_t)srv->evhttp_max_body);
        evhttp_set_max_headers_size(h, (ev_ssize_t)srv->limits.max_header + 4096);
        lp->scope[li].admin = li != 0 && li == srv->admin_li;
        if (srv->timeout_ms > 0)
            evhttp_set_timeout_tv(h, &tv);
        evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD
                                          | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH
                                          | EVHTTP_REQ_OPTIONS);
        evhttp_set_default_content_type(h, "application/json");
        evhttp_set_flags(h, EVHTTP_SERVER_LINGERING_CLOSE);
        evhttp_set_bevcb(h, keel__http_conn_new, &lp->scope[li]);
        evhttp_set_gencb(h, keel__http_request_cb, &lp->scope[li]);
        rc = http_bind(srv, lp, li, err, errlen);
        if (rc != 0)
            goto out;
    }
out:
    if (cfg)
        event_config_free(cfg);
    return rc;
}

/* After keel__pool_free: no worker can post any more. */
static void http_loop_free(http_loop *lp)
{
    http_loop_close(lp);
    keel__mailbox_free(lp->w.mailbox); /* replies that came too late: dropped */
    lp->w.mailbox = NULL;
    if (lp->drain_ev)
        event_free(lp->drain_ev);
    if (lp->flush_ev)
        event_free(lp->flush_ev);
    if (lp->base)
        event_base_free(lp->base);
}

static int http_signals(int wfd, struct sigaction *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = http_on_signal;
    sigemptyset(&sa.sa_mask);
    http_sig_fd = wfd;
    if (sigaction(SIGTERM, &sa, &old[0]) != 0 || sigaction(SIGINT, &sa, &old[1]) != 0
        || sigaction(SIGHUP, &sa, &old[3]) != 0)
        return keel_from_errno(errno);
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, &old[2]) != 0 ? keel_from_errno(errno) : 0;
}

/* SIGHUP: the log level again from the configuration that can change
 * under a running process (the config file, KEEL_LOG_LEVEL_FILE). */
static void http_reload(http_server *srv)
{
    char err[512], now[512];
    if (keel__rt_reload_log_level(srv->rt, err, sizeof err) != 0) {
        keel_log(NULL, KEEL_LOG_ERROR, "SIGHUP: levels unchanged: %s", err);
        return;
    }
    keel__log_spec_format(now, sizeof now);
    keel_log(NULL, KEEL_LOG_WARN, "SIGHUP: log level %s", now);
}

/* Reads one stopping signal number from the self-pipe within timeout_ms
 * (-1 = forever; a SIGHUP is handled on the way and waits on).  1 when one
 * arrived, 0 on timeout, -1 when the pipe failed. */
static int http_next_signal(http_server *srv, int rfd, int timeout_ms, unsigned char *c)
{
    for (;;) {
        struct pollfd pfd = {.fd = rfd, .events = POLLIN, .revents = 0};
        int n = poll(&pfd, 1, timeout_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n;
        n = (int)read(rfd, c, 1);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n == 1 && *c == SIGHUP) {
            http_reload(srv);
            continue;  /* a wait with a timeout may last longer: harmless */
        }
        return n == 1 ? 1 : -1;
    }
}

/* Blocks until a first signal, then drains in the order of wave-2
 * decision 6; a second signal sets force.  Returns once every loop has
 * exited. */
static void http_wait(http_server *srv, int rfd)
{
    unsigned char c = 0;
    int i;
    int64_t until;

    if (http_next_signal(srv, rfd, -1, &c) == 1) {
        atomic_store(&srv->stopping, 1); /* /readyz: 503 from now on */
        keel_log(NULL, KEEL_LOG_INFO, "http: %s received, draining (delay %lld ms, grace %d ms)",
                 c == SIGINT ? "SIGINT" : "SIGTERM", srv->drain_delay_ms, KEEL_HTTP_GRACE_MS);
        /* keep serving while the balancer notices /readyz */
        until = keel__now_ms() + srv->drain_delay_ms;
        while (!srv->force && keel__now_ms() < until) {
            int64_t left = until - keel__now_ms();
            if (http_next_signal(srv, rfd, left > 1000 ? 1000 : (int)left, &c) == 1) {
                srv->force = 1;
                keel_log(NULL, KEEL_LOG_WARN, "http: second signal, closing connections now");
            }
        }
    }
    for (i = 0; i < srv->nloops; i++)
        if (srv->loops[i].started)
            keel__mailbox_post(srv->loops[i].w.mailbox, &srv->loops[i].stop);
    /* the event dispatcher stops claiming; its batches in hand finish
     * after the loops (keel serve joins it before modules stop) */
    keel__events_quiesce(srv->rt);
    /* calls still queued for a worker are answered 503 by their loops */
    if (srv->pool)
        keel__pool_drain(srv->pool);
    /* join, watching for a second signal */
    fcntl(rfd, F_SETFL, O_NONBLOCK);
    for (i = 0; i < srv->nloops; i++) {
        struct timespec ts;
        while (srv->loops[i].started) {
            keel__realtime_after_ms(&ts, 50);
            if (pthread_timedjoin_np(srv->loops[i].thread, NULL, &ts) == 0)
                srv->loops[i].started = 0;
            else if (read(rfd, &c, 1) == 1 && c != SIGHUP && !srv->force) {
                srv->force = 1;
                keel_log(NULL, KEEL_LOG_WARN, "http: second signal, closing connections now");
            }
        }
    }
}

int keel__http_serve(keel_runtime *rt, keel__http_listening_fn on_listening, char *err,
                     size_t errlen)
{
    http_server srv;
    struct sigaction old[4];
    int pipefd[2] = {-1, -1};
    int i, rc, sigs = 0;

    memset(&srv, 0, sizeof srv);
    memset(old, 0, sizeof old);
    if (errlen)
        err[0] = '\0';
    rc = keel__http_configure(&srv, rt, err, errlen);
    if (rc != 0)
        return rc;
    keel__http_metrics_start();
    srv.loops = calloc((size_t)srv.nloops, sizeof *srv.loops);
    if (!srv.loops || pipe2(pipefd, O_CLOEXEC) != 0
        || keel__pool_new(srv.workers, srv.worker_queue, &srv.pool) != 0) {
        snprintf(err, errlen, "cannot set up the HTTP server: out of resources");
        rc = KEEL_ENOMEM;
        goto out;
    }
    for (i = 0; i < srv.nloops; i++) {
        http_loop *lp = &srv.loops[i];
        lp->srv = &srv;
        lp->w.rt = rt;
        lp->w.call_timeout_ms = keel__config_int(keel__rt_config(rt), NULL, "call_timeout_ms");
        lp->w.pool = srv.pool;
        lp->w.stopping = &srv.stopping;
        rc = http_loop_init(&srv, lp, err, errlen);
        if (rc != 0)
            goto out;
    }
    rc = http_signals(pipefd[1], old);
    sigs = 1;
    if (rc != 0) {
        snprintf(err, errlen, "cannot install signal handlers");
        goto out;
    }
    for (i = 0; i < srv.nloops; i++) {
        if (pthread_create(&srv.loops[i].thread, NULL, http_loop_main, &srv.loops[i]) != 0) {
            snprintf(err, errlen, "cannot start HTTP thread %d", i);
            rc = KEEL_ENOMEM;
            /* stop the loops already running */
            http_on_signal(SIGTERM);
            http_wait(&srv, pipefd[0]);
            goto out;
        }
        srv.loops[i].started = 1;
    }
    keel_log(NULL, KEEL_LOG_INFO, "http: listening on %s:%d (%d threads, up to %d workers, "
             "queue %d, max body %lld bytes)", srv.host, srv.ports[0], srv.nloops, srv.workers,
             srv.worker_queue, srv.max_body);
    for (i = 1; i < srv.nlisteners; i++)
        if (i == srv.admin_li)
            keel_log(NULL, KEEL_LOG_INFO, "http: admin listener (/metrics, /readyz detail) on %s:%d",
                     srv.hosts[i], srv.ports[i]);
        else
            keel_log(NULL, KEEL_LOG_INFO, "http: exposing module %s on %s:%d", srv.modules[i],
                     srv.host, srv.ports[i]);
    if (on_listening != NULL && (rc = on_listening(rt, err, errlen)) != 0) {
        http_on_signal(SIGTERM);   /* what was accepted meanwhile drains */
        http_wait(&srv, pipefd[0]);
        goto out;
    }
    http_wait(&srv, pipefd[0]);
    keel_log(NULL, KEEL_LOG_INFO, "http: stopped");
out:
    keel__http_metrics_stop();
    if (sigs) {
        sigaction(SIGTERM, &old[0], NULL);
        sigaction(SIGINT, &old[1], NULL);
        sigaction(SIGPIPE, &old[2], NULL);
        sigaction(SIGHUP, &old[3], NULL);
    }
    http_sig_fd = -1;
    /* running calls finish (bounded by their deadlines); then no worker
     * posts to a mailbox any more */
    keel__pool_free(srv.pool);
    for (i = 0; srv.loops && i < srv.nloops; i++)
        http_loop_free(&srv.loops[i]);
    free(srv.loops);
    if (pipefd[0] >= 0) {
        close(pipefd[0]);
        close(pipefd[1]);
    }
    return rc;
}
