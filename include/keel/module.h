/*
 * keel/module.h — the module contract.
 *
 * A module is one const keel_module descriptor.  The registry is an explicit
 * NULL-terminated array generated at configure time from the CMake list
 * KEEL_MODULES (build/keel_modules.c); there is no self-registration.
 *
 * Every method is reachable four ways without plumbing written by the module:
 *   in-process typed   keel_module_ctx *foo;
 *                      const foo_iface *f = keel_iface(ctx, "foo", FOO_IFACE_V2, &foo);
 *                      rc = f ? f->bar(foo, ctx, …) : KEEL_EUNAVAIL;
 *   in-process generic keel_call(ctx, "foo", "bar", in, &out)
 *   HTTP               POST /v1/foo/bar
 *   CLI                keel foo bar --key value   |   keel call foo.bar '{...}'
 * and, when the module is placed in another keel process, keel_iface returns
 * the module's client (same struct, marshals to JSON) and keel_call goes over
 * HTTP.  Ownership follows jansson's words: "borrowed", "new reference (caller
 * frees)", "steals".
 */
#ifndef KEEL_MODULE_H
#define KEEL_MODULE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "keel/arena.h"
#include "keel/error.h"

/* Bumped when keel_module / keel_method change layout.  A descriptor built
 * against another ABI is refused at start with a message naming the module.
 * 2: keel_method.max_body.
 * 3: keel_module gained topics and subs at its end (events, keel/events.h);
 *    keel_module has no size or version member, so a descriptor built with
 *    the shorter layout cannot be told apart: appending needs the bump.
 * 4: keel_method.mem_factor (the in-flight budget's working-memory estimate). */
#define KEEL_ABI 4

typedef struct keel_ctx        keel_ctx;        /* one call: request id, arena, deadline, caller */
typedef struct keel_module_ctx keel_module_ctx; /* one module for the life of the process */
typedef struct keel_store      keel_store;      /* a module's namespaced store (keel/store.h) */
typedef struct keel_event      keel_event;      /* one delivery of an event or job (keel/events.h) */

/* Generic entry point.  in: borrowed, already validated against in_schema.
 * *out: set to a new reference on success (caller frees); left NULL on error.
 * Returns 0 or a KEEL_E* code; detail goes through keel_ctx_error(). */
typedef int (*keel_handler)(keel_ctx *ctx, const json_t *in, json_t **out);

/* keel_method.flags */
enum keel_method_flags {
    KEEL_READONLY   = 1u << 0, /* no side effects; default scope "<module>:read" */
    KEEL_IDEMPOTENT = 1u << 1, /* safe to retry (remote client retries only these) */
    KEEL_PUBLIC     = 1u << 2, /* no bearer token needed over HTTP */
    KEEL_RAW_IN     = 1u << 3, /* accepts a raw body (raw_types); see keel_ctx_input_text */
    KEEL_INTERNAL   = 1u << 4, /* not served over HTTP nor listed for the CLI */
    KEEL_ADMIN      = 1u << 5, /* needs scope "admin" */
    /* Runs on the HTTP event loop instead of a handler worker when it also
     * is KEEL_PUBLIC (no token check) and local: for handlers that only
     * compute on their input, never block and never call another module
     * (echo).  Everything else runs on a worker (docs/http.md). */
    KEEL_CHEAP      = 1u << 6,
    KEEL_BODY_ONLY  = 1u << 7, /* input from the body only: a query string is a 400 (secrets
                                  such as passwords and tokens must not land in access logs) */
    /* May answer raw bytes (keel_ctx_set_output_raw) instead of its JSON output:
     * a download.  raw_types then lists the media types it answers (OpenAPI);
     * a method is KEEL_RAW_IN or KEEL_RAW_OUT, not both. */
    KEEL_RAW_OUT    = 1u << 8
};

