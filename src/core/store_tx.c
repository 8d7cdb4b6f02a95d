/*
 * store_tx.c — keel_store_tx: a transaction handle bound to one connection,
 * savepoints for nested calls, and bounded retries of serialization
 * failures and deadlocks for transactions marked KEEL_TX_RETRYABLE.
 *
 * The transaction handle lives on this function's stack and is pushed on the
 * thread's transaction list, so a statement on the root handle made by fn on
 * the same thread uses the transaction's connection instead of waiting for
 * another one (which, with SQLite's single connection, would never come).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store_handle-internal.h"

#define TX_ATTEMPTS   5
#define TX_PAUSE_MS   5     /* first pause; doubles each attempt */

static const char *conn_msg(const keel_store *st, void *conn)
{
    const char *m = NULL;
    if (st->vt->version >= 2 && st->vt->errmsg != NULL)
        m = st->vt->errmsg(conn);
    return m != NULL ? m : "";
}

static void tx_fail_msg(keel_store *tx, const char *what, int rc)
{
    const char *m = conn_msg(tx, tx->slot->conn);
    keel__store_seterr(tx, "%s failed: %s", what, m[0] ? m : keel_strerror(rc));
}

/* A nested keel_store_tx on transaction handle tx: a savepoint, or (backends
 * without savepoints) joining the outer transaction and dooming it. */
static int tx_nested(keel_store *tx, int (*fn)(keel_store *, void *), void *arg)
{
    const keel_store_vt *vt = tx->vt;
    void *conn = tx->slot->conn;
    unsigned level;
    int rc, src;

    if (vt->version < 2 || vt->savepoint == NULL) {
        tx->depth++;
        rc = fn(tx, arg);
        tx->depth--;
        if (rc != 0 && tx->doomed == 0)
            tx->doomed = rc;
        return rc;
    }
    if (tx->flush_fn != NULL && (rc = tx->flush_fn(tx, tx->flush_arg)) != 0)
        return rc;
    level = ++tx->depth;
    if ((rc = vt->savepoint(conn, KEEL_SP_BEGIN, level)) != 0) {
        tx_fail_msg(tx, "savepoint", rc);
        tx->depth--;
        return rc;
    }
    rc = fn(tx, arg);
    if (rc == 0 && tx->flush_fn != NULL)
        rc = tx->flush_fn(tx, tx->flush_arg);   /* inside the savepoint it belongs to */
    if (rc == 0) {
        if ((rc = vt->savepoint(conn, KEEL_SP_RELEASE, level)) != 0)
            tx_fail_msg(tx, "release savepoint", rc);
    }
    if (rc != 0) {
        char keep[KEEL_STORE_ERRMAX];
        if (tx->drop_fn != NULL)
            tx->drop_fn(tx->flush_arg, 0);   /* buffered inside this savepoint */
        snprintf(keep, sizeof keep, "%s", keel_store_errmsg(tx));
        src = vt->savepoint(conn, KEEL_SP_ROLLBACK, level);
        if (src != 0 && keep[0] == '\0')
            tx_fail_msg(tx, "rollback to savepoint", src);
        else
            keel__store_seterr(tx, "%s", keep);
    }
    tx->depth--;
    return rc;
}

/* One attempt of an outermost transaction.  *retry = 1 when it failed with a
 * serialization failure or deadlock. */
