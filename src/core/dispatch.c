/*
 * dispatch.c — every call lands here: HTTP, CLI, remote and in-process.
 *
 * Route by placement, validate the input against the method's schema, run
 * the handler, normalise the result.  keel_call makes a child context so a
 * nested call's arena and error detail stay its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ctx-internal.h"
#include "core/metrics-internal.h"

static int keel_unavailable(keel_ctx *ctx, keel_module_ctx *mc, int rc)
{
    if (ctx->errfields == NULL || json_object_get(ctx->errfields, "module") == NULL)
        keel_ctx_error_field_new(ctx, "module", json_string(mc->desc->name));
    return rc;
}

static int keel_run_local(keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                          const json_t *in, json_t **out)
{
    const keel_method_rt *mr = &mc->methods[m - mc->desc->methods];
    json_t *empty = NULL, *normal = NULL;
    char err[512];
    int rc;

    if (!mc->started)
        return keel_unavailable(ctx, mc, keel_ctx_error(ctx, KEEL_EUNAVAIL,
                                "module '%s' is not started in this process", mc->desc->name));
    if (ctx->deadline_ms != 0 && keel__now_ms() >= ctx->deadline_ms)
        return keel_ctx_error(ctx, KEEL_ETIMEDOUT, "deadline exceeded before %s.%s ran",
                              mc->desc->name, m->name);
    if (in == NULL)
        in = empty = json_object();
    if (mr->in != NULL) {
        if (keel__schema_validate(mr->in, in, err, sizeof(err)) != 0) {
            rc = keel_ctx_error(ctx, KEEL_EINVAL, "%s.%s: %s", mc->desc->name, m->name, err);
            goto out;
        }
        /* integer-typed 3.0 reaches the handler as 3, once, here */
        if ((rc = keel__schema_normalize(mr->in, in, &normal, err, sizeof(err))) != 0) {
            if (rc == KEEL_EINVAL)
                rc = keel_ctx_error(ctx, KEEL_EINVAL, "%s.%s: %s", mc->desc->name, m->name, err);
            goto out;
        }
        if (normal != NULL)
            in = normal;
    } else if (!json_is_object(in)) {
        rc = keel_ctx_error(ctx, KEEL_EINVAL, "%s.%s: input must be a JSON object", mc->desc->name, m->name);
        goto out;
    }
    if (ctx->rt->call_log_fd >= 0) {
        char line[160];
        int n = snprintf(line, sizeof(line), "%s.%s\n", mc->desc->name, m->name);
        if (n > 0 && (size_t)n < sizeof(line) && write(ctx->rt->call_log_fd, line, (size_t)n) < 0)
            keel_log(ctx, KEEL_LOG_WARN, "KEEL_CALL_LOG: cannot append");
    }
    rc = m->handler(ctx, in, out);
    /* one line per call at debug, judged by the callee's level: what
     * KEEL_LOG_LEVEL=info,compute=debug turns on (names only, no input) */
    keel_log(ctx, KEEL_LOG_DEBUG, "%s.%s: %s", mc->desc->name, m->name,
             rc == 0 ? "ok" : rc > 0 ? "positive code" : keel_errname(rc));
    if (rc > 0) {
        keel_log(ctx, KEEL_LOG_ERROR, "%s.%s returned a positive code %d", mc->desc->name, m->name, rc);
        rc = KEEL_EINTERNAL;
    }
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
        goto out;
    }
    if (*out == NULL && (*out = json_object()) == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    if (ctx->rt->check_output && mr->out != NULL &&
        keel__schema_validate(mr->out, *out, err, sizeof(err)) != 0) {
        keel_log(ctx, KEEL_LOG_ERROR, "%s.%s broke its output schema: %s", mc->desc->name, m->name, err);
        json_decref(*out);
        *out = NULL;
        rc = keel_ctx_error(ctx, KEEL_EINTERNAL, "%s.%s: output does not match its schema: %s",
                            mc->desc->name, m->name, err);
    }
out:
    json_decref(empty);
    json_decref(normal);
    return rc;
}

