/*
 * events.c — setting the event machinery up: descriptor checks, tables,
 * statements, and the helpers the other events_*.c share.  The calls a
 * module makes (keel_emit, keel_jobs_enqueue, keel_event_tx) are
 * events_emit.c; the dispatcher is events_dispatch.c; keel jobs and the
 * statistics are events_admin.c.  Layout of the tables: events-internal.h.
 *
 * The statements below are SQLite's; PostgreSQL's (the claim with FOR
 * UPDATE SKIP LOCKED, tables in the module's schema, completion by
 * ANY($1::bigint[])) are events_pg.c.  The migrations are shared: the
 * store's dialect rewrite makes them PostgreSQL's.  Any other backend is
 * refused with a message saying so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"
#include "core/store-internal.h"


/* '@' in a template stands for the module name (validated [a-z][a-z0-9_]*). */
static const char *const ev_templates[KEEL__EV_NSTMT] = {
    [KEEL__EV_INSERT] =
        "INSERT INTO @_outbox (topic, subscriber, ikey, okey, payload, principal, attempts,"
        " max_attempts, run_at, created_at, traceparent, tracestate)"
        " VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11)"
        " ON CONFLICT DO NOTHING",
    [KEEL__EV_INBOX] =
        "INSERT INTO @_inbox (topic, ikey, applied_at) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING 1 AS fresh",
    [KEEL__EV_CLAIM] =
        "UPDATE @_outbox SET attempts = attempts + 1, run_at = $1 WHERE id IN ("
        " SELECT o.id FROM @_outbox o WHERE o.subscriber = $3 AND o.run_at <= $2"
        " AND (o.okey IS NULL OR NOT EXISTS (SELECT 1 FROM @_outbox p"
        "  WHERE p.subscriber = o.subscriber AND p.okey = o.okey AND p.id < o.id))"
        " ORDER BY o.run_at, o.id LIMIT $4)"
        " RETURNING id, topic, subscriber, ikey, okey, payload, principal, attempts,"
        " max_attempts, created_at, traceparent, tracestate",
    [KEEL__EV_COMPLETE] =
        "DELETE FROM @_outbox WHERE id IN (SELECT value FROM json_each($1))",
    [KEEL__EV_RESCHEDULE] =
        "UPDATE @_outbox SET run_at = $1, last_error = $2 WHERE id = $3 AND attempts = $4",
    [KEEL__EV_DEAD] =
        "INSERT INTO keel_dead_letters (module, src_id, topic, subscriber, ikey, okey, payload,"
        " principal, attempts, max_attempts, last_error, created_at, failed_at)"
        " SELECT '@', id, topic, subscriber, ikey, okey, payload, principal, attempts,"
        " max_attempts, $1, created_at, $2 FROM @_outbox WHERE id = $3 AND attempts = $4",
    [KEEL__EV_DEAD_DEL] =
        "DELETE FROM @_outbox WHERE id = $1 AND attempts = $2",
    [KEEL__EV_LIST] =
        "SELECT id, topic, subscriber, ikey, okey, attempts, max_attempts, run_at, created_at,"
        " last_error FROM @_outbox WHERE ($1 = '' OR topic = $1) ORDER BY id LIMIT $2",
    [KEEL__EV_SHOW] =
        "SELECT id, topic, subscriber, ikey, okey, payload, principal, attempts, max_attempts,"
        " run_at, created_at, last_error, traceparent FROM @_outbox WHERE id = $1",
    [KEEL__EV_STATS] =
        "SELECT count(*) AS queued, min(created_at) AS oldest,"
        " coalesce(sum(last_error IS NOT NULL), 0) AS retrying FROM @_outbox",
    [KEEL__EV_UNDEAD] =
        "INSERT INTO @_outbox (topic, subscriber, ikey, okey, payload, principal, attempts,"
        " max_attempts, run_at, created_at) SELECT topic, subscriber, ikey, okey, payload,"
        " principal, 0, max_attempts, $1, created_at FROM keel_dead_letters"
        " WHERE module = '@' AND ($2 = 0 OR id = $2) ORDER BY id ON CONFLICT DO NOTHING",
    /* The claim of a round run in one transaction (events_dispatch.c): that
     * transaction began IMMEDIATE, so it holds the file's write lock and no
     * other connection can take these rows before it commits; the lease
     * (UPDATE of run_at and attempts) would be rolled back with everything
     * else on a crash anyway.  Reading instead of updating spares the WAL a
     * rewrite of every claimed 1 KiB row and its (subscriber, run_at) index
     * entries, and the statement journal the UPDATE spilled to a temp file. */
    [KEEL__EV_PICK] =
        "SELECT id, topic, subscriber, ikey, okey, payload, principal, attempts + 1 AS attempts,"
        " max_attempts, created_at, traceparent, tracestate FROM @_outbox o"
        " WHERE o.subscriber = $2 AND o.run_at <= $1"
        " AND (o.okey IS NULL OR NOT EXISTS (SELECT 1 FROM @_outbox p"
        "  WHERE p.subscriber = o.subscriber AND p.okey = o.okey AND p.id < o.id))"
        " ORDER BY o.run_at, o.id LIMIT $3",
    /* a picked row whose handler failed: its attempt is counted before it
     * is rescheduled or dead-lettered (both match on the new count) */
    [KEEL__EV_BUMP] =
        "UPDATE @_outbox SET attempts = attempts + 1 WHERE id = $1 AND attempts = $2 - 1",
    /* $1: [[topic, ikey], …] of a batch; the keys that were new come back
     * ("WHERE true": SQLite's parser needs it before ON CONFLICT) */
    [KEEL__EV_INBOX_MANY] =
        "INSERT INTO @_inbox (topic, ikey, applied_at) SELECT json_extract(value, '$[0]'),"
        " json_extract(value, '$[1]'), $2"
        " FROM json_each($1) WHERE true ON CONFLICT DO NOTHING RETURNING topic, ikey",
    [KEEL__EV_INBOX_DEL] =
        "DELETE FROM @_inbox WHERE topic = $1 AND ikey = $2",
    /* keys are inserted in the order they are applied, so the oldest are
     * the first $2 rowids: no index on applied_at (one more B-tree insert
     * per delivery, ~5 % of a delivery's CPU measured).  Each key is still
     * deleted only if its own applied_at is old; a clock stepped back only
     * keeps keys longer. */
    [KEEL__EV_INBOX_PRUNE] =
        "DELETE FROM @_inbox WHERE rowid IN (SELECT r FROM (SELECT rowid AS r, applied_at"
        " FROM @_inbox ORDER BY rowid LIMIT $2) WHERE applied_at < $1) RETURNING 1 AS gone",
};

