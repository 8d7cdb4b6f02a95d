/*
 * config.c — declared keys, four layers, one answer per key.
 *
 * defaults < config file (JSON) < environment (KEEL_…, KEEL_…_FILE) < flags.
 * Each entry remembers where its value came from so `keel config` can say.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-internal.h"
#include "keel/log.h"

typedef struct keel_config_entry {
    char              *scope;    /* NULL = core */
    keel_config_key    key;      /* row copy; name/def/help borrowed or owned (dyn) */
    char              *dyn_name; /* owned name for dynamic keys */
    char              *value;    /* owned, NULL = unset */
    keel_config_source source;
} keel_config_entry;

struct keel_config {
    keel_config_entry *v;
    size_t             n, cap;
};

keel_config *keel__config_new(void)
{
    return calloc(1, sizeof(keel_config));
}

void keel__config_free(keel_config *cfg)
{
    size_t i;
    if (cfg == NULL)
        return;
    for (i = 0; i < cfg->n; i++) {
        free(cfg->v[i].scope);
        free(cfg->v[i].dyn_name);
        free(cfg->v[i].value);
    }
    free(cfg->v);
    free(cfg);
}

static int keel_config_set(keel_config_entry *e, const char *value, keel_config_source src)
{
    char *copy = NULL;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return KEEL_ENOMEM;
    free(e->value);
    e->value = copy;
    e->source = src;
    return 0;
}

static int keel_config_add(keel_config *cfg, const char *scope, const keel_config_key *k, int dyn)
{
    keel_config_entry *e;
    if (cfg->n == cfg->cap) {
        size_t cap = cfg->cap ? cfg->cap * 2 : 32;
        keel_config_entry *v = realloc(cfg->v, cap * sizeof(*v));
        if (v == NULL)
            return KEEL_ENOMEM;
        cfg->v = v;
        cfg->cap = cap;
    }
    e = &cfg->v[cfg->n];
    memset(e, 0, sizeof(*e));
    e->key = *k;
    if (scope != NULL && (e->scope = strdup(scope)) == NULL)
        return KEEL_ENOMEM;
    if (dyn) {
        if ((e->dyn_name = strdup(k->name)) == NULL) {
            free(e->scope);
            return KEEL_ENOMEM;
        }
        e->key.name = e->dyn_name;
        e->key.help = NULL;
        e->key.def = NULL;
        if (k->def != NULL && keel_config_set(e, k->def, KEEL_SRC_DEFAULT) != 0) {
            free(e->scope);
            free(e->dyn_name);
            return KEEL_ENOMEM;
        }
    } else if (k->def != NULL && keel_config_set(e, k->def, KEEL_SRC_DEFAULT) != 0) {
        free(e->scope);
        return KEEL_ENOMEM;
    }
    cfg->n++;
    return 0;
}

int keel__config_declare(keel_config *cfg, const char *scope, const keel_config_key *keys)
{
    int rc;
    for (; keys != NULL && keys->name != NULL; keys++)
        if ((rc = keel_config_add(cfg, scope, keys, 0)) != 0)
            return rc;
    return 0;
}

int keel__config_declare_one(keel_config *cfg, const char *scope, const keel_config_key *key)
{
    return keel_config_add(cfg, scope, key, 1);
}

static int keel_scope_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static keel_config_entry *keel_config_find(const keel_config *cfg, const char *scope, const char *name)
{
    size_t i;
    for (i = 0; i < cfg->n; i++)
        if (keel_scope_eq(cfg->v[i].scope, scope) && strcmp(cfg->v[i].key.name, name) == 0)
            return &cfg->v[i];
    return NULL;
}

void keel__config_envname(const char *scope, const char *name, char *buf, size_t len)
{
    size_t o = 0;
    const char *parts[2] = {scope, name};
    int p;
    o += (size_t)snprintf(buf, len, "KEEL_");
    for (p = 0; p < 2; p++) {
        const char *s = parts[p];
        if (s == NULL)
            continue;
        if (p == 1 && scope != NULL && o + 1 < len)
            buf[o++] = '_';
        for (; *s != '\0' && o + 1 < len; s++)
            buf[o++] = (char)toupper((unsigned char)*s);
    }
    if (o < len)
        buf[o] = '\0';
}