static int tx_once(keel_store *root, unsigned flags, int (*fn)(keel_store *, void *),
                   void *arg, int *retry)
{
    const keel_store_vt *vt = root->vt;
    keel_store tx;
    int rc, crc;

    *retry = 0;
    memset(&tx, 0, sizeof tx);
    tx.vt = root->vt;
    tx.ext = root->ext;
    tx.root = root;
    keel__store_clearerr(root);
    rc = keel__store_borrow(root, &tx.slot, keel__store_errbuf(root), KEEL_STORE_ERRMAX);
    if (rc != 0)
        return rc;
    if (vt->version >= 2 && vt->begin_ex != NULL)
        rc = vt->begin_ex(tx.slot->conn, flags);
    else
        rc = vt->begin(tx.slot->conn);
    if (rc != 0) {
        tx_fail_msg(&tx, "begin", rc);
        goto out;
    }
    keel__store_push_tx(&tx);
    rc = fn(&tx, arg);
    if (rc == 0 && tx.flush_fn != NULL)
        rc = tx.flush_fn(&tx, tx.flush_arg);
    keel__store_pop_tx(&tx);
    if (tx.drop_fn != NULL)
        tx.drop_fn(tx.flush_arg, 1);
    if (rc == 0 && tx.doomed != 0)
        rc = tx.doomed;   /* v1 backend: an inner tx failed and fn ignored it */
    if (rc == 0) {
        keel__store_defer(root, 1);
        rc = vt->commit(tx.slot->conn);
        keel__store_defer(root, 0);
        if (rc == 0) {
            /* the connection goes back first: the next transaction can run
             * while this one waits for the sync it shares (group commit) */
            keel__store_giveback(root, tx.slot);
            rc = keel__store_wait_deferred(root, keel__store_errbuf(root), KEEL_STORE_ERRMAX);
            if (tx.after_fn != NULL)
                tx.after_fn(tx.after_arg);
            return rc;
        }
        tx_fail_msg(&tx, "commit", rc);
    }
    if (vt->version >= 2 && vt->retryable != NULL)
        *retry = vt->retryable(tx.slot->conn);
    {
        char keep[KEEL_STORE_ERRMAX];
        snprintf(keep, sizeof keep, "%s", keel_store_errmsg(root));
        crc = vt->rollback(tx.slot->conn);
        if (crc != 0 && keep[0] == '\0')
            tx_fail_msg(&tx, "rollback", crc);
        else
            keel__store_seterr(root, "%s", keep);
    }
out:
    keel__store_giveback(root, tx.slot);
    return rc;
}

/* A per-thread xorshift: rand() is not thread-safe. */
static unsigned jitter(void)
{
    static __thread unsigned x;
    if (x == 0)
        x = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)&x ^ 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

static void pause_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int keel_store_tx_ex(keel_store *st, unsigned flags, int (*fn)(keel_store *tx, void *arg),
                     void *arg)
{
    keel_store *tx;
    int rc, retry, attempt, ms = TX_PAUSE_MS;

    if (st == NULL || fn == NULL)
        return KEEL_EINVAL;
    tx = st->root != NULL ? st : keel__store_thread_tx(st);
    if (tx != NULL)
        return tx_nested(tx, fn, arg);
    for (attempt = 1; ; attempt++) {
        rc = tx_once(st, flags, fn, arg, &retry);
        if (rc == 0 || !retry || !(flags & KEEL_TX_RETRYABLE) || attempt >= TX_ATTEMPTS)
            break;
        /* Full jitter between ms/2 and ms: replicas retrying together spread. */
        pause_ms(ms / 2 + (int)(jitter() % (unsigned)(ms / 2 + 1)));
        ms *= 2;
    }
    if (rc != 0 && retry && (flags & KEEL_TX_RETRYABLE)) {
        char keep[KEEL_STORE_ERRMAX];
        snprintf(keep, sizeof keep, "%s", keel_store_errmsg(st));
        keel__store_seterr(st, "%s (gave up after %d attempts)", keep, attempt);
    }
    return rc;
}

void keel__store_after_commit(keel_store *st, void (*fn)(void *), void *arg)
{
    keel_store *tx;

    if (st == NULL || fn == NULL)
        return;
    tx = st->root != NULL ? st : keel__store_thread_tx(st);
    if (tx == NULL) {
        fn(arg);          /* not in a transaction: the statement has committed */
        return;
    }
    tx->after_fn = fn;    /* nested handles share the outermost one */
    tx->after_arg = arg;
}

void *keel__store_tx_buffer(keel_store *st, int (*flush)(keel_store *tx, void *arg),
                            void (*drop)(void *arg, int end), void *arg)
{
    keel_store *tx;

    if (st == NULL || flush == NULL)
        return NULL;
    tx = st->root != NULL ? st : keel__store_thread_tx(st);
    if (tx == NULL)
        return NULL;
    if (tx->flush_fn == flush)
        return tx->flush_arg;
    if (tx->flush_fn != NULL || arg == NULL)
        return NULL;
    tx->flush_fn = flush;
    tx->drop_fn = drop;
    tx->flush_arg = arg;
    return arg;
}

int keel__store_tx_queue(keel_store *tx, int on)
{
    if (tx == NULL || tx->root == NULL || tx->slot == NULL || tx->ext == NULL ||
        tx->ext->version < 3 || tx->ext->set_queue == NULL)
        return KEEL_EINVAL;
    tx->ext->set_queue(tx->slot->conn, on);
    return 0;
}

int keel_store_tx(keel_store *st, int (*fn)(keel_store *tx, void *arg), void *arg)
{
    return keel_store_tx_ex(st, 0, fn, arg);
}
