/*
 * remote.c — keel_call to a module placed in another keel process.
 *
 * The core routes calls for a KEEL_PLACE_REMOTE module through the vtable
 * below: POST {url}/v1/{module}/{method} with the JSON input (or a raw body
 * as it is, keel_client_call_raw), the caller's request id, traceparent and
 * remaining deadline (the caller's identity: remote_headers.c).  Per remote module: a skew
 * check against the remote's /v1/modules before the first call (cached), a
 * circuit breaker, and bounded retries with full-jitter backoff for
 * KEEL_IDEMPOTENT methods.  The remote's error body is adopted so the caller
 * sees the remote's code, message and fields.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/remote-internal.h"
#include "core/thread-internal.h"
#include "core/trace-internal.h"

#define REMOTE_POOL_IDLE     8
#define REMOTE_SKEW_RECHECK  2000  /* ms before a cached mismatch is re-checked */
#define REMOTE_DEFAULT_TIMEOUT_MS 10000

typedef struct remote_mod {
    keel_module_ctx *mc;
    const char      *name;   /* borrowed from the descriptor */
    const char      *url;    /* borrowed from the module ctx */
    keel_http_pool  *pool;   /* borrowed from keel_remote.pools */
    pthread_mutex_t  mu;     /* guards the fields below */
    keel_breaker     br;
    int              skew;   /* 0 unchecked, 1 ok, KEEL_EVERSION mismatch */
    int64_t          skew_at;
    char             skew_msg[512];
} remote_mod;

struct keel_remote {
    keel_runtime    *rt;
    remote_mod      *mods;
    size_t           nmods;
    keel_http_pool **pools;  /* one per distinct host:port */
    keel_remote_url *pool_urls;
    size_t           npools;
    pthread_mutex_t  pause_mu;  /* retry backoff: a timed wait on pause_cv */
    pthread_cond_t   pause_cv;
};

/* ---- set-up ----------------------------------------------------------------- */

static int remote_pool_for(keel_remote *r, const keel_remote_url *u, keel_http_pool **out)
{
    size_t i;
    int rc;

    for (i = 0; i < r->npools; i++) {
        if (strcmp(r->pool_urls[i].host, u->host) == 0 &&
            strcmp(r->pool_urls[i].port, u->port) == 0) {
            *out = r->pools[i];
            return 0;
        }
    }
    rc = keel__http_pool_new(u, REMOTE_POOL_IDLE, &r->pools[r->npools]);
    if (rc)
        return rc;
    r->pool_urls[r->npools] = *u;
    *out = r->pools[r->npools++];
    return 0;
}

int keel__remote_new(keel_runtime *rt, keel_remote **out, char *err, size_t errlen)
{
    keel_remote *r = NULL;
    size_t i, n = keel__rt_count(rt);
    int rc = KEEL_ENOMEM;

    *out = NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        goto out;
    r->rt = rt;
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&r->pause_cv, &ca);
        pthread_condattr_destroy(&ca);
        pthread_mutex_init(&r->pause_mu, NULL);
    }
    r->mods = calloc(n + 1, sizeof(*r->mods));
    /* an array of pool pointers: sizeof(A *) is meant here */
    r->pools = calloc(n + 1, sizeof(*r->pools)); /* NOLINT(bugprone-sizeof-expression) */
    r->pool_urls = calloc(n + 1, sizeof(*r->pool_urls));
    if (!r->mods || !r->pools || !r->pool_urls)
        goto out;
    for (i = 0; i < n; i++) {
        keel_module_ctx *mc = keel__rt_at(rt, i);
        remote_mod *rm;
        keel_remote_url u;
        char perr[256];

        if (keel__mc_placement(mc) != KEEL_PLACE_REMOTE)
            continue;
        rm = &r->mods[r->nmods];
        rm->mc = mc;
        rm->name = keel_module_name(mc);
        rm->url = keel__mc_remote_url(mc);
        rc = keel__remote_url_parse(rm->url, &u, perr, sizeof(perr));
        if (rc) {
            snprintf(err, errlen, "module %s: %s", rm->name, perr);
            goto out;
        }
        rc = remote_pool_for(r, &u, &rm->pool);
        if (rc)
            goto out;
        pthread_mutex_init(&rm->mu, NULL);
        keel__breaker_init(&rm->br, KEEL_BREAKER_THRESHOLD, KEEL_BREAKER_COOLDOWN_MS);
        r->nmods++;
    }
    *out = r;
    r = NULL;
    rc = 0;
