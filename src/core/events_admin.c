/*
 * events_admin.c — what operators see of the queues: keel jobs
 * list|show|retry|purge (served by the jobs module) and the per-module
 * statistics in /v1/modules.  Everything runs on the core's connection.
 */
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

json_t *keel__events_counters(keel_runtime *rt)
{
    keel__events *ev = keel__events_of(rt);
    json_t *res;

    if (ev == NULL)
        return NULL;
    pthread_mutex_lock(&ev->mu);
    res = json_pack("{sIsIsIsI}", "handled", (json_int_t)ev->handled, "failed",
                    (json_int_t)ev->failed, "retried", (json_int_t)ev->retried,
                    "dead_lettered", (json_int_t)ev->dead);
    pthread_mutex_unlock(&ev->mu);
    return res;
}
