/*
 * events_dispatch.c — the dispatcher: events_workers threads, each looping
 * over the outboxes and, per outbox, over the subscribers started here:
 * claim a batch → run the handlers → complete the batch.  One delivery
 * (running a handler, failing it) is events_deliver.c.
 *
 * A claim is one UPDATE … RETURNING: attempts + 1 and run_at = now + lease
 * for up to events_batch due rows of one subscriber, walking the
 * (subscriber, run_at) index and skipping any row with an older row of the
 * same subscriber and ordering key still in the outbox.  SQLite serialises
 * writers, so two workers (or two processes) never claim the same row; on
 * PostgreSQL the subselect takes FOR UPDATE SKIP LOCKED (events_pg.c).
 * Completed rows are deleted in one statement per batch.  A crash leaves
 * claimed rows with run_at in the future: the lease; they become due again
 * when it passes.
 *
 * A round runs in one of two shapes.  Split (any subscriber): the claim
 * commits on the core's connection, the handlers commit on their own, the
 * completion commits on the core's.  One transaction (a subscriber all of
 * whose subscriptions here are KEEL_SUB_BATCH, on SQLite): claim, handlers
 * (each in a savepoint), failures and completion commit together on the
 * subscriber's connection, with queue access granted to the dispatcher's
 * own statements only (keel__store_tx_queue).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"
#include "core/json-internal.h"
#include "core/store-internal.h"
#include "core/thread-internal.h"

/* KEEL_SUB_BATCH: rows[0..n) of one subscriber run in one transaction on its
 * store; the handlers' keel_event_tx join it.  Any failure rolls the whole
 * group back and the caller delivers the rows one by one. */
typedef struct ev_group {
    keel__ev_worker     *w;
    keel__ev_box  *box;
    keel_store    *root;   /* the subscriber's store the group runs on */
    const char    *sub;    /* its module name */
    json_t *const *rows;
    size_t         n;
} ev_group;

static int ev_group_tx(keel_store *tx, void *arg)
{
    ev_group *g = arg;
    keel__ev_join j;
    char *fresh = calloc(g->n, 1);
    size_t i;
    int rc = 0, pre;

    /* the group's inbox keys in one statement; any failure undoes them with
     * the rest of the group */
    pre = fresh != NULL && keel__ev_inbox_batch(g->w->ev, tx, g->sub, g->rows, g->n, fresh) == 0;
    memset(&j, 0, sizeof j);
    j.root = g->root;
    j.tx = tx;
    keel__ev_joined = &j;
    for (i = 0; i < g->n && rc == 0 && j.failed == 0; i++) {
        keel__ev_one o;
        j.topic = pre ? json_string_value(json_object_get(g->rows[i], "topic")) : NULL;
        j.key = json_string_value(json_object_get(g->rows[i], "ikey"));
        j.fresh = pre && fresh[i];
        rc = keel__ev_run(g->w, g->box, g->rows[i], &o);
        json_decref(o.payload);
    }
    keel__ev_joined = NULL;
    free(fresh);
    return rc != 0 ? rc : j.failed;
}

/* The subscription flags of row's subscriber for its topic (0 if unknown). */
static unsigned ev_row_flags(keel__events *ev, const json_t *row, keel_module_ctx **sub)
{
    const keel_subscription *s;
    *sub = keel__rt_find(ev->rt, json_string_value(json_object_get(row, "subscriber")));
    if (*sub == NULL)
        return 0;
    s = keel__ev_sub_find((*sub)->desc, json_string_value(json_object_get(row, "topic")));
    return s != NULL ? s->flags : 0;
}

static int ev_cmp_id(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
    return x < y ? -1 : x > y;
}

/* Claims up to a batch of subscriber subname's due rows of box on st; the
 * rows come back sorted by id (commit order; RETURNING gives none) in
 * *sorted, borrowed from *rows.  pick: a transaction holding the write lock
 * reads them instead (KEEL__EV_PICK; attempts comes back one higher, as a
 * claim would have set it).  0 or KEEL_E*. */
