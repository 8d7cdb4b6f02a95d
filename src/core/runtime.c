/*
 * runtime.c — the registry: check, order, place, start, stop.
 *
 * The module list is an explicit array (generated from KEEL_MODULES).  Start
 * order is a stable topological sort of deps: among modules whose deps are
 * all placed, the earliest in list order goes next.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/ctx-internal.h"
#include "core/log-internal.h"
#include "core/events-internal.h"
#include "core/metrics-internal.h"
#include "core/store-internal.h"

static int keel_valid_name(const char *s)
{
    if (s == NULL || !(*s >= 'a' && *s <= 'z'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return 0;
    return 1;
}

static const keel_module *keel_find_desc(const keel_module *const *mods, size_t n, const char *name)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(mods[i]->name, name) == 0)
            return mods[i];
    return NULL;
}

/* Checks one descriptor on its own. */
static int keel_check_desc(const keel_module *m, char *err, size_t errlen)
{
    const keel_method *me, *me2;
    if (m->abi != KEEL_ABI) {
        snprintf(err, errlen, "module '%s' was built for ABI %d, this keel has ABI %d",
                 m->name ? m->name : "?", m->abi, KEEL_ABI);
        return KEEL_EVERSION;
    }
    if (!keel_valid_name(m->name)) {
        snprintf(err, errlen, "module name '%s' is invalid: use [a-z][a-z0-9_]*",
                 m->name ? m->name : "(null)");
        return KEEL_EDEP;
    }
    /* A module's tables are <name>_*: keel_* is the core's, sqlite* SQLite's. */
    if (strcmp(m->name, "keel") == 0 || strncmp(m->name, "keel_", 5) == 0 ||
        strncmp(m->name, "sqlite", 6) == 0) {
        snprintf(err, errlen, "module name '%s' is reserved (keel, keel_*, sqlite* name the "
                 "core's and SQLite's storage)", m->name);
        return KEEL_EDEP;
    }
    for (me = m->methods; me != NULL && me->name != NULL; me++) {
        if (!keel_valid_name(me->name) || me->handler == NULL) {
            snprintf(err, errlen, "module '%s': method '%s' needs a [a-z][a-z0-9_]* name and a handler",
                     m->name, me->name);
            return KEEL_EDEP;
        }
        for (me2 = m->methods; me2 != me; me2++)
            if (strcmp(me2->name, me->name) == 0) {
                snprintf(err, errlen, "module '%s': method '%s' is declared twice", m->name, me->name);
                return KEEL_EDEP;
            }
    }
    return 0;
}

/* Finds a cycle through start and writes "a -> b -> a" into err. */
static void keel_describe_cycle(const keel_module *const *mods, size_t n, const keel_module *start,
                                char *err, size_t errlen)
{
    const keel_module *path[64] = {0};   /* only [0, len) is read; zeroed for the analyzers */
    size_t len = 0, o;
    const keel_module *cur = start;
    /* Walk the first unplaced dep repeatedly: in a graph where nothing can be
     * placed, every node has such a dep, so the walk must revisit a node. */
    while (len < 64) {
        size_t i;
        const char *const *d;
        for (i = 0; i < len; i++)
            if (path[i] == cur)
                goto found;
        path[len++] = cur;
        for (d = cur->deps; d != NULL && *d != NULL; d++) {
            const keel_module *dm = keel_find_desc(mods, n, *d);
            if (dm != NULL) {
                cur = dm;
                break;
            }
        }
    }
found:
    o = (size_t)snprintf(err, errlen, "dependency cycle: ");
    {
        size_t i, from = 0;
        for (i = 0; i < len; i++)
            if (path[i] == cur)
                from = i;
        for (i = from; i < len && o < errlen; i++)
            o += (size_t)snprintf(err + o, errlen - o, "%s -> ", path[i]->name);
        if (o < errlen)
            snprintf(err + o, errlen - o, "%s", cur->name);
    }
}

