/*
 * events_emit.c — the calls a module makes on the event machinery:
 * keel_emit / keel_emit_ex (an outbox row per subscriber, in the caller's
 * transaction), keel_jobs_enqueue(_tx) (a row for the module's own job kind)
 * and keel_event_tx (a handler's writes and its inbox key in one
 * transaction).  Setup is events.c, the dispatcher events_dispatch.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"
#include "core/json-internal.h"
#include "core/sbuf-internal.h"
#include "core/store-internal.h"

#define KEEL_EV_KEY_MAX 200

static void ev_wake_cb(void *arg)
{
    keel__events_wake(arg);
}

/* ---- emitting ------------------------------------------------------------- */

static void ev_random_key(char *buf, size_t len)
{
    unsigned char b[16];
    size_t i;

    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        uint64_t t = (uint64_t)keel__now_ns();
        memcpy(b, &t, sizeof t);
        memcpy(b + 8, &buf, sizeof(void *) < 8 ? sizeof(void *) : 8);
    }
    for (i = 0; i < sizeof b && 2 * i + 2 < len; i++)
        snprintf(buf + 2 * i, 3, "%02x", b[i]);
}

/* ---- the multi-row emit ----------------------------------------------------
 * Rows emitted in a transaction are buffered on it (keel__store_tx_buffer)
 * and written KEEL__EV_EMIT_CHUNK at a time by one multi-row INSERT: when
 * the buffer is full, before a savepoint begins or is released, and before
 * the commit.  One statement instead of one per event: on PostgreSQL one
 * round trip instead of a hundred, on SQLite one statement's bind and step
 * overhead.  What was emitted inside a savepoint that rolls back is dropped
 * with it; a write that fails fails the savepoint or the commit, so the
 * caller's writes and its events still commit together or not at all.
 * (keel_emit no longer reports a store error itself: the commit does.) */

#define EV_NCOL 11  /* parameters per row of KEEL__EV_INSERT */

typedef struct ev_buf {
    keel__ev_box *box;      /* whose outbox the buffered rows go to */
    json_t       *params;   /* EV_NCOL per row */
    size_t        n;        /* rows */
} ev_buf;

/* "$n" appended to b.  By hand: snprintf's format parsing made a chunk's
 * 1,100 numbers half a million instructions of every start (the chunk's
 * statement is built when the events open) and of every flush of a
 * partial chunk. */
static void ev_param(keel_sbuf *b, size_t n)
{
    char d[24];
    size_t k = sizeof d;

    do
        d[--k] = (char)('0' + n % 10);
    while ((n /= 10) != 0);
    d[--k] = '$';
    keel__sbuf_put(b, d + k, sizeof d - k);
}

char *keel__ev_multi_sql(const char *insert, size_t n)
{
    const char *values = strstr(insert, " VALUES ("), *tail;
    keel_sbuf b = {0};
    size_t i, c;

    if (values == NULL || n == 0 || (tail = strchr(values, ')')) == NULL)
        return NULL;
    keel__sbuf_put(&b, insert, (size_t)(values - insert) + 8);   /* through "VALUES " */
    for (i = 0; i < n; i++) {
        keel__sbuf_puts(&b, i ? ", (" : "(");
        for (c = 0; c < EV_NCOL; c++) {
            /* the row's seventh value is the literal 0 (attempts) */
            keel__sbuf_puts(&b, c == 0 ? "" : c == 6 ? ", 0, " : ", ");
            ev_param(&b, i * EV_NCOL + c + 1);
        }
        keel__sbuf_put(&b, ")", 1);
    }
    keel__sbuf_puts(&b, tail + 1);                               /* after the row's ')' */
    return keel__sbuf_take(&b);
}

static int ev_flush(keel_store *tx, void *arg)
{
    ev_buf *b = arg;
    char *sql;
    int rc;

    if (b->n == 0)
        return 0;
    sql = b->n == KEEL__EV_EMIT_CHUNK ? b->box->emit_chunk : keel__ev_multi_sql(
              b->box->sql[KEEL__EV_INSERT], b->n);
    rc = sql != NULL ? keel_store_exec(tx, sql, b->params, NULL) : KEEL_ENOMEM;
    if (rc != 0)
        keel_log(NULL, KEEL_LOG_ERROR, "events: cannot write %zu row(s) to %s_outbox: %s",
                 b->n, b->box->mc->desc->name, keel_store_errmsg(tx));
    if (sql != b->box->emit_chunk)
        free(sql);
    json_array_clear(b->params);
    b->n = 0;
    return rc;
}

