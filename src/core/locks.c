/*
 * locks.c — named locks (keel_lock / keel_unlock).
 *
 * In-process first: a list of held names under one mutex and condition
 * variable, so threads of one process queue on the condition variable.
 * SQLite stops there: one process dispatches on SQLite, so that is the
 * scope that matters.  PostgreSQL adds a session-level advisory lock, so
 * replicas exclude each other too:
 *     SELECT pg_try_advisory_lock(hashtextextended($1, 0))   (polled up to timeout)
 *     SELECT pg_advisory_unlock(hashtextextended($1, 0))
 * on one connection of the runtime's own (pool of one, opened on the first
 * lock), held for as long as the process lives, so the server releases
 * every lock the process held when it dies, kill -9 included.  Session
 * level rather than xact level: a lock outlives the caller's transactions
 * (a reindex holds it across many).  Polling rather than a blocking
 * pg_advisory_lock: a wait never occupies the shared connection, and the
 * timeout is ours to keep.  Two names whose 64-bit hashes collide are one
 * lock (harmless: a spurious wait).  If that connection breaks, the server
 * has released its locks; keel_unlock then logs that the lock was lost.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"
#include "core/store-internal.h"
#include "core/thread-internal.h"

#define KEEL_LOCK_POLL_MS 20

#define KEEL_LOCK_NAME_MAX 200

static keel__ev_lock **lk_find(keel__events *ev, const char *name)
{
    keel__ev_lock **l;
    for (l = &ev->locks; *l != NULL; l = &(*l)->next)
        if (strcmp((*l)->name, name) == 0)
            return l;
    return NULL;
}

/* Forgets name in this process and wakes its waiters; 1 if it was held. */
static int lk_drop(keel__events *ev, const char *name)
{
    keel__ev_lock **l, *gone = NULL;

    pthread_mutex_lock(&ev->lk_mu);
    if ((l = lk_find(ev, name)) != NULL) {
        gone = *l;
        *l = gone->next;
        pthread_cond_broadcast(&ev->lk_cv);
    }
    pthread_mutex_unlock(&ev->lk_mu);
    if (gone == NULL)
        return 0;
    free(gone->name);
    free(gone);
    return 1;
}

/* pg_try_advisory_lock (take = 1) or pg_advisory_unlock (0) on the locks'
 * connection: 1 = done, 0 = held elsewhere (or was not held), or a KEEL_E*
 * (negative). */
static int lk_pg(keel__events *ev, const char *name, int take)
{
    const char *url = keel__config_get(ev->rt->cfg, NULL, "database_url");
    json_t *p = NULL, *row = NULL;
    char err[256];
    int rc;

    pthread_mutex_lock(&ev->lk_pg_mu);
    if (ev->lk_store == NULL) {
        keel_store_opts o = ev->rt->store_opts;
        o.pool_size = 1;
        if ((rc = keel__store_open_url_opts(url, NULL, &o, &ev->lk_store, err, sizeof err)) != 0) {
            keel_log(NULL, KEEL_LOG_ERROR, "locks: %s", err);
            goto out;
        }
    }
    if ((p = json_pack("[s]", name)) == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_one(ev->lk_store, take
                        ? "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok"
                        : "SELECT pg_advisory_unlock(hashtextextended($1, 0)) AS ok", p, &row);
    if (rc == 0)
        rc = json_is_true(json_object_get(row, "ok")) ||
             json_integer_value(json_object_get(row, "ok")) != 0;
    else
        keel_log(NULL, KEEL_LOG_ERROR, "locks: '%s': %s", name, keel_store_errmsg(ev->lk_store));
out:
    pthread_mutex_unlock(&ev->lk_pg_mu);
    json_decref(p);
    json_decref(row);
    return rc;
}

/* The advisory lock, polled until until (timeout_ms < 0: for good).
 * 0, KEEL_ETIMEDOUT or the store's error. */
static int lk_pg_take(keel__events *ev, const char *name, int64_t timeout_ms,
                      const struct timespec *until)
{
    for (;;) {
        struct timespec now;
        int got = lk_pg(ev, name, 1);
        if (got == 1)
            return 0;
        if (got < 0)
            return got;
        clock_gettime(CLOCK_REALTIME, &now);
        if (timeout_ms == 0 || (timeout_ms > 0 && (now.tv_sec > until->tv_sec ||
            (now.tv_sec == until->tv_sec && now.tv_nsec >= until->tv_nsec))))
            return KEEL_ETIMEDOUT;
        usleep(KEEL_LOCK_POLL_MS * 1000);
    }
}

void keel__locks_close(keel__events *ev)
{
    /* closing the session releases whatever it still holds */
    keel_store_close(ev->lk_store);
    ev->lk_store = NULL;
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
    keel__realtime_after_ms(&until, timeout_ms);
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
    if (rc == 0 && ev->pg && (rc = lk_pg_take(ev, name, timeout_ms, &until)) != 0) {
        lk_drop(ev, name);
        if (rc != KEEL_ETIMEDOUT)
            return keel_ctx_error(ctx, rc, "lock '%s': the database refused it", name);
    }
    if (rc != 0)
        keel_ctx_error(ctx, rc, "lock '%s' is held elsewhere (waited %lld ms)", name,
                       (long long)(timeout_ms > 0 ? timeout_ms : 0));
    return rc;
}

int keel_unlock(keel_ctx *ctx, const char *name)
{
    keel__events *ev = keel__events_of(ctx != NULL ? ctx->rt : NULL);
    int held;

    if (ev == NULL || name == NULL)
        return KEEL_EINVAL;
    pthread_mutex_lock(&ev->lk_mu);
    held = lk_find(ev, name) != NULL;
    pthread_mutex_unlock(&ev->lk_mu);
    /* the advisory lock goes first: the name stays ours in this process until
     * the database has let it go, so no thread here can take it in between */
    if (held && ev->pg && lk_pg(ev, name, 0) != 1)
        keel_log(NULL, KEEL_LOG_WARN, "locks: '%s' was no longer held in the database "
                 "(its connection was lost)", name);
    if (!lk_drop(ev, name))
        return keel_ctx_error(ctx, KEEL_ENOTFOUND, "lock '%s' is not held", name);
    return 0;
}
