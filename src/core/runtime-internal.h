/*
 * runtime-internal.h — the process: registry, placement, lifecycle, dispatch.
 *
 * Used by src/api (HTTP server, CLI, remote client) and src/main.c.  Modules
 * never include this: they reach the core through include/keel/ only.
 */
#ifndef KEEL_RUNTIME_INTERNAL_H
#define KEEL_RUNTIME_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "keel/keel.h"
#include "core/config-internal.h"

typedef struct keel_runtime keel_runtime;

/* The registry generated from KEEL_MODULES (build/gen/keel_modules.c). */
extern const keel_module *const keel_builtin_modules[];
/* Parallel to it: the DEPS each module gave keel_add_module, comma separated
 * ("" for none).  Configure checks them against KEEL_MODULES; test_registry
 * holds them equal to each descriptor's deps. */
extern const char *const keel_builtin_cmake_deps[];

typedef enum keel_placement {
    KEEL_PLACE_LOCAL  = 0,  /* runs in this process */
    KEEL_PLACE_REMOTE = 1,  /* KEEL_REMOTE_<MODULE>=url */
    KEEL_PLACE_NONE   = 2   /* built in, but neither local nor remote here */
} keel_placement;

/* A raw body handed to a KEEL_RAW_IN method (keel_client_call_raw), all
 * borrowed: data[0..len) as it goes on the wire, its media type (one of
 * the method's raw_types) and content encoding (NULL or "gzip"). */
typedef struct keel_raw_body {
    const void *data;
    size_t      len;
    const char *ctype;
    const char *cenc;
} keel_raw_body;

/* How calls reach a module placed in another process.  Implemented by
 * src/api/remote.c and installed with keel__rt_set_remote; the core only
 * knows this vtable (no arrow from core into api). */
typedef struct keel_remote_vt {
    unsigned version; /* 2 (call_raw since 2) */
    /* Calls method of mc over the wire.  flags: the method's keel_method_flags
     * (retry only KEEL_IDEMPOTENT).  *out new reference on success.  Errors
     * come back as their KEEL_E* code with the remote's message on ctx. */
    int (*call)(void *self, keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                const json_t *in, json_t **out);
    /* State for /v1/modules ({"breaker":"closed",…}); new reference or NULL. */
    json_t *(*status)(void *self, keel_module_ctx *mc);
    /* since 2: call's twin for a raw body, sent as it is (Content-Type and
     * Content-Encoding from body), params (a JSON object or NULL) as the
     * query string the HTTP gateway coerces by the method's input schema.
     * Same deadline, retries, breaker, trace and error mapping as call. */
    int (*call_raw)(void *self, keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                    const keel_raw_body *body, const json_t *params, json_t **out);
} keel_remote_vt;

/* ---- building and starting ------------------------------------------------ */

/* Checks the registry (ABI, names, duplicates, unknown deps, cycles) and
 * orders it topologically (stable: list order among equals).  mods borrowed,
 * NULL-terminated.  *rt new.  KEEL_EDEP / KEEL_EVERSION / KEEL_EINVAL with a
 * message naming the module(s) in err. */
int  keel__rt_new(const keel_module *const *mods, keel_runtime **rt, char *err, size_t errlen);
void keel__rt_free(keel_runtime *rt);

/* Compiles every method's output schema not compiled yet (keel__rt_configure
 * does when check_output is on: dispatch checks replies only then).
 * KEEL_EINVAL naming the module and method. */
int keel__rt_compile_out_schemas(keel_runtime *rt, char *err, size_t errlen);

/* Loads configuration for the process: defaults < file < environment < flags
 * (keel_config_load) and applies placement (KEEL_MODULES_LOCAL, KEEL_REMOTE_*).
 * envp: NULL-terminated "K=V" array (environ).  flags: "key=value" strings. */
int  keel__rt_configure(keel_runtime *rt, const char *file, char **envp,
                        const char *const *flags, char *err, size_t errlen);