static void ev_drop(void *arg, int end)
{
    ev_buf *b = arg;

    json_array_clear(b->params);
    b->n = 0;
    if (end) {
        json_decref(b->params);
        free(b);
    }
}

/* tx's buffer for box's rows, registered on first use; NULL when tx is not
 * in a transaction (the row is then written at once). */
static ev_buf *ev_buffer(keel_store *tx, keel__ev_box *box)
{
    ev_buf *b = keel__store_tx_buffer(tx, ev_flush, ev_drop, NULL), *mine;

    if (b == NULL) {
        if ((mine = calloc(1, sizeof *mine)) == NULL || (mine->params = json_array()) == NULL) {
            free(mine);
            return NULL;
        }
        mine->box = box;
        if ((b = keel__store_tx_buffer(tx, ev_flush, ev_drop, mine)) != mine) {
            ev_drop(mine, 1);
            return b;
        }
    }
    if (b->box != box && ev_flush(tx, b) == 0)
        b->box = box;   /* one transaction writing two outboxes: rare, flushed at the switch */
    return b->box == box ? b : NULL;
}

/* One outbox row for subscriber sub on tx: buffered (ev_buf) when tx is a
 * transaction, else written now. */
static int ev_insert(keel_ctx *ctx, keel__ev_box *box, keel_store *tx, const char *topic,
                     const char *sub, const char *key, const char *okey, const char *payload,
                     const char *principal, int max_attempts, int64_t run_at)
{
    ev_buf *b;
    json_t *params;
    json_t *ts;
    char tp[KEEL_TRACEPARENT_LEN];
    int rc, have_tp;

    if (box == NULL)
        return KEEL_EINVAL;
    /* the emitting call's span becomes the delivery's parent (flags kept:
     * an unsampled call's deliveries record nothing either) */
    have_tp = keel__ctx_traceparent(ctx, tp, sizeof tp) == 0;
    /* payload and principal were written by json_dumps: valid UTF-8; the
     * traceparent is hex; tracestate came from a header (json_string
     * refuses it if it is not UTF-8, and it is then left out) */
    ts = have_tp && ctx->tracestate != NULL ? json_string(ctx->tracestate) : NULL;
    params = json_pack("[sssoooiIIoo]", topic, sub, key, okey ? json_string(okey) : json_null(),
                       json_stringn_nocheck(payload, strlen(payload)),
                       principal ? json_string_nocheck(principal) : json_null(),
                       max_attempts, (json_int_t)run_at, (json_int_t)keel__wall_ms(),
                       have_tp ? json_string_nocheck(tp) : json_null(),
                       ts != NULL ? ts : json_null());
    if (params == NULL)
        return KEEL_ENOMEM;
    if ((b = ev_buffer(tx, box)) != NULL) {
        rc = json_array_extend(b->params, params) == 0 ? 0 : KEEL_ENOMEM;
        if (rc == 0 && ++b->n == KEEL__EV_EMIT_CHUNK)
            rc = ev_flush(tx, b);
    } else {
        rc = keel_store_exec(tx, box->sql[KEEL__EV_INSERT], params, NULL);
    }
    if (rc != 0)
        keel_ctx_error(ctx, rc, "events: cannot write to %s_outbox: %s",
                       box->mc->desc->name, keel_store_errmsg(tx));
    json_decref(params);
    return rc;
}

/* Checks shared by emit and enqueue; the payload text and principal text
 * come back malloc'd. */