static int keel_route_to(keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                         const json_t *in, json_t **out)
{
    keel_runtime *rt = ctx->rt;
    int rc;
    *out = NULL;
    ctx->mc = mc;
    ctx->m = m;
    switch (mc->place) {
    case KEEL_PLACE_LOCAL:
        return keel_run_local(ctx, mc, m, in, out);
    case KEEL_PLACE_REMOTE:
        if (rt->remote == NULL)
            return keel_unavailable(ctx, mc, keel_ctx_error(ctx, KEEL_EUNAVAIL,
                                    "module '%s' is remote but no remote transport is installed",
                                    mc->desc->name));
        if (ctx->raw_call != NULL && (rt->remote->version < 2 || rt->remote->call_raw == NULL))
            return keel_unavailable(ctx, mc, keel_ctx_error(ctx, KEEL_EUNAVAIL,
                                    "module '%s' is remote and its transport sends no raw bodies",
                                    mc->desc->name));
        rc = ctx->raw_call != NULL
                 ? rt->remote->call_raw(rt->remote_self, ctx, mc, m, ctx->raw_call, in, out)
                 : rt->remote->call(rt->remote_self, ctx, mc, m, in, out);
        if (rc == KEEL_EUNAVAIL || rc == KEEL_ETIMEDOUT)
            keel_unavailable(ctx, mc, rc);
        return rc;
    case KEEL_PLACE_NONE:
    default:
        return keel_unavailable(ctx, mc, keel_ctx_error(ctx, KEEL_EUNAVAIL,
                                "module '%s' does not run in this process and has no remote address",
                                mc->desc->name));
    }
}

/* The span kind of a call: one made to another process is the client
 * side; one that arrived from outside (HTTP, a keel peer) the server side. */
static keel_span_kind keel_span_kind_of(const keel_ctx *ctx, const keel_module_ctx *mc)
{
    if (mc->place == KEEL_PLACE_REMOTE)
        return KEEL_SPAN_CLIENT;
    if (ctx->tr == KEEL_TR_HTTP || ctx->tr == KEEL_TR_REMOTE)
        return KEEL_SPAN_SERVER;
    return KEEL_SPAN_INTERNAL;
}

/* Routes one call, counts it (calls, errors by code and latency by the
 * transport the call arrived on, metrics-internal.h) and makes its span:
 * a new span id on ctx, so nested and remote calls name it as parent. */
int keel__route(keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                const json_t *in, json_t **out)
{
    int slot = mc->methods[m - mc->desc->methods].metric_slot;
    keel_span_live span;
    int64_t t0;
    int rc;

    keel__trace_begin(ctx, &span);
    t0 = keel__now_ns();
    rc = keel_route_to(ctx, mc, m, in, out);
    keel__metrics_call(slot, ctx->tr, rc, keel__now_ns() - t0);
    keel__trace_end(ctx, &span, mc->desc->name, m->name, keel_span_kind_of(ctx, mc), rc);
    return rc;
}

int keel__lookup(keel_ctx *ctx, const char *module, const char *method,
                 keel_module_ctx **mcp, const keel_method **mp)
{
    keel_module_ctx *mc = keel__rt_find(ctx->rt, module);
    const keel_method *m;
    if (mc == NULL)
        return keel_ctx_error(ctx, KEEL_ENOMODULE, "unknown module '%s'", module);
    if ((m = keel__mc_method(mc, method)) == NULL)
        return keel_ctx_error(ctx, KEEL_ENOMETHOD, "module '%s' has no method '%s'", module, method);
    *mcp = mc;
    *mp = m;
    return 0;
}

int keel__call_root(keel_ctx *ctx, const char *module, const char *method,
                    const json_t *in, json_t **out)
{
    keel_module_ctx *mc = NULL;
    const keel_method *m = NULL;
    int rc;
    *out = NULL;
    if ((rc = keel__lookup(ctx, module, method, &mc, &m)) != 0)
        return rc;
    return keel__route(ctx, mc, m, in, out);
}