keel_config *keel__rt_config(keel_runtime *rt);
/* SIGHUP: loads the configuration again from what keel__rt_configure got
 * (the file and KEEL_…_FILE contents may have changed; the environment and
 * flags of a running process cannot) and applies its log_level.  Nothing
 * else is re-read.  KEEL_ECONFIG with err: the levels stay as they were. */
int keel__rt_reload_log_level(keel_runtime *rt, char *err, size_t errlen);

/* Opens the store for modules that need one, runs pending migrations, then
 * init and start hooks in dependency order.  only: NULL = every local module;
 * else a NULL-terminated list of names, started together with their
 * dependencies (the CLI starts only what a command needs, so `keel compute`
 * never touches a database).  On failure everything started is stopped. */
int  keel__rt_start(keel_runtime *rt, const char *const *only, char *err, size_t errlen);
/* Runs migrations only (keel migrate); *applied = how many ran. */
int  keel__rt_migrate(keel_runtime *rt, int *applied, char *err, size_t errlen);
/* {"<module>": <keel__store_migrations_status>…} for every local module
 * with migrations, applying nothing.  *out new reference. */
int  keel__rt_migrations_status(keel_runtime *rt, json_t **out, char *err, size_t errlen);
/* Stop hooks in reverse start order; closes stores.  Idempotent. */
void keel__rt_stop(keel_runtime *rt);

void keel__rt_set_remote(keel_runtime *rt, const keel_remote_vt *vt, void *self);

/* ---- looking things up --------------------------------------------------- */

size_t           keel__rt_count(const keel_runtime *rt);
keel_module_ctx *keel__rt_at(keel_runtime *rt, size_t i);          /* start order */
keel_module_ctx *keel__rt_find(keel_runtime *rt, const char *name); /* NULL if unknown */
keel_module_ctx *keel__rt_authn(keel_runtime *rt);                  /* KEEL_MOD_AUTHN module or NULL */

const keel_method *keel__mc_method(keel_module_ctx *mc, const char *name);
keel_placement     keel__mc_placement(const keel_module_ctx *mc);
const char        *keel__mc_remote_url(const keel_module_ctx *mc);
int                keel__mc_started(const keel_module_ctx *mc);
keel_runtime      *keel__mc_runtime(keel_module_ctx *mc);
/* The scope a method needs (borrowed). */
const char        *keel__mc_scope(keel_module_ctx *mc, const keel_method *m);
/* Compiled input schema of a method, NULL when the method takes any object. */
const struct keel_schema *keel__mc_in_schema(keel_module_ctx *mc, const keel_method *m);
/* Hex SHA-256 over the module's schemas, for cross-process skew checks. */
const char        *keel__mc_digest(keel_module_ctx *mc);

/* {"modules":[{name, version, summary, placement, url?, iface_version,
 *  digest, deps, methods:[{name, summary, flags…}], remote?}]} new ref. */
json_t *keel__rt_describe(keel_runtime *rt);
/* Readiness of every local/remote module: {"status":"ok"|"degraded"|
 * "unavailable","modules":{name:{"status","priority","detail"?}…},
 * "degraded":[names]}.  *ok = 0 when a critical module's health fails (a
 * degraded-priority one only lands in "degraded").  New ref. */
json_t *keel__rt_ready(keel_runtime *rt, keel_ctx *ctx, int *ok);

/* health.c: the thread that runs the health hooks every health_interval_ms
 * so /readyz reads a snapshot instead of running them on an event loop; a
 * hook running longer than health_timeout_ms reads as `timeout`.  `keel
 * serve` sets it up after the modules start (keel__health_init: from then
 * on /readyz reads every module as "starting") and launches the thread once
 * the listeners accept (keel__health_launch: its first pass runs there);
 * keel__health_start does both.  Stopped before the modules;
 * health_interval_ms=0 keeps the hooks inline.  keel__health_rounds:
 * completed passes, after waiting up to wait_ms for one more (tests); 0
 * without a checker. */
