/*
 * events_admin.c — what operators see of the queues: keel jobs
 * list|show|retry|purge (served by the jobs module) and the per-module
 * statistics in /v1/modules.  Everything runs on the core's connection.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"

static const char DL_LIST[] =
    "SELECT id, module, src_id, topic, subscriber, ikey, okey, attempts, max_attempts,"
    " last_error, created_at, failed_at FROM keel_dead_letters"
    " WHERE ($1 = '' OR module = $1) AND ($2 = '' OR topic = $2) ORDER BY id LIMIT $3";
static const char DL_SHOW[] =
    "SELECT id, module, src_id, topic, subscriber, ikey, okey, payload, principal, attempts,"
    " max_attempts, last_error, created_at, failed_at FROM keel_dead_letters WHERE id = $1";
static const char DL_MODULES[] =
    "SELECT DISTINCT module FROM keel_dead_letters WHERE ($1 = 0 OR id = $1)";
static const char DL_DELETE[] =
    "DELETE FROM keel_dead_letters WHERE module = $1 AND ($2 = 0 OR id = $2) RETURNING id";
static const char DL_COUNT[] =
    "SELECT count(*) AS n FROM keel_dead_letters WHERE module = $1";

static int adm_events(keel_ctx *ctx, keel__events **ev)
{
    *ev = keel__events_of(ctx != NULL ? ctx->rt : NULL);
    if (*ev == NULL || (*ev)->core == NULL)
        return ctx != NULL ? keel_ctx_error(ctx, KEEL_EUNAVAIL, "jobs: no module emits or "
                                            "subscribes in this build") : KEEL_EINVAL;
    return 0;
}

static const char *adm_str(const json_t *filter, const char *key)
{
    const char *s = json_string_value(json_object_get(filter, key));
    return s != NULL ? s : "";
}

int keel_jobs_list(keel_ctx *ctx, const json_t *filter, json_t **out)
{
    keel__events *ev;
    json_t *queued = NULL, *dead = NULL, *p = NULL, *rows = NULL;
    const char *state = adm_str(filter, "state"), *module = adm_str(filter, "module");
    const char *topic = adm_str(filter, "topic");
    json_int_t limit = json_integer_value(json_object_get(filter, "limit"));
    size_t i;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (out == NULL)
        return KEEL_EINVAL;
    if ((rc = adm_events(ctx, &ev)) != 0)
        return rc;
    if (limit <= 0 || limit > 1000)
        limit = 100;
    if (state[0] == '\0')
        state = "all";
    rc = KEEL_ENOMEM;
    if ((queued = json_array()) == NULL || (dead = json_array()) == NULL)
        goto out;
    if (strcmp(state, "all") == 0 || strcmp(state, "queued") == 0) {
        for (i = 0; i < ev->nboxes; i++) {
            keel__ev_box *b = &ev->boxes[i];
            size_t k;
            json_t *r;
            if (module[0] != '\0' && strcmp(module, b->mc->desc->name) != 0)
                continue;
            p = json_pack("[sI]", topic, limit);
            if (p == NULL)
                goto out;
            if ((rc = keel_store_exec(ev->core, b->sql[KEEL__EV_LIST], p, &rows)) != 0)
                goto fail;
            json_array_foreach(rows, k, r) {
                json_object_set_new(r, "module", json_string(b->mc->desc->name));
                json_array_append(queued, r);
            }
            json_decref(rows);
            json_decref(p);
            rows = p = NULL;
            rc = KEEL_ENOMEM;
        }
    }
    if (strcmp(state, "all") == 0 || strcmp(state, "dead") == 0) {
        if ((p = json_pack("[ssI]", module, topic, limit)) == NULL)
            goto out;
        if ((rc = keel_store_exec(ev->core, DL_LIST, p, &rows)) != 0)
            goto fail;
        json_array_extend(dead, rows);
    }
    if ((*out = json_pack("{sOsO}", "queued", queued, "dead", dead)) == NULL)
        goto out;
    rc = 0;
    goto out;
fail:
    keel_ctx_error(ctx, rc, "jobs: %s", keel_store_errmsg(ev->core));
out:
    json_decref(queued);
    json_decref(dead);
    json_decref(rows);
    json_decref(p);
    return rc;
}

int keel_jobs_show(keel_ctx *ctx, const char *state, const char *module, int64_t id, json_t **out)
{
    keel__events *ev;
    keel__ev_box *b = NULL;
    json_t *p = NULL;
    int dead = state != NULL && strcmp(state, "dead") == 0, rc;

    if (out != NULL)
        *out = NULL;
    if (out == NULL)
        return KEEL_EINVAL;
    if ((rc = adm_events(ctx, &ev)) != 0)
        return rc;
    if (!dead && (b = keel__ev_box_find(ev, module)) == NULL)
        return keel_ctx_error(ctx, KEEL_ENOTFOUND, "jobs: module '%s' has no outbox "
                              "(give --state dead for a dead letter)", module ? module : "");
    if ((p = json_pack("[I]", (json_int_t)id)) == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(ev->core, dead ? DL_SHOW : b->sql[KEEL__EV_SHOW], p, out);
    json_decref(p);
    if (rc == KEEL_ENOTFOUND)
        return keel_ctx_error(ctx, rc, "jobs: no %s entry %lld", dead ? "dead" : "queued",
                              (long long)id);
    if (rc != 0)
        return keel_ctx_error(ctx, rc, "jobs: %s", keel_store_errmsg(ev->core));
    json_object_set_new(*out, "state", json_string(dead ? "dead" : "queued"));
    if (!dead)
        json_object_set_new(*out, "module", json_string(b->mc->desc->name));
    return 0;
}

typedef struct adm_job {
    keel__events *ev;
    int64_t       id;
    int           retry;   /* 1 = back to the outbox, 0 = purge */
    json_int_t    n;
} adm_job;