const char *keel__config_source_name(keel_config_source src)
{
    switch (src) {
    case KEEL_SRC_DEFAULT: return "default";
    case KEEL_SRC_FILE:    return "file";
    case KEEL_SRC_ENV:     return "environment";
    case KEEL_SRC_ENVFILE: return "environment file";
    case KEEL_SRC_FLAG:    return "flag";
    }
    return "?";
}

/* Strictly parses a decimal integer. */
static int keel_parse_ll(const char *s, long long *out)
{
    char *end;
    long long v;
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int keel_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on", NULL};
    static const char *const no[] = {"0", "false", "no", "off", "", NULL};
    int i;
    for (i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
    for (i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    return -1;
}

/* Validates and stores one value, or explains what is wrong. */
static int keel_config_apply(keel_config_entry *e, const char *value, keel_config_source src,
                             const char *origin, char *err, size_t errlen)
{
    long long v;
    int b;
    switch (e->key.type) {
    case KEEL_CFG_INT:
        if (keel_parse_ll(value, &v) != 0) {
            snprintf(err, errlen, "%s=%s (%s): not an integer", origin, value,
                     keel__config_source_name(src));
            return KEEL_ECONFIG;
        }
        if (e->key.min < e->key.max && (v < e->key.min || v > e->key.max)) {
            snprintf(err, errlen, "%s=%s (%s): out of range %lld..%lld", origin, value,
                     keel__config_source_name(src), e->key.min, e->key.max);
            return KEEL_ECONFIG;
        }
        return keel_config_set(e, value, src);
    case KEEL_CFG_BOOL:
        if (keel_parse_bool(value, &b) != 0) {
            snprintf(err, errlen, "%s=%s (%s): not a boolean (true/false)", origin, value,
                     keel__config_source_name(src));
            return KEEL_ECONFIG;
        }
        return keel_config_set(e, b ? "true" : "false", src);
    case KEEL_CFG_STRING:
    default:
        return keel_config_set(e, value, src);
    }
}

/* Reads a whole small file (a mounted secret), trimming one trailing newline. */
static char *keel_read_secret(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int c;
    if (f == NULL)
        return NULL;
    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > cap) {
            char *nb;
            cap = cap ? cap * 2 : 256;
            if (cap > (1u << 20) || (nb = realloc(buf, cap)) == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        buf[n++] = (char)c;
    }
    fclose(f);
    if (buf == NULL && (buf = malloc(1)) == NULL)
        return NULL;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    buf[n] = '\0';
    return buf;
}

static int keel_config_load_file(keel_config *cfg, const char *file, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *root = json_load_file(file, 0, &jerr);
    const char *k, *k2;
    json_t *v, *v2;
    int rc = 0;
    char origin[256], text[64];

    if (root == NULL) {
        snprintf(err, errlen, "config file %s: %s (line %d)", file, jerr.text, jerr.line);
        return KEEL_ECONFIG;
    }
    if (!json_is_object(root)) {
        snprintf(err, errlen, "config file %s: top level must be an object", file);
        rc = KEEL_ECONFIG;
        goto out;
    }
    json_object_foreach(root, k, v) {
        const char *scope = NULL;
        json_t *inner = NULL;
        if (json_is_object(v)) {
            scope = k;
            inner = v;
        }
        json_object_foreach(inner ? inner : root, k2, v2) {
            keel_config_entry *e;
            const char *val;
            if (inner == NULL && strcmp(k2, k) != 0)
                continue; /* top-level scalar: handle exactly this key */
            snprintf(origin, sizeof(origin), "%s%s%s", scope ? scope : "", scope ? "." : "", k2);
            e = keel_config_find(cfg, scope, k2);
            if (e == NULL) {
                snprintf(err, errlen, "config file %s: unknown key '%s'", file, origin);
                rc = KEEL_ECONFIG;
                goto out;
            }
            if (json_is_string(v2)) {
                val = json_string_value(v2);
            } else if (json_is_integer(v2)) {
                snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v2));
                val = text;
            } else if (json_is_boolean(v2)) {
                val = json_is_true(v2) ? "true" : "false";
            } else {
                snprintf(err, errlen, "config file %s: '%s' must be a string, integer or boolean",
                         file, origin);
                rc = KEEL_ECONFIG;
                goto out;
            }
            if ((rc = keel_config_apply(e, val, KEEL_SRC_FILE, origin, err, errlen)) != 0)
                goto out;
        }
    }
out:
    json_decref(root);
    return rc;
}