typedef struct keel__health keel__health;
int      keel__health_init(keel_runtime *rt, char *err, size_t errlen);
int      keel__health_launch(keel_runtime *rt, char *err, size_t errlen);
int      keel__health_start(keel_runtime *rt, char *err, size_t errlen);
void     keel__health_stop(keel_runtime *rt);
uint64_t keel__health_rounds(keel_runtime *rt, int64_t wait_ms);

/* ---- calls --------------------------------------------------------------- */

/* A root call context.  request_id NULL = generate.  deadline_ms: absolute
 * CLOCK_MONOTONIC ms, 0 = none.  NULL on ENOMEM.  keel__ctx_free frees. */
keel_ctx *keel__ctx_new(keel_runtime *rt, keel_transport tr, const char *request_id,
                        int64_t deadline_ms);
void      keel__ctx_free(keel_ctx *ctx);
keel_runtime *keel__ctx_runtime(keel_ctx *ctx);
/* Raw body for KEEL_RAW_IN methods; data borrowed, must outlive ctx. */
void      keel__ctx_set_raw(keel_ctx *ctx, const char *data, size_t len, const char *ctype);
/* ctx_raw.c: the client accepts gzip answers (HTTP Accept-Encoding); and the
 * raw answer a KEEL_RAW_OUT handler set, moved out of ctx (caller frees;
 * NULL when none; *ctype / *enc borrowed from ctx, *enc NULL = none). */
void      keel__ctx_set_accept_gzip(keel_ctx *ctx, int yes);
void     *keel__ctx_take_raw_out(keel_ctx *ctx, size_t *len, const char **ctype, const char **enc);
/* 1 when ctx's principal was forwarded by a keel peer (service token). */
int       keel__ctx_is_peer(const keel_ctx *ctx);
/* Makes mc the module "running" under ctx (a module's own CLI hook), so
 * keel_ctx_state / keel_ctx_store answer for it. */
void      keel__ctx_set_callee(keel_ctx *ctx, keel_module_ctx *mc);
/* Steals principal (may be NULL). */
void      keel__ctx_set_principal_new(keel_ctx *ctx, json_t *principal);
/* The same for a principal forwarded by a keel peer that presented the
 * service token: keel__authorize then accepts the call as it is. */
void      keel__ctx_set_peer_principal_new(keel_ctx *ctx, json_t *principal);
/* The caller's bearer token (copied; NULL clears), forwarded to remote
 * modules as Authorization so the callee can check the same caller. */
int         keel__ctx_set_token(keel_ctx *ctx, const char *token);
const char *keel__ctx_token(const keel_ctx *ctx);
/* W3C trace context of an incoming call (trace-internal.h): traceparent
 * parsed (0, or -1 when invalid: ignored, a new trace starts), tracestate
 * kept as it came (dropped when longer than 512 or without a valid
 * traceparent; set it after the traceparent). */
int       keel__ctx_set_traceparent(keel_ctx *ctx, const char *tp);
void      keel__ctx_set_tracestate(keel_ctx *ctx, const char *ts);
/* The traceparent to send on an outgoing call from ctx: its trace with the
 * current span as parent, into out (>= 56 bytes).  0, or -1 when ctx has
 * no trace. */
int       keel__ctx_traceparent(const keel_ctx *ctx, char *out, size_t len);
const char *keel__ctx_tracestate(const keel_ctx *ctx);

/* The error body for err: {"error":{"code":…,"message":…, <fields>}} — the
 * message is the ctx detail if any, else keel_strerror(err).  New ref. */
json_t *keel__ctx_error_body(keel_ctx *ctx, int err);
/* Sets the detail message and fields from a received error body (remote). */
void    keel__ctx_adopt_error(keel_ctx *ctx, const json_t *body);

/* Dispatches module.method on ctx itself (no child ctx): HTTP, CLI and the
 * remote server land here.  Same routing and validation as keel_call. */
int keel__call_root(keel_ctx *ctx, const char *module, const char *method,
                    const json_t *in, json_t **out);