static const keel_migration ev_core_migs[] = {
    {1, "0001_dead_letters",
     "CREATE TABLE keel_dead_letters ("
     " id INTEGER PRIMARY KEY AUTOINCREMENT, module TEXT NOT NULL, src_id INTEGER NOT NULL,"
     " topic TEXT NOT NULL, subscriber TEXT NOT NULL, ikey TEXT NOT NULL, okey TEXT,"
     " payload TEXT NOT NULL, principal TEXT, attempts INTEGER NOT NULL,"
     " max_attempts INTEGER NOT NULL, last_error TEXT, created_at INTEGER NOT NULL,"
     " failed_at INTEGER NOT NULL);"
     "CREATE INDEX keel_dead_letters_module ON keel_dead_letters (module, id);"},
    {0}
};

static const char ev_box_mig[] =
    "CREATE TABLE @_outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, subscriber TEXT NOT NULL,"
    " ikey TEXT NOT NULL, okey TEXT, payload TEXT NOT NULL, principal TEXT,"
    " attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, run_at INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, last_error TEXT, UNIQUE (subscriber, topic, ikey));"
    "CREATE INDEX @_outbox_due ON @_outbox (run_at);"
    "CREATE INDEX @_outbox_order ON @_outbox (subscriber, okey, id) WHERE okey IS NOT NULL;"
    "CREATE TABLE @_inbox ("
    " topic TEXT NOT NULL, ikey TEXT NOT NULL, applied_at INTEGER NOT NULL,"
    " PRIMARY KEY (topic, ikey));";

/* The claim walks (subscriber, run_at) in index order and stops after a
 * batch of due rows; on (run_at) alone SQLite searched the subscriber's
 * whole outbox and sorted it for every claim (a claim cost O(queue)). */
static const char ev_box_mig2[] =
    "CREATE INDEX @_outbox_claim ON @_outbox (subscriber, run_at);"
    "DROP INDEX @_outbox_due;";

