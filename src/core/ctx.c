/*
 * ctx.c — the per-call context: identity, deadline, arena, error detail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>

#include "core/ctx-internal.h"
#include "core/schema-tree-internal.h"

int64_t keel__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t keel__now_ms(void)
{
    return keel__now_ns() / 1000000;
}

/* Request ids need to be unique, not secret: a per-thread splitmix64 seeded
 * once from getrandom(2) costs a few ns where RAND_bytes per request showed
 * up at 4 % of an HTTP request's CPU (bench/dispatch), and keeps OpenSSL
 * uninitialised (and out of resident memory) in processes that never hash. */
static void keel_new_request_id(char *buf, size_t len)
{
    static _Thread_local uint64_t state;
    uint64_t z;
    int i;
    if (state == 0) {
        if (getrandom(&state, sizeof(state), GRND_NONBLOCK) != (ssize_t)sizeof(state) || state == 0)
            state = (uint64_t)keel__now_ns() ^ (uint64_t)(uintptr_t)&state;
    }
    z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    /* by hand: snprintf's format machinery showed in the per-request profile */
    char id[19];
    id[0] = 'r';
    id[1] = '-';
    for (i = 17; i >= 2; i--, z >>= 4)
        id[i] = "0123456789abcdef"[z & 15];
    id[18] = '\0';
    if (len == 0)
        return;
    size_t n = len - 1 < sizeof(id) - 1 ? len - 1 : sizeof(id) - 1; /* truncate, as snprintf did */
    memcpy(buf, id, n);
    buf[n] = '\0';
}

keel_ctx *keel__ctx_new(keel_runtime *rt, keel_transport tr, const char *request_id,
                        int64_t deadline_ms)
{
    keel_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->rt = rt;
    ctx->tr = tr;
    ctx->deadline_ms = deadline_ms;
    if (request_id != NULL && request_id[0] != '\0')
        snprintf(ctx->request_id, sizeof(ctx->request_id), "%s", request_id);
    else
        keel_new_request_id(ctx->request_id, sizeof(ctx->request_id));
    return ctx;
}

static const uint8_t zero_span[8];

keel_ctx *keel__ctx_child(keel_ctx *parent)
{
    keel_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->rt = parent->rt;
    c->parent = parent;
    c->tr = KEEL_TR_LOCAL;
    c->depth = parent->depth + 1;
    c->deadline_ms = parent->deadline_ms;
    c->principal = json_incref(parent->principal);
    if (parent->token != NULL && (c->token = strdup(parent->token)) == NULL) {
        json_decref(c->principal);
        free(c);
        return NULL;
    }
    memcpy(c->request_id, parent->request_id, sizeof(c->request_id));
    /* a nested call's span is a child of the span running on parent (or,
     * outside dispatch, of parent's own caller) */
    c->trace = parent->trace;
    if (memcmp(parent->trace.span_id, zero_span, sizeof zero_span) != 0)
        memcpy(c->trace.parent_id, parent->trace.span_id, sizeof c->trace.parent_id);
    memset(c->trace.span_id, 0, sizeof c->trace.span_id);
    if (parent->tracestate != NULL && (c->tracestate = strdup(parent->tracestate)) == NULL) {
        json_decref(c->principal);
        free(c->token);
        free(c);
        return NULL;
    }
    memcpy(c->client, parent->client, sizeof(c->client));
    return c;
}

void keel__ctx_free(keel_ctx *ctx)
{
    if (ctx == NULL)
        return;
    keel_arena_free(ctx->arena);
    free(ctx->raw_out);
    json_decref(ctx->principal);
    json_decref(ctx->errfields);
    free(ctx->token);
    free(ctx->tracestate);
    free(ctx->errmsg);
    free(ctx);
}

void keel__ctx_propagate_error(keel_ctx *parent, keel_ctx *child)
{
    if (child->errmsg != NULL) {
        free(parent->errmsg);
        parent->errmsg = child->errmsg;
        child->errmsg = NULL;
    }
    if (child->errfields != NULL) {
        if (parent->errfields == NULL) {
            parent->errfields = child->errfields;
            child->errfields = NULL;
        } else {
            json_object_update(parent->errfields, child->errfields);
        }
    }
}

keel_runtime *keel__ctx_runtime(keel_ctx *ctx)
{
    return ctx->rt;
}

void keel__ctx_set_raw(keel_ctx *ctx, const char *data, size_t len, const char *ctype)
{
    ctx->raw = data;
    ctx->raw_len = len;
    ctx->raw_ctype = ctype;
}

void keel__ctx_set_callee(keel_ctx *ctx, keel_module_ctx *mc)
{
    ctx->mc = mc;
    ctx->m = NULL;
}

void keel__ctx_set_principal_new(keel_ctx *ctx, json_t *principal)
{
    json_decref(ctx->principal);
    ctx->principal = principal;
    ctx->peer = 0;
}

void keel__ctx_set_peer_principal_new(keel_ctx *ctx, json_t *principal)
{
    keel__ctx_set_principal_new(ctx, principal);
    ctx->peer = 1;
}

int keel__ctx_set_token(keel_ctx *ctx, const char *token)
{
    char *copy = NULL;
    if (token != NULL && (copy = strdup(token)) == NULL)
        return KEEL_ENOMEM;
    free(ctx->token);
    ctx->token = copy;
    return 0;
}

const char *keel__ctx_token(const keel_ctx *ctx)
{
    return ctx->token;
}

int keel__ctx_set_traceparent(keel_ctx *ctx, const char *tp)
{
    /* invalid: a new trace starts at the first span (W3C §3.2) */
    return keel__traceparent_parse(tp, &ctx->trace);
}