static int ev_claim(keel__events *ev, keel_store *st, keel__ev_box *box, const char *subname,
                    int pick, json_t **rows, json_t ***sorted, size_t *n)
{
    int64_t now = keel__wall_ms();
    json_t *params;
    size_t i;
    int rc;

    *rows = NULL;
    *sorted = NULL;
    *n = 0;
    params = pick ? json_pack("[Isi]", (json_int_t)now, subname, ev->batch)
                  : json_pack("[IIsi]", (json_int_t)now + (json_int_t)ev->lease_ms,
                              (json_int_t)now, subname, ev->batch);
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, box->sql[pick ? KEEL__EV_PICK : KEEL__EV_CLAIM], params, rows);
    json_decref(params);
    if (rc != 0)
        return rc;
    if ((*n = json_array_size(*rows)) == 0)
        return 0;
    if ((*sorted = calloc(*n, sizeof(json_t *))) == NULL)
        return KEEL_ENOMEM;
    for (i = 0; i < *n; i++)
        (*sorted)[i] = json_array_get(*rows, i);
    qsort(*sorted, *n, sizeof(json_t *), ev_cmp_id);
    return 0;
}

/* Deletes the rows whose ids are in done (a JSON array) on st. */
static int ev_complete(keel__events *ev, keel_store *st, keel__ev_box *box, const json_t *done)
{
    char *ids = keel__json_dump(done, JSON_COMPACT);
    json_t *params;

    if (ids != NULL && ev->pg)
        keel__ev_ids_param(ids);
    params = ids != NULL ? json_pack("[s]", ids) : NULL;
    int rc = params != NULL ? keel_store_exec(st, box->sql[KEEL__EV_COMPLETE], params, NULL)
                            : KEEL_ENOMEM;
    free(ids);
    json_decref(params);
    return rc;
}

/* One round in three transactions, for handlers that may be slow or call
 * out (no write lock may be held across them): the claim commits on the
 * core's connection, the handlers commit on their own (or, for a
 * KEEL_SUB_BATCH group, together), the completion commits on the core's.
 * Returns how many rows it claimed. */
static size_t ev_round_split(keel__ev_worker *w, keel__ev_box *box, const char *subname)
{
    keel__events *ev = w->ev;
    json_t *rows = NULL, *done = NULL, **sorted = NULL;
    keel__ev_counts cnt = {0};
    size_t i, n = 0;
    int rc;

    if ((rc = ev_claim(ev, ev->core, box, subname, 0, &rows, &sorted, &n)) != 0) {
        if (rc != KEEL_EUNAVAIL)
            keel_log(NULL, KEEL_LOG_ERROR, "events: claim from %s_outbox: %s",
                     box->mc->desc->name, keel_store_errmsg(ev->core));
        goto out;
    }
    if (n == 0 || (done = json_array()) == NULL)
        goto out;   /* ENOMEM: leases lapse; the rows come back */
    for (i = 0; i < n;) {
        keel_module_ctx *sub = NULL, *sub2 = NULL;
        size_t k, end = i + 1;
        if (ev_row_flags(ev, sorted[i], &sub) & KEEL_SUB_BATCH) {
            ev_group g = { w, box, sub->store, sub->desc->name, &sorted[i], 0 };
            while (end < n && (ev_row_flags(ev, sorted[end], &sub2) & KEEL_SUB_BATCH) && sub2 == sub)
                end++;
            g.n = end - i;
            if (g.n > 1 && sub->store != NULL && keel_store_tx(sub->store, ev_group_tx, &g) == 0) {
                for (k = i; k < end; k++)
                    json_array_append(done, json_object_get(sorted[k], "id"));
                cnt.handled += g.n;
                i = end;
                continue;
            }
        }
        for (k = i; k < end; k++)
            if (keel__ev_deliver(w, box, sorted[k], &cnt)) {
                json_array_append(done, json_object_get(sorted[k], "id"));
                cnt.handled++;
            }
        i = end;
    }
    if (cnt.handled > 0 && ev_complete(ev, ev->core, box, done) != 0)
        keel_log(NULL, KEEL_LOG_ERROR, "events: completing %zu row(s) of %s_outbox: %s "
                 "(they will be delivered again)", (size_t)cnt.handled, box->mc->desc->name,
                 keel_store_errmsg(ev->core));
    keel__ev_count(ev, subname, &cnt);
out:
    free(sorted);
    json_decref(done);
    json_decref(rows);
    return n;
}