/* Finds the entry whose environment name is env (length n). */
static keel_config_entry *keel_config_by_env(keel_config *cfg, const char *env, size_t n)
{
    char buf[256];
    size_t i;
    for (i = 0; i < cfg->n; i++) {
        keel__config_envname(cfg->v[i].scope, cfg->v[i].key.name, buf, sizeof(buf));
        if (strlen(buf) == n && memcmp(buf, env, n) == 0)
            return &cfg->v[i];
    }
    return NULL;
}

/* Variables that are KEEL_-prefixed but not keys: no warning for these. */
static int keel_env_known_extra(const char *name, size_t n)
{
    /* KEEL_TOKEN: the bearer token of `keel … --url` (cli_remote.c), a secret, not a key */
    static const char *const extra[] = {"KEEL_CONFIG", "KEEL_BIN", "KEEL_SOURCE_DIR", "KEEL_TOKEN",
                                        NULL};
    int i;
    for (i = 0; extra[i]; i++)
        if (strlen(extra[i]) == n && memcmp(extra[i], name, n) == 0)
            return 1;
    return 0;
}

static int keel_config_load_env(keel_config *cfg, char **envp, char *err, size_t errlen)
{
    char **ep;
    int rc;
    /* Two passes so KEEL_X beats KEEL_X_FILE deterministically?  No: both set
     * is ambiguous, so it is an error; one pass and a check suffice. */
    for (ep = envp; ep != NULL && *ep != NULL; ep++) {
        const char *kv = *ep, *eq = strchr(kv, '=');
        size_t n;
        keel_config_entry *e;
        if (strncmp(kv, "KEEL_", 5) != 0 || eq == NULL)
            continue;
        n = (size_t)(eq - kv);
        e = keel_config_by_env(cfg, kv, n);
        if (e != NULL) {
            char origin[256];
            if (e->source == KEEL_SRC_ENVFILE) {
                snprintf(err, errlen, "%.*s and %.*s_FILE are both set: keep one", (int)n, kv, (int)n, kv);
                return KEEL_ECONFIG;
            }
            snprintf(origin, sizeof(origin), "%.*s", (int)n, kv);
            if ((rc = keel_config_apply(e, eq + 1, KEEL_SRC_ENV, origin, err, errlen)) != 0)
                return rc;
            continue;
        }
        if (n > 5 && memcmp(kv + n - 5, "_FILE", 5) == 0 &&
            (e = keel_config_by_env(cfg, kv, n - 5)) != NULL) {
            char origin[256];
            char *val;
            if (e->source == KEEL_SRC_ENV) {
                snprintf(err, errlen, "%.*s and %.*s are both set: keep one", (int)(n - 5), kv, (int)n, kv);
                return KEEL_ECONFIG;
            }
            snprintf(origin, sizeof(origin), "%.*s", (int)n, kv);
            if ((val = keel_read_secret(eq + 1)) == NULL) {
                snprintf(err, errlen, "%s=%s: cannot read the file (%s)", origin, eq + 1, strerror(errno));
                return KEEL_ECONFIG;
            }
            rc = keel_config_apply(e, val, KEEL_SRC_ENVFILE, origin, err, errlen);
            free(val);
            if (rc != 0)
                return rc;
            continue;
        }
        if (!keel_env_known_extra(kv, n))
            keel_log(NULL, KEEL_LOG_WARN, "unknown configuration variable %.*s ignored (see `keel config`)",
                     (int)n, kv);
    }
    return 0;
}