int keel__rt_new(const keel_module *const *mods, keel_runtime **out, char *err, size_t errlen)
{
    keel_runtime *rt = NULL;
    size_t n = 0, i, j, placed = 0;
    unsigned char *done = NULL;
    int rc = 0;

    *out = NULL;
    while (mods[n] != NULL)
        n++;
    for (i = 0; i < n; i++) {
        if ((rc = keel_check_desc(mods[i], err, errlen)) != 0)
            return rc;
        for (j = 0; j < i; j++) {
            const char *a = mods[i]->name, *b = mods[j]->name;
            size_t la = strlen(a), lb = strlen(b);
            if (strcmp(a, b) == 0) {
                snprintf(err, errlen, "module '%s' is listed twice", a);
                return KEEL_EDEP;
            }
            /* Store namespaces are name prefixes (<module>_*): module "a"
             * would reach the tables of module "a_b". */
            if ((la < lb && strncmp(b, a, la) == 0 && b[la] == '_') ||
                (lb < la && strncmp(a, b, lb) == 0 && a[lb] == '_')) {
                snprintf(err, errlen, "modules '%s' and '%s' would share a storage namespace "
                         "(one name is the other's prefix followed by '_'): rename one",
                         la < lb ? a : b, la < lb ? b : a);
                return KEEL_EDEP;
            }
        }
    }
    for (i = 0; i < n; i++) {
        const char *const *d;
        for (d = mods[i]->deps; d != NULL && *d != NULL; d++)
            if (keel_find_desc(mods, n, *d) == NULL) {
                snprintf(err, errlen, "module '%s' depends on '%s', which is not built in (KEEL_MODULES)",
                         mods[i]->name, *d);
                return KEEL_EDEP;
            }
    }
    rt = calloc(1, sizeof(*rt));
    if (rt != NULL)
        rt->call_log_fd = -1; /* before any path that may free rt */
    done = calloc(n ? n : 1, 1);
    if (rt == NULL || done == NULL || (n && (rt->mods = calloc(n, sizeof(*rt->mods))) == NULL)) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rt->call_timeout_ms = 10000;
    /* check_output and call_log come from the configuration (keel__rt_configure) */
    while (placed < n) {
        int progress = 0;
        for (i = 0; i < n; i++) {
            const char *const *d;
            int ready = 1;
            if (done[i])
                continue;
            for (d = mods[i]->deps; d != NULL && *d != NULL && ready; d++) {
                for (j = 0; j < n; j++)
                    if (strcmp(mods[j]->name, *d) == 0)
                        break;
                ready = done[j];
            }
            if (!ready)
                continue;
            done[i] = 1;
            rt->mods[placed].desc = mods[i];
            rt->mods[placed].log_slot = keel__log_slot(mods[i]->name);
            rt->mods[placed].rt = rt;
            placed++;
            progress = 1;
            break; /* restart from the top: stable order */
        }
        if (!progress) {
            for (i = 0; i < n && done[i]; i++)
                ;
            keel_describe_cycle(mods, n, mods[i], err, errlen);
            rc = KEEL_EDEP;
            goto out;
        }
    }
    rt->n = n;
    for (i = 0; i < n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        const keel_method *me;
        size_t k = 0;
        for (me = mc->desc->methods; me != NULL && me->name != NULL; me++)
            k++;
        mc->nmethods = k;
        if (k && (mc->methods = calloc(k, sizeof(*mc->methods))) == NULL) {
            rc = KEEL_ENOMEM;
            goto out;
        }
        for (k = 0; k < mc->nmethods; k++) {
            keel_method_rt *mr = &mc->methods[k];
            char schema_err[512];
            mr->m = &mc->desc->methods[k];
            mr->metric_slot = keel__metrics_method_slot(mc->desc->name, mr->m->name);
            if (mr->m->in_schema != NULL &&
                keel__schema_compile(mr->m->in_schema, &mr->in, schema_err, sizeof(schema_err)) != 0) {
                snprintf(err, errlen, "module '%s' method '%s': input schema: %s",
                         mc->desc->name, mr->m->name, schema_err);
                rc = KEEL_EINVAL;
                goto out;
            }
            /* output schemas: keel__rt_compile_out_schemas, when replies are checked */
            if (mr->m->flags & KEEL_ADMIN)
                mr->scope = strdup("admin");
            else if (mr->m->scope != NULL)
                mr->scope = strdup(mr->m->scope);
            else {
                size_t len = strlen(mc->desc->name) + 8;
                if ((mr->scope = malloc(len)) != NULL)
                    snprintf(mr->scope, len, "%s:%s", mc->desc->name,
                             (mr->m->flags & KEEL_READONLY) ? "read" : "write");
            }
            if (mr->scope == NULL) {
                rc = KEEL_ENOMEM;
                goto out;
            }
        }
        if (mc->desc->mflags & KEEL_MOD_AUTHN)
            rt->authn = mc;
    }
    *out = rt;
    rt = NULL;
out:
    free(done);
    if (rt != NULL) {
        rt->n = placed > rt->n ? placed : rt->n;
        if (rt->n == 0)
            rt->n = placed;
        keel__rt_free(rt);
    }
    return rc;
}