out:
    if (rc == KEEL_ENOMEM)
        snprintf(err, errlen, "out of memory setting up remote modules");
    keel__remote_free(r);
    return rc;
}

void keel__remote_free(keel_remote *r)
{
    size_t i;

    if (!r)
        return;
    for (i = 0; i < r->nmods; i++)
        pthread_mutex_destroy(&r->mods[i].mu);
    for (i = 0; i < r->npools; i++)
        keel__http_pool_free(r->pools[i]);
    free(r->mods);
    free(r->pools);
    free(r->pool_urls);
    pthread_cond_destroy(&r->pause_cv);
    pthread_mutex_destroy(&r->pause_mu);
    free(r);
}

size_t keel__remote_count(const keel_remote *r)
{
    return r ? r->nmods : 0;
}

static remote_mod *remote_find(keel_remote *r, keel_module_ctx *mc)
{
    size_t i;

    for (i = 0; i < r->nmods; i++)
        if (r->mods[i].mc == mc)
            return &r->mods[i];
    return NULL;
}

/* ---- errors ------------------------------------------------------------------ */

static int remote_fail(keel_ctx *ctx, remote_mod *rm, int rc, const char *detail)
{
    keel_ctx_error(ctx, rc, "module %s at %s: %s", rm->name, rm->url, detail);
    keel_ctx_error_field_new(ctx, "module", json_string(rm->name));
    return rc;
}

/* Maps a non-2xx reply: the remote's {"error":{code,message,…}} when present. */
static int remote_map_reply(keel_ctx *ctx, remote_mod *rm, const keel_http_reply *rep)
{
    json_t *body = rep->len ? json_loadb(rep->body, rep->len, 0, NULL) : NULL;
    const json_t *e = json_object_get(body, "error");
    const char *code = json_string_value(json_object_get(e, "code"));
    char detail[64];
    int rc;

    if (code) {
        rc = keel_errcode(code);
        if (rc >= 0)
            rc = KEEL_EINTERNAL;
        keel__ctx_adopt_error(ctx, body);
        if (!keel_ctx_errmsg(ctx))
            keel_ctx_error(ctx, rc, "%s (from %s at %s)", keel_strerror(rc), rm->name, rm->url);
        goto out;
    }
    switch (rep->status) {
    case 502: case 503: rc = KEEL_EUNAVAIL; break;
    case 504:           rc = KEEL_ETIMEDOUT; break;
    case 404:           rc = KEEL_ENOTFOUND; break;
    case 401:           rc = KEEL_EUNAUTH; break;
    case 403:           rc = KEEL_EFORBIDDEN; break;
    case 413:           rc = KEEL_ETOOBIG; break;
    default:            rc = rep->status >= 500 ? KEEL_EINTERNAL : KEEL_EINVAL; break;
    }
    snprintf(detail, sizeof(detail), "HTTP %d without a keel error body", rep->status);
    remote_fail(ctx, rm, rc, detail);
out:
    json_decref(body);
    return rc;
}

/* ---- skew check ------------------------------------------------------------ */

