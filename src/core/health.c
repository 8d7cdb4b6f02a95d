/*
 * health.c — readiness: the modules' health hooks, and the thread that runs
 * them off the event loops (docs/observability.md "Health").
 *
 * A hook asks a module's database whether it answers; on PostgreSQL that is
 * a round trip, and a database that hangs (a partition, a stuck lock) holds
 * the hook up to the statement timeout.  /readyz is answered on an event
 * loop, which must never wait.  So while `keel serve` runs, one checker
 * thread calls every hook each health_interval_ms and keeps what it found;
 * /readyz reads that snapshot and answers at once.  A hook still running
 * after health_timeout_ms is reported as `timeout` (the module is not
 * ready: a check that does not come back is a database that does not
 * answer), with how long it has been stuck.  Until a module's first check
 * completes (a millisecond or so after the listeners open) it is
 * `unavailable` with detail {"check":"starting"}.  Without the thread (one-shot
 * CLI commands, unit tests, health_interval_ms=0) keel__rt_ready runs the
 * hooks inline, as before.
 *
 * Locking: one mutex guards the snapshot (rc, detail, when) of every module
 * and the running mark; a hook runs without it.  The detail is a JSON value
 * owned by the snapshot and deep-copied out under the mutex, so /readyz
 * never shares a jansson value with the checker (jansson's refcounts are
 * not atomic).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ctx-internal.h"
#include "core/heap-internal.h"
#include "core/store-internal.h"
#include "core/thread-internal.h"

typedef struct health_snap {
    int     rc;          /* the last completed check's result */
    json_t *detail;      /* its detail (owned), NULL = none */
    int     done;        /* a check has completed */
} health_snap;

struct keel__health {
    keel_runtime   *rt;
    pthread_t       tid;
    pthread_mutex_t mu;
    pthread_cond_t  cv;
    int             stop;
    int             launched;      /* the thread runs (keel__health_launch) */
    int64_t         interval_ms, timeout_ms;
    long long       heap_slack;    /* bytes; 0 = no heap trim (heap.c) */
    health_snap    *snap;          /* rt->n, by module index */
    size_t          running;       /* the module whose hook runs now, or rt->n */
    int64_t         running_since; /* keel__now_ms() when it began */
    uint64_t        rounds;        /* completed passes over every module */
};

/* One module's hook with a non-waiting borrow: a borrow that finds every
 * connection taken by handlers fails at once instead of waiting for one,
 * and the module answers what its last check that reached the database
 * found -- a pool busy with handlers is a database that answers. */
static int check_one(keel_module_ctx *mc, json_t **detail)
{
    int was, rc;

    *detail = NULL;
    if (!mc->started)
        return KEEL_EUNAVAIL;
    if (mc->desc->health == NULL)
        return 0;
    was = keel__store_nowait(1);
    rc = mc->desc->health(mc, detail);
    if (keel__store_nowait_refused()) {
        rc = atomic_load_explicit(&mc->health_rc, memory_order_relaxed);
        json_decref(*detail);
        *detail = json_pack("{s:s, s:s}", "pool", "busy", "last",
                            rc == 0 ? "ok" : keel_errname(rc));
    } else {
        atomic_store_explicit(&mc->health_rc, rc, memory_order_relaxed);
    }
    keel__store_nowait(was);
    return rc;
}

static void check_round(keel__health *h)
{
    keel_runtime *rt = h->rt;
    size_t i;

    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        json_t *detail = NULL;
        int rc;
        if (mc->place != KEEL_PLACE_LOCAL)
            continue;
        pthread_mutex_lock(&h->mu);
        if (h->stop) {
            pthread_mutex_unlock(&h->mu);
            return;
        }
        h->running = i;
        h->running_since = keel__now_ms();
        pthread_mutex_unlock(&h->mu);
        rc = check_one(mc, &detail);
        pthread_mutex_lock(&h->mu);
        h->running = rt->n;
        json_decref(h->snap[i].detail);
        h->snap[i].rc = rc;
        h->snap[i].detail = detail;
        h->snap[i].done = 1;
        pthread_mutex_unlock(&h->mu);
    }
    pthread_mutex_lock(&h->mu);
    h->rounds++;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
}

static void *checker_main(void *arg)
{
    keel__health *h = arg;
    struct timespec ts;

    for (;;) {
        check_round(h);
        /* the thread that wakes once a round anyway also tends the heap */
        (void)keel__heap_tend(h->heap_slack);
        pthread_mutex_lock(&h->mu);
        keel__realtime_after_ms(&ts, h->interval_ms);
        while (!h->stop && pthread_cond_timedwait(&h->cv, &h->mu, &ts) != ETIMEDOUT)
            ;
        if (h->stop) {
            pthread_mutex_unlock(&h->mu);
            return NULL;
        }
        pthread_mutex_unlock(&h->mu);
    }
}