void keel__ctx_set_tracestate(keel_ctx *ctx, const char *ts)
{
    free(ctx->tracestate);
    ctx->tracestate = NULL;
    /* kept only beside a valid traceparent, and whole or not at all */
    if (ts != NULL && ts[0] != '\0' && ctx->trace.valid && strlen(ts) <= KEEL_TRACESTATE_MAX
        && strpbrk(ts, "\r\n") == NULL)
        ctx->tracestate = strdup(ts);  /* ENOMEM: the state is dropped, the call goes on */
}

int keel__ctx_traceparent(const keel_ctx *ctx, char *out, size_t len)
{
    const keel_trace_ctx *t = &ctx->trace;
    if (!t->valid || len < KEEL_TRACEPARENT_LEN)
        return -1;
    /* the current span is the parent of whatever the callee does */
    keel__traceparent_format(t->trace_id, memcmp(t->span_id, zero_span, 8) != 0 ? t->span_id
                             : t->parent_id, t->flags, out);
    return memcmp(out + 36, "0000000000000000", 16) == 0 ? -1 : 0;
}

const char *keel__ctx_tracestate(const keel_ctx *ctx)
{
    return ctx->tracestate;
}

keel_module_ctx *keel_ctx_module(keel_ctx *ctx)
{
    return ctx->mc;
}

void *keel_ctx_state(keel_ctx *ctx)
{
    return ctx->mc ? ctx->mc->state : NULL;
}

keel_store *keel_ctx_store(keel_ctx *ctx)
{
    return ctx->mc ? ctx->mc->store : NULL;
}

keel_arena *keel_ctx_arena(keel_ctx *ctx)
{
    if (ctx->arena == NULL)
        ctx->arena = keel_arena_new();
    return ctx->arena;
}

const char *keel_ctx_request_id(const keel_ctx *ctx)
{
    return ctx->request_id;
}

keel_transport keel_ctx_transport(const keel_ctx *ctx)
{
    return ctx->tr;
}

int64_t keel_ctx_deadline_ms(const keel_ctx *ctx)
{
    return ctx->deadline_ms;
}

int64_t keel_ctx_remaining_ms(const keel_ctx *ctx)
{
    if (ctx->deadline_ms == 0)
        return INT64_MAX;
    return ctx->deadline_ms - keel__now_ms();
}

const json_t *keel_ctx_principal(const keel_ctx *ctx)
{
    return ctx->principal;
}

int64_t keel_ctx_user_id(const keel_ctx *ctx)
{
    const json_t *id = json_object_get(ctx->principal, "user_id");
    json_int_t v = json_is_integer(id) ? json_integer_value(id) : 0;

    return v > 0 ? (int64_t)v : 0;
}

int keel_ctx_is_admin(const keel_ctx *ctx)
{
    const json_t *scopes = json_object_get(ctx->principal, "scopes"), *v;
    size_t i;

    json_array_foreach(scopes, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), "admin") == 0)
            return 1;
    return 0;
}

int keel_ctx_error(keel_ctx *ctx, int err, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];
    char *copy;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    /* messages quote the caller's bytes (a Content-Type, a name) and may be
     * cut mid-character: they go into JSON bodies, so make them UTF-8 */
    keel__schema_utf8_fix(buf);
    if ((copy = strdup(buf)) != NULL) {
        free(ctx->errmsg);
        ctx->errmsg = copy;
    }
    return err;
}

const char *keel_ctx_errmsg(const keel_ctx *ctx)
{
    return ctx->errmsg;
}

int keel_ctx_error_field_new(keel_ctx *ctx, const char *key, json_t *value)
{
    if (value == NULL)
        return KEEL_ENOMEM;
    if (ctx->errfields == NULL && (ctx->errfields = json_object()) == NULL) {
        json_decref(value);
        return KEEL_ENOMEM;
    }
    return json_object_set_new(ctx->errfields, key, value) == 0 ? 0 : KEEL_ENOMEM;
}

int keel_ctx_input_text(keel_ctx *ctx, const json_t *in, const char **data, size_t *len)
{
    const char *field = (ctx->m && ctx->m->raw_field) ? ctx->m->raw_field : NULL;
    const json_t *v;
    *data = NULL;
    *len = 0;
    if (ctx->raw != NULL) {
        *data = ctx->raw;
        *len = ctx->raw_len;
        return 0;
    }
    if (field != NULL && json_is_string(v = json_object_get(in, field))) {
        *data = json_string_value(v);
        *len = json_string_length(v);
        return 0;
    }
    return keel_ctx_error(ctx, KEEL_EINVAL, "no input text: send a raw body or the '%s' field",
                          field ? field : "text");
}

json_t *keel__ctx_error_body(keel_ctx *ctx, int err)
{
    json_t *e = json_pack("{s:s, s:s}", "code", keel_errname(err), "message",
                          ctx->errmsg ? ctx->errmsg : keel_strerror(err));
    if (e == NULL)
        return NULL;
    if (ctx->errfields != NULL)
        json_object_update_missing(e, ctx->errfields);
    if (ctx->request_id[0])
        json_object_set_new(e, "request_id", json_string(ctx->request_id));
    return json_pack("{s:o}", "error", e);
}

void keel__ctx_adopt_error(keel_ctx *ctx, const json_t *body)
{
    const json_t *e = json_object_get(body, "error");
    const char *k;
    json_t *v;
    if (!json_is_object(e))
        return;
    if (json_is_string(json_object_get(e, "message")))
        keel_ctx_error(ctx, 0, "%s", json_string_value(json_object_get(e, "message")));
    json_object_foreach((json_t *)e, k, v) {
        if (strcmp(k, "code") == 0 || strcmp(k, "message") == 0 || strcmp(k, "request_id") == 0)
            continue;
        keel_ctx_error_field_new(ctx, k, json_incref(v));
    }
}