/* ---- one transaction per round (KEEL_SUB_BATCH subscribers) -------------- */

typedef struct ev_batch {
    keel__ev_worker    *w;
    keel__ev_box *box;
    const char   *subname;
    keel_store   *root;     /* the subscriber's store the round runs on */
    const json_t *row;      /* the row whose handler runs (keel__ev_one_sp) */
    size_t        idx;      /* its index in the batch */
    char         *fresh;    /* [idx]: its inbox key was recorded new; NULL = not recorded */
    keel__ev_one        one;
    size_t        n;        /* claimed */
    keel__ev_counts     cnt;
} ev_batch;

static int keel__ev_one_sp(keel_store *tx, void *arg)
{
    ev_batch *b = arg;
    keel__ev_join j;
    int rc;

    memset(&j, 0, sizeof j);
    j.root = b->root;
    j.tx = tx;
    if (b->fresh != NULL) {
        j.topic = json_string_value(json_object_get(b->row, "topic"));
        j.key = json_string_value(json_object_get(b->row, "ikey"));
        j.fresh = b->fresh[b->idx] != 0;
    }

    keel__ev_joined = &j;
    rc = keel__ev_run(b->w, b->box, b->row, &b->one);
    keel__ev_joined = NULL;
    if (rc == 0 && j.failed != 0) {
        rc = j.failed;
        snprintf(b->one.msg, sizeof b->one.msg, "%s: keel_event_tx: %s", keel_errname(rc),
                 keel_store_errmsg(tx));
    }
    return rc;
}

/* A picked row whose handler failed: the attempt it made is written before
 * the failure is (KEEL__EV_PICK read attempts + 1 without storing it). */
static int ev_bump(keel_store *tx, keel__ev_box *box, const keel__ev_one *o)
{
    json_t *p = json_pack("[II]", (json_int_t)o->e.id, (json_int_t)o->e.attempt);
    int rc = p != NULL ? keel_store_exec(tx, box->sql[KEEL__EV_BUMP], p, NULL) : KEEL_ENOMEM;

    if (rc != 0)
        keel_log(NULL, KEEL_LOG_ERROR, "events: %s#%lld: cannot count the attempt: %s",
                 o->e.emitter ? o->e.emitter : "?", (long long)o->e.id, keel_store_errmsg(tx));
    json_decref(p);
    return rc;
}