typedef struct keel_method {
    const char  *name;       /* [a-z][a-z0-9_]*: POST /v1/<module>/<name> */
    keel_handler handler;    /* required */
    unsigned     flags;      /* keel_method_flags */
    const char  *summary;    /* one line for `keel modules`, --help and OpenAPI */
    const char  *in_schema;  /* JSON Schema text (keel subset, docs/schema.md); NULL = any object */
    const char  *out_schema; /* checked in debug/test builds only; NULL = unchecked */
    const char  *scope;      /* needed scope; NULL = "<module>:read" if READONLY else "<module>:write" */
    const char  *raw_types;  /* KEEL_RAW_IN: accepted content types, comma separated ("text/csv");
                              * KEEL_RAW_OUT: the content types it answers */
    const char  *raw_field;  /* KEEL_RAW_IN: the JSON string field that carries the same text ("csv") */
    /* since ABI 2 */
    size_t       max_body;   /* largest HTTP body accepted, refused (413) before it is read;
                              * 0 = KEEL_MAX_UPLOAD for KEEL_RAW_IN methods, else KEEL_MAX_BODY */
    /* since ABI 4 */
    unsigned     mem_factor; /* memory the call needs at its peak per body byte (body, copies,
                              * parsed form), reserved against KEEL_MAX_INFLIGHT_BYTES when the
                              * head arrives (docs/http.md, "The in-flight budget"); 0 =
                              * KEEL_UPLOAD_MEM_FACTOR for KEEL_RAW_IN methods, else 1 */
} keel_method;

/* A versioned migration; version strictly increasing from 1 within a module.
 * Runs once, in a transaction, recorded in keel_migrations. */
typedef struct keel_migration {
    int         version;
    const char *name;        /* "0001_create_items" */
    const char *sql;         /* may hold several statements */
} keel_migration;

typedef enum keel_config_type {
    KEEL_CFG_STRING = 1,
    KEEL_CFG_INT    = 2,
    KEEL_CFG_BOOL   = 3
} keel_config_type;

/* keel_config_key.flags */
enum keel_config_flags {
    KEEL_SECRET = 1u << 0  /* redacted in `keel config` and in logs */
};

/* A declared configuration key of a module.  Environment: KEEL_<MODULE>_<NAME>
 * (upper-cased), config file: {"<module>": {"<name>": …}}, flag --<module>.<name>. */
typedef struct keel_config_key {
    const char      *name;   /* [a-z][a-z0-9_]* */
    keel_config_type type;
    const char      *def;    /* default as text; NULL = unset */
    unsigned         flags;  /* keel_config_flags */
    long long        min;    /* KEEL_CFG_INT bounds, checked when min < max */
    long long        max;
    const char      *help;   /* one line */
} keel_config_key;

/* keel_module.mflags */
enum keel_module_flags {
    /* The module's iface begins with the members of keel_authn_iface
     * (keel/authn.h): the HTTP layer checks bearer tokens through it. */
    KEEL_MOD_AUTHN = 1u << 0,
    /* Runs in every keel process, whatever KEEL_MODULES_LOCAL and
     * KEEL_REMOTE_<MODULE> say: its methods act on the process that serves
     * the call (the admin module's log levels).  No store, no deps. */
    KEEL_MOD_EVERY_PROCESS = 1u << 1,
    /* The module's health is not critical: when its health hook fails,
     * /readyz still answers 200 and lists it under "degraded".  Without the
     * flag a failing hook makes the process unready (503): the default, and
     * what a module whose hook checks its database wants.  The operator can
     * change either way with KEEL_HEALTH_PRIORITY=<module>=degraded|critical. */
    KEEL_MOD_HEALTH_DEGRADED = 1u << 2
};

/* A topic the module emits (keel_emit).  Topics are named "<module>.<name>":
 * only the module whose name is the prefix may emit them. */
typedef struct keel_topic {
    const char *name;     /* "riding.session_uploaded" */
    const char *schema;   /* JSON Schema text (keel subset) for the payload; NULL = any object */
    const char *summary;  /* one line for `keel modules` and docs */
} keel_topic;

/* Handler of a subscription.  ev: borrowed for the call.  0 = handled (the
 * delivery is completed); a KEEL_E* code = failed (retried with backoff,
 * dead-lettered after max_attempts).  A handler that writes does it through
 * keel_event_tx (keel/events.h) so a redelivery applies nothing twice.  ctx
 * carries the emitting principal and the subscribing module. */
