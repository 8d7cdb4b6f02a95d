/*
 * migrate.c — versioned, per-module migrations recorded in keel_migrations.
 *
 * Each pending migration runs in its own transaction together with the row
 * that records it, so a failing migration leaves nothing behind and a crash
 * between two migrations resumes at the next one.  Module connections may
 * touch keel_migrations only while this file holds them privileged.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"

static const char MIG_CREATE[] =
    "CREATE TABLE IF NOT EXISTS keel_migrations ("
    " module TEXT NOT NULL, version INTEGER NOT NULL, name TEXT NOT NULL,"
    " applied_at TEXT NOT NULL, PRIMARY KEY (module, version))";
static const char MIG_SELECT[] =
    "SELECT version, name, applied_at FROM keel_migrations WHERE module = $1 ORDER BY version";
static const char MIG_EXISTS[] =
    "SELECT 1 AS one FROM keel_migrations WHERE module = $1 AND version = $2";
static const char MIG_ALL[] =
    "SELECT module, version, name FROM keel_migrations";
static const char MIG_INSERT[] =
    "INSERT INTO keel_migrations (module, version, name, applied_at) VALUES ($1, $2, $3, $4)";

/* Versions >= 1, strictly increasing, named, with SQL. */
static int check_list(const char *module, const keel_migration *migs, char *err, size_t errlen)
{
    int prev = 0;
    const keel_migration *m;

    for (m = migs; m != NULL && m->version != 0; m++) {
        const char *name = m->name != NULL ? m->name : "(unnamed)";
        if (m->version < 1 || m->version <= prev) {
            snprintf(err, errlen, "module '%s': migration %s has version %d, "
                     "expected > %d (versions start at 1 and strictly increase)",
                     module, name, m->version, prev);
            return KEEL_ECONFIG;
        }
        if (m->name == NULL || m->sql == NULL) {
            snprintf(err, errlen, "module '%s': migration %d has no name or no SQL",
                     module, m->version);
            return KEEL_ECONFIG;
        }
        prev = m->version;
    }
    return 0;
}

