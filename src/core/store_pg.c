/*
 * store_pg.c — the PostgreSQL backend of keel_store_vt (libpq).
 *
 * A connection belongs to one namespace: schema <ns> run as role keel_<ns>
 * (SET ROLE after connecting; the login role must be a member, which
 * provisioning arranges), search_path <ns>, so module SQL names its tables
 * <ns>_* exactly as on SQLite and the server refuses every other schema.
 * The core (ns = NULL) uses schema keel as the login role.  Privileged mode
 * (migrations): the login role with search_path keel, <ns>; the migration
 * script itself runs as keel_<ns> so the module owns what it creates.
 *
 * Statements go through store_pg_exec.c (prepared and cached per
 * connection); transactions and savepoints are plain SQL here.  URL: any
 * libpq URI or conninfo (sslmode, sslrootcert … honoured as libpq does).
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/error.h"
#include "keel/store.h"
#include "core/store-internal.h"
#include "core/store_pg-internal.h"

static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;   /* NOTICEs ("already exists, skipping") are not errors */
}

static int valid_ns(const char *ns)
{
    const char *p;
    if (ns[0] < 'a' || ns[0] > 'z' || strlen(ns) > 48)
        return 0;
    for (p = ns; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return strcmp(ns, "keel") != 0 && strncmp(ns, "pg_", 3) != 0 &&
           strcmp(ns, "public") != 0 && strcmp(ns, "information_schema") != 0;
}

static void pg_close(void *conn)
{
    keel__pg_conn *c = conn;
    if (c == NULL)
        return;
    keel__pg_cache_clear(c);
    PQfinish(c->pg);
    free(c->ns);
    free(c);
}

static int pg_open(const char *url, const char *ns, void **conn, char *err, size_t errlen)
{
    /* Ours first: the URL's own connect_timeout / application_name win. */
    const char *keys[] = { "connect_timeout", "application_name", "dbname", NULL };
    const char *vals[] = { "5", "keel", url, NULL };
    PQconninfoOption *opts = NULL;
    keel__pg_conn *c = NULL;
    char *perr = NULL;
    int rc = 0;

    *conn = NULL;
    if (ns != NULL && !valid_ns(ns)) {
        snprintf(err, errlen, "invalid store namespace '%s' (need [a-z][a-z0-9_]*, "
                 "not keel/public/pg_*)", ns);
        return KEEL_ECONFIG;
    }
    opts = PQconninfoParse(url, &perr);
    if (opts == NULL) {
        snprintf(err, errlen, "invalid postgres url: %s", perr ? perr : "out of memory");
        PQfreemem(perr);
        return KEEL_ECONFIG;
    }
    PQconninfoFree(opts);
    c = calloc(1, sizeof *c);
    if (c == NULL || (ns != NULL && (c->ns = strdup(ns)) == NULL)) {
        rc = KEEL_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
        char msg[400];
        const char *m = c->pg ? PQerrorMessage(c->pg) : "out of memory";
        size_t n;
        snprintf(msg, sizeof msg, "%s", m);
        n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            msg[--n] = '\0';
        snprintf(err, errlen, "cannot connect to postgres: %s", msg);
        rc = KEEL_EUNAVAIL;
        goto out;
    }
    PQsetNoticeProcessor(c->pg, pg_quiet, NULL);
out:
    if (rc != 0) {
        pg_close(c);
        return rc;
    }
    *conn = c;
    return 0;
}

static int pg_begin_ex(void *conn, unsigned flags)
{
    return keel__pg_simple(conn, (flags & KEEL_TX_SERIALIZABLE)
                                 ? "BEGIN ISOLATION LEVEL SERIALIZABLE" : "BEGIN");
}

static int pg_begin(void *conn) { return pg_begin_ex(conn, 0); }

static int pg_commit(void *conn)
{
    keel__pg_conn *c = conn;
    PGresult *res = PQexec(c->pg, "COMMIT");
    int rc = 0;

    c->sqlstate[0] = '\0';
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = keel__pg_fail(c, res, NULL);
    } else if (strcmp(PQcmdStatus(res), "ROLLBACK") == 0) {
        /* COMMIT of a transaction a statement had aborted */
        snprintf(c->lasterr, sizeof c->lasterr, "the transaction was aborted by an earlier "
                 "error and has been rolled back");
        rc = KEEL_ESTORE;
    }
    PQclear(res);
    return rc;
}

