/*
 * riding_events.c — summaries after the upload (issue 18, docs/riding.md
 * "Summaries are asynchronous").
 *
 * upload_session stores a session as 'pending' and emits
 * riding.session_uploaded in the same transaction.  The dispatcher delivers
 * it (at least once) to riding_on_uploaded, which reads the stored CSV, asks
 * compute for the summary (in this process or another) and stores it with
 * status 'ready' through keel_event_tx: a redelivery after a crash finds the
 * key in riding_inbox and applies nothing twice.
 *
 * Errors are sorted by what a retry can change:
 *   - compute says the file is wrong (bad_data, invalid_input, too_large):
 *     permanent.  'failed' with compute's message, the delivery completes;
 *   - anything else (compute unavailable, a timeout, the store): transient.
 *     The handler returns the error and the dispatcher retries with backoff;
 *     the last attempt first marks the session 'failed' (outside the inbox,
 *     so `keel jobs retry` of the dead letter still applies) and then
 *     dead-letters.
 *
 * get_session's wait_ms waits on a condition variable the handler signals
 * after each commit, re-reading the row at least every RIDING_WAIT_POLL_MS
 * for sessions summarized by another process (a replica's dispatcher, or a
 * one-shot CLI upload).
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "riding-internal.h"

/* ---- state: the waiters' condition variable ------------------------------- */

int riding_init(keel_module_ctx *mc)
{
    riding_state *s = calloc(1, sizeof *s);
    pthread_condattr_t ca;

    if (s == NULL)
        return KEEL_ENOMEM;
    /* deadlines are CLOCK_MONOTONIC, like the call's (keel_ctx_deadline_ms) */
    if (pthread_condattr_init(&ca) != 0 || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0
        || pthread_cond_init(&s->cv, &ca) != 0) {
        free(s);
        return KEEL_ENOMEM;
    }
    pthread_condattr_destroy(&ca);
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        pthread_cond_destroy(&s->cv);
        free(s);
        return KEEL_ENOMEM;
    }
    keel_module_set_state(mc, s);
    return 0;
}

