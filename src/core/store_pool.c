/*
 * store_pool.c — the connections of a root keel_store: borrow and give back,
 * with lost connections replaced; and the per-thread state (the innermost
 * transaction and the last error message).
 *
 * A handle with a pool (PostgreSQL) opens connections on demand up to
 * opts.pool_size and lets a waiting thread wait at most the statement
 * timeout (then KEEL_EUNAVAIL, a 503).  The lock is held only to pick a slot:
 * connecting, configuring and every statement run without it, so no mutex is
 * held across a handler's code.  A one-connection handle (SQLite, or a
 * wrapped connection) makes others wait for the connection: one writer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "keel/error.h"
#include "core/store_handle-internal.h"
#include "core/thread-internal.h"

static __thread keel_store *tl_tx;                 /* innermost transaction */
static __thread const keel_store *tl_err_owner;    /* root the message is about */
static __thread char tl_err[KEEL_STORE_ERRMAX];
static __thread int tl_nowait, tl_refused;         /* keel__store_nowait */

#define RLX memory_order_relaxed

int keel__store_nowait(int on)
{
    int was = tl_nowait;
    tl_nowait = on;
    if (on)
        tl_refused = 0;
    return was;
}

int keel__store_nowait_refused(void)
{
    return tl_refused;
}

int keel__store_pool_read(const keel_store *root, keel__store_pool_stats *ps)
{
    if (root == NULL || root->root != NULL)
        return KEEL_EINVAL;
    ps->size = root->nslots;
    ps->open = atomic_load_explicit(&root->n_open, RLX);
    ps->busy = atomic_load_explicit(&root->n_busy, RLX);
    ps->waits = atomic_load_explicit(&root->n_waits, RLX);
    ps->timeouts = atomic_load_explicit(&root->n_timeouts, RLX);
    ps->refused = atomic_load_explicit(&root->n_refused, RLX);
    return 0;
}

static const keel_store *root_of(const keel_store *st)
{
    return st != NULL && st->root != NULL ? st->root : st;
}

char *keel__store_errbuf(const keel_store *st)
{
    tl_err_owner = root_of(st);
    return tl_err;
}

void keel__store_seterr(const keel_store *st, const char *fmt, ...)
{
    char tmp[KEEL_STORE_ERRMAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);   /* NOLINT(clang-analyzer-valist.Uninitialized): va_start just above; the analyzer loses it across the format attribute */
    va_end(ap);
    /* formatted first: fmt's arguments may point into the buffer */
    memcpy(keel__store_errbuf(st), tmp, sizeof tmp);
}

void keel__store_clearerr(const keel_store *st)
{
    tl_err_owner = root_of(st);
    tl_err[0] = '\0';
}

const char *keel_store_errmsg(const keel_store *st)
{
    return st != NULL && tl_err_owner == root_of(st) ? tl_err : "";
}

keel_store *keel__store_thread_tx(const keel_store *root)
{
    keel_store *t;
    for (t = tl_tx; t != NULL; t = t->prev_tx)
        if (t->root == root)
            return t;
    return NULL;
}

void keel__store_push_tx(keel_store *tx)
{
    tx->prev_tx = tl_tx;
    tl_tx = tx;
}

void keel__store_pop_tx(keel_store *tx)
{
    if (tl_tx == tx)
        tl_tx = tx->prev_tx;
}

/* Picks a slot under the lock: an idle open one first, else a closed one.
 * NULL when every slot is busy. */
static keel__store_slot *pick(keel_store *root)
{
    keel__store_slot *closed = NULL;
    int i;
    for (i = 0; i < root->nslots; i++) {
        keel__store_slot *s = &root->slots[i];
        if (s->busy)
            continue;
        if (s->conn != NULL) {
            s->busy = 1;
            atomic_fetch_add_explicit(&root->n_busy, 1, RLX);
            return s;
        }
        if (closed == NULL)
            closed = s;
    }
    if (closed != NULL) {
        closed->busy = 1;
        atomic_fetch_add_explicit(&root->n_busy, 1, RLX);
    }
    return closed;
}

static void release(keel_store *root, keel__store_slot *s)
{
    pthread_mutex_lock(&root->mu);
    s->busy = 0;
    atomic_fetch_sub_explicit(&root->n_busy, 1, RLX);
    pthread_cond_signal(&root->cv);
    pthread_mutex_unlock(&root->mu);
}