int keel__rt_compile_out_schemas(keel_runtime *rt, char *err, size_t errlen)
{
    char schema_err[512];
    size_t i, k;

    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        for (k = 0; k < mc->nmethods; k++) {
            keel_method_rt *mr = &mc->methods[k];
            if (mr->out != NULL || mr->m->out_schema == NULL)
                continue;
            if (keel__schema_compile(mr->m->out_schema, &mr->out, schema_err,
                                     sizeof(schema_err)) != 0) {
                snprintf(err, errlen, "module '%s' method '%s': output schema: %s",
                         mc->desc->name, mr->m->name, schema_err);
                return KEEL_EINVAL;
            }
        }
    }
    return 0;
}

void keel__rt_free(keel_runtime *rt)
{
    size_t i, k;
    if (rt == NULL)
        return;
    keel__rt_stop(rt);
    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        for (k = 0; k < mc->nmethods && mc->methods; k++) {
            keel__schema_free(mc->methods[k].in);
            keel__schema_free(mc->methods[k].out);
            free(mc->methods[k].scope);
        }
        free(mc->methods);
        free(mc->remote_url);
    }
    free(rt->mods);
    free(rt->proxies);
    keel__config_free(rt->cfg);
    free(rt->cfg_file);
    if (rt->call_log_fd >= 0)
        close(rt->call_log_fd);
    free(rt);
}

keel_config *keel__rt_config(keel_runtime *rt)
{
    return rt->cfg;
}

void keel__rt_set_remote(keel_runtime *rt, const keel_remote_vt *vt, void *self)
{
    rt->remote = vt;
    rt->remote_self = self;
}

/* A module needs a store when it has migrations or takes part in events
 * (its outbox and inbox are written on its own connection). */
static int keel_has_migrations(const keel_module *m)
{
    return (m->migrations != NULL && m->migrations[0].version != 0) ||
           (m->topics != NULL && m->topics[0].name != NULL) ||
           (m->subs != NULL && m->subs[0].topic != NULL);
}

/* Marks mc and its dependencies wanted; explains a dependency placed nowhere. */
static int keel_want(keel_runtime *rt, keel_module_ctx *mc, char *err, size_t errlen)
{
    const char *const *d;
    int rc;
    if (mc->wanted)
        return 0;
    if (mc->place == KEEL_PLACE_NONE) {
        char nm[128], env[160];
        snprintf(nm, sizeof(nm), "remote_%s", mc->desc->name);
        keel__config_envname(NULL, nm, env, sizeof(env));
        snprintf(err, errlen, "module '%s' is needed but runs nowhere: add it to KEEL_MODULES_LOCAL "
                 "or set %s", mc->desc->name, env);
        return KEEL_EDEP;
    }
    mc->wanted = 1;
    if (mc->place != KEEL_PLACE_LOCAL)
        return 0;
    for (d = mc->desc->deps; d != NULL && *d != NULL; d++)
        if ((rc = keel_want(rt, keel__rt_find(rt, *d), err, errlen)) != 0)
            return rc;
    return 0;
}

/* SQLite is one file on one machine: several replicas would each have their own. */
static int keel_check_replicas(keel_runtime *rt, const char *url, char *err, size_t errlen)
{
    long long n = keel__config_int(rt->cfg, NULL, "replicas");
    if (n > 1 && !keel__store_url_is_pg(url)) {
        snprintf(err, errlen, "KEEL_REPLICAS=%lld but the database is SQLite, a local file: each "
                 "replica would keep its own data; set KEEL_DATABASE_URL=postgres://… or run "
                 "one replica", n);
        return KEEL_ECONFIG;
    }
    return 0;
}