static int ev_prepare(keel_ctx *ctx, keel_store *tx, const json_t *payload, const char *key,
                      keel__ev_box **box, char **ptext, char **prin, char *keybuf, size_t keylen)
{
    keel__events *ev = keel__events_of(ctx != NULL ? ctx->rt : NULL);

    *ptext = *prin = NULL;
    if (ctx == NULL || tx == NULL)
        return KEEL_EINVAL;
    if (ev == NULL || ctx->mc == NULL || (*box = keel__ev_box_find(ev, ctx->mc->desc->name)) == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "events: the calling module declares no "
                              "topics or subscriptions");
    if (key != NULL && (key[0] == '\0' || strlen(key) > KEEL_EV_KEY_MAX))
        return keel_ctx_error(ctx, KEEL_EINVAL, "events: idempotency key must be 1..%d bytes",
                              KEEL_EV_KEY_MAX);
    if (key == NULL)
        ev_random_key(keybuf, keylen);
    else
        snprintf(keybuf, keylen, "%s", key);
    if ((*ptext = keel__json_dump(payload, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
        return KEEL_ENOMEM;
    if (ctx->principal != NULL &&
        (*prin = keel__json_dump(ctx->principal, JSON_COMPACT)) == NULL)
        return KEEL_ENOMEM;
    return 0;
}

int keel_emit_ex(keel_ctx *ctx, keel_store *tx, const char *topic, const json_t *payload,
                 const char *key, const keel_emit_opts *opts)
{
    keel__events *ev = keel__events_of(ctx != NULL ? ctx->rt : NULL);
    keel__ev_topic *t;
    keel__ev_box *box = NULL;
    char keybuf[KEEL_EV_KEY_MAX + 1], serr[512], *ptext = NULL, *prin = NULL;
    int64_t run_at;
    size_t i;
    int rc;

    if (ctx == NULL || topic == NULL || !json_is_object(payload))
        return ctx != NULL ? keel_ctx_error(ctx, KEEL_EINVAL, "events: emit needs a topic "
                                            "and an object payload") : KEEL_EINVAL;
    if ((t = keel__ev_topic_find(ev, topic)) == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "events: unknown topic '%s'", topic);
    if (ctx->mc != t->emitter)
        return keel_ctx_error(ctx, KEEL_EINVAL, "events: topic '%s' belongs to module '%s'",
                              topic, t->emitter->desc->name);
    if (t->schema != NULL && keel__schema_validate(t->schema, payload, serr, sizeof serr) != 0)
        return keel_ctx_error(ctx, KEEL_EINVAL, "events: %s payload: %s", topic, serr);
    if (opts != NULL && opts->order_key != NULL &&
        (opts->order_key[0] == '\0' || strlen(opts->order_key) > KEEL_EV_KEY_MAX))
        return keel_ctx_error(ctx, KEEL_EINVAL, "events: ordering key must be 1..%d bytes",
                              KEEL_EV_KEY_MAX);
    if ((rc = ev_prepare(ctx, tx, payload, key, &box, &ptext, &prin, keybuf, sizeof keybuf)) != 0)
        goto out;
    run_at = keel__wall_ms() + (opts != NULL && opts->delay_ms > 0 ? opts->delay_ms : 0);
    for (i = 0; i < t->nsubs; i++) {
        const keel_subscription *s = keel__ev_sub_find(t->subs[i]->desc, topic);
        int max = s != NULL && s->max_attempts > 0 ? s->max_attempts : ev->max_attempts;
        rc = ev_insert(ctx, box, tx, topic, t->subs[i]->desc->name, keybuf,
                       opts != NULL ? opts->order_key : NULL, ptext, prin, max, run_at);
        if (rc != 0)
            goto out;
    }
    if (t->nsubs > 0)
        keel__store_after_commit(tx, ev_wake_cb, ev);
out:
    free(ptext);
    free(prin);
    return rc;
}

int keel_emit(keel_ctx *ctx, keel_store *tx, const char *topic, const json_t *payload,
              const char *key)
{
    return keel_emit_ex(ctx, tx, topic, payload, key, NULL);
}

int keel_jobs_enqueue_tx(keel_ctx *ctx, keel_store *tx, const char *kind, const json_t *payload,
                         int64_t run_at_ms, const char *key)
{
    keel__events *ev = keel__events_of(ctx != NULL ? ctx->rt : NULL);
    keel__ev_box *box = NULL;
    const keel_subscription *s;
    char keybuf[KEEL_EV_KEY_MAX + 1], *ptext = NULL, *prin = NULL;
    json_t *empty = NULL;
    int rc;

    if (ctx == NULL || kind == NULL)
        return KEEL_EINVAL;
    if (ctx->mc == NULL || (s = keel__ev_sub_find(ctx->mc->desc, kind)) == NULL ||
        !(s->flags & KEEL_SUB_JOB))
        return keel_ctx_error(ctx, KEEL_EINVAL, "jobs: '%s' is not a job kind of module '%s'",
                              kind, ctx->mc != NULL ? ctx->mc->desc->name : "?");
    if (payload == NULL)
        payload = empty = json_object();
    if (!json_is_object(payload)) {
        rc = keel_ctx_error(ctx, KEEL_EINVAL, "jobs: payload must be an object");
        goto out;
    }
    if ((rc = ev_prepare(ctx, tx, payload, key, &box, &ptext, &prin, keybuf, sizeof keybuf)) != 0)
        goto out;
    rc = ev_insert(ctx, box, tx, kind, ctx->mc->desc->name, keybuf, NULL, ptext, prin,
                   s->max_attempts > 0 ? s->max_attempts : ev->max_attempts,
                   run_at_ms > 0 ? run_at_ms : keel__wall_ms());
    if (rc == 0)
        keel__store_after_commit(tx, ev_wake_cb, ev);
out:
    json_decref(empty);
    free(ptext);
    free(prin);
    return rc;
}

int keel_jobs_enqueue(keel_ctx *ctx, const char *kind, const json_t *payload,
                      int64_t run_at_ms, const char *key)
{
    return keel_jobs_enqueue_tx(ctx, keel_ctx_store(ctx), kind, payload, run_at_ms, key);
}

/* ---- applying once -------------------------------------------------------- */

typedef struct ev_once {
    keel_ctx         *ctx;
    const keel_event *ev;
    keel__ev_box     *box;
    int             (*fn)(keel_store *tx, void *arg);
    void             *arg;
} ev_once;

static int ev_once_tx(keel_store *tx, void *arg)
{
    ev_once *o = arg;
    json_t *params, *rows = NULL;
    int rc;

    params = json_pack("[ssI]", o->ev->topic, o->ev->key, (json_int_t)keel__wall_ms());
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(tx, o->box->sql[KEEL__EV_INBOX], params, &rows);
    json_decref(params);
    if (rc != 0) {
        json_decref(rows);
        return keel_ctx_error(o->ctx, rc, "events: inbox: %s", keel_store_errmsg(tx));
    }
    if (json_array_size(rows) == 0)   /* applied by an earlier delivery */
        rc = 0;
    else
        rc = o->fn(tx, o->arg);
    json_decref(rows);
    return rc;
}

_Thread_local keel__ev_join *keel__ev_joined;

int keel_event_tx(keel_ctx *ctx, const keel_event *ev, int (*fn)(keel_store *tx, void *arg),
                  void *arg)
{
    keel__ev_join *j = keel__ev_joined;
    ev_once o;
    keel_store *st;
    int rc;

    if (ctx == NULL || ev == NULL || fn == NULL || ev->topic == NULL || ev->key == NULL)
        return KEEL_EINVAL;
    o.ctx = ctx;
    o.ev = ev;
    o.fn = fn;
    o.arg = arg;
    o.box = ctx->mc != NULL ? keel__ev_box_find(keel__events_of(ctx->rt), ctx->mc->desc->name) : NULL;
    if (o.box == NULL || (st = keel_ctx_store(ctx)) == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "events: keel_event_tx outside a subscriber");
    if (j == NULL || j->root != st)
        return keel_store_tx(st, ev_once_tx, &o);
    if (j->topic != NULL && strcmp(j->topic, ev->topic) == 0 && j->key != NULL &&
        strcmp(j->key, ev->key) == 0) {
        /* the key was recorded with its batch's: apply only if it was new */
        if (!j->fresh)
            return 0;
        j->fresh = 0;   /* a second call for the event applies nothing, as before */
        rc = fn(j->tx, arg);
    } else {
        rc = ev_once_tx(j->tx, &o);
    }
    if (rc != 0 && j->failed == 0)
        j->failed = rc;
    return rc;
}
