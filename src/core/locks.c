/*
 * locks.c — named locks (keel_lock / keel_unlock).
 *
 * SQLite: in-process, a list of held names under one mutex and condition
 * variable; one process dispatches on SQLite, so that is the scope that
 * matters.  PostgreSQL seam: the same calls become
 *     SELECT pg_try_advisory_lock(hashtextextended($1, 0))   (polled up to timeout)
 *     SELECT pg_advisory_unlock(hashtextextended($1, 0))
 * on a connection held for the lock's life, so the server releases it when
 * the holder dies.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"

#define KEEL_LOCK_NAME_MAX 200

static keel__ev_lock **lk_find(keel__events *ev, const char *name)
{
    keel__ev_lock **l;
    for (l = &ev->locks; *l != NULL; l = &(*l)->next)
        if (strcmp((*l)->name, name) == 0)
            return l;
    return NULL;
}

int keel_lock(keel_ctx *ctx, const char *name, int64_t timeout_ms)
{
    keel__events *ev = keel__events_of(ctx != NULL ? ctx->rt : NULL);
    struct timespec until;
    keel__ev_lock *l = NULL;
    int rc = 0;

    if (ctx == NULL || name == NULL || name[0] == '\0' || strlen(name) > KEEL_LOCK_NAME_MAX)
        return ctx != NULL ? keel_ctx_error(ctx, KEEL_EINVAL, "lock name must be 1..%d bytes",
                                            KEEL_LOCK_NAME_MAX) : KEEL_EINVAL;
    if (ev == NULL)
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "locks: the runtime is not started");
    if ((l = calloc(1, sizeof *l)) == NULL || (l->name = strdup(name)) == NULL) {
        free(l);
        return KEEL_ENOMEM;
    }
    clock_gettime(CLOCK_REALTIME, &until);
    if (timeout_ms > 0) {
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&ev->lk_mu);
    while (lk_find(ev, name) != NULL) {
        int w;
        if (timeout_ms == 0) {
            rc = KEEL_ETIMEDOUT;
            break;
        }
        w = timeout_ms < 0 ? pthread_cond_wait(&ev->lk_cv, &ev->lk_mu)
                           : pthread_cond_timedwait(&ev->lk_cv, &ev->lk_mu, &until);
        if (w == ETIMEDOUT && lk_find(ev, name) != NULL) {
            rc = KEEL_ETIMEDOUT;
            break;
        }
    }
    if (rc == 0) {
        l->next = ev->locks;
        ev->locks = l;
        l = NULL;
    }
    pthread_mutex_unlock(&ev->lk_mu);
    if (l != NULL) {
        free(l->name);
        free(l);
    }
    if (rc != 0)
        keel_ctx_error(ctx, rc, "lock '%s' is held elsewhere (waited %lld ms)", name,
                       (long long)(timeout_ms > 0 ? timeout_ms : 0));
    return rc;
}

int keel_unlock(keel_ctx *ctx, const char *name)
{
    keel__events *ev = keel__events_of(ctx != NULL ? ctx->rt : NULL);
    keel__ev_lock **l, *gone = NULL;

    if (ev == NULL || name == NULL)
        return KEEL_EINVAL;
    pthread_mutex_lock(&ev->lk_mu);
    if ((l = lk_find(ev, name)) != NULL) {
        gone = *l;
        *l = gone->next;
        pthread_cond_broadcast(&ev->lk_cv);
    }
    pthread_mutex_unlock(&ev->lk_mu);
    if (gone == NULL)
        return keel_ctx_error(ctx, KEEL_ENOTFOUND, "lock '%s' is not held", name);
    free(gone->name);
    free(gone);
    return 0;
}