int keel_call(keel_ctx *ctx, const char *module, const char *method,
              const json_t *in, json_t **out)
{
    keel_module_ctx *mc = NULL;
    const keel_method *m = NULL;
    keel_ctx *child;
    int rc;

    *out = NULL;
    if (ctx->depth >= KEEL_CTX_MAX_DEPTH)
        return keel_ctx_error(ctx, KEEL_EINTERNAL, "call depth limit (%d) reached calling %s.%s",
                              KEEL_CTX_MAX_DEPTH, module, method);
    if ((rc = keel__lookup(ctx, module, method, &mc, &m)) != 0)
        return rc;
    if ((child = keel__ctx_child(ctx)) == NULL)
        return KEEL_ENOMEM;
    child->raw = NULL;
    rc = keel__route(child, mc, m, in, out);
    if (rc != 0)
        keel__ctx_propagate_error(ctx, child);
    keel__ctx_free(child);
    return rc;
}

const void *keel_iface(keel_ctx *ctx, const char *module, unsigned min_version,
                       keel_module_ctx **self)
{
    keel_module_ctx *mc = keel__rt_find(ctx->rt, module);
    const void *v;

    if (self != NULL)
        *self = NULL;
    if (mc == NULL)
        return NULL;
    switch (mc->place) {
    case KEEL_PLACE_LOCAL:  v = mc->desc->iface; break;
    case KEEL_PLACE_REMOTE: v = mc->desc->client; break;
    default:                return NULL;
    }
    if (v == NULL || *(const unsigned *)v < min_version)
        return NULL;
    if (self != NULL)
        *self = mc;
    return v;
}

int keel__authorize(keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m, const char *token)
{
    if ((m->flags & KEEL_PUBLIC) || ctx->peer)
        return 0;
    return keel__authorize_scope(ctx, token, keel__mc_scope(mc, m));
}

int keel__authorize_scope(keel_ctx *ctx, const char *token, const char *scope)
{
    keel_runtime *rt = ctx->rt;
    const keel_authn_iface *a;
    keel_module_ctx *amc = NULL;
    json_t *principal = NULL;
    int rc;

    if (rt->auth_disabled || rt->authn == NULL) {
        /* nobody to check tokens with: every caller is the operator (an admin),
         * and KEEL_AUTH_DISABLED is refused on a non-loopback listener */
        principal = json_pack("{s:b, s:[s]}", "operator", 1, "scopes", "admin");
        if (principal == NULL)
            return KEEL_ENOMEM;
        keel__ctx_set_principal_new(ctx, principal);
        return 0;
    }
    a = keel_iface(ctx, rt->authn->desc->name, KEEL_AUTHN_IFACE_V2, &amc);
    if (a == NULL || a->authenticate == NULL) {
        char nm[128], env[160];
        snprintf(nm, sizeof(nm), "remote_%s", rt->authn->desc->name);
        keel__config_envname(NULL, nm, env, sizeof(env));
        if (rt->service_token != NULL)  /* keel peers are served; users cannot be checked */
            return keel_ctx_error(ctx, KEEL_EUNAUTH, "this process serves keel peers (service "
                                  "token) only: set %s to accept user tokens", env);
        keel_ctx_error_field_new(ctx, "module", json_string(rt->authn->desc->name));
        return keel_ctx_error(ctx, KEEL_EUNAVAIL, "authentication module '%s' runs nowhere in this "
                              "process: place it (KEEL_MODULES_LOCAL / %s), or set "
                              "KEEL_SERVICE_TOKEN to serve keel peers only",
                              rt->authn->desc->name, env);
    }
    rc = a->authenticate(amc, ctx, token, scope, &principal);
    if (rc != 0) {
        json_decref(principal);
        if (rc == KEEL_EUNAVAIL || rc == KEEL_ETIMEDOUT) {
            if (ctx->errfields != NULL)
                json_object_del(ctx->errfields, "module");
            keel_ctx_error_field_new(ctx, "module", json_string(rt->authn->desc->name));
            rc = KEEL_EUNAVAIL;
        }
        return rc;
    }
    keel__ctx_set_principal_new(ctx, principal);
    return 0;
}

int keel__authorize_admin(keel_ctx *ctx, const char *token)
{
    int rc = keel__authorize_scope(ctx, token, "admin");

    if (rc != 0)
        return rc;
    if (!keel_ctx_is_admin(ctx))  /* the same rule as /readyz details */
        return keel_ctx_error(ctx, KEEL_EFORBIDDEN, "this endpoint needs an admin token");
    return 0;
}
