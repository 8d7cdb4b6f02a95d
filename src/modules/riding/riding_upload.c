/*
 * riding_upload.c — upload_session: one sensor CSV for one horse.
 *
 * Flow: check input, the caller's rights on the horse (404 when not
 * visible, 403 for a viewer) and rider (theirs, or riding that horse) → the
 * structure of the CSV's first RIDING_CHECK_BYTES (compute_csv_check: header,
 * units, rows — a malformed file is bad_data naming its line, and nothing is
 * stored) → SHA-256 of the CSV → same file for the same horse already
 * stored? 409 already_exists with the existing session_id → session row
 * ('pending'), raw CSV (as uploaded; the handler compresses it) and the event
 * riding.session_uploaded in one transaction, so a failure leaves none of
 * them.  The summary comes later (riding_events.c); the answer is the
 * pending session.  A one-shot CLI upload has no dispatcher behind it, so
 * it summarizes inline before answering (docs/riding.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "riding-internal.h"
#include "compute/compute.h"

static void sha256_hex(const char *data, size_t len, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    size_t i;

    SHA256((const unsigned char *)data, len, md);
    for (i = 0; i < sizeof md; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 0x0f];
    }
    out[64] = '\0';
}

/* KEEL_EEXIST with the stored session's id on ctx when horse_id already has
 * a session with this content hash; 0 when it has none. */
