/*
 * events_deliver.c — one delivery: running a claimed row's handler as the
 * emitting principal, and what happens when it fails (capped exponential
 * backoff with jitter, or the dead-letter table once its attempts are
 * spent).  The rounds and threads that call these are events_dispatch.c.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"
#include "core/json-internal.h"

static uint64_t ev_rand(keel__ev_worker *w)
{
    uint64_t z = (w->rnd += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Delay before attempt n + 1 after attempt n failed: base * 2^(n-1), capped,
 * then "equal jitter": half fixed, half random, so a burst of failures does
 * not come back in lockstep. */
static int64_t ev_backoff(keel__ev_worker *w, int attempt)
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


/* Runs the handler of row.  0, or the failure code with o->msg set. */
int keel__ev_run(keel__ev_worker *w, keel__ev_box *box, const json_t *row, keel__ev_one *o)
{
    keel__events *ev = w->ev;
    keel_ctx *ctx = NULL;
    keel_span_live span;
    json_t *prin = NULL;
    char rid[96];
    const json_t *pjs = json_object_get(row, "payload"), *prjs = json_object_get(row, "principal");
    const char *ptext = json_string_value(pjs), *prtext = json_string_value(prjs);
    const char *tptext = json_string_value(json_object_get(row, "traceparent"));
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
    if (ptext == NULL ||
        (o->payload = keel__json_parse(ptext, json_string_length(pjs), 0, NULL)) == NULL) {
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
    if (prtext != NULL &&
        (prin = keel__json_parse(prtext, json_string_length(prjs), 0, NULL)) != NULL)
        keel__ctx_set_principal_new(ctx, prin);
    /* the delivery's span is a child of the emitting call's (the row keeps
     * its traceparent and tracestate), so the handler and the calls it
     * makes, in this process or another, continue that trace and follow its
     * sampling decision; a row without one (emitted before the column
     * existed, or outside any call) starts a trace of its own */
    if (tptext != NULL && keel__ctx_set_traceparent(ctx, tptext) == 0)
        keel__ctx_set_tracestate(ctx, json_string_value(json_object_get(row, "tracestate")));
    keel__trace_begin(ctx, &span);
    rc = o->s->handler(ctx, &o->e);
    if (rc > 0)
        rc = KEEL_EINTERNAL;
    keel__trace_end(ctx, &span, o->sub->desc->name, o->e.topic, KEEL_SPAN_CONSUMER, rc);
    if (rc != 0)
        snprintf(o->msg, sizeof o->msg, "%s: %s", keel_errname(rc),
                 keel_ctx_errmsg(ctx) ? keel_ctx_errmsg(ctx) : keel_strerror(rc));
    keel__ctx_free(ctx);
    return rc;
}


void keel__ev_count(keel__events *ev, const char *sub, const keel__ev_counts *c)
{
    keel_module_ctx *mc = sub != NULL ? keel__rt_find(ev->rt, sub) : NULL;
    keel__ev_mstat *m;

    if (mc == NULL || ev->mstat == NULL)
        return;
    m = &ev->mstat[mc - ev->rt->mods];
    /* one writer per round, many rounds in parallel: adds, no lock */
    if (c->handled)
        atomic_fetch_add_explicit(&m->handled, c->handled, memory_order_relaxed);
    if (c->failed)
        atomic_fetch_add_explicit(&m->failed, c->failed, memory_order_relaxed);
    if (c->retried)
        atomic_fetch_add_explicit(&m->retried, c->retried, memory_order_relaxed);
    if (c->dead)
        atomic_fetch_add_explicit(&m->dead, c->dead, memory_order_relaxed);
}

/* A failed delivery, on st (the core's connection, or a subscriber's
 * transaction with queue access): rescheduled with backoff, or dead once
 * its attempts are spent. */
void keel__ev_fail(keel__ev_worker *w, keel__ev_box *box, keel__ev_one *o, keel_store *st,
                   keel__ev_counts *cnt)
{
    keel_event *e = &o->e;

    cnt->failed++;
    if (e->attempt >= e->max_attempts) {
        ev_dead_job j = { box, e->id, e->attempt, o->msg };
        int drc = keel_store_tx(st, ev_dead_tx, &j);
        if (drc != 0)
            keel_log(NULL, KEEL_LOG_ERROR, "events: %s#%lld: cannot dead-letter: %s "
                     "(the lease will expire and it is tried again)", e->emitter,
                     (long long)e->id, keel_store_errmsg(st));
        else
            keel_log(NULL, KEEL_LOG_WARN, "events: %s %s#%lld dead after %d attempts: %s",
                     e->topic ? e->topic : "?", e->emitter, (long long)e->id, e->attempt, o->msg);
        cnt->dead += drc == 0;
    } else {
        json_t *p = json_pack("[IsII]", (json_int_t)keel__wall_ms() + (json_int_t)ev_backoff(w, e->attempt),
                              o->msg, (json_int_t)e->id, (json_int_t)e->attempt);
        if (p == NULL || keel_store_exec(st, box->sql[KEEL__EV_RESCHEDULE], p, NULL) != 0)
            keel_log(NULL, KEEL_LOG_ERROR, "events: %s#%lld: cannot reschedule: %s",
                     e->emitter, (long long)e->id, keel_store_errmsg(st));
        json_decref(p);
        keel_log(NULL, KEEL_LOG_INFO, "events: %s %s#%lld attempt %d/%d failed: %s",
                 e->topic ? e->topic : "?", e->emitter, (long long)e->id, e->attempt,
                 e->max_attempts, o->msg);
        cnt->retried++;
    }
}

/* Runs one claimed row's handler.  1 = completed, 0 = failed (rescheduled or
 * dead-lettered here, on the core's connection). */
int keel__ev_deliver(keel__ev_worker *w, keel__ev_box *box, const json_t *row,
                     keel__ev_counts *cnt)
{
    keel__ev_one o;
    int rc = keel__ev_run(w, box, row, &o);

    if (rc != 0)
        keel__ev_fail(w, box, &o, w->ev->core, cnt);
    json_decref(o.payload);
    return rc == 0;
}

/* ---- a batch's inbox keys in one statement -------------------------------- */

static int ev_streq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

int keel__ev_inbox_batch(keel__events *ev, keel_store *tx, const char *sub,
                         json_t *const *rows, size_t n, char *fresh)
{
    keel__ev_box *box = keel__ev_box_find(ev, sub);
    json_t *keys = json_array(), *params = NULL, *got = NULL;
    char *text = NULL;
    size_t i, k;
    int rc = KEEL_ENOMEM;

    memset(fresh, 0, n);
    if (box == NULL || keys == NULL)
        goto out;
    for (i = 0; i < n; i++)
        if (json_array_append_new(keys, json_pack("[OO]", json_object_get(rows[i], "topic"),
                                                  json_object_get(rows[i], "ikey"))) != 0)
            goto out;
    if ((text = keel__json_dump(keys, JSON_COMPACT)) == NULL ||
        (params = json_pack("[sI]", text, (json_int_t)keel__wall_ms())) == NULL)
        goto out;
    if ((rc = keel_store_exec(tx, box->sql[KEEL__EV_INBOX_MANY], params, &got)) != 0)
        goto out;
    /* RETURNING has no order: match each new key to its row (n ≤ a batch) */
    for (k = 0; k < json_array_size(got); k++) {
        const json_t *g = json_array_get(got, k);
        const char *t = json_string_value(json_object_get(g, "topic"));
        const char *key = json_string_value(json_object_get(g, "ikey"));
        for (i = 0; t != NULL && key != NULL && i < n; i++)
            if (!fresh[i] && ev_streq(key, json_string_value(json_object_get(rows[i], "ikey"))) &&
                ev_streq(t, json_string_value(json_object_get(rows[i], "topic")))) {
                fresh[i] = 1;
                break;
            }
    }
out:
    json_decref(got);
    json_decref(params);
    json_decref(keys);
    free(text);
    return rc;
}

int keel__ev_inbox_undo(keel__events *ev, keel_store *tx, const char *sub, const json_t *row)
{
    keel__ev_box *box = keel__ev_box_find(ev, sub);
    json_t *p = box != NULL ? json_pack("[OO]", json_object_get(row, "topic"),
                                        json_object_get(row, "ikey")) : NULL;
    int rc = p != NULL ? keel_store_exec(tx, box->sql[KEEL__EV_INBOX_DEL], p, NULL) : KEEL_ENOMEM;

    json_decref(p);
    return rc;
}