static int keel_config_load_flags(keel_config *cfg, const char *const *flags, char *err, size_t errlen)
{
    for (; flags != NULL && *flags != NULL; flags++) {
        const char *f = *flags, *eq = strchr(f, '='), *dot;
        char scope[128], name[128];
        keel_config_entry *e;
        int rc;
        if (eq == NULL) {
            snprintf(err, errlen, "flag --%s: expected --name=value", f);
            return KEEL_ECONFIG;
        }
        dot = memchr(f, '.', (size_t)(eq - f));
        if (dot != NULL) {
            snprintf(scope, sizeof(scope), "%.*s", (int)(dot - f), f);
            snprintf(name, sizeof(name), "%.*s", (int)(eq - dot - 1), dot + 1);
        } else {
            snprintf(name, sizeof(name), "%.*s", (int)(eq - f), f);
        }
        e = keel_config_find(cfg, dot ? scope : NULL, name);
        if (e == NULL) {
            snprintf(err, errlen, "flag --%.*s: unknown configuration key", (int)(eq - f), f);
            return KEEL_ECONFIG;
        }
        {
            char origin[300];
            snprintf(origin, sizeof(origin), "--%.*s", (int)(eq - f), f);
            if ((rc = keel_config_apply(e, eq + 1, KEEL_SRC_FLAG, origin, err, errlen)) != 0)
                return rc;
        }
    }
    return 0;
}

int keel__config_load(keel_config *cfg, const char *file, char **envp,
                      const char *const *flags, char *err, size_t errlen)
{
    int rc;
    if (file != NULL && (rc = keel_config_load_file(cfg, file, err, errlen)) != 0)
        return rc;
    if ((rc = keel_config_load_env(cfg, envp, err, errlen)) != 0)
        return rc;
    return keel_config_load_flags(cfg, flags, err, errlen);
}

const char *keel__config_get(const keel_config *cfg, const char *scope, const char *name)
{
    keel_config_entry *e = keel_config_find(cfg, scope, name);
    return e ? e->value : NULL;
}

long long keel__config_int(const keel_config *cfg, const char *scope, const char *name)
{
    const char *v = keel__config_get(cfg, scope, name);
    long long n = 0;
    if (v == NULL || keel_parse_ll(v, &n) != 0)
        return 0;
    return n;
}

int keel__config_bool(const keel_config *cfg, const char *scope, const char *name)
{
    const char *v = keel__config_get(cfg, scope, name);
    int b = 0;
    if (v == NULL || keel_parse_bool(v, &b) != 0)
        return 0;
    return b;
}

keel_config_source keel__config_source(const keel_config *cfg, const char *scope, const char *name)
{
    keel_config_entry *e = keel_config_find(cfg, scope, name);
    return e ? e->source : KEEL_SRC_DEFAULT;
}

json_t *keel__config_dump(const keel_config *cfg)
{
    json_t *arr = json_array();
    size_t i;
    char env[256];
    if (arr == NULL)
        return NULL;
    for (i = 0; i < cfg->n; i++) {
        const keel_config_entry *e = &cfg->v[i];
        json_t *val;
        keel__config_envname(e->scope, e->key.name, env, sizeof(env));
        if (e->value == NULL)
            val = json_null();
        else if ((e->key.flags & KEEL_SECRET) && e->value[0] != '\0')
            val = json_string("<redacted>");
        else
            val = json_string(e->value);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:s, s:s*}",
            "key", e->key.name, "scope", e->scope ? e->scope : "core", "env", env,
            "value", val ? val : json_null(), "source", keel__config_source_name(e->source),
            "help", e->key.help));
    }
    return arr;
}