typedef int (*keel_event_handler)(keel_ctx *ctx, const keel_event *ev);

/* keel_subscription.flags */
enum keel_sub_flags {
    /* topic is a job kind of this module (keel_jobs_enqueue), not an emitted
     * topic: [a-z][a-z0-9_]*, delivered only to this module. */
    KEEL_SUB_JOB = 1u << 0,
    /* the handler is quick and writes only through keel_event_tx to its own
     * store: the dispatcher runs a claimed batch of its deliveries in one
     * transaction (one commit instead of one per event).  A failure rolls the
     * batch back and its deliveries run one by one.  Never for handlers that
     * call other modules or wait: the batch holds the store's write lock. */
    KEEL_SUB_BATCH = 1u << 1
};

/* One subscription row; the table ends with {0}. */
typedef struct keel_subscription {
    const char        *topic;        /* an emitter's "<module>.<name>", or a job kind */
    keel_event_handler handler;      /* required */
    unsigned           flags;        /* keel_sub_flags */
    int                max_attempts; /* deliveries before the dead-letter table; 0 = events_max_attempts */
} keel_subscription;

/* Return value of keel_module.cli meaning "not mine: use the generic CLI". */
#define KEEL_CLI_PASS (-1)

/* For a module's own CLI command: when argv[*i] is `name` (the value is the
 * next argument, and *i moves onto it) or `name=value`, returns the value
 * (borrowed from argv).  NULL when argv[*i] is not that option, or when
 * `name` is the last argument (then *missing is set to 1: "missing value"). */
const char *keel_cli_opt(int argc, char **argv, int *i, const char *name, int *missing);

typedef struct keel_module {
    int                     abi;        /* KEEL_ABI */
    const char             *name;       /* [a-z][a-z0-9_]*; also the store namespace <name>_* */
    const char             *version;    /* "1.0.0" */
    const char             *summary;    /* one line */
    const char *const      *deps;       /* NULL-terminated names, or NULL; start order is a topological sort */
    const keel_method      *methods;    /* ends with a {0} sentinel */
    const keel_migration   *migrations; /* ends with {0}; NULL = no storage */
    const keel_config_key  *config;     /* ends with {0}; NULL = no keys */
    /* Optional hooks, NULL = absent.  init runs in dependency order before any
     * start; stop runs in reverse order.  Non-zero from init/start aborts the
     * start-up with the module named in the message. */
    int  (*init)(keel_module_ctx *mc);
    int  (*start)(keel_module_ctx *mc);
    void (*stop)(keel_module_ctx *mc);
    /* Readiness: 0 = ready, else a KEEL_E* code; *detail may be set to a new
     * reference (caller frees).  Runs on an event loop for every /readyz
     * probe: answer quickly (one indexed read), never wait.  A failure makes
     * the process unready unless the module is KEEL_MOD_HEALTH_DEGRADED. */
    int  (*health)(keel_module_ctx *mc, json_t **detail);
    /* Module-specific CLI: `keel <module> argv[0] …`.  Returns an exit status
     * (0..4) after printing its own messages, or KEEL_CLI_PASS for the generic
     * `keel <module> <method> --key value` path.  ctx: a CLI call context. */
    int  (*cli)(keel_ctx *ctx, int argc, char **argv);
    const void             *iface;      /* typed vtable; its first member is `unsigned version` */
    unsigned                iface_version;
    const void             *client;     /* the same vtable implemented over keel_call (placement) */
    unsigned                mflags;     /* keel_module_flags */
    /* since ABI 2 */
    const keel_topic       *topics;     /* ends with {0}; NULL = emits nothing */
    const keel_subscription *subs;      /* ends with {0}; NULL = subscribes to nothing */
} keel_module;

/* ---- the module's long-lived context ------------------------------------ */

const keel_module *keel_module_desc(const keel_module_ctx *mc);
const char *keel_module_name(const keel_module_ctx *mc);