static int check_duplicate(keel_ctx *ctx, keel_store *st, int64_t horse_id, const char *hash)
{
    json_t *params = json_pack("[I,s]", (json_int_t)horse_id, hash), *row = NULL;
    int rc;

    if (params == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_one(st, "SELECT id FROM riding_sessions WHERE horse_id = $1 "
                            "AND content_hash = $2", params, &row);
    json_decref(params);
    if (rc == KEEL_ENOTFOUND)
        return 0;
    if (rc == 0) {
        json_int_t id = json_integer_value(json_object_get(row, "id"));
        keel_ctx_error_field_new(ctx, "session_id", json_integer(id));
        rc = keel_ctx_error(ctx, KEEL_EEXIST,
                            "this file was already uploaded for horse %lld as session %lld",
                            (long long)horse_id, (long long)id);
    }
    json_decref(row);
    return rc;
}

struct upload_job {
    json_t     *session;  /* [horse_id, rider_id|null, started_at, hash, bytes, summary, now,
                             uploaded_by|null, status] */
    json_t     *csv;      /* the raw CSV as a JSON string (riding_csv_text) */
    keel_ctx   *ctx;      /* emits riding.session_uploaded when not NULL */
    json_int_t  id;       /* out */
};

/* The event, on the upload's transaction: it exists iff the session does. */
static int emit_uploaded(struct upload_job *job, keel_store *tx)
{
    json_t *payload = json_pack("{s:I, s:O, s:O}", "session_id", job->id, "horse_id",
                                json_array_get(job->session, 0), "bytes",
                                json_array_get(job->session, 4));
    int rc;

    if (payload == NULL)
        return KEEL_ENOMEM;
    /* no idempotency key of ours: a random one per upload (an id a deleted
     * session leaves free may come back, and its key must not be "applied") */
    rc = keel_emit(job->ctx, tx, "riding.session_uploaded", payload, NULL);
    json_decref(payload);
    return rc;
}

static int upload_tx(keel_store *st, void *arg)
{
    struct upload_job *job = arg;
    json_t *rows = NULL, *params = NULL;
    int rc;

    rc = keel_store_exec(st,
        "INSERT INTO riding_sessions (horse_id, rider_id, started_at, content_hash, bytes, "
        "summary, created_at, uploaded_by, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "RETURNING id",
        job->session, &rows);
    if (rc != 0)
        goto out;
    job->id = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
    params = json_pack("[I,O]", job->id, job->csv);
    if (params == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    /* as it came: the handler compresses it (riding_csv.c says why) */
    rc = keel_store_exec(st, "INSERT INTO riding_session_data (session_id, csv, encoding) "
                         "VALUES ($1, $2, 'identity')", params, NULL);
    if (rc == 0 && job->ctx != NULL)
        rc = emit_uploaded(job, st);
out:
    json_decref(params);
    json_decref(rows);
    return rc;
}

int riding_session_insert(keel_ctx *ctx, keel_store *st, int64_t horse_id, int64_t rider_id,
                          int64_t uploaded_by, const char *started_at, const char *hash,
                          const char *csv, size_t len, const json_t *summary,
                          int64_t *session_id)
{
    struct upload_job job = {0};
    char *summary_text = summary ? json_dumps(summary, JSON_COMPACT) : NULL;
    int rc;

    rc = riding_csv_text(csv, len, &job.csv);
    if (rc != 0) {
        free(summary_text);
        return rc;  /* KEEL_EBADDATA: not valid UTF-8 */
    }
    job.session = json_pack("[I,o,s,s,I,s?,I,o,s]", (json_int_t)horse_id,
                            rider_id > 0 ? json_integer(rider_id) : json_null(), started_at, hash,
                            (json_int_t)len, summary_text, (json_int_t)riding_now(),
                            uploaded_by > 0 ? json_integer(uploaded_by) : json_null(),
                            summary != NULL ? "ready" : "pending");
    job.ctx = summary == NULL ? ctx : NULL;
    if (job.session == NULL || (summary != NULL && summary_text == NULL)) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    rc = keel_store_tx(st, upload_tx, &job);
    if (rc == 0)
        *session_id = job.id;
out:
    json_decref(job.session);
    json_decref(job.csv);
    free(summary_text);
    return rc;
}

int riding_h_upload_session(keel_ctx *ctx, const json_t *in, json_t **out)
{
    keel_store *st = keel_ctx_store(ctx);
    int64_t horse_id = json_integer_value(json_object_get(in, "horse_id"));
    int64_t rider_id = json_integer_value(json_object_get(in, "rider_id"));  /* 0 = none */
    const char *started_in = json_string_value(json_object_get(in, "started_at"));
    const char *csv = NULL;
    size_t len = 0;
    char started[32], hash[65], err[320];
    int64_t id = 0;
    riding_who who;
    int rc;

    if (riding_rfc3339_utc(started_in, started, sizeof started) != 0)
        return keel_ctx_error(ctx, KEEL_EINVAL, "started_at: expected an RFC 3339 date-time "
                              "such as 2026-05-01T10:00:00Z, got '%.40s'",
                              started_in ? started_in : "");
    rc = keel_ctx_input_text(ctx, in, &csv, &len);
    if (rc != 0)
        return rc;
    if (len == 0)
        return keel_ctx_error(ctx, KEEL_EBADDATA, "csv: the session file is empty");
    if ((rc = riding_who_of(ctx, &who)) != 0)
        return rc;
    rc = riding_horse_access(ctx, st, &who, horse_id, RIDING_EDITOR, NULL);
    if (rc == 0 && rider_id > 0)
        rc = riding_rider_access(ctx, st, &who, rider_id, horse_id);
    if (rc != 0)
        return rc;

    /* compute's parser on the first rows, here, whether or not compute
     * runs in this process or at all: a bad file is refused now */
    rc = compute_csv_check(csv, len, RIDING_CHECK_BYTES, err, sizeof err);
    if (rc != 0)
        return keel_ctx_error(ctx, rc, "%s", err);
    sha256_hex(csv, len, hash);
    rc = check_duplicate(ctx, st, horse_id, hash);
    if (rc != 0)
        return rc;
    rc = riding_session_insert(ctx, st, horse_id, rider_id, who.user_id, started, hash, csv, len,
                               NULL, &id);
    if (rc == KEEL_ECONFLICT) {  /* a concurrent upload of the same file won */
        rc = check_duplicate(ctx, st, horse_id, hash);
        if (rc == 0)
            rc = KEEL_ECONFLICT;
    } else if (rc == KEEL_EBADDATA) {
        keel_ctx_error(ctx, rc, "csv: not valid UTF-8 text");
    }
    if (rc != 0)
        return rc;
    keel_info(ctx, "riding: stored session %lld for horse %lld (%zu bytes), summary pending",
              (long long)id, (long long)horse_id, len);
    /* a one-shot CLI command never runs the dispatcher (docs/events.md): it
     * summarizes here, and the event finds the session ready when a server
     * delivers it.  Transient failures leave it pending for that server. */
    if (keel_ctx_transport(ctx) == KEEL_TR_CLI && riding_summarize_session(ctx, id, NULL) != 0)
        keel_warn(ctx, "riding: session %lld stays pending until `keel serve` delivers its "
                  "event: %s", (long long)id, keel_ctx_errmsg(ctx) ? keel_ctx_errmsg(ctx) : "");
    return riding_session_get(st, &who, id, out);
}