static int adm_move_tx(keel_store *tx, void *arg)
{
    adm_job *j = arg;
    json_t *p, *mods = NULL, *m, *rows = NULL;
    size_t i;
    int rc;

    if ((p = json_pack("[I]", (json_int_t)j->id)) == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(tx, DL_MODULES, p, &mods);
    json_decref(p);
    if (rc != 0)
        return rc;
    json_array_foreach(mods, i, m) {
        const char *mod = json_string_value(json_object_get(m, "module"));
        keel__ev_box *b = keel__ev_box_find(j->ev, mod);
        if (j->retry) {
            if (b == NULL) {
                rc = KEEL_ENOTFOUND;   /* the module left this build: keep its letters */
                break;
            }
            p = json_pack("[II]", (json_int_t)keel__wall_ms(), (json_int_t)j->id);
            if (p == NULL || (rc = keel_store_exec(tx, b->sql[KEEL__EV_UNDEAD], p, NULL)) != 0) {
                json_decref(p);
                rc = rc != 0 ? rc : KEEL_ENOMEM;
                break;
            }
            json_decref(p);
        }
        p = json_pack("[sI]", mod, (json_int_t)j->id);
        if (p == NULL || (rc = keel_store_exec(tx, DL_DELETE, p, &rows)) != 0) {
            json_decref(p);
            rc = rc != 0 ? rc : KEEL_ENOMEM;
            break;
        }
        json_decref(p);
        j->n += (json_int_t)json_array_size(rows);
        json_decref(rows);
        rows = NULL;
    }
    json_decref(mods);
    return rc;
}

static int adm_move(keel_ctx *ctx, int64_t id, int retry, json_t **out)
{
    keel__events *ev;
    adm_job j;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || id < 0)
        return ctx != NULL ? keel_ctx_error(ctx, KEEL_EINVAL, "jobs: id must be >= 0") : KEEL_EINVAL;
    if ((rc = adm_events(ctx, &ev)) != 0)
        return rc;
    memset(&j, 0, sizeof j);
    j.ev = ev;
    j.id = id;
    j.retry = retry;
    rc = keel_store_tx(ev->core, adm_move_tx, &j);
    if (rc != 0)
        return keel_ctx_error(ctx, rc, "jobs: %s", keel_store_errmsg(ev->core)[0]
                              ? keel_store_errmsg(ev->core) : keel_strerror(rc));
    if (id != 0 && j.n == 0)
        return keel_ctx_error(ctx, KEEL_ENOTFOUND, "jobs: no dead letter %lld", (long long)id);
    if (retry && j.n > 0)
        keel__events_wake(ev);
    *out = json_pack("{sI}", retry ? "retried" : "purged", j.n);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

int keel_jobs_retry(keel_ctx *ctx, int64_t id, json_t **out)
{
    return adm_move(ctx, id, 1, out);
}

int keel_jobs_purge(keel_ctx *ctx, int64_t id, json_t **out)
{
    return adm_move(ctx, id, 0, out);
}

json_t *keel__events_module_stats(keel_runtime *rt, const char *module)
{
    keel__events *ev = keel__events_of(rt);
    keel__ev_box *b = keel__ev_box_find(ev, module);
    json_t *row = NULL, *dead = NULL, *p = NULL, *res = NULL;
    json_int_t oldest;

    if (b == NULL || ev->core == NULL)
        return NULL;
    if (keel_store_one(ev->core, b->sql[KEEL__EV_STATS], NULL, &row) != 0)
        goto out;
    if ((p = json_pack("[s]", module)) == NULL || keel_store_one(ev->core, DL_COUNT, p, &dead) != 0)
        goto out;
    oldest = json_integer_value(json_object_get(row, "oldest"));
    res = json_pack("{sOsIsOsO}", "queued", json_object_get(row, "queued"),
                    "oldest_age_ms", oldest > 0 ? (json_int_t)keel__wall_ms() - oldest : 0,
                    "retrying", json_object_get(row, "retrying"),
                    "dead", json_object_get(dead, "n"));
out:
    json_decref(row);
    json_decref(dead);
    json_decref(p);
    return res;
}

json_t *keel__events_counters(keel_runtime *rt, const char *module)
{
    keel__events *ev = keel__events_of(rt);
    uint64_t v[4] = {0};
    size_t i;

    if (ev == NULL || ev->mstat == NULL)
        return NULL;
    for (i = 0; i < rt->n; i++) {
        const keel__ev_mstat *m = &ev->mstat[i];
        if (module != NULL && strcmp(rt->mods[i].desc->name, module) != 0)
            continue;
        v[0] += atomic_load_explicit(&m->handled, memory_order_relaxed);
        v[1] += atomic_load_explicit(&m->failed, memory_order_relaxed);
        v[2] += atomic_load_explicit(&m->retried, memory_order_relaxed);
        v[3] += atomic_load_explicit(&m->dead, memory_order_relaxed);
        if (module != NULL)
            break;
    }
    if (module != NULL && i == rt->n)
        return NULL;
    return json_pack("{sIsIsIsI}", "handled", (json_int_t)v[0], "failed", (json_int_t)v[1],
                     "retried", (json_int_t)v[2], "dead_lettered", (json_int_t)v[3]);
}

void keel__ev_refresh_gauges(keel__events *ev, int force)
{
    int64_t now = keel__wall_ms(), next = atomic_load_explicit(&ev->gauges_next_ms,
                                                               memory_order_relaxed);
    size_t i;

    /* one thread reads, the others go on delivering */
    if (!force && (now < next ||
                   !atomic_compare_exchange_strong(&ev->gauges_next_ms, &next,
                                                   now + KEEL__EV_GAUGE_MS)))
        return;
    for (i = 0; i < ev->nboxes; i++) {
        keel__ev_box *b = &ev->boxes[i];
        json_t *st = keel__events_module_stats(ev->rt, b->mc->desc->name);
        json_int_t age;
        if (st == NULL)
            continue;   /* the database did not answer: the last values stay */
        age = json_integer_value(json_object_get(st, "oldest_age_ms"));
        atomic_store_explicit(&b->g_queued, json_integer_value(json_object_get(st, "queued")),
                              memory_order_relaxed);
        atomic_store_explicit(&b->g_oldest_ms, age > 0 ? keel__wall_ms() - age : 0,
                              memory_order_relaxed);
        atomic_store_explicit(&b->g_retrying, json_integer_value(json_object_get(st, "retrying")),
                              memory_order_relaxed);
        atomic_store_explicit(&b->g_dead, json_integer_value(json_object_get(st, "dead")),
                              memory_order_relaxed);
        atomic_store_explicit(&b->g_at_ms, keel__wall_ms(), memory_order_release);
        json_decref(st);
    }
}

long keel__ev_prune_inboxes(keel__events *ev, int force)
{
    int64_t now = keel__wall_ms(), next = atomic_load_explicit(&ev->prune_next_ms,
                                                               memory_order_relaxed);
    long gone = 0;
    size_t i;

    if (ev->inbox_retention_ms <= 0)
        return 0;
    /* one thread prunes, the others go on delivering */
    if (!force && (now < next ||
                   !atomic_compare_exchange_strong(&ev->prune_next_ms, &next,
                                                   now + KEEL__EV_PRUNE_MS)))
        return 0;
    for (i = 0; i < ev->nboxes; i++) {
        keel__ev_box *b = &ev->boxes[i];
        json_t *p = json_pack("[Ii]", (json_int_t)(now - ev->inbox_retention_ms),
                              KEEL__EV_PRUNE_BATCH);
        size_t got;
        int k = 0;
        if (p == NULL)
            return gone;
        /* a batch per statement, each its own transaction: producers and
         * deliveries get the write lock between batches; at most
         * KEEL__EV_PRUNE_PASS batches a pass, so a stop never waits for a
         * long backlog (the next pass goes on) */
        do {
            json_t *rows = NULL;
            int rc = keel_store_exec(ev->core, b->sql[KEEL__EV_INBOX_PRUNE], p, &rows);
            got = rc == 0 ? json_array_size(rows) : 0;
            json_decref(rows);
            if (rc != 0 && rc != KEEL_EUNAVAIL)
                keel_log(NULL, KEEL_LOG_WARN, "events: pruning %s_inbox: %s (tried again "
                         "later)", b->mc->desc->name, keel_store_errmsg(ev->core));
            gone += (long)got;
        } while (got == KEEL__EV_PRUNE_BATCH && (force || ++k < KEEL__EV_PRUNE_PASS));
        json_decref(p);
    }
    return gone;
}

/* One counter family, a sample per subscribing module. */
static void ev_family(keel_metrics_buf *b, keel_runtime *rt, const keel__events *ev,
                      const char *name, const char *help, int which)
{
    size_t i;

    keel__mbuf_family(b, name, "counter", help);
    for (i = 0; i < rt->n; i++) {
        const keel_module *m = rt->mods[i].desc;
        const keel__ev_mstat *ms = &ev->mstat[i];
        const _Atomic uint64_t *f = which == 0 ? &ms->handled : which == 1 ? &ms->failed
                                  : which == 2 ? &ms->retried : &ms->dead;
        if (m->subs == NULL || m->subs[0].topic == NULL || rt->mods[i].place != KEEL_PLACE_LOCAL)
            continue;
        keel__mbuf_printf(b, "%s{module=\"", name);
        keel__mbuf_label(b, m->name);
        keel__mbuf_printf(b, "\"} %llu\n",
                          (unsigned long long)atomic_load_explicit(f, memory_order_relaxed));
    }
}

/* One gauge family, a sample per outbox the dispatcher has read. */
static void ev_gauge(keel_metrics_buf *b, const keel__events *ev, const char *name,
                     const char *help, int which)
{
    int64_t now = keel__wall_ms();
    size_t i;

    keel__mbuf_family(b, name, "gauge", help);
    for (i = 0; i < ev->nboxes; i++) {
        const keel__ev_box *x = &ev->boxes[i];
        int64_t v, oldest;
        if (atomic_load_explicit(&x->g_at_ms, memory_order_acquire) == 0)
            continue;
        keel__mbuf_printf(b, "%s{module=\"", name);
        keel__mbuf_label(b, x->mc->desc->name);
        switch (which) {
        case 0:
            keel__mbuf_printf(b, "\"} %lld\n", (long long)atomic_load_explicit(
                                  &x->g_queued, memory_order_relaxed));
            break;
        case 1:   /* aged at scrape time from the row's creation, not the read */
            oldest = atomic_load_explicit(&x->g_oldest_ms, memory_order_relaxed);
            v = oldest > 0 && now > oldest ? now - oldest : 0;
            keel__mbuf_printf(b, "\"} %lld.%03lld\n", (long long)(v / 1000), (long long)(v % 1000));
            break;
        case 2:
            keel__mbuf_printf(b, "\"} %lld\n", (long long)atomic_load_explicit(
                                  &x->g_retrying, memory_order_relaxed));
            break;
        default:
            keel__mbuf_printf(b, "\"} %lld\n", (long long)atomic_load_explicit(
                                  &x->g_dead, memory_order_relaxed));
            break;
        }
    }
}

void keel__events_metrics(keel_runtime *rt, keel_metrics_buf *b)
{
    keel__events *ev = keel__events_of(rt);

    if (ev == NULL || ev->mstat == NULL || ev->core == NULL)
        return;
    ev_family(b, rt, ev, "keel_events_handled_total",
              "Event and job deliveries completed, by subscribing module.",
              0);
    ev_family(b, rt, ev, "keel_events_failed_total",
              "Handler attempts that failed (each is retried or dead-lettered), by subscribing module.",
              1);
    ev_family(b, rt, ev, "keel_events_retried_total",
              "Failed attempts rescheduled with backoff, by subscribing module.",
              2);
    ev_family(b, rt, ev, "keel_events_dead_lettered_total",
              "Deliveries moved to keel_dead_letters after their last attempt, by subscribing module.",
              3);
    ev_gauge(b, ev, "keel_events_queue_depth",
             "Rows in the module's outbox (due, leased or backing off), as the dispatcher last read it.", 0);
    ev_gauge(b, ev, "keel_events_oldest_age_seconds",
             "Age of the oldest row in the module's outbox (0 when empty).", 1);
    ev_gauge(b, ev, "keel_events_retrying",
             "Rows in the module's outbox that failed at least once and wait for another attempt.", 2);
    ev_gauge(b, ev, "keel_events_dead_letters",
             "Dead letters of the module's outbox waiting for keel jobs retry or purge.", 3);
}
