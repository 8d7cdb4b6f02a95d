/*
 * events_pg.c — the event machinery's PostgreSQL dialect: the statements
 * that differ from SQLite's (events.c) and where the tables are created.
 *
 * Where the tables live.  <m>_outbox and <m>_inbox are in module m's schema,
 * created by m's role (the migration "keel.events.<m>" runs on m's own store
 * in privileged mode, so the script runs as keel_<m>: store_pg.c), so m's
 * connection writes its outbox and inbox inside its own transactions.
 * keel_dead_letters is in schema keel, the core's.
 *
 * Who reads a module's outbox.  The dispatcher and keel jobs use the core's
 * connection: the runtime login with search_path keel.  Provisioning grants
 * every module role keel_<m> to that login (store_pg.c, GRANT keel_<m> TO
 * the login), and a member inherits the role's rights, so the core reaches
 * m.m_outbox by its qualified name without any GRANT of its own; a module's
 * connection (SET ROLE keel_<m>) still reaches nothing outside schema m.
 * Every statement below therefore names m's tables qualified (@.@_outbox):
 * they run unchanged on m's connection and on the core's.
 *
 * The claim.  SQLite serialises writers; PostgreSQL does not, so the
 * subselect locks the rows it picks with FOR UPDATE SKIP LOCKED: replicas
 * claiming at the same moment take disjoint rows and never wait on each
 * other.  A row another replica claimed and committed meanwhile is
 * re-checked against run_at <= now (READ COMMITTED follows the update) and
 * dropped, since its run_at now lies a lease ahead.  The ordering-key test
 * (no older row with the same key still queued) reads the claim's snapshot:
 * an older row still there holds the later one back even if it is being
 * completed right now, which errs on the side of order.
 */
#include <stddef.h>
#include <stdio.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"
#include "core/store-internal.h"

static const char *const pg_templates[KEEL__EV_NSTMT] = {
    [KEEL__EV_INSERT] =
        "INSERT INTO @.@_outbox (topic, subscriber, ikey, okey, payload, principal, attempts,"
        " max_attempts, run_at, created_at, traceparent, tracestate)"
        " VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $11)"
        " ON CONFLICT DO NOTHING",
    [KEEL__EV_INBOX] =
        "INSERT INTO @.@_inbox (topic, ikey, applied_at) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING 1 AS fresh",
    [KEEL__EV_CLAIM] =
        "UPDATE @.@_outbox SET attempts = attempts + 1, run_at = $1 WHERE id IN ("
        " SELECT o.id FROM @.@_outbox o WHERE o.subscriber = $3 AND o.run_at <= $2"
        " AND (o.okey IS NULL OR NOT EXISTS (SELECT 1 FROM @.@_outbox p"
        "  WHERE p.subscriber = o.subscriber AND p.okey = o.okey AND p.id < o.id))"
        " ORDER BY o.run_at, o.id LIMIT $4 FOR UPDATE SKIP LOCKED)"
        " RETURNING id, topic, subscriber, ikey, okey, payload, principal, attempts,"
        " max_attempts, created_at, traceparent, tracestate",
    /* $1 is a PostgreSQL array literal, {1,2,3} (keel__ev_ids_param) */
    [KEEL__EV_COMPLETE] =
        "DELETE FROM @.@_outbox WHERE id = ANY($1::bigint[])",
    [KEEL__EV_RESCHEDULE] =
        "UPDATE @.@_outbox SET run_at = $1, last_error = $2 WHERE id = $3 AND attempts = $4",
    [KEEL__EV_DEAD] =
        "INSERT INTO keel.keel_dead_letters (module, src_id, topic, subscriber, ikey, okey,"
        " payload, principal, attempts, max_attempts, last_error, created_at, failed_at)"
        " SELECT '@', id, topic, subscriber, ikey, okey, payload, principal, attempts,"
        " max_attempts, $1, created_at, $2 FROM @.@_outbox WHERE id = $3 AND attempts = $4",
    [KEEL__EV_DEAD_DEL] =
        "DELETE FROM @.@_outbox WHERE id = $1 AND attempts = $2",
    [KEEL__EV_LIST] =
        "SELECT id, topic, subscriber, ikey, okey, attempts, max_attempts, run_at, created_at,"
        " last_error FROM @.@_outbox WHERE ($1 = '' OR topic = $1) ORDER BY id LIMIT $2",
    [KEEL__EV_SHOW] =
        "SELECT id, topic, subscriber, ikey, okey, payload, principal, attempts, max_attempts,"
        " run_at, created_at, last_error, traceparent FROM @.@_outbox WHERE id = $1",
    /* sum() of a boolean does not exist here; count() skips the NULLs */
    [KEEL__EV_STATS] =
        "SELECT count(*) AS queued, min(created_at) AS oldest,"
        " count(last_error) AS retrying FROM @.@_outbox",
    [KEEL__EV_UNDEAD] =
        "INSERT INTO @.@_outbox (topic, subscriber, ikey, okey, payload, principal, attempts,"
        " max_attempts, run_at, created_at) SELECT topic, subscriber, ikey, okey, payload,"
        " principal, 0, max_attempts, $1, created_at FROM keel.keel_dead_letters"
        " WHERE module = '@' AND ($2 = 0 OR id = $2) ORDER BY id ON CONFLICT DO NOTHING",
    /* one-transaction rounds are SQLite's only (events_dispatch.c); these
     * are here so every statement has a PostgreSQL form */
    [KEEL__EV_PICK] =
        "SELECT id, topic, subscriber, ikey, okey, payload, principal, attempts + 1 AS attempts,"
        " max_attempts, created_at, traceparent, tracestate FROM @.@_outbox o"
        " WHERE o.subscriber = $2 AND o.run_at <= $1"
        " AND (o.okey IS NULL OR NOT EXISTS (SELECT 1 FROM @.@_outbox p"
        "  WHERE p.subscriber = o.subscriber AND p.okey = o.okey AND p.id < o.id))"
        " ORDER BY o.run_at, o.id LIMIT $3 FOR UPDATE SKIP LOCKED",
    [KEEL__EV_BUMP] =
        "UPDATE @.@_outbox SET attempts = attempts + 1 WHERE id = $1 AND attempts = $2 - 1",
    [KEEL__EV_INBOX_MANY] =
        "INSERT INTO @.@_inbox (topic, ikey, applied_at) SELECT e ->> 0, e ->> 1, $2"
        " FROM json_array_elements($1::json) AS e ON CONFLICT DO NOTHING RETURNING topic, ikey",
    [KEEL__EV_INBOX_DEL] =
        "DELETE FROM @.@_inbox WHERE topic = $1 AND ikey = $2",
    [KEEL__EV_INBOX_PRUNE] =
        "DELETE FROM @.@_inbox WHERE (topic, ikey) IN (SELECT topic, ikey FROM @.@_inbox"
        " WHERE applied_at < $1 ORDER BY applied_at LIMIT $2) RETURNING 1 AS gone",
};