static int remote_skew_check(keel_ctx *ctx, remote_mod *rm, int64_t deadline_ms)
{
    char hdr_rid[128], err[512];
    const char *headers[4];
    keel_http_reply rep = { 0 };
    json_t *doc = NULL, *mods, *m = NULL;
    const char *digest = NULL, *place = NULL, *ldigest = keel__mc_digest(rm->mc);
    json_int_t ver = -1;
    unsigned lver = keel_module_desc(rm->mc)->iface_version;
    size_t i;
    int rc;

    pthread_mutex_lock(&rm->mu);
    if (rm->skew == 1 ||
        (rm->skew < 0 && keel__now_ms() - rm->skew_at < REMOTE_SKEW_RECHECK)) {
        rc = rm->skew == 1 ? 0 : rm->skew;
        if (rc)
            keel_ctx_error(ctx, rc, "%s", rm->skew_msg);
        pthread_mutex_unlock(&rm->mu);
        return rc;
    }
    pthread_mutex_unlock(&rm->mu);

    snprintf(hdr_rid, sizeof(hdr_rid), "X-Request-Id: %s", keel_ctx_request_id(ctx));
    headers[0] = hdr_rid;
    headers[1] = "X-Keel-Caller: keel";
    headers[2] = "Accept: application/json";
    headers[3] = NULL;
    rc = keel__http_request(rm->pool, "GET", "/v1/modules", headers, NULL, 0, 1, deadline_ms,
                            &rep, err, sizeof(err));
    if (rc)
        return remote_fail(ctx, rm, rc, err);
    if (rep.status != 200) {
        snprintf(err, sizeof(err), "GET /v1/modules answered HTTP %d", rep.status);
        rc = remote_fail(ctx, rm, KEEL_EUNAVAIL, err);
        goto out;
    }
    doc = json_loadb(rep.body, rep.len, 0, NULL);
    mods = json_object_get(doc, "modules");
    json_array_foreach(mods, i, m) {
        if (json_is_string(json_object_get(m, "name")) &&
            strcmp(json_string_value(json_object_get(m, "name")), rm->name) == 0)
            break;
    }
    if (!json_is_array(mods) || i == json_array_size(mods)) {
        rc = remote_fail(ctx, rm, KEEL_EUNAVAIL,
                         json_is_array(mods) ? "the remote does not have this module"
                                             : "GET /v1/modules is not a keel module list");
        goto out;
    }
    place = json_string_value(json_object_get(m, "placement"));
    if (place && strcmp(place, "none") == 0) {
        rc = remote_fail(ctx, rm, KEEL_EUNAVAIL,
                         "the remote process does not run this module (placement none)");
        goto out;
    }
    ver = json_integer_value(json_object_get(m, "iface_version"));
    digest = json_string_value(json_object_get(m, "digest"));
    pthread_mutex_lock(&rm->mu);
    rm->skew_at = keel__now_ms();
    if (ver != (json_int_t)lver || !digest || strcmp(digest, ldigest) != 0) {
        rm->skew = KEEL_EVERSION;
        snprintf(rm->skew_msg, sizeof(rm->skew_msg),
                 "module %s at %s has iface_version %lld (schema digest %.12s), "
                 "this process has iface_version %u (schema digest %.12s): refusing to call across versions",
                 rm->name, rm->url, (long long)ver, digest ? digest : "none", lver, ldigest);
        rc = KEEL_EVERSION;
        keel_ctx_error(ctx, rc, "%s", rm->skew_msg);
        keel_ctx_error_field_new(ctx, "module", json_string(rm->name));
    } else {
        rm->skew = 1;
        rc = 0;
    }
    pthread_mutex_unlock(&rm->mu);
out:
    json_decref(doc);
    keel__http_reply_clear(&rep);
    return rc;
}

/* ---- one call --------------------------------------------------------------- */

/* Transport failures and gateway statuses: retry-worthy, and breaker failures. */
static int remote_transient(int rc, const keel_http_reply *rep)
{
    if (rc)
        return rc == KEEL_EUNAVAIL || rc == KEEL_ETIMEDOUT;
    return rep->status == 502 || rep->status == 503 || rep->status == 504;
}

