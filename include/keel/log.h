/*
 * keel/log.h — structured logging.
 *
 * JSON lines on stderr when stderr is not a TTY, readable text on a TTY.
 * Level from KEEL_LOG_LEVEL: a default and per-module levels,
 * "info,compute=debug" (docs/observability.md).  A line logged with a call
 * context carries its request id, module and trace id, and is kept or
 * dropped by its module's level.
 */
#ifndef KEEL_LOG_H
#define KEEL_LOG_H

typedef struct keel_ctx keel_ctx;

typedef enum keel_log_level {
    KEEL_LOG_DEBUG = 0,
    KEEL_LOG_INFO  = 1,
    KEEL_LOG_WARN  = 2,
    KEEL_LOG_ERROR = 3,
    KEEL_LOG_OFF   = 4
} keel_log_level;

/* Logs one line.  ctx may be NULL (process-level line).  Thread-safe. */
void keel_log(keel_ctx *ctx, keel_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, for code that holds only a module name (start/stop hooks). */
void keel_log_module(const char *module, keel_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The levels in force for the modules of ctx's process:
 * {"level":"info,compute=debug","default":"info","modules":{"echo":"info",…}}.
 * *out: new reference.  0 or KEEL_ENOMEM.  (The admin module serves it.) */
struct json_t;
int keel_log_levels(keel_ctx *ctx, struct json_t **out);
/* Sets the default level (module NULL) or one module's ("default": follow
 * the default again) in this process, until the next change or SIGHUP.
 * KEEL_EINVAL for a bad level, KEEL_ENOTFOUND for a module not built in
 * (with a message on ctx). */
int keel_log_set_level(keel_ctx *ctx, const char *module, const char *level);

#define keel_debug(ctx, ...) keel_log((ctx), KEEL_LOG_DEBUG, __VA_ARGS__)
#define keel_info(ctx, ...)  keel_log((ctx), KEEL_LOG_INFO, __VA_ARGS__)
#define keel_warn(ctx, ...)  keel_log((ctx), KEEL_LOG_WARN, __VA_ARGS__)
#define keel_error(ctx, ...) keel_log((ctx), KEEL_LOG_ERROR, __VA_ARGS__)

#endif /* KEEL_LOG_H */