const char *keel__ev_pg_template(int stmt)
{
    return stmt >= 0 && stmt < KEEL__EV_NSTMT ? pg_templates[stmt] : NULL;
}

/* JSON [1,2,3] → PostgreSQL {1,2,3}, in place: the ids are integers, so
 * the brackets are the only difference between the two notations. */
void keel__ev_ids_param(char *ids)
{
    size_t n = 0;

    while (ids[n] != '\0')
        n++;
    if (n >= 2 && ids[0] == '[' && ids[n - 1] == ']') {
        ids[0] = '{';
        ids[n - 1] = '}';
    }
}

/* keel_dead_letters when the runtime login may not create tables in schema
 * keel (database_admin_url set): the admin creates it, as keel migrate does
 * a module's tables, and lets the login read, write and purge it.  The
 * module outboxes need nothing of the kind: they are created by the module
 * roles, which provisioning grants to the login. */
int keel__ev_pg_admin_core(keel__events *ev, const char *admin, const char *url,
                           const keel_migration *migs, char *err, size_t errlen)
{
    keel_store_opts o = ev->rt->store_opts;
    keel_store *st = NULL;
    char user[128], sql[256];
    const char *p;
    int rc, n;

    if ((rc = keel__store_pg_url_user(url, user, sizeof user, err, errlen)) != 0)
        return rc;
    for (p = user; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_')) {
            snprintf(err, errlen, "events: login '%s' is not [a-z0-9_]*: grant it SELECT, "
                     "INSERT, DELETE on keel.keel_dead_letters by hand (docs/events.md)", user);
            return KEEL_ECONFIG;
        }
    o.pool_size = 1;
    o.grant_to = user;
    if ((rc = keel__store_open_url_opts(admin, NULL, &o, &st, err, errlen)) != 0)
        return rc;
    if ((rc = keel__store_migrate(st, "keel.events", migs, &n, err, errlen)) == 0) {
        snprintf(sql, sizeof sql, "GRANT SELECT, INSERT, DELETE ON keel.keel_dead_letters "
                 "TO \"%s\"", user);
        /* the script path: keel_store_exec refuses GRANT on any connection */
        if ((rc = keel__store_exec_script(st, sql, err, errlen)) != 0)
            snprintf(err, errlen, "events: %s", keel_store_errmsg(st));
    }
    keel_store_close(st);
    return rc;
}