/* The JSON body for in.  A KEEL_RAW_IN method called with a raw body (a
 * text/csv upload, a file on the CLI) carries it in its raw_field, which the
 * remote reads exactly as it would read its own upload.  *body malloc'd. */
static int remote_body(keel_ctx *ctx, const keel_method *m, const json_t *in, char **body)
{
    json_t *copy = NULL, *text;
    const char *data;
    size_t len;
    int rc = KEEL_ENOMEM;

    *body = NULL;
    if ((m->flags & KEEL_RAW_IN) && m->raw_field &&
        !json_is_string(json_object_get(in, m->raw_field)) &&
        keel_ctx_input_text(ctx, in, &data, &len) == 0) {
        copy = json_is_object(in) ? json_copy((json_t *)in) : json_object();
        if (!copy)
            goto out;
        text = json_stringn(data, len);
        if (!text) {
            rc = KEEL_EBADDATA;
            goto out;
        }
        if (json_object_set_new(copy, m->raw_field, text) != 0)
            goto out;
        in = copy;
    }
    *body = in ? json_dumps(in, JSON_COMPACT) : strdup("{}");
    rc = *body ? 0 : KEEL_ENOMEM;
out:
    json_decref(copy);
    return rc;
}

/* The backoff between two attempts: a timed wait until the absolute
 * monotonic time until_ms (the caller keeps it before the deadline).  It
 * runs on a handler worker; on an event loop it would stall every
 * connection of that loop, so remote_call refuses to get here from one. */
static void remote_pause_until(keel_remote *r, int64_t until_ms)
{
    struct timespec ts = { (time_t)(until_ms / 1000), (long)(until_ms % 1000) * 1000000L };

    pthread_mutex_lock(&r->pause_mu);
    while (keel__now_ms() < until_ms &&
           pthread_cond_timedwait(&r->pause_cv, &r->pause_mu, &ts) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&r->pause_mu);
}

/* What one call sends: the body (borrowed) with its Content-Type and
 * Content-Encoding header lines (h_enc NULL = none) and the query string
 * ("" = none). */
typedef struct remote_req {
    const char *h_ctype;
    const char *h_enc;
    const char *query;
    const char *body;
    size_t      len;
} remote_req;