/* Module state set by init, read by handlers (borrowed; module frees it in stop). */
void  keel_module_set_state(keel_module_ctx *mc, void *state);
void *keel_module_state(const keel_module_ctx *mc);

/* The module's namespaced store, NULL when it declares no migrations. Borrowed. */
keel_store *keel_module_store(keel_module_ctx *mc);

/* Effective value of one of the module's declared keys.  Borrowed strings live
 * as long as the process.  Undeclared name: NULL / 0 (and a warning). */
const char *keel_config_str(const keel_module_ctx *mc, const char *name);
long long   keel_config_int(const keel_module_ctx *mc, const char *name);
int         keel_config_bool(const keel_module_ctx *mc, const char *name);

/* ---- the per-call context ----------------------------------------------- */

typedef enum keel_transport {
    KEEL_TR_LOCAL  = 0,  /* keel_call from another module */
    KEEL_TR_HTTP   = 1,
    KEEL_TR_CLI    = 2,
    KEEL_TR_REMOTE = 3,  /* arrived over HTTP from another keel process */
    KEEL_TR_EVENT  = 4   /* an event or job delivered by the dispatcher */
} keel_transport;

/* The module whose method runs under ctx (borrowed). */
keel_module_ctx *keel_ctx_module(keel_ctx *ctx);
/* Shortcuts for keel_module_state / keel_module_store of that module. */
void       *keel_ctx_state(keel_ctx *ctx);
keel_store *keel_ctx_store(keel_ctx *ctx);

/* Per-call arena, created on first use and freed when the call ends
 * (borrowed).  NULL only when that first allocation fails (out of memory). */
keel_arena *keel_ctx_arena(keel_ctx *ctx);

/* Reserves bytes of working memory against the process's in-flight budget
 * (KEEL_MAX_INFLIGHT_BYTES, which HTTP request bodies reserve their
 * methods' memory factor of) until the call ends.  For work no request body
 * accounts for: an event handler that reads a stored upload back.  Waits
 * while the budget is full, until the call's deadline (60 s without one).
 * 0; KEEL_EUNAVAIL when it did not fit in time, KEEL_ETOOBIG when bytes
 * alone are over the budget (both with a message on ctx).  A process
 * without an HTTP server, or a budget of 0, grants it at once. */
int keel_ctx_mem_reserve(keel_ctx *ctx, int64_t bytes);

/* Request id ("r-…"), stable across nested and remote calls (borrowed). */
const char *keel_ctx_request_id(const keel_ctx *ctx);
keel_transport keel_ctx_transport(const keel_ctx *ctx);

/* Deadline as CLOCK_MONOTONIC milliseconds, 0 = none; remaining ms (<=0 expired). */
int64_t keel_ctx_deadline_ms(const keel_ctx *ctx);
int64_t keel_ctx_remaining_ms(const keel_ctx *ctx);

/* Who is calling (borrowed, may be NULL):
 *   {"user_id":…,"email":…,"scopes":[…],"token_id":…}  a signed-in user (HTTP token,
 *                                     the CLI's --owner EMAIL, or forwarded by a keel peer)
 *   {"operator":true,"scopes":["admin"]}  the local operator (CLI), or every
 *                                     caller when KEEL_AUTH_DISABLED=1 (loopback only)
 *   NULL                              nobody: a KEEL_PUBLIC method's anonymous caller
 * Modules with user data filter by keel_ctx_user_id() in SQL (docs/modules.md). */
const json_t *keel_ctx_principal(const keel_ctx *ctx);
/* The calling user's id (> 0), or 0 when there is no user: the operator,
 * auth disabled, or an anonymous caller. */
int64_t keel_ctx_user_id(const keel_ctx *ctx);
/* 1 when the caller holds scope "admin" (admins and the operator see every
 * user's data), else 0. */
int keel_ctx_is_admin(const keel_ctx *ctx);

/* The client's address ("203.0.113.7", "::1") for rate limits and logs: the
 * TCP peer, or the last X-Forwarded-For hop when the peer is one of
 * KEEL_TRUSTED_PROXIES; forwarded between keel processes.  NULL when unknown
 * (CLI, in-process).  Borrowed, lives as long as ctx. */
