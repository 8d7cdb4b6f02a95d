/*
 * events_dispatch.c — the dispatcher: events_workers threads, each looping
 * claim a batch → run the handlers → complete the batch.
 *
 * A claim is one UPDATE … RETURNING on the core connection: attempts + 1 and
 * run_at = now + lease for up to events_batch due rows of subscribers started
 * in this process, skipping any row with an older row of the same subscriber
 * and ordering key still in the outbox.  SQLite serialises writers, so two
 * workers (or two processes) never claim the same row; on PostgreSQL the
 * subselect takes FOR UPDATE SKIP LOCKED (events.c).  Completed rows are
 * deleted in one statement per batch; a failure is rescheduled with capped
 * exponential backoff and jitter, or moved to keel_dead_letters with the
 * delete in one transaction once its attempts are spent.  A crash leaves
 * claimed rows with run_at in the future: the lease; they become due again
 * when it passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"

typedef struct ev_worker {
    keel__events *ev;
    int           index;
    uint64_t      rnd;    /* splitmix64 state for jitter */
} ev_worker;

static uint64_t ev_rand(ev_worker *w)
{
    uint64_t z = (w->rnd += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Delay before attempt n + 1 after attempt n failed: base * 2^(n-1), capped,
 * then "equal jitter": half fixed, half random, so a burst of failures does
 * not come back in lockstep. */
static int64_t ev_backoff(ev_worker *w, int attempt)
{
    keel__events *ev = w->ev;
    int64_t d = ev->backoff_ms;
    int i;

    for (i = 1; i < attempt && d < ev->backoff_max_ms; i++)
        d *= 2;
    if (d > ev->backoff_max_ms)
        d = ev->backoff_max_ms;
    return d / 2 + (int64_t)(ev_rand(w) % (uint64_t)(d / 2 + 1));
}

typedef struct ev_dead_job {
    keel__ev_box *box;
    json_int_t    id, attempts;
    const char   *error;
} ev_dead_job;

static int ev_dead_tx(keel_store *tx, void *arg)
{
    ev_dead_job *j = arg;
    json_t *p = json_pack("[sIII]", j->error, (json_int_t)keel__wall_ms(), j->id, j->attempts);
    int rc;

    if (p == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(tx, j->box->sql[KEEL__EV_DEAD], p, NULL);
    json_decref(p);
    if (rc != 0)
        return rc;
    p = json_pack("[II]", j->id, j->attempts);
    if (p == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(tx, j->box->sql[KEEL__EV_DEAD_DEL], p, NULL);
    json_decref(p);
    return rc;
}

/* The delivery of one claimed row as the handler sees it (fields borrow
 * from row; payload and principal are parsed into the given slots). */
typedef struct ev_one {
    keel_event                e;
    keel_module_ctx          *sub;
    const keel_subscription  *s;
    json_t                   *payload;
    char                      msg[600];   /* why it failed */
} ev_one;

/* Runs the handler of row.  0, or the failure code with o->msg set. */
static int ev_run(ev_worker *w, keel__ev_box *box, const json_t *row, ev_one *o)
{
    keel__events *ev = w->ev;
    keel_ctx *ctx = NULL;
    json_t *prin = NULL;
    char rid[96];
    const char *ptext = json_string_value(json_object_get(row, "payload"));
    const char *prtext = json_string_value(json_object_get(row, "principal"));
    int rc;

    memset(o, 0, sizeof *o);
    o->e.id = json_integer_value(json_object_get(row, "id"));
    o->e.topic = json_string_value(json_object_get(row, "topic"));
    o->e.emitter = box->mc->desc->name;
    o->e.key = json_string_value(json_object_get(row, "ikey"));
    o->e.order_key = json_string_value(json_object_get(row, "okey"));
    o->e.attempt = (int)json_integer_value(json_object_get(row, "attempts"));
    o->e.max_attempts = (int)json_integer_value(json_object_get(row, "max_attempts"));
    o->e.emitted_ms = json_integer_value(json_object_get(row, "created_at"));
    o->sub = keel__rt_find(ev->rt, json_string_value(json_object_get(row, "subscriber")));
    if (o->sub != NULL && o->e.topic != NULL)
        o->s = keel__ev_sub_find(o->sub->desc, o->e.topic);
    if (o->s == NULL || o->e.key == NULL) {
        snprintf(o->msg, sizeof o->msg, "no handler for topic '%s' in module '%s' (removed "
                 "subscription?)", o->e.topic ? o->e.topic : "?",
                 json_string_value(json_object_get(row, "subscriber")));
        return KEEL_ENOTFOUND;
    }
    if (ptext == NULL || (o->payload = json_loads(ptext, 0, NULL)) == NULL) {
        snprintf(o->msg, sizeof o->msg, "stored payload is not JSON");
        return KEEL_EBADDATA;
    }
    o->e.payload = o->payload;
    snprintf(rid, sizeof rid, "ev-%s-%lld-%d", o->e.emitter, (long long)o->e.id, o->e.attempt);
    ctx = keel__ctx_new(ev->rt, KEEL_TR_EVENT, rid, keel__now_ms() + ev->call_timeout_ms);
    if (ctx == NULL) {
        snprintf(o->msg, sizeof o->msg, "out of memory");
        return KEEL_ENOMEM;
    }
    keel__ctx_set_callee(ctx, o->sub);
    if (prtext != NULL && (prin = json_loads(prtext, 0, NULL)) != NULL)
        keel__ctx_set_principal_new(ctx, prin);
    rc = o->s->handler(ctx, &o->e);
    if (rc > 0)
        rc = KEEL_EINTERNAL;
    if (rc != 0)
        snprintf(o->msg, sizeof o->msg, "%s: %s", keel_errname(rc),
                 keel_ctx_errmsg(ctx) ? keel_ctx_errmsg(ctx) : keel_strerror(rc));
    keel__ctx_free(ctx);
    return rc;
}

/* A failed delivery: rescheduled with backoff, or dead once its attempts
 * are spent. */
static void ev_fail(ev_worker *w, keel__ev_box *box, ev_one *o)
{
    keel__events *ev = w->ev;
    keel_event *e = &o->e;

    if (e->attempt >= e->max_attempts) {
        ev_dead_job j = { box, e->id, e->attempt, o->msg };
        int drc = keel_store_tx(ev->core, ev_dead_tx, &j);
        if (drc != 0)
            keel_log(NULL, KEEL_LOG_ERROR, "events: %s#%lld: cannot dead-letter: %s "
                     "(the lease will expire and it is tried again)", e->emitter,
                     (long long)e->id, keel_store_errmsg(ev->core));
        else
            keel_log(NULL, KEEL_LOG_WARN, "events: %s %s#%lld dead after %d attempts: %s",
                     e->topic ? e->topic : "?", e->emitter, (long long)e->id, e->attempt, o->msg);
        pthread_mutex_lock(&ev->mu);
        ev->failed++;
        ev->dead += drc == 0;
        pthread_mutex_unlock(&ev->mu);
    } else {
        json_t *p = json_pack("[IsII]", (json_int_t)keel__wall_ms() + (json_int_t)ev_backoff(w, e->attempt),
                              o->msg, (json_int_t)e->id, (json_int_t)e->attempt);
        if (p == NULL || keel_store_exec(ev->core, box->sql[KEEL__EV_RESCHEDULE], p, NULL) != 0)
            keel_log(NULL, KEEL_LOG_ERROR, "events: %s#%lld: cannot reschedule: %s",
                     e->emitter, (long long)e->id, keel_store_errmsg(ev->core));
        json_decref(p);
        keel_log(NULL, KEEL_LOG_INFO, "events: %s %s#%lld attempt %d/%d failed: %s",
                 e->topic ? e->topic : "?", e->emitter, (long long)e->id, e->attempt,
                 e->max_attempts, o->msg);
        pthread_mutex_lock(&ev->mu);
        ev->failed++;
        ev->retried++;
        pthread_mutex_unlock(&ev->mu);
    }
}

/* Runs one claimed row's handler.  1 = completed, 0 = failed (rescheduled or
 * dead-lettered here). */
static int ev_deliver(ev_worker *w, keel__ev_box *box, const json_t *row)
{
    ev_one o;
    int rc = ev_run(w, box, row, &o);

    if (rc != 0)
        ev_fail(w, box, &o);
    json_decref(o.payload);
    return rc == 0;
}

/* KEEL_SUB_BATCH: rows[0..n) of one subscriber run in one transaction on its
 * store; the handlers' keel_event_tx join it.  Any failure rolls the whole
 * group back and the caller delivers the rows one by one. */
typedef struct ev_group {
    ev_worker     *w;
    keel__ev_box  *box;
    json_t *const *rows;
    size_t         n;
} ev_group;

static int ev_group_tx(keel_store *tx, void *arg)
{
    ev_group *g = arg;
    size_t i;
    int rc = 0;
    (void)tx;
    for (i = 0; i < g->n && rc == 0; i++) {
        ev_one o;
        rc = ev_run(g->w, g->box, g->rows[i], &o);
        json_decref(o.payload);
    }
    return rc;
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

/* Claims and runs one batch from box; returns how many rows it claimed. */
static size_t ev_round(ev_worker *w, keel__ev_box *box)
{
    keel__events *ev = w->ev;
    json_t *params, *rows = NULL, *done = NULL, **sorted = NULL;
    int64_t now = keel__wall_ms();
    size_t i, n = 0, nok = 0;
    int rc;

    params = json_pack("[IIsi]", (json_int_t)now + (json_int_t)ev->lease_ms, (json_int_t)now,
                       ev->local_subs, ev->batch);
    if (params == NULL)
        return 0;
    rc = keel_store_exec(ev->core, box->sql[KEEL__EV_CLAIM], params, &rows);
    json_decref(params);
    if (rc != 0) {
        if (rc != KEEL_EUNAVAIL)
            keel_log(NULL, KEEL_LOG_ERROR, "events: claim from %s_outbox: %s",
                     box->mc->desc->name, keel_store_errmsg(ev->core));
        goto out;
    }
    n = json_array_size(rows);
    if (n == 0)
        goto out;
    /* RETURNING gives no order: handle in id (commit) order */
    if ((sorted = calloc(n, sizeof(json_t *))) == NULL || (done = json_array()) == NULL)
        goto out;   /* leases lapse; the rows come back */
    for (i = 0; i < n; i++)
        sorted[i] = json_array_get(rows, i);
    qsort(sorted, n, sizeof(json_t *), ev_cmp_id);
    for (i = 0; i < n;) {
        keel_module_ctx *sub = NULL, *sub2 = NULL;
        size_t k, end = i + 1;
        if (ev_row_flags(ev, sorted[i], &sub) & KEEL_SUB_BATCH) {
            ev_group g = { w, box, &sorted[i], 0 };
            while (end < n && (ev_row_flags(ev, sorted[end], &sub2) & KEEL_SUB_BATCH) && sub2 == sub)
                end++;
            g.n = end - i;
            if (g.n > 1 && sub->store != NULL && keel_store_tx(sub->store, ev_group_tx, &g) == 0) {
                for (k = i; k < end; k++)
                    json_array_append(done, json_object_get(sorted[k], "id"));
                nok += g.n;
                i = end;
                continue;
            }
        }
        for (k = i; k < end; k++)
            if (ev_deliver(w, box, sorted[k])) {
                json_array_append(done, json_object_get(sorted[k], "id"));
                nok++;
            }
        i = end;
    }
    if (nok > 0) {
        char *ids = json_dumps(done, JSON_COMPACT);
        params = ids != NULL ? json_pack("[s]", ids) : NULL;
        free(ids);
        if (params == NULL ||
            keel_store_exec(ev->core, box->sql[KEEL__EV_COMPLETE], params, NULL) != 0)
            keel_log(NULL, KEEL_LOG_ERROR, "events: completing %zu row(s) of %s_outbox: %s "
                     "(they will be delivered again)", nok, box->mc->desc->name,
                     keel_store_errmsg(ev->core));
        json_decref(params);
        pthread_mutex_lock(&ev->mu);
        ev->handled += nok;
        pthread_mutex_unlock(&ev->mu);
    }
out:
    free(sorted);
    json_decref(done);
    json_decref(rows);
    return n;
}

static void *ev_worker_main(void *arg)
{
    ev_worker *w = arg;
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
        for (i = 0; i < ev->nboxes; i++)
            got += ev_round(w, &ev->boxes[(start + i) % ev->nboxes]);
        start++;
        if (got > 0)
            continue;
        pthread_mutex_lock(&ev->mu);
        if (ev->claiming && ev->wake_seq == seq) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += ev->poll_ms / 1000;
            ts.tv_nsec += (ev->poll_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&ev->cv, &ev->mu, &ts);
        }
        pthread_mutex_unlock(&ev->mu);
    }
    free(w);
    return NULL;
}

int keel__events_start(keel_runtime *rt, char *err, size_t errlen)
{
    keel__events *ev = keel__events_of(rt);
    json_t *subs;
    size_t i;
    int k;

    if (ev == NULL || ev->core == NULL || ev->nthreads > 0)
        return 0;
    if (!keel__config_bool(rt->cfg, NULL, "events_dispatch")) {
        keel_log(NULL, KEEL_LOG_INFO, "events: dispatch disabled here (events_dispatch=false)");
        return 0;
    }
    if ((subs = json_array()) == NULL)
        return KEEL_ENOMEM;
    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        if (mc->started && mc->place == KEEL_PLACE_LOCAL && mc->desc->subs != NULL &&
            mc->desc->subs[0].topic != NULL)
            json_array_append_new(subs, json_string(mc->desc->name));
    }
    ev->local_subs = json_array_size(subs) > 0 ? json_dumps(subs, JSON_COMPACT) : NULL;
    json_decref(subs);
    if (ev->local_subs == NULL)
        return 0;
    if ((ev->threads = calloc((size_t)ev->workers, sizeof *ev->threads)) == NULL)
        return KEEL_ENOMEM;
    ev->claiming = 1;
    for (k = 0; k < ev->workers; k++) {
        ev_worker *w = calloc(1, sizeof *w);
        if (w == NULL)
            break;
        w->ev = ev;
        w->index = k;
        w->rnd = (uint64_t)keel__now_ns() ^ ((uint64_t)k << 32);
        if (pthread_create(&ev->threads[k], NULL, ev_worker_main, w) != 0) {
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