/* Checks the bearer token (may be NULL) for mc.m through the authn module;
 * sets the ctx principal.  0 when the method is public, auth is disabled or
 * no authn module is built; KEEL_EUNAUTH / KEEL_EFORBIDDEN / KEEL_EUNAVAIL. */
int keel__authorize(keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m, const char *token);
/* The same for an explicit scope (e.g. "admin" for /readyz details). */
int keel__authorize_scope(keel_ctx *ctx, const char *token, const char *scope);

/* ---- the principal between processes (principal.c) ---------------------- */

/* Longest X-Keel-Principal accepted, bytes. */
#define KEEL_PRINCIPAL_MAX 4096

typedef struct keel_netmask keel_netmask;

/* Reads service_token (refused when shorter than 32 characters) and
 * trusted_proxies into rt.  KEEL_ECONFIG with err. */
int keel__rt_principal_config(keel_runtime *rt, char *err, size_t errlen);
/* The configured service token (borrowed) or NULL. */
const char *keel__rt_service_token(const keel_runtime *rt);
/* 1 when token (may be NULL) is the configured service token, compared in
 * constant time; 0 otherwise or when none is configured. */
int keel__service_token_ok(const keel_runtime *rt, const char *token);
/* An X-Keel-Principal value → *principal (new reference), NULL for NULL/"".
 * Accepts {"user_id":>0,"scopes":[…],…} or {"operator":true,"scopes":[…]};
 * KEEL_EINVAL for anything else. */
int keel__principal_parse(const char *text, json_t **principal);
/* "10.0.0.0/8, ::1" → *out (new array, caller frees) of *n masks.
 * KEEL_ECONFIG with err naming the bad item. */
int keel__proxies_parse(const char *text, keel_netmask **out, size_t *n, char *err,
                        size_t errlen);
/* The client address of a request from peer: the last hop of xff (may be
 * NULL) when peer is one of the trusted proxies and the hop is an IP
 * address, else peer.  Returns 1 when the XFF hop was used. */
int keel__client_addr(const keel_runtime *rt, const char *peer, const char *xff, char *out,
                      size_t outlen);
/* Sets the client address of ctx (copied; NULL clears). */
void keel__ctx_set_client(keel_ctx *ctx, const char *addr);

/* Line buffering for the calling thread (an event loop): keel_log lines
 * below warn go to a per-thread buffer that keel__log_flush writes in one
 * write(2); first(arg) runs whenever the buffer stops being empty, so the
 * loop can schedule the flush before it waits again.  A warn-or-worse line
 * and a full buffer flush at once.  first NULL flushes and turns buffering
 * off.  0, or KEEL_ENOMEM (lines are then written at once). */
int  keel__log_buffer(void (*first)(void *arg), void *arg);
void keel__log_flush(void);
/* One access-log line at info: ctx's common fields (request and trace ids,
 * module) plus these and, from ctx, the user id and client address; ctx may
 * be NULL.  Built on the stack into the thread's buffer: no allocation. */
typedef struct keel__access {
    const char *method;
    const char *path;       /* without the query string */
    const char *note;       /* NULL, or a short reason shown in the message */
    int         status;
    size_t      bytes_in;   /* body bytes as received (before decoding) */
    size_t      bytes_out;  /* body bytes answered */
    int64_t     duration_us;
    const char *reason;     /* NULL, or why the connection hook refused it ("body_too_large") */
} keel__access;
void keel__log_access(keel_ctx *ctx, const keel__access *a);
/* keel__authorize_scope for "admin" and a principal with the admin scope
 * (operator endpoints: /metrics); KEEL_EFORBIDDEN otherwise. */
int keel__authorize_admin(keel_ctx *ctx, const char *token);

/* CLOCK_MONOTONIC in ms / ns. */
int64_t keel__now_ms(void);
int64_t keel__now_ns(void);

#endif /* KEEL_RUNTIME_INTERNAL_H */