void riding_stop(keel_module_ctx *mc)
{
    riding_state *s = keel_module_state(mc);

    if (s == NULL)
        return;
    keel_module_set_state(mc, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* A session's status changed in this process: wake every waiter (they
 * re-read their own session; a summary is rare next to the reads). */
static void notify(keel_ctx *ctx)
{
    riding_state *s = keel_ctx_state(ctx);

    if (s == NULL)
        return;
    pthread_mutex_lock(&s->mu);
    s->gen++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int is_pending(const json_t *session)
{
    const char *st = json_string_value(json_object_get(session, "status"));
    return st != NULL && strcmp(st, "pending") == 0;
}

int riding_session_wait(keel_ctx *ctx, keel_store *st, const riding_who *who, int64_t id,
                        int64_t wait_ms, json_t **session)
{
    riding_state *s = keel_ctx_state(ctx);
    int64_t until = mono_ms() + wait_ms, deadline = keel_ctx_deadline_ms(ctx);
    int rc;

    /* answer (still pending) a little before the call's own deadline rather
     * than let the caller see a timeout for a read that worked */
    if (deadline > 0 && deadline - RIDING_WAIT_MARGIN_MS < until)
        until = deadline - RIDING_WAIT_MARGIN_MS;
    for (;;) {
        uint64_t gen = 0;
        int64_t now, stop;

        if (s != NULL) {  /* read the generation first: a commit after it wakes us */
            pthread_mutex_lock(&s->mu);
            gen = s->gen;
            pthread_mutex_unlock(&s->mu);
        }
        *session = NULL;
        rc = riding_session_get(st, who, id, session);
        if (rc != 0 || !is_pending(*session) || (now = mono_ms()) >= until || s == NULL)
            return rc;
        json_decref(*session);
        *session = NULL;
        stop = now + RIDING_WAIT_POLL_MS < until ? now + RIDING_WAIT_POLL_MS : until;
        pthread_mutex_lock(&s->mu);
        while (s->gen == gen) {
            struct timespec ts = {.tv_sec = stop / 1000, .tv_nsec = (stop % 1000) * 1000000};
            if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
                break;
        }
        pthread_mutex_unlock(&s->mu);
    }
}


/* ---- storing the outcome --------------------------------------------------- */

struct outcome {
    json_t              *params;  /* ready: [summary text, id]; failed: [error, id] */
    json_t              *gzp;     /* [id, null]: the gzip's parameters, or NULL: leave the CSV */
    const unsigned char *gz;      /* the CSV as one gzip member, bound as $2 of gzp */
    size_t               gzlen;
    int                  ready;
};

static int outcome_tx(keel_store *tx, void *arg)
{
    const struct outcome *o = arg;
    /* never undo a summary: a stale redelivery of a session that is already
     * ready changes nothing */
    int rc = keel_store_exec(tx, o->ready
        ? "UPDATE riding_sessions SET summary = $1, status = 'ready', error = NULL "
          "WHERE id = $2 AND status <> 'ready'"
        : "UPDATE riding_sessions SET status = 'failed', error = $1 "
          "WHERE id = $2 AND status <> 'ready'", o->params, NULL);

    /* the upload stored the CSV as it came; keep it compressed from now on,
     * the member's bytes bound as they are (keel_store_exec_blob: no base64
     * text or JSON string of them) */
    if (rc == 0 && o->gzp != NULL)
        rc = keel_store_exec_blob(tx, "UPDATE riding_session_data SET csv = '', "
                                      "encoding = 'gzip', csv_gz = $2 "
                                      "WHERE session_id = $1 AND encoding = 'identity'",
                                  o->gzp, 2, o->gz, o->gzlen, NULL);
    return rc;
}

/* Through keel_event_tx when ev is given (inbox + update, once), else in a
 * plain transaction (the CLI's inline summary, the last attempt's mark).
 * gz (may be NULL; taken and freed here): the session's CSV as the gzip
 * member riding_session_gz made from an identity row, stored in place of
 * the text. */
static int store_outcome(keel_ctx *ctx, const keel_event *ev, int64_t id, int ready,
                         const char *text, unsigned char *gz, size_t gzlen)
{
    struct outcome o = {.params = json_pack("[s,I]", text, (json_int_t)id), .gz = gz,
                        .gzlen = gzlen, .ready = ready};
    int rc;

    /* out of memory here leaves the text as it is: readable, compressed
     * by the next summary that reads it (none: it stays identity) */
    if (gz != NULL)
        o.gzp = json_pack("[I,n]", (json_int_t)id);
    if (o.params == NULL) {
        json_decref(o.gzp);
        free(gz);
        return KEEL_ENOMEM;
    }
    rc = ev != NULL ? keel_event_tx(ctx, ev, outcome_tx, &o)
                    : keel_store_tx(keel_ctx_store(ctx), outcome_tx, &o);
    json_decref(o.params);
    json_decref(o.gzp);
#ifdef __GLIBC__
    if (gz != NULL) {  /* the gzip and SQLite's record of it, freed: hand the pages back */
        free(gz);
        malloc_trim(0);
    }
#else
    free(gz);
#endif
    if (rc == 0)
        notify(ctx);
    return rc;
}

/* compute's verdict on the file itself: retrying cannot change it. */
static int permanent(int rc)
{
    return rc == KEEL_EBADDATA || rc == KEEL_EINVAL || rc == KEEL_ETOOBIG;
}

int riding_summarize_session(keel_ctx *ctx, int64_t id, const keel_event *ev)
{
    keel_store *st = keel_ctx_store(ctx);
    /* the session was checked against its uploader at upload; reading it
     * back is the module's own work (a horse unshared since must not leave
     * it pending forever) */
    const riding_who sys = {.user_id = 0, .admin = 1};
    json_t *session = NULL, *summary = NULL;
    unsigned char *gz = NULL;
    char *text = NULL, msg[400];
    size_t gzlen = 0;
    json_int_t bytes;
    int fresh = 0, rc;

    rc = riding_session_get(st, &sys, id, &session);
    if (rc == KEEL_ENOTFOUND)
        return 0;  /* deleted before it was summarized: nothing to do */
    if (rc != 0)
        return rc;
    rc = strcmp(json_string_value(json_object_get(session, "status")), "ready") == 0;
    bytes = json_integer_value(json_object_get(session, "bytes"));
    json_decref(session);
    if (rc)
        return 0;  /* a redelivery, or the CLI summarized it already */
    /* the upload's reservation ended with its answer: this work holds its
     * own in the same budget (riding_summary_mem: the CSV is never whole
     * here).  A full budget waits here, then is transient: retried with
     * backoff */
    rc = keel_ctx_mem_reserve(ctx, riding_summary_mem((int64_t)bytes));
    if (rc == 0)
        rc = riding_session_gz(ctx, st, id, (size_t)bytes, &gz, &gzlen, &fresh);
    if (rc == KEEL_ENOTFOUND)
        return 0;
    if (rc == 0)
        rc = riding_summarize_gz(ctx, gz, gzlen, (size_t)bytes, &summary);
    if (!fresh) {  /* stored compressed already: nothing to write back */
        free(gz);
        gz = NULL;
    }
    if (rc == 0) {
        text = json_dumps(summary, JSON_COMPACT);
        json_decref(summary);
        rc = text != NULL ? store_outcome(ctx, ev, id, 1, text, gz, gzlen) : KEEL_ENOMEM;
        if (text == NULL)
            free(gz);
        free(text);
        if (rc == 0)
            keel_info(ctx, "riding: session %lld summarized", (long long)id);
        return rc;
    }
    snprintf(msg, sizeof msg, "%s: %s", keel_errname(rc),
             keel_ctx_errmsg(ctx) ? keel_ctx_errmsg(ctx) : keel_strerror(rc));
    if (permanent(rc)) {
        keel_warn(ctx, "riding: session %lld failed: %s", (long long)id, msg);
        return store_outcome(ctx, ev, id, 0, msg, gz, gzlen);
    }
    free(gz);
    if (ev != NULL && ev->attempt >= ev->max_attempts) {
        char last[480];
        /* not through the inbox: the dead letter's replay must still apply */
        snprintf(last, sizeof last, "gave up after %d attempts: %s", ev->attempt, msg);
        if (store_outcome(ctx, NULL, id, 0, last, NULL, 0) == 0)
            keel_warn(ctx, "riding: session %lld failed: %s", (long long)id, last);
    }
    return rc;  /* transient: retried with backoff, then dead-lettered */
}

int riding_on_uploaded(keel_ctx *ctx, const keel_event *ev)
{
    int64_t id = json_integer_value(json_object_get(ev->payload, "session_id"));

    return riding_summarize_session(ctx, id, ev);
}