static int pg_rollback(void *conn)
{
    keel__pg_conn *c = conn;
    if (PQstatus(c->pg) != CONNECTION_OK)
        return 0;   /* the server rolled it back when the connection went */
    if (PQtransactionStatus(c->pg) == PQTRANS_IDLE)
        return 0;   /* a failed COMMIT already ended it */
    return keel__pg_simple(c, "ROLLBACK");
}

static int pg_savepoint(void *conn, int op, unsigned level)
{
    char sql[80];
    int rc;

    switch (op) {
    case KEEL_SP_BEGIN:   snprintf(sql, sizeof sql, "SAVEPOINT keel_sp%u", level); break;
    case KEEL_SP_RELEASE: snprintf(sql, sizeof sql, "RELEASE SAVEPOINT keel_sp%u", level); break;
    case KEEL_SP_ROLLBACK:
        snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT keel_sp%u", level);
        if ((rc = keel__pg_simple(conn, sql)) != 0)
            return rc;
        snprintf(sql, sizeof sql, "RELEASE SAVEPOINT keel_sp%u", level);
        break;
    default: return KEEL_EINVAL;
    }
    return keel__pg_simple(conn, sql);
}

static const char *pg_errmsg(void *conn)
{
    keel__pg_conn *c = conn;
    return c != NULL ? c->lasterr : "";
}

static int pg_retryable(void *conn)
{
    keel__pg_conn *c = conn;
    return c != NULL && (strcmp(c->sqlstate, "40001") == 0 || strcmp(c->sqlstate, "40P01") == 0);
}

/* An idle connection whose server went away (restart, idle kill) has a
 * FATAL message and then an EOF waiting.  One PQconsumeInput reads the
 * message and reports success; only a further read sees the EOF.  So read
 * for as long as the socket says something is waiting (poll, no wait):
 * an idle connection has nothing to say but notices, so any FATAL text
 * read here means the server is closing it. */