static int ev_batch_tx(keel_store *tx, void *arg)
{
    ev_batch *b = arg;
    keel__events *ev = b->w->ev;
    json_t *rows = NULL, *done = NULL, **sorted = NULL;
    size_t i;
    int rc;

    memset(&b->cnt, 0, sizeof b->cnt);
    b->n = 0;
    if ((rc = keel__store_tx_queue(tx, 1)) != 0)
        return rc;
    rc = ev_claim(ev, tx, b->box, b->subname, 1, &rows, &sorted, &b->n);
    keel__store_tx_queue(tx, 0);
    if (rc != 0 || b->n == 0)
        goto out;
    if ((done = json_array()) == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    /* the batch's inbox keys in one statement, not one per keel_event_tx */
    if ((b->fresh = calloc(b->n, 1)) != NULL &&
        keel__ev_inbox_batch(ev, tx, b->subname, sorted, b->n, b->fresh) != 0) {
        free(b->fresh);
        b->fresh = NULL;
    }
    for (i = 0; i < b->n; i++) {
        /* each handler in a savepoint: a failure undoes its writes only */
        b->row = sorted[i];
        b->idx = i;
        rc = keel_store_tx(tx, keel__ev_one_sp, b);
        if (rc == 0) {
            json_array_append(done, json_object_get(sorted[i], "id"));
            b->cnt.handled++;
        } else {
            if (b->one.msg[0] == '\0')
                snprintf(b->one.msg, sizeof b->one.msg, "%s: %s", keel_errname(rc),
                         keel_store_errmsg(tx));
            /* its key was recorded outside the savepoint: taken back, or the
             * retry would skip the effect */
            if (b->fresh != NULL && b->fresh[i] &&
                (rc = keel__ev_inbox_undo(ev, tx, b->subname, sorted[i])) != 0) {
                json_decref(b->one.payload);
                b->one.payload = NULL;
                goto out;
            }
            keel__store_tx_queue(tx, 1);
            rc = ev_bump(tx, b->box, &b->one);
            if (rc == 0)
                keel__ev_fail(b->w, b->box, &b->one, tx, &b->cnt);
            keel__store_tx_queue(tx, 0);
            if (rc != 0) {   /* the store failed: the round is run split */
                json_decref(b->one.payload);
                b->one.payload = NULL;
                goto out;
            }
        }
        json_decref(b->one.payload);
        b->one.payload = NULL;
    }
    rc = 0;
    if (b->cnt.handled > 0) {
        keel__store_tx_queue(tx, 1);
        rc = ev_complete(ev, tx, b->box, done);
        keel__store_tx_queue(tx, 0);
    }
out:
    free(b->fresh);
    b->fresh = NULL;
    free(sorted);
    json_decref(done);
    json_decref(rows);
    return rc;
}

/* One round in one transaction on the subscriber's connection: claim,
 * every handler (each in a savepoint), reschedules and dead letters, and
 * the completion commit together, so a batch costs one commit instead of
 * three and no other connection's write lock is waited for in between.
 * Crash safety is unchanged: before the commit nothing happened; after it
 * the effects, the inbox keys and the completion are all there.  If the
 * transaction fails (the store, not a handler), the round is run split,
 * whose claim commits first so the attempt is counted. */
static size_t ev_round_tx(keel__ev_worker *w, keel__ev_box *box, keel_module_ctx *sub)
{
    ev_batch b;
    int rc;

    memset(&b, 0, sizeof b);
    b.w = w;
    b.box = box;
    b.subname = sub->desc->name;
    b.root = sub->store;
    if ((rc = keel_store_tx(sub->store, ev_batch_tx, &b)) != 0) {
        if (rc != KEEL_EUNAVAIL)
            keel_log(NULL, KEEL_LOG_WARN, "events: one-transaction round for %s from %s_outbox "
                     "failed (%s); running it split", b.subname, box->mc->desc->name,
                     keel_store_errmsg(sub->store));
        return ev_round_split(w, box, b.subname);
    }
    keel__ev_count(w->ev, b.subname, &b.cnt);
    return b.n;
}

static size_t ev_round(keel__ev_worker *w, keel__ev_box *box, size_t k)
{
    keel_module_ctx *sub = box->claim_tx[k];
    return sub != NULL ? ev_round_tx(w, box, sub) : ev_round_split(w, box, box->claim_subs[k]);
}

static void *keel__ev_worker_main(void *arg)
{
    keel__ev_worker *w = arg;
    keel__events *ev = w->ev;
    size_t start = (size_t)w->index;

    for (;;) {
        size_t i, got = 0;
        uint64_t seq;
        pthread_mutex_lock(&ev->mu);
        seq = ev->wake_seq;
        if (!ev->claiming) {
            pthread_mutex_unlock(&ev->mu);
            break;
        }
        pthread_mutex_unlock(&ev->mu);
        for (i = 0; i < ev->nboxes; i++) {
            keel__ev_box *box = &ev->boxes[(start + i) % ev->nboxes];
            size_t k;
            for (k = 0; k < box->nclaim; k++)
                got += ev_round(w, box, k);
        }
        start++;
        keel__ev_refresh_gauges(ev, 0);
        keel__ev_prune_inboxes(ev, 0);
        if (got > 0)
            continue;
        pthread_mutex_lock(&ev->mu);
        if (ev->claiming && ev->wake_seq == seq) {
            struct timespec ts;
            keel__realtime_after_ms(&ts, ev->poll_ms);
            pthread_cond_timedwait(&ev->cv, &ev->mu, &ts);
        }
        pthread_mutex_unlock(&ev->mu);
    }
    free(w);
    return NULL;
}

/* Does module mc receive rows in box's outbox?  0 = no, 1 = yes, 2 = yes
 * and every such subscription is KEEL_SUB_BATCH. */
static int ev_receives(keel__events *ev, keel__ev_box *box, keel_module_ctx *mc)
{
    const keel_subscription *s;
    int any = 0, all_batch = 1;
    for (s = mc->desc->subs; s != NULL && s->topic != NULL; s++) {
        keel__ev_topic *t;
        if ((s->flags & KEEL_SUB_JOB) ? mc == box->mc
            : ((t = keel__ev_topic_find(ev, s->topic)) != NULL && t->box == box)) {
            any = 1;
            all_batch &= (s->flags & KEEL_SUB_BATCH) != 0;
        }
    }
    return any ? 1 + all_batch : 0;
}

/* box->claim_subs: the started local modules that receive from box;
 * box->claim_tx: those of them whose every subscription there is
 * KEEL_SUB_BATCH, on a backend that runs a round in one transaction. */
static int ev_claim_subs(keel_runtime *rt, keel__events *ev, keel__ev_box *box)
{
    int one_tx = strcmp(keel_store_backend_name(ev->core), "sqlite") == 0;
    size_t i;

    free(box->claim_subs);
    free(box->claim_tx);
    box->nclaim = 0;
    box->claim_subs = calloc(rt->n + 1, sizeof *box->claim_subs);
    /* an array of pointers: sizeof(A *) is meant here */
    box->claim_tx = calloc(rt->n + 1, sizeof *box->claim_tx); /* NOLINT(bugprone-sizeof-expression) */
    if (box->claim_subs == NULL || box->claim_tx == NULL)
        return KEEL_ENOMEM;
    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        int batch = 0;
        if (!(mc->started && mc->place == KEEL_PLACE_LOCAL && (batch = ev_receives(ev, box, mc))))
            continue;
        box->claim_tx[box->nclaim] = one_tx && batch == 2 && mc->store != NULL ? mc : NULL;
        box->claim_subs[box->nclaim++] = mc->desc->name;
    }
    return 0;
}