/* Migrations of mc through the admin login (PostgreSQL with
 * database_admin_url): it creates the module's role and schema, grants the
 * role to the runtime login, and applies the migrations. */
static int keel_admin_migrate(keel_runtime *rt, keel_module_ctx *mc, const char *admin,
                              const char *url, int *n, char *err, size_t errlen)
{
    keel_store_opts o;
    keel_store *st = NULL;
    char user[128];
    int rc;

    o = rt->store_opts;
    o.pool_size = 1;
    if ((rc = keel__store_pg_url_user(url, user, sizeof user, err, errlen)) != 0)
        return rc;
    o.grant_to = user;
    if ((rc = keel__store_open_url_opts(admin, mc->desc->name, &o, &st, err, errlen)) != 0)
        return rc;
    rc = keel__store_migrate(st, mc->desc->name, mc->desc->migrations, n, err, errlen);
    keel_store_close(st);
    return rc;
}

/* SQLite: the core handle the events will use, opened before the modules',
 * and every recorded migration read through it (*hist; NULL when unread).
 * A module whose history is already complete then needs no connection at
 * start: its store opens lazily, on its first statement, and start-up
 * parses the schema once instead of once per module. */
static void keel_open_core(keel_runtime *rt, const char *url, keel_store **core, json_t **hist)
{
    char err[256];

    *core = NULL;
    *hist = NULL;
    if (keel__store_url_is_pg(url))
        return;
    if (keel__store_open_url(url, NULL, core, err, sizeof err) != 0 ||
        keel__store_configure(*core, &rt->store_opts, err, sizeof err) != 0) {
        /* the modules' own opens below report what is wrong */
        keel_store_close(*core);
        *core = NULL;
        return;
    }
    if (keel__store_migrations_all(*core, hist) != 0)
        *hist = NULL;
}

static int keel_open_stores(keel_runtime *rt, int *applied, char *err, size_t errlen)
{
    const char *url = keel__config_get(rt->cfg, NULL, "database_url");
    const char *admin = keel__config_get(rt->cfg, NULL, "database_admin_url");
    keel_store *core = NULL;
    json_t *hist = NULL;
    size_t i;
    int rc;

    if ((rc = keel_check_replicas(rt, url, err, errlen)) != 0)
        return rc;
    if (admin != NULL && admin[0] != '\0' && !keel__store_url_is_pg(admin)) {
        snprintf(err, errlen, "database_admin_url must be a postgres:// url");
        return KEEL_ECONFIG;
    }
    keel_open_core(rt, url, &core, &hist);
    for (i = 0; i < rt->n && rc == 0; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        int n = 0;
        if (!mc->wanted || mc->place != KEEL_PLACE_LOCAL || !keel_has_migrations(mc->desc) ||
            mc->store != NULL)
            continue;
        if (hist != NULL && keel__store_migrations_current(hist, mc->desc->name,
                                                           mc->desc->migrations)) {
            rc = keel__store_open_url_lazy(url, mc->desc->name, &rt->store_opts, &mc->store,
                                           err, errlen);
            continue;
        }
        if (admin != NULL && admin[0] != '\0' && keel__store_url_is_pg(url) &&
            (rc = keel_admin_migrate(rt, mc, admin, url, &n, err, errlen)) != 0)
            break;
        if ((rc = keel__store_open_url_opts(url, mc->desc->name, &rt->store_opts, &mc->store,
                                            err, errlen)) != 0)
            break;
        if (n == 0 && (rc = keel__store_migrate(mc->store, mc->desc->name, mc->desc->migrations,
                                                &n, err, errlen)) != 0)
            break;
        if (n > 0)
            keel_log_module(mc->desc->name, KEEL_LOG_INFO, "applied %d migration(s)", n);
        if (applied)
            *applied += n;
    }
    json_decref(hist);
    /* the core's event tables, after the module stores exist */
    if (rc == 0)
        rc = keel__events_open(rt, &core, err, errlen);
    keel_store_close(core);
    return rc;
}

