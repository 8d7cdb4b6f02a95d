/*
 * placement.c — configuration of the process and where each module runs.
 *
 * KEEL_MODULES_LOCAL lists the modules of this process (empty = all built
 * in); KEEL_REMOTE_<MODULE>=http://… sends a module's calls to another keel
 * process; anything else is placed nowhere and refused when needed.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ctx-internal.h"
#include "core/log-internal.h"
#include "core/metrics-internal.h"

/* Is name in the comma-separated list? */
static int keel_in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    const char *p = list;
    while (p != NULL && *p != '\0') {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len > 0 && isspace((unsigned char)*p))
            p++, len--;
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        if (len == n && memcmp(p, name, n) == 0)
            return 1;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

static int keel_check_list(keel_runtime *rt, const char *list, char *err, size_t errlen)
{
    const char *p = list;
    while (p != NULL && *p != '\0') {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[128];
        while (len > 0 && isspace((unsigned char)*p))
            p++, len--;
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        snprintf(name, sizeof(name), "%.*s", (int)len, p);
        if (len > 0 && keel__rt_find(rt, name) == NULL) {
            snprintf(err, errlen, "KEEL_MODULES_LOCAL names '%s', which is not built in", name);
            return KEEL_ECONFIG;
        }
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* health_priority: "module=critical|degraded" items over each module's
 * descriptor default (critical unless KEEL_MOD_HEALTH_DEGRADED). */
static int keel_check_priority(keel_runtime *rt, const keel_config *cfg, char *err, size_t errlen)
{
    const char *v = keel__config_get(cfg, NULL, "health_priority"), *p = v;
    size_t i;

    for (i = 0; i < rt->n; i++)
        rt->mods[i].degraded = (rt->mods[i].desc->mflags & KEEL_MOD_HEALTH_DEGRADED) != 0;
    while (p != NULL && *p != '\0') {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char item[160], *eq, *name = item, *pr = NULL;
        keel_module_ctx *mc;
        while (len > 0 && isspace((unsigned char)*p))
            p++, len--;
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        snprintf(item, sizeof item, "%.*s", (int)len, p);
        eq = strchr(item, '=');
        if (eq != NULL) {
            *eq = '\0';
            for (pr = eq + 1; isspace((unsigned char)*pr); pr++)
                ;
            while (eq > item && isspace((unsigned char)eq[-1]))
                *--eq = '\0';
        }
        if (eq == NULL || pr == NULL
            || (strcmp(pr, "critical") != 0 && strcmp(pr, "degraded") != 0)) {
            snprintf(err, errlen, "health_priority=%s: '%s': use module=critical or "
                     "module=degraded", v, item);
            return KEEL_ECONFIG;
        }
        if ((mc = keel__rt_find(rt, name)) == NULL) {
            snprintf(err, errlen, "health_priority=%s: '%s' is not a module built in", v, name);
            return KEEL_ECONFIG;
        }
        mc->degraded = strcmp(pr, "degraded") == 0;
        p = e ? e + 1 : NULL;
    }
    return 0;
}

/* store_sync is checked here so `keel config` and every command refuse a
 * typo before any store opens. */
static int keel_check_sync(const char *v, char *err, size_t errlen)
{
    static const char *const levels[] = {"off", "normal", "full", "extra", NULL};
    int i;
    for (i = 0; levels[i] != NULL; i++)
        if (v != NULL && strcmp(v, levels[i]) == 0)
            return 0;
    snprintf(err, errlen, "store_sync=%s: use off, normal, full or extra", v ? v : "");
    return KEEL_ECONFIG;
}

/* trace_sample is a ratio (a string key: the config has no real type). */
static int keel_check_sample(const keel_config *cfg, char *err, size_t errlen)
{
    const char *v = keel__config_get(cfg, NULL, "trace_sample");
    char *end = NULL;
    double r = v != NULL ? strtod(v, &end) : -1;
    if (v == NULL || end == v || *end != '\0' || !(r >= 0 && r <= 1)) {
        snprintf(err, errlen, "trace_sample=%s (%s): use a ratio from 0 to 1", v ? v : "",
                 keel__config_source_name(keel__config_source(cfg, NULL, "trace_sample")));
        return KEEL_ECONFIG;
    }
    keel__trace_set_sample(r);
    return 0;
}

/* Declares every key of rt (the core's, each module's, remote_<module>)
 * into *cfg and loads the layers.  *cfg is set (also on failure). */
static int keel_rt_load(keel_runtime *rt, keel_config **cfg, const char *file, char **envp,
                        const char *const *flags, char *err, size_t errlen)
{
    size_t i;
    int rc;

    if ((*cfg = keel__config_new()) == NULL)
        return KEEL_ENOMEM;
    if ((rc = keel__config_declare(*cfg, NULL, keel_core_config_keys)) != 0)
        return rc;
    for (i = 0; i < rt->n; i++) {
        const keel_module *m = rt->mods[i].desc;
        keel_config_key k = {.type = KEEL_CFG_STRING};
        char name[128];
        if (m->config != NULL && (rc = keel__config_declare(*cfg, m->name, m->config)) != 0)
            return rc;
        snprintf(name, sizeof(name), "remote_%s", m->name);
        k.name = name;
        if ((rc = keel__config_declare_one(*cfg, NULL, &k)) != 0)
            return rc;
    }
    return keel__config_load(*cfg, file, envp, flags, err, errlen);
}

/* log_level of cfg: parsed, its modules checked against the build, then
 * applied.  Nothing changes on a refusal. */
static int keel_rt_log_level(keel_runtime *rt, const keel_config *cfg, char *err, size_t errlen)
{
    const char *v = keel__config_get(cfg, NULL, "log_level");
    const char *src = keel__config_source_name(keel__config_source(cfg, NULL, "log_level"));
    keel_log_spec *sp = malloc(sizeof *sp);  /* 4.6 KB: off the signal thread's stack */
    char why[160];
    size_t i;

    if (sp == NULL)
        return KEEL_ENOMEM;
    if (keel__log_spec_parse(v, sp, why, sizeof why) != 0) {
        snprintf(err, errlen, "log_level=%s (%s): %s (e.g. info,compute=debug)", v, src, why);
        free(sp);
        return KEEL_ECONFIG;
    }
    for (i = 0; i < sp->n; i++)
        if (keel__rt_find(rt, sp->mods[i].name) == NULL) {
            snprintf(err, errlen, "log_level=%s (%s): '%s' is not a module built in", v, src,
                     sp->mods[i].name);
            free(sp);
            return KEEL_ECONFIG;
        }
    keel__log_spec_apply(sp);
    free(sp);
    return 0;
}

int keel__rt_reload_log_level(keel_runtime *rt, char *err, size_t errlen)
{
    keel_config *cfg = NULL;
    int rc = keel_rt_load(rt, &cfg, rt->cfg_file, rt->cfg_envp, rt->cfg_flags, err, errlen);
    if (rc == 0)
        rc = keel_rt_log_level(rt, cfg, err, errlen);
    keel__config_free(cfg);
    return rc;
}

int keel__rt_configure(keel_runtime *rt, const char *file, char **envp,
                       const char *const *flags, char *err, size_t errlen)
{
    size_t i;
    int rc;
    const char *local, *lvl;
    int pinned;

    keel__config_free(rt->cfg);
    rt->cfg = NULL;
    free(rt->cfg_file);
    rt->cfg_file = NULL;
    if (file != NULL && (rt->cfg_file = strdup(file)) == NULL)
        return KEEL_ENOMEM;
    rt->cfg_envp = envp;
    rt->cfg_flags = flags;
    if ((rc = keel_rt_load(rt, &rt->cfg, file, envp, flags, err, errlen)) != 0)
        return rc;
    if ((rc = keel_rt_log_level(rt, rt->cfg, err, errlen)) != 0)
        return rc;
    rt->auth_disabled = keel__config_bool(rt->cfg, NULL, "auth_disabled");
    if ((rc = keel__rt_principal_config(rt, err, errlen)) != 0)
        return rc;
    keel__metrics_set_enabled(keel__config_bool(rt->cfg, NULL, "metrics"));
    if ((rc = keel_check_sample(rt->cfg, err, errlen)) != 0)
        return rc;
    rt->call_timeout_ms = keel__config_int(rt->cfg, NULL, "call_timeout_ms");
    rt->check_output = keel__config_bool(rt->cfg, NULL, "check_output");
    /* only a process that checks replies needs them compiled: a release
     * build's start-up skips 57 % of the schema text (test_schema_files
     * compiles every one) */
    if (rt->check_output && (rc = keel__rt_compile_out_schemas(rt, err, errlen)) != 0)
        return rc;
    rt->store_opts.busy_ms = (int)keel__config_int(rt->cfg, NULL, "store_busy_ms");
    rt->store_opts.no_cache = !keel__config_bool(rt->cfg, NULL, "store_cache");
    rt->store_opts.sync = keel__config_get(rt->cfg, NULL, "store_sync");
    rt->store_opts.checkpoint_pages = (int)keel__config_int(rt->cfg, NULL, "store_checkpoint_pages");
    rt->store_opts.group_commit = keel__config_bool(rt->cfg, NULL, "store_group_commit");
    rt->store_opts.pool_size = (int)keel__config_int(rt->cfg, NULL, "database_pool_size");
    rt->store_opts.statement_timeout_ms =
        (int)keel__config_int(rt->cfg, NULL, "database_statement_timeout_ms");
    if ((rc = keel_check_sync(rt->store_opts.sync, err, errlen)) != 0)
        return rc;
    if ((rc = keel_check_priority(rt, rt->cfg, err, errlen)) != 0)
        return rc;
    /* The e2e suite's method coverage: every handler run is appended. */
    if (rt->call_log_fd >= 0)
        close(rt->call_log_fd);
    lvl = keel__config_get(rt->cfg, NULL, "call_log");
    rt->call_log_fd = lvl != NULL && lvl[0] != '\0'
        ? open(lvl, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600) : -1;

    local = keel__config_get(rt->cfg, NULL, "modules_local");
    if ((rc = keel_check_list(rt, local, err, errlen)) != 0)
        return rc;
    pinned = local != NULL && local[0] != '\0';
    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        char name[128];
        const char *url;
        snprintf(name, sizeof(name), "remote_%s", mc->desc->name);
        url = keel__config_get(rt->cfg, NULL, name);
        free(mc->remote_url);
        mc->remote_url = NULL;
        if ((pinned && keel_in_list(local, mc->desc->name))
            || (mc->desc->mflags & KEEL_MOD_EVERY_PROCESS))
            mc->place = KEEL_PLACE_LOCAL;
        else if (url != NULL && url[0] != '\0') {
            if (strncmp(url, "http://", 7) != 0) {
                snprintf(err, errlen, "KEEL_REMOTE_%s=%s: only http:// URLs are supported", mc->desc->name, url);
                return KEEL_ECONFIG;
            }
            mc->place = KEEL_PLACE_REMOTE;
            if ((mc->remote_url = strdup(url)) == NULL)
                return KEEL_ENOMEM;
        } else
            /* no list: everything not remote runs here; a list: only what it names */
            mc->place = pinned ? KEEL_PLACE_NONE : KEEL_PLACE_LOCAL;
    }
    return 0;
}