int keel__events_start(keel_runtime *rt, char *err, size_t errlen)
{
    keel__events *ev = keel__events_of(rt);
    size_t i, any = 0;
    int k;

    if (ev == NULL || ev->core == NULL || ev->nthreads > 0)
        return 0;
    if (!keel__config_bool(rt->cfg, NULL, "events_dispatch")) {
        keel_log(NULL, KEEL_LOG_INFO, "events: dispatch disabled here (events_dispatch=false)");
        return 0;
    }
    for (i = 0; i < ev->nboxes; i++) {
        int rc = ev_claim_subs(rt, ev, &ev->boxes[i]);
        if (rc != 0)
            return rc;
        any += ev->boxes[i].nclaim;
    }
    if (any == 0)
        return 0;
    if ((ev->threads = calloc((size_t)ev->workers, sizeof *ev->threads)) == NULL)
        return KEEL_ENOMEM;
    ev->claiming = 1;
    for (k = 0; k < ev->workers; k++) {
        keel__ev_worker *w = calloc(1, sizeof *w);
        if (w == NULL)
            break;
        w->ev = ev;
        w->index = k;
        w->rnd = (uint64_t)keel__now_ns() ^ ((uint64_t)k << 32);
        if (pthread_create(&ev->threads[k], NULL, keel__ev_worker_main, w) != 0) {
            free(w);
            break;
        }
        ev->nthreads++;
    }
    if (ev->nthreads == 0) {
        ev->claiming = 0;
        snprintf(err, errlen, "events: cannot start dispatcher threads");
        return KEEL_ENOMEM;
    }
    keel_log(NULL, KEEL_LOG_INFO, "events: dispatching with %d thread(s), batch %d, lease %lld ms",
             ev->nthreads, ev->batch, (long long)ev->lease_ms);
    return 0;
}

void keel__events_quiesce(keel_runtime *rt)
{
    keel__events *ev = keel__events_of(rt);

    if (ev == NULL)
        return;
    pthread_mutex_lock(&ev->mu);
    ev->claiming = 0;
    pthread_cond_broadcast(&ev->cv);
    pthread_mutex_unlock(&ev->mu);
}

void keel__events_stop(keel_runtime *rt)
{
    keel__events *ev = keel__events_of(rt);
    int k;

    if (ev == NULL)
        return;
    keel__events_quiesce(rt);
    /* each worker finishes the batch it holds (handlers are bounded by
     * call_timeout_ms); whatever it cannot finish keeps its lease */
    for (k = 0; k < ev->nthreads; k++)
        pthread_join(ev->threads[k], NULL);
    ev->nthreads = 0;
    free(ev->threads);
    ev->threads = NULL;
}