/* The emitting call's W3C trace context, so a delivery's span is that
 * call's child and the handler's own calls continue its trace (and an
 * unsampled call's delivery stays unsampled).  Rows written before this
 * migration have none: their deliveries start traces of their own. */
static const char ev_box_mig3[] =
    "ALTER TABLE @_outbox ADD COLUMN traceparent TEXT;"
    "ALTER TABLE @_outbox ADD COLUMN tracestate TEXT;";

/* Inbox keys are pruned oldest first once events_inbox_retention_ms have
 * passed (keel__ev_prune_inboxes).  PostgreSQL only: its rows have no
 * insertion order to walk (SQLite's prune walks rowids, see
 * KEEL__EV_INBOX_PRUNE), and without the index each prune read the whole
 * inbox.  SQLite's migrations of the box skip version 4. */
static const char ev_box_mig4[] =
    "CREATE INDEX @_inbox_applied ON @_inbox (applied_at);";

int64_t keel__wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* tmpl with every '@' replaced by mod; new malloc'd string or NULL. */
static char *ev_fill(const char *tmpl, const char *mod)
{
    size_t n = 0, ml = strlen(mod);
    const char *p;
    char *out, *o;

    for (p = tmpl; *p != '\0'; p++)
        n += *p == '@' ? ml : 1;
    if ((out = malloc(n + 1)) == NULL)
        return NULL;
    for (p = tmpl, o = out; *p != '\0'; p++) {
        if (*p == '@') {
            memcpy(o, mod, ml);
            o += ml;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

keel__events *keel__events_of(keel_runtime *rt)
{
    return rt != NULL ? rt->events : NULL;
}

keel__ev_box *keel__ev_box_find(keel__events *ev, const char *module)
{
    size_t i;
    for (i = 0; ev != NULL && module != NULL && i < ev->nboxes; i++)
        if (strcmp(ev->boxes[i].mc->desc->name, module) == 0)
            return &ev->boxes[i];
    return NULL;
}

keel__ev_topic *keel__ev_topic_find(keel__events *ev, const char *topic)
{
    size_t i;
    for (i = 0; ev != NULL && topic != NULL && i < ev->ntopics; i++)
        if (strcmp(ev->topics[i].t->name, topic) == 0)
            return &ev->topics[i];
    return NULL;
}

const keel_subscription *keel__ev_sub_find(const keel_module *m, const char *topic)
{
    const keel_subscription *s;
    for (s = m->subs; s != NULL && s->topic != NULL; s++)
        if (strcmp(s->topic, topic) == 0)
            return s;
    return NULL;
}

void keel__events_wake(keel__events *ev)
{
    if (ev == NULL)
        return;
    pthread_mutex_lock(&ev->mu);
    ev->wake_seq++;
    pthread_cond_broadcast(&ev->cv);
    pthread_mutex_unlock(&ev->mu);
}

/* ---- setup ------------------------------------------------------------- */

static int ev_name_ok(const char *s)
{
    if (s == NULL || !(*s >= 'a' && *s <= 'z'))
        return 0;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static int ev_uses_events(const keel_module *m)
{
    return (m->topics != NULL && m->topics[0].name != NULL) ||
           (m->subs != NULL && m->subs[0].topic != NULL);
}

/* Topics and subscriptions of every built-in module make sense. */
static int ev_check(keel_runtime *rt, keel__events *ev, char *err, size_t errlen)
{
    size_t i, j, k;

    for (i = 0; i < rt->n; i++) {
        const keel_module *m = rt->mods[i].desc;
        const keel_topic *t;
        const keel_subscription *s, *s2;
        size_t ml = strlen(m->name);
        for (t = m->topics; t != NULL && t->name != NULL; t++) {
            if (strncmp(t->name, m->name, ml) != 0 || t->name[ml] != '.' ||
                !ev_name_ok(t->name + ml + 1)) {
                snprintf(err, errlen, "module '%s': topic '%s' must be named '%s.<name>' "
                         "with <name> in [a-z][a-z0-9_]*", m->name, t->name, m->name);
                return KEEL_EDEP;
            }
            for (k = 0; k < ev->ntopics; k++)
                if (strcmp(ev->topics[k].t->name, t->name) == 0) {
                    snprintf(err, errlen, "module '%s': topic '%s' is declared twice",
                             m->name, t->name);
                    return KEEL_EDEP;
                }
            ev->topics[ev->ntopics].t = t;
            ev->topics[ev->ntopics].emitter = &rt->mods[i];
            if (t->schema != NULL) {
                char serr[512];
                if (keel__schema_compile(t->schema, &ev->topics[ev->ntopics].schema,
                                         serr, sizeof serr) != 0) {
                    snprintf(err, errlen, "module '%s': topic '%s': schema: %s", m->name,
                             t->name, serr);
                    return KEEL_EINVAL;
                }
            }
            ev->ntopics++;
        }
        for (s = m->subs; s != NULL && s->topic != NULL; s++) {
            if (s->handler == NULL || s->max_attempts < 0 ||
                ((s->flags & KEEL_SUB_JOB) && !ev_name_ok(s->topic))) {
                snprintf(err, errlen, "module '%s': subscription '%s' needs a handler, "
                         "max_attempts >= 0 and, for a job, a [a-z][a-z0-9_]* kind",
                         m->name, s->topic);
                return KEEL_EDEP;
            }
            for (s2 = m->subs; s2 != s; s2++)
                if (strcmp(s2->topic, s->topic) == 0) {
                    snprintf(err, errlen, "module '%s': subscription '%s' is declared twice",
                             m->name, s->topic);
                    return KEEL_EDEP;
                }
        }
    }
    /* every non-job subscription names a declared topic */
    for (i = 0; i < rt->n; i++) {
        const keel_subscription *s;
        for (s = rt->mods[i].desc->subs; s != NULL && s->topic != NULL; s++) {
            keel__ev_topic *et;
            if (s->flags & KEEL_SUB_JOB)
                continue;
            if ((et = keel__ev_topic_find(ev, s->topic)) == NULL) {
                snprintf(err, errlen, "module '%s' subscribes to '%s', which no built-in "
                         "module declares", rt->mods[i].desc->name, s->topic);
                return KEEL_EDEP;
            }
            et->subs[et->nsubs++] = &rt->mods[i];
        }
    }
    for (j = 0; j < ev->ntopics; j++)
        for (i = 0; i < ev->nboxes; i++)
            if (ev->boxes[i].mc == ev->topics[j].emitter)
                ev->topics[j].box = &ev->boxes[i];
    return 0;
}

static int ev_alloc(keel_runtime *rt, keel__events *ev)
{
    size_t i, ntopics = 0, nboxes = 0, nsubs = 0;

    for (i = 0; i < rt->n; i++) {
        const keel_module *m = rt->mods[i].desc;
        const keel_topic *t;
        const keel_subscription *s;
        for (t = m->topics; t != NULL && t->name != NULL; t++)
            ntopics++;
        for (s = m->subs; s != NULL && s->topic != NULL; s++)
            nsubs++;
        nboxes += ev_uses_events(m);
    }
    if ((ev->mstat = calloc(rt->n ? rt->n : 1, sizeof *ev->mstat)) == NULL)
        return KEEL_ENOMEM;
    ev->topics = calloc(ntopics ? ntopics : 1, sizeof *ev->topics);
    ev->boxes = calloc(nboxes ? nboxes : 1, sizeof *ev->boxes);
    if (ev->topics == NULL || ev->boxes == NULL)
        return KEEL_ENOMEM;
    ev->topics_cap = ntopics;
    for (i = 0; i < ntopics; i++)
        if ((ev->topics[i].subs = calloc(nsubs ? nsubs : 1, sizeof(keel_module_ctx *))) == NULL)
            return KEEL_ENOMEM;
    for (i = 0; i < rt->n; i++) {
        keel__ev_box *b;
        int k;
        if (!ev_uses_events(rt->mods[i].desc))
            continue;
        b = &ev->boxes[ev->nboxes++];
        b->mc = &rt->mods[i];
        for (k = 0; k < KEEL__EV_NSTMT; k++)
            if ((b->sql[k] = ev_fill(ev->pg ? keel__ev_pg_template(k) : ev_templates[k],
                                     b->mc->desc->name)) == NULL)
                return KEEL_ENOMEM;
        if ((b->emit_chunk = keel__ev_multi_sql(b->sql[KEEL__EV_INSERT],
                                                KEEL__EV_EMIT_CHUNK)) == NULL)
            return KEEL_ENOMEM;
    }
    return 0;
}

static void ev_free(keel__events *ev)
{
    size_t i;
    int k;
    keel__ev_lock *l, *next;

    if (ev == NULL)
        return;
    for (i = 0; i < ev->nboxes; i++) {
        for (k = 0; k < KEEL__EV_NSTMT; k++)
            free(ev->boxes[i].sql[k]);
        free(ev->boxes[i].emit_chunk);
        free(ev->boxes[i].claim_subs);
        free(ev->boxes[i].claim_tx);
    }
    for (i = 0; ev->topics != NULL && i < ev->topics_cap; i++) {
        keel__schema_free(ev->topics[i].schema);
        free(ev->topics[i].subs);
    }
    for (l = ev->locks; l != NULL; l = next) {
        next = l->next;
        free(l->name);
        free(l);
    }
    free(ev->topics);
    free(ev->boxes);
    free(ev->mstat);
    keel__locks_close(ev);
    keel_store_close(ev->core);
    pthread_mutex_destroy(&ev->mu);
    pthread_cond_destroy(&ev->cv);
    pthread_mutex_destroy(&ev->lk_mu);
    pthread_cond_destroy(&ev->lk_cv);
    pthread_mutex_destroy(&ev->lk_pg_mu);
    free(ev);
}

/* The store box's tables are created on: on SQLite the core's connection;
 * on PostgreSQL the module's own (its role owns what it creates in its
 * schema), or a short-lived one for a module not started here.  *tmp is
 * set when the caller must close it. */
static int ev_box_store(keel__events *ev, keel__ev_box *b, const char *url, keel_store **st,
                        keel_store **tmp, char *err, size_t errlen)
{
    keel_store_opts o;

    *tmp = NULL;
    *st = ev->core;
    if (!ev->pg)
        return 0;
    if ((*st = b->mc->store) != NULL)
        return 0;
    o = ev->rt->store_opts;
    o.pool_size = 1;
    if (keel__store_open_url_opts(url, b->mc->desc->name, &o, tmp, err, errlen) != 0)
        return KEEL_EUNAVAIL;
    *st = *tmp;
    return 0;
}

static int ev_migrate(keel__events *ev, const char *url, char *err, size_t errlen)
{
    const char *admin = keel__config_get(ev->rt->cfg, NULL, "database_admin_url");
    size_t i;
    int rc, n;

    if (ev->pg && admin != NULL && admin[0] != '\0' &&
        (rc = keel__ev_pg_admin_core(ev, admin, url, ev_core_migs, err, errlen)) != 0)
        return rc;
    if ((rc = keel__store_migrate(ev->core, "keel.events", ev_core_migs, &n, err, errlen)) != 0)
        return rc;
    for (i = 0; i < ev->nboxes; i++) {
        const char *mod = ev->boxes[i].mc->desc->name;
        char name[96];
        keel_migration migs[5];
        keel_store *st = NULL, *tmp = NULL;
        char *sql = ev_fill(ev_box_mig, mod), *sql2 = ev_fill(ev_box_mig2, mod);
        char *sql3 = ev_fill(ev_box_mig3, mod), *sql4 = ev_fill(ev_box_mig4, mod);
        if (sql == NULL || sql2 == NULL || sql3 == NULL || sql4 == NULL) {
            free(sql);
            free(sql2);
            free(sql3);
            free(sql4);
            return KEEL_ENOMEM;
        }
        snprintf(name, sizeof name, "keel.events.%s", mod);
        memset(migs, 0, sizeof migs);
        migs[0].version = 1;
        migs[0].name = "0001_outbox_inbox";
        migs[0].sql = sql;
        migs[1].version = 2;
        migs[1].name = "0002_claim_index";
        migs[1].sql = sql2;
        migs[2].version = 3;
        migs[2].name = "0003_trace_context";
        migs[2].sql = sql3;
        if (ev->pg) {
            migs[3].version = 4;
            migs[3].name = "0004_inbox_applied_index";
            migs[3].sql = sql4;
        }
        if ((rc = ev_box_store(ev, &ev->boxes[i], url, &st, &tmp, err, errlen)) == 0)
            rc = keel__store_migrate(st, name, migs, &n, err, errlen);
        keel_store_close(tmp);
        free(sql);
        free(sql2);
        free(sql3);
        free(sql4);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A delivery can come again (and find its key in the inbox) for as long as
 * its row can be claimed: at most max_attempts leases, each after a backoff
 * of at most events_backoff_max_ms.  A key pruned before that could let a
 * redelivery apply twice, so a retention shorter than that is refused. */
static int ev_check_retention(keel_runtime *rt, const keel__events *ev, char *err, size_t errlen)
{
    long long most = ev->max_attempts, horizon;
    size_t i;

    if (ev->inbox_retention_ms <= 0)
        return 0;
    for (i = 0; i < rt->n; i++) {
        const keel_subscription *s;
        for (s = rt->mods[i].desc->subs; s != NULL && s->topic != NULL; s++)
            if (s->max_attempts > most)
                most = s->max_attempts;
    }
    horizon = most * (ev->lease_ms + ev->backoff_max_ms);
    if (ev->inbox_retention_ms < horizon) {
        snprintf(err, errlen, "events_inbox_retention_ms=%lld is shorter than a delivery can "
                 "be retried (%lld attempts x (events_lease_ms %lld + events_backoff_max_ms "
                 "%lld) = %lld ms): a redelivery could find its key pruned and apply twice",
                 (long long)ev->inbox_retention_ms, most, (long long)ev->lease_ms,
                 (long long)ev->backoff_max_ms, horizon);
        return KEEL_ECONFIG;
    }
    return 0;
}

int keel__events_open(keel_runtime *rt, keel_store **core, char *err, size_t errlen)
{
    const char *url = keel__config_get(rt->cfg, NULL, "database_url");
    keel__events *ev = NULL;
    size_t i;
    int rc, any = 0;

    if (rt->events != NULL)
        return 0;
    for (i = 0; i < rt->n; i++)
        any |= ev_uses_events(rt->mods[i].desc);
    if ((ev = calloc(1, sizeof *ev)) == NULL)
        return KEEL_ENOMEM;
    pthread_mutex_init(&ev->mu, NULL);
    pthread_cond_init(&ev->cv, NULL);
    pthread_mutex_init(&ev->lk_mu, NULL);
    pthread_cond_init(&ev->lk_cv, NULL);
    pthread_mutex_init(&ev->lk_pg_mu, NULL);
    ev->rt = rt;
    ev->pg = url != NULL && keel__store_url_is_pg(url);
    ev->workers = (int)keel__config_int(rt->cfg, NULL, "events_workers");
    ev->batch = (int)keel__config_int(rt->cfg, NULL, "events_batch");
    ev->max_attempts = (int)keel__config_int(rt->cfg, NULL, "events_max_attempts");
    ev->lease_ms = keel__config_int(rt->cfg, NULL, "events_lease_ms");
    ev->poll_ms = keel__config_int(rt->cfg, NULL, "events_poll_ms");
    ev->backoff_ms = keel__config_int(rt->cfg, NULL, "events_backoff_ms");
    ev->backoff_max_ms = keel__config_int(rt->cfg, NULL, "events_backoff_max_ms");
    ev->call_timeout_ms = keel__config_int(rt->cfg, NULL, "call_timeout_ms");
    ev->inbox_retention_ms = keel__config_int(rt->cfg, NULL, "events_inbox_retention_ms");
    if ((rc = ev_alloc(rt, ev)) != 0 || (rc = ev_check(rt, ev, err, errlen)) != 0 ||
        (rc = ev_check_retention(rt, ev, err, errlen)) != 0)
        goto out;
    if (any && core != NULL && *core != NULL) {
        ev->core = *core;
        *core = NULL;
    }
    if (any) {
        if (ev->core == NULL &&
            ((rc = keel__store_open_url(url, NULL, &ev->core, err, errlen)) != 0 ||
             (rc = keel__store_configure(ev->core, &rt->store_opts, err, errlen)) != 0))
            goto out;
        if (strcmp(keel_store_backend_name(ev->core), ev->pg ? "postgres" : "sqlite") != 0) {
            snprintf(err, errlen, "events: the %s backend has no event tables (SQLite and "
                     "PostgreSQL have: docs/events.md)", keel_store_backend_name(ev->core));
            rc = KEEL_ECONFIG;
            goto out;
        }
        if ((rc = ev_migrate(ev, url, err, errlen)) != 0)
            goto out;
    }
    rt->events = ev;
    ev = NULL;
out:
    ev_free(ev);
    return rc;
}

void keel__events_close(keel_runtime *rt)
{
    if (rt == NULL || rt->events == NULL)
        return;
    keel__events_stop(rt);
    ev_free(rt->events);
    rt->events = NULL;
}

