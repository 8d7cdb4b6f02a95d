/*
 * remote_resolve.c — host name resolution bounded by a call's deadline.
 *
 * getaddrinfo(3) has no timeout, and a resolver that does not answer would
 * hold the calling worker far past the call's deadline.  A numeric address
 * is converted in place; a name is resolved on a short-lived detached thread
 * while the caller waits on a condition variable until the answer or the
 * deadline, whichever comes first.  A request that timed out is finished
 * and freed by its thread alone (reference count of two).
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/remote-internal.h"

/* The resolver; tests swap in a slow one (keel__remote_set_resolver). */
static _Atomic(keel_getaddrinfo_fn) resolve_fn = getaddrinfo;

void keel__remote_set_resolver(keel_getaddrinfo_fn fn)
{
    resolve_fn = fn ? fn : getaddrinfo;
}

typedef struct resolve_req {
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
    int              refs;   /* caller + thread */
    int              done;
    int              gai;
    struct addrinfo *res;
    struct addrinfo  hints;
    char             host[256];
    char             port[8];
} resolve_req;

static void resolve_unref(resolve_req *r)
{
    int last;
    pthread_mutex_lock(&r->mu);
    last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (!last)
        return;
    if (r->res)
        freeaddrinfo(r->res);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void *resolve_main(void *arg)
{
    resolve_req *r = arg;
    struct addrinfo *res = NULL;
    keel_getaddrinfo_fn fn = resolve_fn;
    int gai = fn(r->host, r->port, &r->hints, &res);
    pthread_mutex_lock(&r->mu);
    r->gai = gai;
    r->res = res;
    r->done = 1;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    resolve_unref(r);
    return NULL;
}

int keel__remote_resolve(const char *host, const char *port, int64_t deadline_ms,
                         struct addrinfo **res, char *err, size_t errlen)
{
    struct addrinfo hints;
    pthread_condattr_t ca;
    pthread_attr_t ta;
    pthread_t t;
    resolve_req *r;
    int rc, gai;

    *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
    /* an address needs no resolver: no thread, no wait */
    gai = getaddrinfo(host, port, &hints, res);
    if (gai == 0)
        return 0;
    if (gai != EAI_NONAME) {
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(gai));
        return KEEL_EUNAVAIL;
    }
    hints.ai_flags = AI_NUMERICSERV;
    r = calloc(1, sizeof(*r));
    if (!r || strlen(host) >= sizeof(r->host) || strlen(port) >= sizeof(r->port)) {
        free(r);
        snprintf(err, errlen, "cannot resolve %s: %s", host, r ? "name too long" : "out of memory");
        return r ? KEEL_EUNAVAIL : KEEL_ENOMEM;
    }
    strcpy(r->host, host);
    strcpy(r->port, port);
    r->hints = hints;
    r->refs = 2;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&ta, 256 * 1024);
    rc = pthread_create(&t, &ta, resolve_main, r);
    pthread_attr_destroy(&ta);
    if (rc != 0) {
        r->refs = 1;
        resolve_unref(r);
        snprintf(err, errlen, "cannot resolve %s: no thread for the resolver", host);
        return KEEL_EUNAVAIL;
    }
    pthread_mutex_lock(&r->mu);
    while (!r->done) {
        struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
        if (keel__now_ms() >= deadline_ms
            || pthread_cond_timedwait(&r->cv, &r->mu, &ts) == ETIMEDOUT)
            break;
    }
    if (!r->done) {
        rc = KEEL_ETIMEDOUT;
        snprintf(err, errlen, "resolving %s: deadline exceeded", host);
    } else if (r->gai != 0) {
        rc = KEEL_EUNAVAIL;
        snprintf(err, errlen, "cannot resolve %s: %s", host, gai_strerror(r->gai));
    } else {
        rc = 0;
        *res = r->res;  /* the caller's now */
        r->res = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    resolve_unref(r);
    return rc;
}