/* Creates keel_migrations if needed and reads module's rows: *rows new ref. */
static int load_applied(keel_store *st, const char *module, json_t **rows,
                        char *err, size_t errlen)
{
    json_t *params = NULL;
    int rc;

    *rows = NULL;
    /* PostgreSQL: provisioning made keel.keel_migrations (the login running
     * the service may not create tables in schema keel). */
    if (strcmp(keel_store_backend_name(st), "postgres") != 0 &&
        (rc = keel_store_exec(st, MIG_CREATE, NULL, NULL)) != 0)
        goto out;
    params = json_pack("[s]", module);
    if (params == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_exec(st, MIG_SELECT, params, rows);
out:
    if (rc != 0)
        snprintf(err, errlen, "module '%s': reading keel_migrations: %s", module,
                 keel_store_errmsg(st)[0] ? keel_store_errmsg(st) : keel_strerror(rc));
    json_decref(params);
    return rc;
}

static const keel_migration *find_mig(const keel_migration *migs, json_int_t version)
{
    const keel_migration *m;
    for (m = migs; m != NULL && m->version != 0; m++)
        if (m->version == version)
            return m;
    return NULL;
}

static const json_t *find_row(const json_t *rows, int version)
{
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
        if (json_integer_value(json_object_get(r, "version")) == version)
            return r;
    return NULL;
}

/* The recorded history must be a prefix of migs: no unknown, renamed or
 * skipped versions. */
static int check_history(const char *module, const keel_migration *migs, const json_t *rows,
                         char *err, size_t errlen)
{
    json_int_t max = 0;
    const keel_migration *m;
    size_t i;
    json_t *r;

    json_array_foreach(rows, i, r) {
        json_int_t v = json_integer_value(json_object_get(r, "version"));
        const char *name = json_string_value(json_object_get(r, "name"));
        m = find_mig(migs, v);
        if (m == NULL) {
            snprintf(err, errlen, "module '%s': the database has migration %lld (%s) "
                     "that this binary does not know: is it older than the database?",
                     module, (long long)v, name ? name : "?");
            return KEEL_ECONFIG;
        }
        if (name == NULL || strcmp(name, m->name) != 0) {
            snprintf(err, errlen, "module '%s': migration %d was applied as '%s' but is "
                     "now '%s': applied migrations must not change",
                     module, m->version, name ? name : "?", m->name);
            return KEEL_ECONFIG;
        }
        if (v > max)
            max = v;
    }
    for (m = migs; m != NULL && m->version != 0; m++)
        if (m->version < max && find_row(rows, m->version) == NULL) {
            snprintf(err, errlen, "module '%s': migration %s (version %d) is below the "
                     "applied version %lld but was never applied: add new migrations "
                     "at the end", module, m->name, m->version, (long long)max);
            return KEEL_ECONFIG;
        }
    return 0;
}

typedef struct mig_job {
    const char           *module;
    const keel_migration *mig;
    int                   ran;      /* 0 if another process applied it first */
    char                 *err;
    size_t                errlen;
} mig_job;

static int apply_one(keel_store *st, void *arg)
{
    mig_job *job = arg;
    json_t *params = NULL, *row = NULL;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int rc;

    job->ran = 0;
    /* PostgreSQL: one migrating process per module at a time (SQLite's
     * BEGIN IMMEDIATE already serialises). */
    if ((rc = keel__store_lock(st, job->module, NULL, 0)) != 0)
        goto fail;
    params = json_pack("[si]", job->module, job->mig->version);
    if (params == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    /* Another replica may have applied it while we waited for the lock. */
    rc = keel_store_one(st, MIG_EXISTS, params, &row);
    if (rc == 0)
        goto out;
    if (rc != KEEL_ENOTFOUND)
        goto fail;
    rc = keel__store_exec_script(st, job->mig->sql, NULL, 0);
    if (rc != 0)
        goto fail;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_decref(params);
    params = json_pack("[siss]", job->module, job->mig->version, job->mig->name, stamp);
    if (params == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_exec(st, MIG_INSERT, params, NULL);
    if (rc != 0)
        goto fail;
    job->ran = 1;
    goto out;
fail:
    snprintf(job->err, job->errlen, "module '%s': migration %s failed: %s", job->module,
             job->mig->name, keel_store_errmsg(st)[0] ? keel_store_errmsg(st) : keel_strerror(rc));
out:
    json_decref(row);
    json_decref(params);
    return rc;
}

typedef struct prov_job {
    char  *err;
    size_t errlen;
} prov_job;

static int provision_tx(keel_store *tx, void *arg)
{
    prov_job *job = arg;
    return keel__store_provision(tx, keel__store_opts(tx)->grant_to, job->err, job->errlen);
}

int keel__store_migrate(keel_store *st, const char *module, const keel_migration *migs,
                        int *applied, char *err, size_t errlen)
{
    json_t *rows = NULL;
    const keel_migration *m;
    int rc, n = 0;

    if (applied != NULL)
        *applied = 0;
    if (st == NULL || module == NULL) {
        snprintf(err, errlen, "migrate: missing store or module name");
        return KEEL_EINVAL;
    }
    rc = check_list(module, migs, err, errlen);
    if (rc != 0)
        return rc;
    keel__store_set_privileged(st, 1);
    {
        prov_job pj = { err, errlen };
        err[0] = '\0';
        if ((rc = keel_store_tx(st, provision_tx, &pj)) != 0) {
            if (err[0] == '\0')
                snprintf(err, errlen, "module '%s': %s", module,
                         keel_store_errmsg(st)[0] ? keel_store_errmsg(st) : keel_strerror(rc));
            goto out;
        }
    }
    rc = load_applied(st, module, &rows, err, errlen);
    if (rc != 0)
        goto out;
    rc = check_history(module, migs, rows, err, errlen);
    if (rc != 0)
        goto out;
    for (m = migs; m != NULL && m->version != 0; m++) {
        mig_job job = { module, m, 0, err, errlen };
        if (find_row(rows, m->version) != NULL)
            continue;
        err[0] = '\0';
        rc = keel_store_tx(st, apply_one, &job);
        if (rc != 0) {
            if (err[0] == '\0')
                snprintf(err, errlen, "module '%s': migration %s: %s", module, m->name,
                         keel_store_errmsg(st)[0] ? keel_store_errmsg(st) : keel_strerror(rc));
            goto out;
        }
        n += job.ran;
    }
out:
    keel__store_set_privileged(st, 0);
    if (applied != NULL)
        *applied = n;
    json_decref(rows);
    return rc;
}

int keel__store_migrations_status(keel_store *st, const char *module,
                                  const keel_migration *migs, json_t **out)
{
    json_t *rows = NULL, *res = NULL, *list = NULL, *r;
    const keel_migration *m;
    char err[256];
    int rc, current = 0, pending = 0;
    size_t i;

    if (out != NULL)
        *out = NULL;
    if (st == NULL || module == NULL || out == NULL)
        return KEEL_EINVAL;
    keel__store_set_privileged(st, 1);
    rc = load_applied(st, module, &rows, err, sizeof err);
    keel__store_set_privileged(st, 0);
    if (rc != 0)
        goto out;
    rc = KEEL_ENOMEM;
    if ((list = json_array()) == NULL)
        goto out;
    for (m = migs; m != NULL && m->version != 0; m++) {
        const json_t *row = find_row(rows, m->version);
        json_t *e = json_pack("{sisssb}", "version", m->version, "name",
                              m->name ? m->name : "", "applied", row != NULL);
        if (e == NULL || json_array_append_new(list, e) != 0)
            goto out;
        if (row != NULL)
            json_object_set(e, "applied_at", json_object_get(row, "applied_at"));
        else
            pending++;
    }
    json_array_foreach(rows, i, r) {
        json_int_t v = json_integer_value(json_object_get(r, "version"));
        if (v > current)
            current = (int)v;
        if (find_mig(migs, v) == NULL) {
            json_t *e = json_pack("{sIsOsbsbsO}", "version", v, "name",
                                  json_object_get(r, "name"), "applied", 1, "unknown", 1,
                                  "applied_at", json_object_get(r, "applied_at"));
            if (e == NULL || json_array_append_new(list, e) != 0)
                goto out;
        }
    }
    res = json_pack("{sssisisO}", "module", module, "current", current,
                    "pending", pending, "migrations", list);
    if (res == NULL)
        goto out;
    *out = res;
    rc = 0;
out:
    json_decref(list);
    json_decref(rows);
    return rc;
}

int keel__store_migrations_all(keel_store *core, json_t **rows)
{
    int rc;

    *rows = NULL;
    if (strcmp(keel_store_backend_name(core), "sqlite") != 0)
        return KEEL_EINVAL;
    /* a no-op (no write) when the table exists */
    if ((rc = keel_store_exec(core, MIG_CREATE, NULL, NULL)) != 0)
        return rc;
    return keel_store_exec(core, MIG_ALL, NULL, rows);
}

int keel__store_migrations_current(const json_t *rows, const char *module,
                                   const keel_migration *migs)
{
    const keel_migration *m;
    size_t i, have = 0, want = 0;
    json_t *r;

    for (m = migs; m != NULL && m->version != 0; m++)
        want++;
    json_array_foreach(rows, i, r) {
        const char *mod = json_string_value(json_object_get(r, "module"));
        const char *name = json_string_value(json_object_get(r, "name"));
        if (mod == NULL || strcmp(mod, module) != 0)
            continue;
        m = find_mig(migs, json_integer_value(json_object_get(r, "version")));
        if (m == NULL || name == NULL || strcmp(name, m->name) != 0)
            return 0;
        have++;
    }
    return have == want;
}
