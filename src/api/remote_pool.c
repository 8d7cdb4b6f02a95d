/*
 * remote_pool.c — keep-alive connections to one remote keel process.
 *
 * A bounded LIFO of idle sockets per host:port, guarded by a mutex (a
 * connection is used by one thread at a time), and the deadline-bounded
 * non-blocking connect that fills it.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/remote-internal.h"

#define HTTP_MAX_POOL 64

struct keel_http_pool {
    keel_remote_url u;
    char            hostport[300];  /* Host header value and error text */
    pthread_mutex_t mu;
    int             max_idle;
    int             nidle;
    int            *idle;           /* LIFO of idle fds */
    unsigned long   connects;
};

/* ---- pool ------------------------------------------------------------------ */

int keel__http_pool_new(const keel_remote_url *u, int max_idle, keel_http_pool **out)
{
    keel_http_pool *p;
    int rc = KEEL_ENOMEM;

    *out = NULL;
    if (max_idle < 0)
        max_idle = 0;
    if (max_idle > HTTP_MAX_POOL)
        max_idle = HTTP_MAX_POOL;
    p = calloc(1, sizeof(*p));
    if (!p)
        goto out;
    p->u = *u;
    p->max_idle = max_idle;
    p->idle = calloc((size_t)max_idle + 1, sizeof(int));
    if (!p->idle) {
        free(p);
        goto out;
    }
    if (strchr(u->host, ':'))
        snprintf(p->hostport, sizeof(p->hostport), "[%s]:%s", u->host, u->port);
    else
        snprintf(p->hostport, sizeof(p->hostport), "%s:%s", u->host, u->port);
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    rc = 0;
out:
    return rc;
}

void keel__http_pool_free(keel_http_pool *p)
{
    int i;

    if (!p)
        return;
    for (i = 0; i < p->nidle; i++)
        close(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    free(p->idle);
    free(p);
}

int keel__http_pool_idle(keel_http_pool *p)
{
    int n;

    pthread_mutex_lock(&p->mu);
    n = p->nidle;
    pthread_mutex_unlock(&p->mu);
    return n;
}

unsigned long keel__http_pool_connects(keel_http_pool *p)
{
    unsigned long n;

    pthread_mutex_lock(&p->mu);
    n = p->connects;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int keel__http_pool_take(keel_http_pool *p)
{
    for (;;) {
        struct pollfd pfd;
        int fd = -1;

        pthread_mutex_lock(&p->mu);
        if (p->nidle > 0)
            fd = p->idle[--p->nidle];
        pthread_mutex_unlock(&p->mu);
        if (fd < 0)
            return -1;
        pfd.fd = fd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        if (poll(&pfd, 1, 0) == 0)
            return fd;
        close(fd);  /* readable while idle = closed by the peer (or garbage) */
    }
}

void keel__http_pool_put(keel_http_pool *p, int fd)
{
    pthread_mutex_lock(&p->mu);
    if (p->nidle < p->max_idle) {
        p->idle[p->nidle++] = fd;
        fd = -1;
    }
    pthread_mutex_unlock(&p->mu);
    if (fd >= 0)
        close(fd);
}

/* ---- connecting ---------------------------------------------------------------- */

int keel__http_wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = events, .revents = 0 };
        int64_t left = deadline_ms - keel__now_ms();
        int n;

        if (left <= 0)
            return KEEL_ETIMEDOUT;
        n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return KEEL_EIO;
    }
}

int keel__http_connect(keel_http_pool *p, int64_t deadline_ms, int *fdp, char *err, size_t errlen)
{
    struct addrinfo *res = NULL, *ai;
    int fd = -1, rc = KEEL_EUNAVAIL, one = 1, soerr = ECONNREFUSED;

    *fdp = -1;
    rc = keel__remote_resolve(p->u.host, p->u.port, deadline_ms, &res, err, errlen);
    if (rc != 0)
        goto out;
    rc = KEEL_EUNAVAIL;
    for (ai = res; ai; ai = ai->ai_next) {
        socklen_t sl = sizeof(soerr);

        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            soerr = errno;
            continue;
        }
        pthread_mutex_lock(&p->mu);
        p->connects++;
        pthread_mutex_unlock(&p->mu);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        soerr = errno;
        if (soerr == EINPROGRESS) {
            rc = keel__http_wait_fd(fd, POLLOUT, deadline_ms);
            if (rc == KEEL_ETIMEDOUT) {
                snprintf(err, errlen, "connect to %s: deadline exceeded", p->hostport);
                goto out;
            }
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0)
                break;
        }
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        rc = KEEL_EUNAVAIL;
        snprintf(err, errlen, "connect to %s: %s", p->hostport, strerror(soerr));
        goto out;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    *fdp = fd;
    fd = -1;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (res)
        freeaddrinfo(res);
    return rc;
}

/* Sends two buffers completely. */

const char *keel__http_pool_hostport(const keel_http_pool *p)
{
    return p->hostport;
}

const char *keel__http_pool_base(const keel_http_pool *p)
{
    return p->u.base;
}
