/*
 * store_handle-internal.h — the keel_store handle's layout, shared by
 * store.c (opening, statements, errors), store_pool.c (connections) and
 * store_tx.c (transactions and savepoints).  Nothing else includes it.
 *
 * A handle is either a *root* (what keel_store_open / keel_module_store give:
 * a pool of connections shared by every thread) or a *transaction handle*
 * (root != NULL: bound to one borrowed connection while keel_store_tx runs
 * fn, on fn's thread, on keel_store_tx's stack).
 */
#ifndef KEEL_STORE_HANDLE_INTERNAL_H
#define KEEL_STORE_HANDLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "keel/store.h"
#include "core/store-internal.h"

#define KEEL_STORE_ERRMAX 512

typedef struct keel__store_slot {
    void *conn;      /* owned; NULL = not open */
    int   busy;      /* borrowed by a thread */
    int   priv;      /* privileged state applied to conn; -1 = not configured */
    unsigned cfg_gen;/* root->cfg_gen when settings were applied to conn */
} keel__store_slot;

struct keel_store {
    const keel_store_vt  *vt;
    const keel_store_ext *ext;        /* NULL = none */
    keel_store           *root;       /* transaction handle: its root; root: NULL */
    /* ---- transaction handle ---- */
    keel__store_slot     *slot;       /* the bound connection */
    unsigned              depth;      /* savepoint nesting */
    int                   doomed;     /* v1 backends without savepoints: inner failure */
    keel_store           *prev_tx;    /* the thread's enclosing transaction (any root) */
    void                (*after_fn)(void *);  /* keel__store_after_commit */
    void                 *after_arg;
    int                 (*flush_fn)(keel_store *tx, void *arg);  /* keel__store_tx_buffer */
    void                (*drop_fn)(void *arg, int end);
    void                 *flush_arg;
    /* ---- root ---- */
    char                 *url;        /* owned; NULL = wrapped (never reopened) */
    char                 *ns;         /* owned; NULL = core */
    char                 *grant_to;   /* owned copy behind opts.grant_to */
    char                 *sync;       /* owned copy behind opts.sync */
    unsigned              cfg_gen;    /* bumped by keel__store_configure */
    keel_store_opts       opts;
    pthread_mutex_t       mu;
    pthread_cond_t        cv;
    keel__store_slot     *slots;      /* opts.pool_size of them */
    int                   nslots;
    int                   privileged;
    /* pool use for /metrics (keel__store_pool_read): written under mu or
     * by the borrowing thread, read without the lock */
    _Atomic int           n_open, n_busy;
    _Atomic unsigned long long n_waits, n_timeouts, n_refused;
};

/* Borrows a connection of root (waits up to opts.statement_timeout_ms on a
 * backend with a pool, forever on a one-connection handle), opening or
 * replacing it as needed and applying the privileged state.  *slot set on 0;
 * else KEEL_EUNAVAIL/KEEL_E* with the message in err. */
int  keel__store_borrow(keel_store *root, keel__store_slot **slot, char *err, size_t errlen);
/* The same; mode = 0 applies the settings but not the privileged state
 * (which may need provisioning first: PostgreSQL's SET ROLE). */
int  keel__store_borrow_ex(keel_store *root, keel__store_slot **slot, int mode, char *err,
                           size_t errlen);
/* Gives slot back; a connection the backend reports lost is closed. */
void keel__store_giveback(keel_store *root, keel__store_slot *slot);

/* Runs op(st', conn, arg, err, errlen) on st's connection: the bound one of
 * a transaction handle or of the thread's transaction on that root (st' is
 * then that transaction handle), else a borrowed one given back after (and
 * an autocommit write's deferred durability waited for).  err is the
 * thread's message buffer for st (KEEL_STORE_ERRMAX).  op's code. */
typedef int (*keel__store_conn_op)(keel_store *st, void *conn, void *arg, char *err,
                                   size_t errlen);
int  keel__store_with_conn(keel_store *st, keel__store_conn_op op, void *arg);

/* The calling thread's innermost transaction handle on root, or NULL. */
keel_store *keel__store_thread_tx(const keel_store *root);
void        keel__store_push_tx(keel_store *tx);
void        keel__store_pop_tx(keel_store *tx);

/* The calling thread's last message: set for root (formatted), cleared. */
void keel__store_seterr(const keel_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void keel__store_clearerr(const keel_store *st);
/* Buffer for this thread's message about st (write into it, up to
 * KEEL_STORE_ERRMAX): marks st's root as its owner. */
char *keel__store_errbuf(const keel_store *st);

#endif /* KEEL_STORE_HANDLE_INTERNAL_H */