static int remote_send(keel_remote *r, keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                       const remote_req *q, json_t **out)
{
    remote_mod *rm = remote_find(r, mc);
    char err[512], h_rid[128], h_tp[128], h_dl[64], h_client[96];
    char h_ts[KEEL_TRACESTATE_MAX + 16];
    const char *headers[14], *ts;
    keel_http_reply rep = { 0 };
    char *path = NULL, *h_auth = NULL, *h_principal = NULL;
    int64_t deadline = keel_ctx_deadline_ms(ctx), now = keel__now_ms();
    int rc, attempt, allowed, transient = 0, nh = 0;
    int max_attempts = (m->flags & KEEL_IDEMPOTENT) ? KEEL_RETRY_ATTEMPTS : 1;

    *out = NULL;
    if (!rm) {
        keel_ctx_error(ctx, KEEL_EUNAVAIL, "module %s is placed remote but has no client state",
                       keel_module_name(mc));
        keel_ctx_error_field_new(ctx, "module", json_string(keel_module_name(mc)));
        return KEEL_EUNAVAIL;
    }
    if (deadline == 0) {
        long long t = keel__config_int(keel__rt_config(r->rt), NULL, "call_timeout_ms");
        deadline = now + (t > 0 ? t : REMOTE_DEFAULT_TIMEOUT_MS);
    }
    if (deadline <= now)
        return remote_fail(ctx, rm, KEEL_ETIMEDOUT,
                           "deadline already passed before the call");
    /* A remote call waits on the network: it belongs on a handler worker.
     * Only a KEEL_CHEAP method could get here from a loop, and cheap
     * methods must not call other modules (docs/http.md). */
    if (keel__thread_kind() == KEEL_THREAD_LOOP)
        keel_warn(ctx, "remote %s.%s called on an event loop thread: a KEEL_CHEAP method "
                  "must not call other modules", rm->name, m->name);

    pthread_mutex_lock(&rm->mu);
    allowed = keel__breaker_allow(&rm->br, now);
    if (!allowed && rm->br.state == KEEL_BREAKER_HALF_OPEN)
        snprintf(err, sizeof(err), "circuit open after %d consecutive failures, a probe is in flight",
                 rm->br.failures);
    else if (!allowed)
        snprintf(err, sizeof(err), "circuit open after %d consecutive failures, next probe in %lld ms",
                 rm->br.failures,
                 (long long)(rm->br.cooldown_ms - (now - rm->br.opened_at_ms)));
    pthread_mutex_unlock(&rm->mu);
    if (!allowed)
        return remote_fail(ctx, rm, KEEL_EUNAVAIL, err);

    rc = remote_skew_check(ctx, rm, deadline);
    if (rc) {
        transient = rc != KEEL_EVERSION;
        goto out;
    }

    if (asprintf(&path, "/v1/%s/%s%s%s", rm->name, m->name, q->query[0] ? "?" : "",
                 q->query) < 0) {
        path = NULL;
        rc = remote_fail(ctx, rm, KEEL_ENOMEM, "cannot build the path");
        goto out;
    }
    snprintf(h_rid, sizeof(h_rid), "X-Request-Id: %s", keel_ctx_request_id(ctx));
    headers[nh++] = q->h_ctype;
    if (q->h_enc)
        headers[nh++] = q->h_enc;
    headers[nh++] = "Accept: application/json";
    headers[nh++] = "X-Keel-Caller: keel";
    headers[nh++] = h_rid;
    /* the current span (this call's, made by dispatch) is the callee's parent */
    memcpy(h_tp, "traceparent: ", 13);
    if (keel__ctx_traceparent(ctx, h_tp + 13, sizeof(h_tp) - 13) == 0) {
        headers[nh++] = h_tp;
        if ((ts = keel__ctx_tracestate(ctx)) != NULL) {
            snprintf(h_ts, sizeof(h_ts), "tracestate: %s", ts);
            headers[nh++] = h_ts;
        }
    }
    rc = keel__remote_caller_headers(r->rt, ctx, &h_auth, &h_principal, h_client, sizeof h_client);
    if (rc) {
        rc = remote_fail(ctx, rm, rc, "cannot forward the caller");
        goto out;
    }
    if (h_auth)
        headers[nh++] = h_auth;
    if (h_principal)
        headers[nh++] = h_principal;
    if (h_client[0])
        headers[nh++] = h_client;
    headers[nh++] = h_dl;
    headers[nh] = NULL;

    for (attempt = 0;; attempt++) {
        int64_t left = deadline - keel__now_ms(), pause;

        snprintf(h_dl, sizeof(h_dl), "X-Keel-Deadline-Ms: %lld", (long long)(left > 0 ? left : 1));
        keel__http_reply_clear(&rep);
        rc = keel__http_request(rm->pool, "POST", path, (const char *const *)headers, q->body,
                                q->len, (m->flags & KEEL_IDEMPOTENT) != 0, deadline,
                                &rep, err, sizeof(err));
        transient = remote_transient(rc, &rep);
        if (!transient || rc == KEEL_ETIMEDOUT || attempt + 1 >= max_attempts)
            break;
        pause = keel__backoff_ms(attempt, KEEL_RETRY_BASE_MS, KEEL_RETRY_CAP_MS, keel__remote_rand());
        if (keel__now_ms() + pause >= deadline)
            break;
        keel_debug(ctx, "remote %s.%s: attempt %d failed (%s), retrying in %lld ms", rm->name,
                   m->name, attempt + 1, rc ? err : "gateway status", (long long)pause);
        remote_pause_until(r, keel__now_ms() + pause);
    }
    if (rc) {
        remote_fail(ctx, rm, rc, err);
        goto out;
    }
    if (rep.status < 200 || rep.status > 299) {
        rc = remote_map_reply(ctx, rm, &rep);
        goto out;
    }
    *out = rep.len ? json_loadb(rep.body, rep.len, 0, NULL) : json_object();
    if (!*out) {
        rc = remote_fail(ctx, rm, KEEL_EIO, "reply is not valid JSON");
        goto out;
    }
    rc = 0;
out:
    pthread_mutex_lock(&rm->mu);
    if (keel__breaker_record(&rm->br, !transient, keel__now_ms())) {
        rm->skew = 0;  /* the remote went away: it may come back as another build */
        keel_warn(ctx, "remote module %s at %s: circuit open after %d consecutive failures",
                  rm->name, rm->url, rm->br.failures);
    }
    pthread_mutex_unlock(&rm->mu);
    free(path);
    free(h_auth);
    free(h_principal);
    keel__http_reply_clear(&rep);
    return rc;
}

