/*
 * ctx-internal.h — the layouts behind keel_runtime, keel_module_ctx and
 * keel_ctx.  Only src/core files include this; everybody else sees opaque types.
 */
#ifndef KEEL_CTX_INTERNAL_H
#define KEEL_CTX_INTERNAL_H

#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>

#include "core/runtime-internal.h"
#include "core/schema-internal.h"
#include "core/store-internal.h"
#include "core/trace-internal.h"

typedef struct keel_method_rt {
    const keel_method *m;
    keel_schema       *in;      /* NULL = any object */
    keel_schema       *out;     /* checked when KEEL_CHECK_OUTPUT is on */
    char              *scope;   /* effective scope, owned */
    int                metric_slot; /* keel__metrics_method_slot, -1 = not counted */
} keel_method_rt;

struct keel_module_ctx {
    const keel_module *desc;
    keel_runtime      *rt;
    void              *state;
    keel_store        *store;
    keel_placement     place;
    char              *remote_url;   /* owned, KEEL_PLACE_REMOTE only */
    keel_method_rt    *methods;      /* same order as desc->methods */
    size_t             nmethods;
    int                wanted;       /* selected for start by keel__rt_start */
    int                inited, started;
    char               digest[65];
    int                log_slot;     /* its log level (log-internal.h); 0 = the default */
    int                degraded;     /* health priority: 1 = a failing hook only degrades */
    _Atomic int        health_rc;    /* the last health hook that reached its database
                                      * (0 until one has): what /readyz says while the
                                      * pool is busy (keel__rt_ready) */
};

struct keel_runtime {
    keel_module_ctx      *mods;       /* start (topological) order */
    size_t                n;
    keel_config          *cfg;
    /* what cfg was loaded from, for SIGHUP's re-read (keel__rt_reload_log_level):
     * the file (owned), environ and the flags (borrowed: the process's) */
    char                 *cfg_file;
    char                **cfg_envp;
    const char *const    *cfg_flags;
    const keel_remote_vt *remote;
    void                 *remote_self;
    keel_module_ctx      *authn;
    int                   auth_disabled;
    const char           *service_token; /* KEEL_SERVICE_TOKEN (borrowed from cfg) or NULL */
    keel_netmask         *proxies;       /* KEEL_TRUSTED_PROXIES, owned */
    size_t                nproxies;
    int                   check_output; /* check_output: replies against their out_schema */
    int                   call_log_fd;  /* call_log: "module.method" per handler run, or -1 */
    keel_store_opts       store_opts;   /* store_busy_ms, store_cache, store_sync */
    int64_t               call_timeout_ms;
    int                   started;
    struct keel__events  *events;       /* events/jobs/locks (events-internal.h), NULL = none */
    struct keel__health  *health;       /* the health checker (health.c), NULL = hooks inline */
};

#define KEEL_CTX_MAX_DEPTH 16

struct keel_ctx {
    keel_runtime    *rt;
    keel_ctx        *parent;
    keel_module_ctx *mc;           /* callee, set by dispatch */
    const keel_method *m;          /* method being run, set by dispatch */
    keel_arena      *arena;        /* lazily created */
    keel_transport   tr;
    int              depth;
    int64_t          deadline_ms;  /* 0 = none */
    json_t          *principal;    /* owned reference, may be NULL */
    const char      *raw;          /* borrowed */
    size_t           raw_len;
    const char      *raw_ctype;
    const keel_raw_body *raw_call; /* borrowed: a raw call to a remote module (client_raw.c) */
    void            *raw_out;      /* owned: a KEEL_RAW_OUT answer (ctx_raw.c) */
    size_t           raw_out_len;
    char             raw_out_ctype[64];
    char             raw_out_enc[16];
    int              accept_gzip;  /* the HTTP client sent Accept-Encoding: gzip */
    char            *token;        /* bearer token of the caller, owned, may be NULL */
    char            *errmsg;       /* owned */
    json_t          *errfields;    /* owned object or NULL */
    char             request_id[65]; /* up to 64 characters (docs/http.md) */
    keel_trace_ctx   trace;          /* trace id, caller span, current span, flags */
    char            *tracestate;     /* W3C tracestate as received, owned, may be NULL */
    char             client[64];     /* client address ("" = unknown): peer or trusted XFF hop */
    int              peer;           /* principal forwarded by a keel peer (service token) */
};

/* Copies the caller-visible state of parent into a child for a nested call. */
keel_ctx *keel__ctx_child(keel_ctx *parent);
/* Moves the error detail of child up into parent (nested call failed). */
void keel__ctx_propagate_error(keel_ctx *parent, keel_ctx *child);

/* dispatch.c: module.method of ctx's runtime (KEEL_ENOMODULE / KEEL_ENOMETHOD
 * with the detail on ctx), and one call routed by placement on ctx itself
 * (counted, traced); client_raw.c builds on them. */
int keel__lookup(keel_ctx *ctx, const char *module, const char *method,
                 keel_module_ctx **mcp, const keel_method **mp);
int keel__route(keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                const json_t *in, json_t **out);

/* Log level control (log.c). */
void keel__log_set_level(keel_log_level lvl);
int  keel__log_parse_level(const char *s, keel_log_level *out);
/* 1 = JSON lines, 0 = text, -1 = decide by isatty(stderr) (default). */
void keel__log_set_format(int json);

#endif