static void health_free(keel__health *h, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        json_decref(h->snap[i].detail);
    free(h->snap);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

int keel__health_init(keel_runtime *rt, char *err, size_t errlen)
{
    keel__health *h;
    int64_t interval = keel__config_int(rt->cfg, NULL, "health_interval_ms");

    if (rt->health != NULL || interval <= 0)
        return 0;  /* already set up, or the operator chose inline checks */
    if ((h = calloc(1, sizeof *h)) == NULL || (h->snap = calloc(rt->n ? rt->n : 1, sizeof *h->snap)) == NULL) {
        free(h);
        snprintf(err, errlen, "health checker: out of memory");
        return KEEL_ENOMEM;
    }
    h->rt = rt;
    h->interval_ms = interval;
    h->timeout_ms = keel__config_int(rt->cfg, NULL, "health_timeout_ms");
    h->heap_slack = (long long)keel__config_int(rt->cfg, NULL, "heap_slack_mb") << 20;
    h->running = rt->n;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    rt->health = h;   /* every module reads "starting" until its first check */
    return 0;
}

int keel__health_launch(keel_runtime *rt, char *err, size_t errlen)
{
    keel__health *h = rt->health;
    int rc;

    if (h == NULL || h->launched)
        return 0;
    /* the first pass runs on the thread, while the loops already answer:
     * the connections the hooks open stay off the path from exec to the
     * first answer */
    if ((rc = pthread_create(&h->tid, NULL, checker_main, h)) != 0) {
        /* the snapshot stays (every module "starting"): the loops may be
         * reading it; keel__health_stop frees it once they are done */
        snprintf(err, errlen, "health checker thread: %s", strerror(rc));
        return KEEL_ENOMEM;
    }
    h->launched = 1;
    return 0;
}

int keel__health_start(keel_runtime *rt, char *err, size_t errlen)
{
    int rc = keel__health_init(rt, err, errlen);

    return rc != 0 ? rc : keel__health_launch(rt, err, errlen);
}

void keel__health_stop(keel_runtime *rt)
{
    keel__health *h = rt->health;

    if (h == NULL)
        return;
    if (h->launched) {
        pthread_mutex_lock(&h->mu);
        h->stop = 1;
        pthread_cond_broadcast(&h->cv);
        pthread_mutex_unlock(&h->mu);
        /* a hook in a stuck round is bounded by the statement timeout: the
         * modules' stores (and so the hook's connection) outlive this join */
        pthread_join(h->tid, NULL);
    }
    rt->health = NULL;
    health_free(h, rt->n);
}

uint64_t keel__health_rounds(keel_runtime *rt, int64_t wait_ms)
{
    keel__health *h = rt->health;
    struct timespec ts;
    uint64_t n;

    if (h == NULL)
        return 0;
    pthread_mutex_lock(&h->mu);
    n = h->rounds;
    if (wait_ms > 0) {
        keel__realtime_after_ms(&ts, wait_ms);
        while (h->rounds == n && pthread_cond_timedwait(&h->cv, &h->mu, &ts) != ETIMEDOUT)
            ;
        n = h->rounds;
    }
    pthread_mutex_unlock(&h->mu);
    return n;
}

/* What /readyz says for module i: the checker's snapshot, or a hook run
 * inline when no checker runs. */
static int module_status(keel_runtime *rt, size_t i, json_t **detail, int *starting)
{
    keel__health *h = rt->health;
    int rc;

    if (h == NULL)
        return check_one(&rt->mods[i], detail);
    pthread_mutex_lock(&h->mu);
    if (h->running == i && keel__now_ms() - h->running_since > h->timeout_ms) {
        int64_t stuck = keel__now_ms() - h->running_since;
        rc = KEEL_ETIMEDOUT;
        *detail = json_pack("{s:s, s:I, s:s}", "check", "stuck", "ms", (json_int_t)stuck,
                            "last", !h->snap[i].done || h->snap[i].rc == 0 ? "ok"
                            : keel_errname(h->snap[i].rc));
    } else if (!h->snap[i].done) {
        *starting = 1;
        rc = KEEL_EUNAVAIL;
        *detail = json_pack("{s:s}", "check", "starting");
    } else {
        rc = h->snap[i].rc;
        *detail = h->snap[i].detail ? json_deep_copy(h->snap[i].detail) : NULL;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

json_t *keel__rt_ready(keel_runtime *rt, keel_ctx *ctx, int *ok)
{
    json_t *mods = json_object(), *degraded = json_array(), *doc;
    size_t i;
    int starting = 0;
    *ok = 1;
    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        json_t *detail = NULL, *o;
        int rc;
        if (mc->place == KEEL_PLACE_NONE)
            continue;
        if (mc->place == KEEL_PLACE_REMOTE) {
            json_t *st = (rt->remote && rt->remote->status) ? rt->remote->status(rt->remote_self, mc) : NULL;
            o = json_pack("{s:s, s:s, s:o?}", "status", "remote", "url", mc->remote_url, "remote", st);
            json_object_set_new(mods, mc->desc->name, o);
            continue;
        }
        rc = module_status(rt, i, &detail, &starting);
        if (rc != 0 && mc->degraded)
            json_array_append_new(degraded, json_string(mc->desc->name));
        else if (rc != 0)
            *ok = 0;
        o = json_pack("{s:s, s:s}", "status", rc == 0 ? "ok" : keel_errname(rc),
                      "priority", mc->degraded ? "degraded" : "critical");
        if (o != NULL && detail != NULL)
            json_object_set_new(o, "detail", detail);
        else
            json_decref(detail);
        json_object_set_new(mods, mc->desc->name, o);
    }
    (void)ctx;
    doc = json_pack("{s:s, s:o, s:o}", "status", !*ok ? "unavailable"
                    : json_array_size(degraded) > 0 ? "degraded" : "ok",
                    "modules", mods, "degraded", degraded);
    if (doc != NULL && starting)
        json_object_set_new(doc, "starting", json_true());
    return doc;
}