const char *keel_ctx_client_addr(const keel_ctx *ctx);

/* Records a detail message for the error being returned and returns err, so
 * `return keel_ctx_error(ctx, KEEL_EINVAL, "row %d: …", n);` reads naturally.
 * The message reaches the HTTP body, the CLI's stderr and the log. */
int keel_ctx_error(keel_ctx *ctx, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The last detail message, or NULL (borrowed, lives as long as ctx). */
const char *keel_ctx_errmsg(const keel_ctx *ctx);
/* Extra fields merged into the JSON error object ("module", "row", …); steals value. */
int keel_ctx_error_field_new(keel_ctx *ctx, const char *key, json_t *value);

/* Raw request body (KEEL_RAW_IN methods): the body of a text/csv upload over
 * HTTP or a file given on the CLI.  Falls back to the string field raw_field
 * of in.  *data is borrowed for the life of ctx.  KEEL_EINVAL if neither. */
int keel_ctx_input_text(keel_ctx *ctx, const json_t *in, const char **data, size_t *len);

/* Raw answer of a KEEL_RAW_OUT method: the HTTP door sends these len bytes
 * as the body with Content-Type ctype (and Content-Encoding encoding when not
 * NULL, e.g. "gzip" — only when keel_ctx_accepts_gzip said so) instead of the
 * JSON output; the CLI writes them to stdout.  The handler still returns its
 * JSON output (what the bytes are: size, hash), which is all that in-process
 * callers and keel peers (placement) receive.  data: stolen (free()d when
 * the call ends, also on error).  0, KEEL_EINVAL (ctype or encoding too
 * long), KEEL_EINTERNAL (the method is not KEEL_RAW_OUT). */
int keel_ctx_set_output_raw(keel_ctx *ctx, void *data, size_t len, const char *ctype,
                            const char *encoding);
/* 1 when the HTTP client accepts a gzip-encoded answer (Accept-Encoding lists
 * gzip without q=0), else 0 (CLI, in-process, other clients). */
int keel_ctx_accepts_gzip(const keel_ctx *ctx);

/* ---- calling other modules ---------------------------------------------- */

/* Typed interface of a module: the local vtable when the module runs in this
 * process, its client (marshalling to keel_call) when it is placed remotely.
 * NULL if the module is unknown or not placed anywhere, or if its vtable's
 * version is lower than min_version.  Borrowed, valid for the process.
 *
 * Calling convention (docs/architecture.md, wave-2 decision 5): every typed
 * function takes the callee's own module context first, then the caller's
 * call context: `int (*put)(keel_module_ctx *self, keel_ctx *ctx, …)`.
 * *self (out, may be NULL when only availability is asked) is set to that
 * module's keel_module_ctx — the local module, or for a client vtable the
 * module as placed remotely — and to NULL when NULL is returned.  A module
 * therefore never needs a file-static pointer to its own context. */
const void *keel_iface(keel_ctx *ctx, const char *module, unsigned min_version,
                       keel_module_ctx **self);

/* Defines the generic handler `static int fn(keel_ctx *ctx, const json_t *in,
 * json_t **out)` of a method whose logic is the typed function
 * impl(self, ctx, in, out): HTTP, CLI and remote callers run impl with the
 * module's own context, in-process typed callers call impl directly. */
#define KEEL_HANDLER_TYPED(fn, impl)                                         \
    static int fn(keel_ctx *ctx, const json_t *in, json_t **out)             \
    {                                                                        \
        return impl(keel_ctx_module(ctx), ctx, in, out);                     \
    }

/* Generic call by name, routed by placement.  in: borrowed (NULL = {}).
 * *out: new reference on success (caller frees), NULL on error.  Validates in
 * against the method's schema (locally, or on the remote side), honours the
 * caller's deadline, retries idempotent methods on transport errors. */
int keel_call(keel_ctx *ctx, const char *module, const char *method,
              const json_t *in, json_t **out);

#endif /* KEEL_MODULE_H */