static int keel_select(keel_runtime *rt, const char *const *only, char *err, size_t errlen)
{
    size_t i;
    int rc;
    for (i = 0; i < rt->n; i++)
        rt->mods[i].wanted = 0;
    if (only == NULL) {
        for (i = 0; i < rt->n; i++)
            if (rt->mods[i].place == KEEL_PLACE_LOCAL && (rc = keel_want(rt, &rt->mods[i], err, errlen)) != 0)
                return rc;
        return 0;
    }
    for (; *only != NULL; only++) {
        keel_module_ctx *mc = keel__rt_find(rt, *only);
        if (mc == NULL) {
            snprintf(err, errlen, "unknown module '%s'", *only);
            return KEEL_ENOMODULE;
        }
        if ((rc = keel_want(rt, mc, err, errlen)) != 0)
            return rc;
    }
    return 0;
}

int keel__rt_migrate(keel_runtime *rt, int *applied, char *err, size_t errlen)
{
    int rc;
    *applied = 0;
    if ((rc = keel_select(rt, NULL, err, errlen)) != 0)
        return rc;
    return keel_open_stores(rt, applied, err, errlen);
}

int keel__rt_migrations_status(keel_runtime *rt, json_t **out, char *err, size_t errlen)
{
    const char *url = keel__config_get(rt->cfg, NULL, "database_url");
    json_t *all = json_object();
    size_t i;
    int rc;
    *out = NULL;
    if (all == NULL)
        return KEEL_ENOMEM;
    if ((rc = keel_select(rt, NULL, err, errlen)) != 0)
        goto out;
    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        json_t *st = NULL;
        if (!mc->wanted || mc->place != KEEL_PLACE_LOCAL || !keel_has_migrations(mc->desc))
            continue;
        if (mc->store == NULL &&
            (rc = keel__store_open_url_opts(url, mc->desc->name, &rt->store_opts, &mc->store,
                                            err, errlen)) != 0)
            goto out;
        if ((rc = keel__store_migrations_status(mc->store, mc->desc->name, mc->desc->migrations, &st)) != 0) {
            snprintf(err, errlen, "module '%s': %s", mc->desc->name, keel_store_errmsg(mc->store));
            goto out;
        }
        json_object_set_new(all, mc->desc->name, st);
    }
    *out = all;
    all = NULL;
out:
    json_decref(all);
    return rc;
}

int keel__rt_start(keel_runtime *rt, const char *const *only, char *err, size_t errlen)
{
    size_t i;
    int rc;
    if (rt->cfg == NULL && (rc = keel__rt_configure(rt, NULL, NULL, NULL, err, errlen)) != 0)
        return rc;
    if ((rc = keel_select(rt, only, err, errlen)) != 0)
        return rc;
    if ((rc = keel_open_stores(rt, NULL, err, errlen)) != 0)
        goto fail;
    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        if (!mc->wanted || mc->place != KEEL_PLACE_LOCAL || mc->inited)
            continue;
        if (mc->desc->init != NULL && (rc = mc->desc->init(mc)) != 0) {
            snprintf(err, errlen, "module '%s' failed to initialise: %s", mc->desc->name, keel_strerror(rc));
            goto fail;
        }
        mc->inited = 1;
    }
    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        if (!mc->wanted || mc->place != KEEL_PLACE_LOCAL || mc->started)
            continue;
        if (mc->desc->start != NULL && (rc = mc->desc->start(mc)) != 0) {
            snprintf(err, errlen, "module '%s' failed to start: %s", mc->desc->name, keel_strerror(rc));
            goto fail;
        }
        mc->started = 1;
    }
    rt->started = 1;
    if (rt->auth_disabled && rt->authn != NULL)
        keel_log(NULL, KEEL_LOG_WARN, "AUTHENTICATION IS DISABLED (KEEL_AUTH_DISABLED): every caller "
                 "is trusted; use this for local development only");
    return 0;
fail:
    keel__rt_stop(rt);
    return rc;
}

void keel__rt_stop(keel_runtime *rt)
{
    size_t i;
    /* the dispatcher stops (in-flight handlers finish) before any module stops */
    keel__events_stop(rt);
    for (i = rt->n; i-- > 0;) {
        keel_module_ctx *mc = &rt->mods[i];
        if ((mc->started || mc->inited) && mc->desc->stop != NULL)
            mc->desc->stop(mc);
        mc->started = mc->inited = 0;
    }
    keel__events_close(rt);
    for (i = rt->n; i-- > 0;) {
        keel_store_close(rt->mods[i].store);
        rt->mods[i].store = NULL;
    }
    rt->started = 0;
}