static int pg_healthy(void *conn)
{
    keel__pg_conn *c = conn;
    int i;
    if (c == NULL || PQstatus(c->pg) != CONNECTION_OK)
        return 0;
    if (PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        return 0;   /* left inside a transaction: never hand it out again */
    for (i = 0; i < 8; i++) {
        struct pollfd p = {.fd = PQsocket(c->pg), .events = POLLIN};
        if (p.fd < 0)
            return 0;
        if (poll(&p, 1, 0) <= 0)
            break;  /* nothing waiting (or poll failed: let the statement tell) */
        if (!PQconsumeInput(c->pg) || PQstatus(c->pg) != CONNECTION_OK)
            return 0;
        if (p.revents & (POLLHUP | POLLERR))
            return 0;
    }
    return PQstatus(c->pg) == CONNECTION_OK;
}

/* ---- internal operations (migrations, provisioning) ------------------------ */

/* database_statement_timeout_ms (keel__store_configure). */
static int pg_configure(void *conn, const keel_store_opts *opts, char *err, size_t errlen)
{
    keel__pg_conn *c = conn;
    char sql[64];
    int rc;

    snprintf(sql, sizeof sql, "SET statement_timeout = %d",
             opts != NULL && opts->statement_timeout_ms > 0 ? opts->statement_timeout_ms : 30000);
    if ((rc = keel__pg_simple(c, sql)) != 0)
        snprintf(err, errlen, "%s", c->lasterr);
    return rc;
}

static int pg_set_mode(void *conn, int privileged, char *err, size_t errlen)
{
    keel__pg_conn *c = conn;
    char sql[256];
    int rc;

    keel__pg_cache_clear(c);   /* plans made under the other search_path */
    if (c->ns == NULL)
        snprintf(sql, sizeof sql, "RESET ROLE; SET search_path TO keel");
    else if (privileged)
        snprintf(sql, sizeof sql, "RESET ROLE; SET search_path TO keel, %s", c->ns);
    else
        snprintf(sql, sizeof sql, "RESET ROLE; SET search_path TO %s; SET ROLE keel_%s",
                 c->ns, c->ns);
    if ((rc = keel__pg_simple(c, sql)) != 0)
        goto fail;
    c->privileged = privileged != 0;
    return 0;
fail:
    if (c->ns != NULL && (strcmp(c->sqlstate, "22023") == 0 || strcmp(c->sqlstate, "42704") == 0 ||
                          strcmp(c->sqlstate, "42501") == 0))
        snprintf(err, errlen, "module '%s': cannot act as role keel_%s (%s): run `keel migrate` "
                 "(with KEEL_DATABASE_ADMIN_URL if this login may not create roles) or the "
                 "SQL in docs/store.md", c->ns, c->ns, c->lasterr);
    else
        snprintf(err, errlen, "%s", c->lasterr);
    return rc;
}

static void pg_set_privileged(void *conn, int on)
{
    char err[8];
    (void)pg_set_mode(conn, on, err, sizeof err);
}

/* Migration scripts: rewritten to PostgreSQL's types, run (simple protocol,
 * several statements) as the module's role on its schema alone. */
static int pg_exec_script(void *conn, const char *sql, char *err, size_t errlen)
{
    keel__pg_conn *c = conn;
    char *text = NULL, pre[160], post[160];
    int rc;

    text = keel__pg_dialect(sql);
    if (text == NULL) {
        snprintf(err, errlen, "out of memory");
        return KEEL_ENOMEM;
    }
    if (c->ns != NULL) {
        snprintf(pre, sizeof pre, "SET search_path TO %s; SET ROLE keel_%s", c->ns, c->ns);
        snprintf(post, sizeof post, "RESET ROLE; SET search_path TO %s%s",
                 c->privileged ? "keel, " : "", c->ns);
    } else {
        snprintf(pre, sizeof pre, "SET search_path TO keel");
        snprintf(post, sizeof post, "SET search_path TO keel");
    }
    if (!c->privileged && c->ns != NULL)
        snprintf(post, sizeof post, "SET search_path TO %s", c->ns);
    if ((rc = keel__pg_simple(c, pre)) == 0 && (rc = keel__pg_simple(c, text)) == 0)
        rc = keel__pg_simple(c, post);
    if (rc != 0)
        snprintf(err, errlen, "%s", c->lasterr);
    free(text);
    return rc;
}

static int pg_lock(void *conn, const char *module, char *err, size_t errlen)
{
    keel__pg_conn *c = conn;
    const char *vals[1];
    char key[128];
    PGresult *res;
    int rc = 0;

    snprintf(key, sizeof key, "keel.migrate.%s", module != NULL ? module : "");
    vals[0] = key;
    res = PQexecParams(c->pg, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, NULL, vals,
                       NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = keel__pg_fail(c, res, "migration lock");
        snprintf(err, errlen, "%s", c->lasterr);
    }
    PQclear(res);
    return rc;
}

/* The provisioning script for c's namespace (see keel_store_ext.provision):
 * written to f.  who/lit: the runtime login quoted as a name and as a
 * literal, or NULL. */
static void provision_sql(FILE *f, const char *ns, const char *who, const char *lit)
{
    fputs("SELECT pg_advisory_xact_lock(hashtext('keel.provision'));\n", f);
    if (ns != NULL) {
        /* Roles are per cluster: several databases (and test runs) may race
         * to create the same one, hence the exception handlers. */
        fprintf(f,
            "DO $keel$ BEGIN\n"
            "  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'keel_%1$s') THEN\n"
            "    BEGIN CREATE ROLE keel_%1$s NOLOGIN;\n"
            "    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;\n"
            "  END IF;\n"
            "  IF NOT pg_has_role(current_user, 'keel_%1$s', 'MEMBER') THEN\n"
            "    EXECUTE format('GRANT keel_%1$s TO %%I', current_user);\n"
            "  END IF;\n", ns);
        if (who != NULL)
            fprintf(f,
            "  IF NOT pg_has_role(%2$s, 'keel_%1$s', 'MEMBER') THEN\n"
            "    EXECUTE format('GRANT keel_%1$s TO %%I', %2$s);\n"
            "  END IF;\n", ns, lit);
        fprintf(f,
            "  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = '%1$s') THEN\n"
            "    CREATE SCHEMA %1$s AUTHORIZATION keel_%1$s;\n"
            "    REVOKE ALL ON SCHEMA %1$s FROM PUBLIC;\n"
            "  END IF;\n"
            "END $keel$;\n", ns);
    }
    /* Looked up first, not IF NOT EXISTS: PostgreSQL checks the CREATE
     * privilege before it looks, so a service login the admin provisioned
     * (no CREATE on the database or on schema keel) failed here at every
     * start although there was nothing to create. */
    fputs("DO $keel$ BEGIN\n"
          "  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'keel') THEN\n"
          "    CREATE SCHEMA keel;\n"
          "  END IF;\n"
          "  IF to_regclass('keel.keel_migrations') IS NULL THEN\n"
          "    CREATE TABLE keel.keel_migrations (module TEXT NOT NULL, "
          "version INTEGER NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL, "
          "PRIMARY KEY (module, version));\n"
          "  END IF;\n"
          "END $keel$;\n", f);
    if (who != NULL)
        fprintf(f, "GRANT USAGE ON SCHEMA keel TO %1$s;\n"
                   "GRANT SELECT, INSERT ON keel.keel_migrations TO %1$s;\n", who);
}

static int pg_provision(void *conn, const char *grant_to, char *err, size_t errlen)
{
    keel__pg_conn *c = conn;
    char *who = NULL, *lit = NULL, *sql = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int rc = 0;

    if (grant_to != NULL && grant_to[0] != '\0') {
        who = PQescapeIdentifier(c->pg, grant_to, strlen(grant_to));
        lit = PQescapeLiteral(c->pg, grant_to, strlen(grant_to));
    }
    if ((grant_to != NULL && grant_to[0] != '\0' && (who == NULL || lit == NULL)) ||
        (f = open_memstream(&sql, &len)) == NULL) {
        rc = KEEL_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    provision_sql(f, c->ns, who, lit);
    if (fclose(f) != 0 || sql == NULL) {
        rc = KEEL_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if ((rc = keel__pg_simple(c, sql)) != 0)
        snprintf(err, errlen, "provisioning %s%s on postgres: %s%s",
                 c->ns ? "module " : "the core", c->ns ? c->ns : "", c->lasterr,
                 strcmp(c->sqlstate, "42501") == 0
                     ? ": run `keel migrate` with KEEL_DATABASE_ADMIN_URL (a login that may "
                       "create roles and schemas) or the SQL in docs/store.md" : "");
out:
    PQfreemem(who);
    PQfreemem(lit);
    free(sql);
    return rc;
}

int keel__store_pg_url_user(const char *url, char *buf, size_t len, char *err, size_t errlen)
{
    PQconninfoOption *opts, *o;
    char *perr = NULL;
    int rc = KEEL_ECONFIG;

    buf[0] = '\0';
    opts = PQconninfoParse(url, &perr);
    if (opts == NULL) {
        snprintf(err, errlen, "invalid postgres url: %s", perr ? perr : "out of memory");
        PQfreemem(perr);
        return KEEL_ECONFIG;
    }
    for (o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, "user") == 0 && o->val != NULL && o->val[0] != '\0') {
            snprintf(buf, len, "%s", o->val);
            rc = 0;
        }
    PQconninfoFree(opts);
    if (rc != 0)
        snprintf(err, errlen, "database_url must name its login (postgres://USER@host/db) "
                 "when database_admin_url is set: that login gets the module roles");
    return rc;
}

const keel_store_vt keel_store_postgres = {
    .version   = 3,
    .name      = "postgres",
    .open      = pg_open,
    .close     = pg_close,
    .exec      = keel__pg_exec,
    .begin     = pg_begin,
    .commit    = pg_commit,
    .rollback  = pg_rollback,
    .begin_ex  = pg_begin_ex,
    .savepoint = pg_savepoint,
    .errmsg    = pg_errmsg,
    .retryable = pg_retryable,
    .healthy   = pg_healthy,
    .exec_blob = keel__pg_exec_blob,
    .one_blob  = keel__pg_one_blob,
};

const keel_store_ext keel__store_pg_ext = {
    .version        = 2,
    .exec_script    = pg_exec_script,
    .set_privileged = pg_set_privileged,
    .configure      = pg_configure,
    .set_mode       = pg_set_mode,
    .provision      = pg_provision,
    .lock           = pg_lock,
};