static int remote_call(void *self, keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                       const json_t *in, json_t **out)
{
    remote_req q = { "Content-Type: application/json", NULL, "", NULL, 0 };
    char *body = NULL;
    int rc;

    *out = NULL;
    rc = remote_body(ctx, m, in, &body);
    if (rc) {
        remote_mod *rm = remote_find(self, mc);
        const char *why = rc == KEEL_ENOMEM ? "cannot serialise the input"
                                            : "the raw body is not valid UTF-8 text";
        return rm ? remote_fail(ctx, rm, rc, why) : keel_ctx_error(ctx, rc, "%s", why);
    }
    q.body = body;
    q.len = strlen(body);
    rc = remote_send(self, ctx, mc, m, &q, out);
    free(body);
    return rc;
}

/* The bytes as they are: no JSON, no copy (keel_client_call_raw). */
static int remote_call_raw(void *self, keel_ctx *ctx, keel_module_ctx *mc, const keel_method *m,
                           const keel_raw_body *b, const json_t *params, json_t **out)
{
    char h_ctype[160], h_enc[64];
    remote_req q = { h_ctype, NULL, "", b->data, b->len };
    char *query = NULL;
    int rc;

    *out = NULL;
    if (strpbrk(b->ctype, "\r\n") != NULL || strlen(b->ctype) > 120
        || (b->cenc != NULL && (strpbrk(b->cenc, "\r\n") != NULL || strlen(b->cenc) > 40)))
        return keel_ctx_error(ctx, KEEL_EINVAL, "raw call: a content type or encoding that "
                              "cannot be a header");
    snprintf(h_ctype, sizeof h_ctype, "Content-Type: %s", b->ctype);
    if (b->cenc != NULL && b->cenc[0] != '\0') {
        snprintf(h_enc, sizeof h_enc, "Content-Encoding: %s", b->cenc);
        q.h_enc = h_enc;
    }
    if ((rc = keel__remote_query(params, &query)) != 0)
        return keel_ctx_error(ctx, rc, "raw call: cannot encode the parameters as a query string");
    q.query = query;
    rc = remote_send(self, ctx, mc, m, &q, out);
    free(query);
    return rc;
}

static json_t *remote_status(void *self, keel_module_ctx *mc)
{
    remote_mod *rm = remote_find(self, mc);
    json_t *st;

    if (!rm)
        return NULL;
    pthread_mutex_lock(&rm->mu);
    st = json_pack("{s:s, s:s, s:i, s:s}", "url", rm->url,
                   "breaker", keel__breaker_state_name(rm->br.state),
                   "failures", rm->br.failures,
                   "skew", rm->skew == 1 ? "ok" : rm->skew == 0 ? "unchecked" : "mismatch");
    pthread_mutex_unlock(&rm->mu);
    return st;
}

const keel_remote_vt keel__remote_vt = {
    .version = 2,
    .call = remote_call,
    .status = remote_status,
    .call_raw = remote_call_raw,
};