static void drop_conn(keel_store *root, keel__store_slot *s)
{
    root->vt->close(s->conn);
    s->conn = NULL;
    atomic_fetch_sub_explicit(&root->n_open, 1, RLX);
    s->priv = -1;
    s->cfg_gen = 0;
}

int keel__store_borrow(keel_store *root, keel__store_slot **slot, char *err, size_t errlen)
{
    return keel__store_borrow_ex(root, slot, 1, err, errlen);
}

int keel__store_borrow_ex(keel_store *root, keel__store_slot **slot, int mode, char *err,
                          size_t errlen)
{
    keel__store_slot *s = NULL;
    struct timespec until;
    int rc = 0, wait_ms = root->nslots > 1 ? root->opts.statement_timeout_ms : 0;

    *slot = NULL;
    if (wait_ms > 0)
        keel__realtime_after_ms(&until, wait_ms);
    pthread_mutex_lock(&root->mu);
    if ((s = pick(root)) == NULL && tl_nowait) {
        /* a health hook on the event loop: never wait for a handler's connection */
        pthread_mutex_unlock(&root->mu);
        atomic_fetch_add_explicit(&root->n_refused, 1, RLX);
        tl_refused = 1;
        snprintf(err, errlen, "every database connection is busy (pool of %d); not waiting",
                 root->nslots);
        return KEEL_EUNAVAIL;
    }
    if (s == NULL)
        atomic_fetch_add_explicit(&root->n_waits, 1, RLX);
    while (s == NULL && (s = pick(root)) == NULL) {
        if (wait_ms > 0) {
            if (pthread_cond_timedwait(&root->cv, &root->mu, &until) == ETIMEDOUT &&
                (s = pick(root)) == NULL)
                break;
        } else {
            pthread_cond_wait(&root->cv, &root->mu);
        }
    }
    pthread_mutex_unlock(&root->mu);
    if (s == NULL) {
        atomic_fetch_add_explicit(&root->n_timeouts, 1, RLX);
        snprintf(err, errlen, "no free database connection after %d ms (pool of %d busy)",
                 wait_ms, root->nslots);
        return KEEL_EUNAVAIL;
    }
    /* An idle connection the server closed (restart, idle timeout) is
     * replaced before use, so the request after an outage works. */
    if (s->conn != NULL && root->vt->version >= 2 && root->vt->healthy != NULL &&
        root->url != NULL && !root->vt->healthy(s->conn))
        drop_conn(root, s);
    if (s->conn == NULL) {
        if (root->url == NULL) {
            snprintf(err, errlen, "the store's connection is closed");
            rc = KEEL_EUNAVAIL;
            goto fail;
        }
        rc = root->vt->open(root->url, root->ns, &s->conn, err, errlen);
        if (rc != 0) {
            s->conn = NULL;
            goto fail;
        }
        atomic_fetch_add_explicit(&root->n_open, 1, RLX);
        s->priv = -1;
        s->cfg_gen = 0;
    }
    if (s->cfg_gen != root->cfg_gen) {
        keel_store_opts o;
        unsigned gen;
        pthread_mutex_lock(&root->mu);   /* keel__store_configure may change them */
        o = root->opts;
        gen = root->cfg_gen;
        pthread_mutex_unlock(&root->mu);
        if (root->ext != NULL && root->ext->version >= 2 && root->ext->configure != NULL &&
            (rc = root->ext->configure(s->conn, &o, err, errlen)) != 0)
            goto fail;
        s->cfg_gen = gen;
    }
    if (mode && s->priv != root->privileged) {
        if (root->ext != NULL && root->ext->version >= 2 && root->ext->set_mode != NULL)
            rc = root->ext->set_mode(s->conn, root->privileged, err, errlen);
        else if (root->ext != NULL && root->ext->set_privileged != NULL)
            root->ext->set_privileged(s->conn, root->privileged);
        if (rc != 0) {
            if (root->vt->version >= 2 && root->vt->healthy != NULL &&
                !root->vt->healthy(s->conn) && root->url != NULL)
                drop_conn(root, s);
            goto fail;
        }
        s->priv = root->privileged;
    }
    *slot = s;
    return 0;
fail:
    release(root, s);
    return rc;
}

void keel__store_giveback(keel_store *root, keel__store_slot *s)
{
    if (s == NULL)
        return;
    if (root->url != NULL && root->vt->version >= 2 && root->vt->healthy != NULL &&
        s->conn != NULL && !root->vt->healthy(s->conn))
        drop_conn(root, s);
    release(root, s);
}
