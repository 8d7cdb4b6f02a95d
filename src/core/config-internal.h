/*
 * config-internal.h — one configuration surface for the process.
 *
 * Precedence: defaults < config file (--config file.json) < environment
 * (KEEL_<NAME> for core keys, KEEL_<MODULE>_<NAME> for module keys, and
 * KEEL_…_FILE to read the value from a mounted file) < flags (--name=value,
 * --module.name=value).  Every key is declared (keel_config_key rows); an
 * invalid value is an error naming the key and its source; an unknown KEEL_
 * variable is a warning.
 */
#ifndef KEEL_CONFIG_INTERNAL_H
#define KEEL_CONFIG_INTERNAL_H

#include <stddef.h>
#include <jansson.h>
#include "keel/module.h"

typedef struct keel_config keel_config;

typedef enum keel_config_source {
    KEEL_SRC_DEFAULT = 0,
    KEEL_SRC_FILE    = 1,
    KEEL_SRC_ENV     = 2,
    KEEL_SRC_ENVFILE = 3,  /* KEEL_…_FILE */
    KEEL_SRC_FLAG    = 4
} keel_config_source;

/* The core's own keys (scope NULL): port, host, threads, max_body, timeout_ms,
 * call_timeout_ms, database_url, log_level, modules_local, expose, data_dir,
 * auth_disabled, health_host, store_busy_ms, store_cache, store_sync,
 * check_output, call_log (docs/configuration.md lists them all). */
extern const keel_config_key keel_core_config_keys[];

keel_config *keel__config_new(void);
void         keel__config_free(keel_config *cfg);

/* Declares a table of keys ({0}-terminated, borrowed, static) under scope
 * (NULL = core, else a module name).  KEEL_ENOMEM or 0. */
int keel__config_declare(keel_config *cfg, const char *scope, const keel_config_key *keys);
/* Declares one key whose row is copied (dynamic keys such as remote_<module>). */
int keel__config_declare_one(keel_config *cfg, const char *scope, const keel_config_key *key);

/* Loads every layer.  file may be NULL; envp NULL-terminated "K=V"; flags
 * NULL-terminated "name=value" or "module.name=value".  KEEL_ECONFIG with a
 * message naming key and source ("KEEL_PORT=abc (environment): not an integer"). */
int keel__config_load(keel_config *cfg, const char *file, char **envp,
                      const char *const *flags, char *err, size_t errlen);

/* Effective values; undeclared → NULL/0.  Borrowed, valid until free. */
const char *keel__config_get(const keel_config *cfg, const char *scope, const char *name);
long long   keel__config_int(const keel_config *cfg, const char *scope, const char *name);
int         keel__config_bool(const keel_config *cfg, const char *scope, const char *name);
keel_config_source keel__config_source(const keel_config *cfg, const char *scope, const char *name);
const char *keel__config_source_name(keel_config_source src);

/* [{"key":"port","scope":"core","env":"KEEL_PORT","value":"8080","source":"default"},…]
 * with secrets as "<redacted>".  New ref. */
json_t *keel__config_dump(const keel_config *cfg);

/* Environment variable name for a key ("KEEL_COMPUTE_WORKERS"), into buf. */
void keel__config_envname(const char *scope, const char *name, char *buf, size_t len);

#endif
