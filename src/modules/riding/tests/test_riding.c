/*
 * test_riding.c — the riding module's riders, horses and sessions against a
 * fake compute module (riding_fixture.h): uploads and their summary, the
 * stored CSV (rows holding the gzip's base64 text too), duplicates, a malformed file storing nothing, bad input, trend
 * and delete, and the storage transactions under a fault sweep with the
 * faulty store decorator (tests/fakes/faulty_store.h).  Who may see and
 * change what is test_riding_access.c.
 */
#include "riding_fixture.h"

/* ---- tests ----------------------------------------------------------------- */

static void test_riders_and_horses(void **state)
{
    fix *f = *state;
    json_t *out = NULL, *body = NULL;
    char in[128];
    json_int_t r1, r2, h;

    assert_int_equal(call(f, "create_rider", "{\"name\":\"Ann\"}", &out), 0);
    r1 = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    assert_int_equal(call(f, "create_rider", "{\"name\":\"Bob\"}", &out), 0);
    r2 = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    assert_int_equal(call(f, "create_rider", "{\"name\":\"\"}", &out), KEEL_EINVAL);

    snprintf(in, sizeof in, "{\"name\":\"Comet\",\"rider_ids\":[%lld]}", (long long)r1);
    assert_int_equal(call(f, "create_horse", in, &out), 0);
    h = json_integer_value(json_object_get(out, "id"));
    assert_int_equal(json_array_size(json_object_get(out, "rider_ids")), 1);
    json_decref(out);

    /* unknown rider: 404, and the horse is not half-created */
    assert_int_equal(call_raw(f, "create_horse", "{\"name\":\"Ghost\",\"rider_ids\":[999]}", NULL,
                              &out, &body), KEEL_ENOTFOUND);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "error"), "rider_id")),
                     999);
    json_decref(body);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_horses"), 1);

    /* a second rider; linking twice is a no-op */
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"rider_id\":%lld}", (long long)h, (long long)r2);
    assert_int_equal(call(f, "add_rider_to_horse", in, &out), 0);
    json_decref(out);
    assert_int_equal(call(f, "add_rider_to_horse", in, &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "rider_ids")), 2);
    json_decref(out);
    assert_int_equal(call(f, "add_rider_to_horse", "{\"horse_id\":77,\"rider_id\":1}", &out),
                     KEEL_ENOTFOUND);

    assert_int_equal(call(f, "list_horses", "{}", &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "horses")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(out, "horses"), 0), "name")), "Comet");
    json_decref(out);
    assert_int_equal(call(f, "list_riders", "{}", &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "riders")), 2);
    json_decref(out);
}

static void test_upload_stores_summary(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet"), sid;
    json_t *out = NULL, *summary = NULL;
    keel_ctx *ctx;
    const riding_iface *r;
    keel_module_ctx *self = NULL;
    char in[160];

    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-01T12:00:00+02:00\"}",
             (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_A, &out, NULL), 0);
    sid = json_integer_value(json_object_get(out, "session_id"));
    assert_true(sid > 0);
    assert_string_equal(json_string_value(json_object_get(out, "started_at")), "2026-05-01T10:00:00Z");
    /* the answer comes before the summary (issue 18) */
    assert_string_equal(json_string_value(json_object_get(out, "status")), "pending");
    assert_true(json_is_null(json_object_get(out, "summary")));
    assert_int_equal(strlen(json_string_value(json_object_get(out, "content_hash"))), 64);
    json_decref(out);
    /* the handler of riding.session_uploaded fills it in */
    out = settled(f, sid);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "ready");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "summary"), "samples")), 2);
    assert_null(json_object_get(out, "error"));
    json_decref(out);
    assert_int_equal(fake_calls, 1);

    /* the raw CSV is kept compressed (byte for byte: test_session_csv) */
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_session_data "
                                   "WHERE encoding = 'gzip' AND csv = '' AND csv_gz IS NOT NULL"), 1);
    /* as bytes, not as their base64 text (decode(): docs/store.md) */
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_session_data "
                                   "WHERE typeof(csv_gz) = 'blob' AND length(csv_gz) > 18"), 1);

    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    assert_int_equal(call(f, "get_session", in, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "horse_id")), h);
    json_decref(out);

    /* the csv field works as well as a raw body */
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-03T10:00:00Z\","
             "\"csv\":\"time,ax,ay,az,gx,gy,gz\\n0,2,0,9.8,0,0,0\\n\"}", (long long)h);
    assert_int_equal(call(f, "upload_session", in, &out), 0);
    json_decref(settled(f, json_integer_value(json_object_get(out, "session_id"))));
    json_decref(out);

    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_int_equal(call(f, "list_sessions", in, &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "sessions")), 2);
    assert_string_equal(json_string_value(json_object_get(     /* newest first */
                            json_array_get(json_object_get(out, "sessions"), 0), "started_at")),
                        "2026-05-03T10:00:00Z");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(out, "sessions"), 1), "status")), "ready");
    json_decref(out);

    /* typed iface */
    ctx = keel__ctx_new(f->t.rt, KEEL_TR_LOCAL, NULL, 0);
    keel__ctx_set_principal_new(ctx, json_incref(g_who));
    r = keel_iface(ctx, "riding", RIDING_IFACE_VERSION, &self);
    assert_ptr_equal(r, &riding_local);
    assert_ptr_equal(self, keel__rt_find(f->t.rt, "riding"));
    assert_int_equal(r->session_summary(self, ctx, sid, &summary), 0);
    assert_int_equal(json_integer_value(json_object_get(summary, "samples")), 2);
    json_decref(summary);
    assert_int_equal(r->session_summary(self, ctx, 4242, &summary), KEEL_ENOTFOUND);
    assert_null(summary);
    /* the client (riding placed remotely) answers the same through keel_call */
    assert_int_equal(riding_client.session_summary(self, ctx, sid, &summary), 0);
    assert_int_equal(json_integer_value(json_object_get(summary, "samples")), 2);
    json_decref(summary);
    assert_int_equal(riding_client.session_summary(self, ctx, 4242, &summary), KEEL_ENOTFOUND);
    keel__ctx_free(ctx);
    /* layout pinned: version first, members appended */
    assert_int_equal(offsetof(riding_iface, session_summary), sizeof(void *));
    assert_int_equal(keel_module_riding.iface_version, RIDING_IFACE_VERSION);
}

/* get_session_csv as g_who: rc, and the raw answer (malloc'd, NULL when
 * none) with its Content-Encoding ("" = none). */
static int download(fix *f, json_int_t sid, int accept_gzip, char **raw, size_t *len, char *enc)
{
    keel_ctx *ctx = keel__ctx_new(f->t.rt, KEEL_TR_HTTP, NULL, 0);
    json_t *in = json_pack("{s:I}", "session_id", sid), *out = NULL;
    const char *ct = NULL, *e = NULL;
    int rc;

    assert_non_null(ctx);
    keel__ctx_set_principal_new(ctx, json_incref(g_who));
    keel__ctx_set_accept_gzip(ctx, accept_gzip);
    rc = keel__call_root(ctx, "riding", "get_session_csv", in, &out);
    *raw = keel__ctx_take_raw_out(ctx, len, &ct, &e);
    snprintf(enc, 16, "%s", e ? e : "");
    if (rc == 0) {
        assert_string_equal(ct, "text/csv; charset=utf-8");
        assert_int_equal(json_integer_value(json_object_get(out, "bytes")), (json_int_t)*len);
        assert_string_equal(json_string_value(json_object_get(out, "encoding")),
                            e ? "gzip" : "identity");
    }
    json_decref(out);
    json_decref(in);
    keel__ctx_free(ctx);
    return rc;
}

/* Upload, then download: the same bytes, plain or as a gzip member
 * (RFC 1952: ID1 0x1f, ID2 0x8b; ISIZE, the last 4 bytes little-endian,
 * is the uncompressed length); a stranger gets "not found" exactly as for
 * a session that does not exist; a row stored before migration 0003
 * (encoding 'identity', the text in csv) still reads. */
static void test_session_csv(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet"), sid;
    json_t *out = NULL, *body = NULL;
    char in[160], enc[16], *raw = NULL, sql[200];
    const unsigned char *z;
    size_t len = 0;
    json_t *b1, *b2;

    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-01T10:00:00Z\"}",
             (long long)h);
    fake_hold = 1;  /* the handler waits in compute: the session stays pending */
    assert_int_equal(call_raw(f, "upload_session", in, CSV_A, &out, NULL), 0);
    sid = json_integer_value(json_object_get(out, "session_id"));
    json_decref(out);
    /* pending: stored as it came, read back the same */
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_session_data "
                                   "WHERE encoding = 'identity'"), 1);
    assert_int_equal(download(f, sid, 1, &raw, &len, enc), 0);
    assert_string_equal(enc, "");
    assert_int_equal(len, strlen(CSV_A));
    assert_memory_equal(raw, CSV_A, len);
    free(raw);
    /* the handler compresses it beside the summary */
    fake_hold = 0;
    json_decref(settled(f, sid));

    assert_int_equal(download(f, sid, 0, &raw, &len, enc), 0);
    assert_int_equal(len, strlen(CSV_A));
    assert_memory_equal(raw, CSV_A, len);
    assert_string_equal(enc, "");
    free(raw);

    assert_int_equal(download(f, sid, 1, &raw, &len, enc), 0);
    assert_string_equal(enc, "gzip");
    z = (const unsigned char *)raw;
    assert_true(len > 18);
    assert_int_equal(z[0], 0x1f);
    assert_int_equal(z[1], 0x8b);
    assert_int_equal(z[len - 4] | z[len - 3] << 8 | z[len - 2] << 16 | (unsigned)z[len - 1] << 24,
                     strlen(CSV_A));
    free(raw);

    /* a stranger, and a missing session: the same answer */
    as_user(f->b);
    assert_int_equal(download(f, sid, 0, &raw, &len, enc), KEEL_ENOTFOUND);
    assert_null(raw);
    assert_int_equal(call_raw(f, "get_session_csv", "{\"session_id\":999}", NULL, &out, &body),
                     KEEL_ENOTFOUND);
    b1 = json_object_get(json_object_get(body, "error"), "message");
    assert_string_equal(json_string_value(b1), "session 999 not found");
    json_decref(body);
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    assert_int_equal(call_raw(f, "get_session_csv", in, NULL, &out, &body), KEEL_ENOTFOUND);
    b2 = json_object_get(json_object_get(body, "error"), "code");
    assert_string_equal(json_string_value(b2), "not_found");
    snprintf(sql, sizeof sql, "session %lld not found", (long long)sid);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "error"),
                                                          "message")), sql);
    json_decref(body);
    as_user(f->a);

    /* a row from before the migration */
    snprintf(sql, sizeof sql, "UPDATE riding_session_data SET encoding = 'identity', csv = '%s', "
             "csv_gz = NULL WHERE session_id = %lld", CSV_A, (long long)sid);
    assert_int_equal(keel_store_exec(keel_module_store(keel__rt_find(f->t.rt, "riding")), sql,
                                     NULL, NULL), 0);
    assert_int_equal(download(f, sid, 1, &raw, &len, enc), 0);
    assert_string_equal(enc, "");
    assert_int_equal(len, strlen(CSV_A));
    assert_memory_equal(raw, CSV_A, len);
    free(raw);
}

/* A gzip row written by the first version of 0003's code, on SQLite, holds
 * the member's base64 text (TEXT in csv_gz, bound as a string): it still
 * downloads, plain and as the member, and the summary's reader takes it;
 * a value that is neither a member nor base64 is KEEL_ESTORE. */
static void test_session_csv_base64_row(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet"), sid;
    keel_store *st = keel_module_store(keel__rt_find(f->t.rt, "riding"));
    keel_ctx *ctx = keel__ctx_new(f->t.rt, KEEL_TR_CLI, NULL, 0);
    json_t *p, *row = NULL;
    char enc[16], *raw = NULL, *back = NULL;
    unsigned char *gz = NULL;
    size_t len = 0, gzlen = 0, want = strlen(CSV_A);
    int fresh = 1;

    sid = upload_settled(f, h, "2026-05-01T10:00:00Z", CSV_A, "ready");
    /* the member's base64 (the JSON reading of the BLOB), written back as
     * the old insert wrote it: a string bound to the column */
    p = json_pack("[I]", sid);
    assert_int_equal(keel_store_one(st, "SELECT csv_gz FROM riding_session_data "
                                        "WHERE session_id = $1", p, &row), 0);
    json_decref(p);
    p = json_pack("[O,I]", json_object_get(row, "csv_gz"), sid);
    assert_int_equal(keel_store_exec(st, "UPDATE riding_session_data SET csv_gz = $1 "
                                         "WHERE session_id = $2", p, NULL), 0);
    json_decref(p);
    json_decref(row);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_session_data "
                                   "WHERE typeof(csv_gz) = 'text' AND encoding = 'gzip'"), 1);

    assert_int_equal(download(f, sid, 0, &raw, &len, enc), 0);
    assert_string_equal(enc, "");
    assert_int_equal(len, want);
    assert_memory_equal(raw, CSV_A, want);
    free(raw);
    assert_int_equal(download(f, sid, 1, &raw, &len, enc), 0);
    assert_string_equal(enc, "gzip");
    assert_int_equal(riding_csv_inflate(ctx, (const unsigned char *)raw, len, want, &back), 0);
    assert_memory_equal(back, CSV_A, want);
    free(back);
    free(raw);
    assert_int_equal(riding_session_gz(ctx, st, sid, want, &gz, &gzlen, &fresh), 0);
    assert_int_equal(fresh, 0);
    assert_int_equal(riding_csv_inflate(ctx, gz, gzlen, want, &back), 0);
    assert_memory_equal(back, CSV_A, want);
    free(back);
    free(gz);

    p = json_pack("[s,I]", "not base64!", sid);
    assert_int_equal(keel_store_exec(st, "UPDATE riding_session_data SET csv_gz = $1 "
                                         "WHERE session_id = $2", p, NULL), 0);
    json_decref(p);
    assert_int_equal(download(f, sid, 0, &raw, &len, enc), KEEL_ESTORE);
    free(raw);
    keel__ctx_free(ctx);
}

/* A CSV that is not UTF-8 is refused, as when it became a JSON string. */
static void test_upload_not_utf8(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet");
    json_t *out = NULL, *body = NULL;
    char in[160];

    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-01T10:00:00Z\"}",
             (long long)h);
    /* the bytes sit in a column compute ignores, so the structural check
     * passes and the UTF-8 check is what refuses them.  0xC0 0xAF: an
     * overlong "/" (RFC 3629 section 3 forbids it) */
#define NOTE_CSV(cell) "time,ax,ay,az,gx,gy,gz,note\n0,0,0,9.8,0,0,0," cell "\n"
    assert_int_equal(call_raw(f, "upload_session", in, NOTE_CSV("\xc0\xaf"), &out, &body),
                     KEEL_EBADDATA);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(body, "error"),
                                                              "message")), "UTF-8"));
    json_decref(body);
    assert_int_equal(call_raw(f, "upload_session", in, NOTE_CSV("\xed\xa0\x80"), &out, NULL),
                     KEEL_EBADDATA);  /* a UTF-16 surrogate */
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_session_data"), 0);
    assert_int_equal(call_raw(f, "upload_session", in, NOTE_CSV("\xc3\xa9"), &out, NULL), 0);
    json_decref(out);
}

static void test_duplicate_upload(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet"), h2 = new_horse(f, "Dancer"), sid;
    json_t *out = NULL, *body = NULL, *e;
    char in[160];

    sid = upload_settled(f, h, "2026-05-01T10:00:00Z", CSV_A, "ready");

    /* same bytes, same horse (even another date): 409 with the existing id */
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-06-01T10:00:00Z\"}", (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_A, &out, &body), KEEL_EEXIST);
    assert_null(out);
    e = json_object_get(body, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "already_exists");
    assert_int_equal(json_integer_value(json_object_get(e, "session_id")), sid);
    json_decref(body);
    assert_int_equal(fake_calls, 1);  /* compute not asked twice */

    /* same bytes for another horse: a new session */
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-01T10:00:00Z\"}", (long long)h2);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_A, &out, NULL), 0);
    assert_int_not_equal(json_integer_value(json_object_get(out, "session_id")), sid);
    json_decref(out);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_sessions"), 2);
}

/* A malformed file is refused by upload_session itself, before anything is
 * stored or emitted, with compute's parser's message (docs/compute.md: the
 * row, its line and the column). */
static void test_malformed_stores_nothing(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet");
    json_t *out = NULL, *body = NULL, *e;
    char in[160];

    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-01T10:00:00Z\"}", (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_BAD, &out, &body), KEEL_EBADDATA);
    e = json_object_get(body, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "bad_data");
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "line 2"));
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "'time'"));
    json_decref(body);
    /* a header without the columns compute needs */
    assert_int_equal(call_raw(f, "upload_session", in, "time,ax\n0,1\n", &out, &body),
                     KEEL_EBADDATA);
    assert_non_null(strstr(json_string_value(json_object_get(json_object_get(body, "error"),
                                                              "message")), "missing required column"));
    json_decref(body);
    /* a header and no rows */
    assert_int_equal(call_raw(f, "upload_session", in, "time,ax,ay,az,gx,gy,gz\n", &out, NULL),
                     KEEL_EBADDATA);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_sessions"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_session_data"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_outbox"), 0);
    assert_int_equal(fake_calls, 0);  /* the check is riding's: compute never asked */
}

static void test_bad_input(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet");
    json_t *out = NULL, *body = NULL;
    char in[160];

    /* unknown horse: 404 naming it, compute never asked */
    assert_int_equal(call_raw(f, "upload_session",
                              "{\"horse_id\":999,\"started_at\":\"2026-05-01T10:00:00Z\"}", CSV_A,
                              &out, &body), KEEL_ENOTFOUND);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(body, "error"), "horse_id")), 999);
    json_decref(body);
    assert_int_equal(fake_calls, 0);
    /* unknown rider */
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"rider_id\":5,\"started_at\":\"2026-05-01T10:00:00Z\"}",
             (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_A, &out, NULL), KEEL_ENOTFOUND);
    /* missing field (schema), bad dates, no CSV, empty CSV */
    assert_int_equal(call_raw(f, "upload_session", "{\"horse_id\":1}", CSV_A, &out, NULL), KEEL_EINVAL);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-02-30T10:00:00Z\"}", (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_A, &out, NULL), KEEL_EINVAL);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"yesterday at noon\"}", (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_A, &out, NULL), KEEL_EINVAL);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-01T10:00:00\"}", (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_A, &out, NULL), KEEL_EINVAL);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-01T10:00:00Z\"}", (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, NULL, &out, NULL), KEEL_EINVAL);
    assert_int_equal(call_raw(f, "upload_session", in, "", &out, NULL), KEEL_EBADDATA);
    assert_int_equal(call_raw(f, "upload_session", in, "\xff\xfe\n", &out, NULL), KEEL_EBADDATA);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_sessions"), 0);
    assert_int_equal(call(f, "list_sessions", "{\"horse_id\":999}", &out), KEEL_ENOTFOUND);
    assert_int_equal(call(f, "horse_trend", "{\"horse_id\":999}", &out), KEEL_ENOTFOUND);
    assert_int_equal(call(f, "get_session", "{\"session_id\":999}", &out), KEEL_ENOTFOUND);
    assert_int_equal(call(f, "delete_session", "{\"session_id\":999}", &out), KEEL_ENOTFOUND);
}

static void test_trend_and_delete(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet");
    json_t *out = NULL, *horse;
    char in[200], csv[128];
    json_int_t first = 0;
    int i;

    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_int_equal(call(f, "horse_trend", in, &out), KEEL_ENOTFOUND);  /* nothing yet */
    /* uploaded out of order; the trend sees them oldest first */
    for (i = 3; i >= 1; i--) {
        snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-0%dT10:00:00Z\"}",
                 (long long)h, i);
        snprintf(csv, sizeof csv, "time,ax,ay,az,gx,gy,gz\n0,%d,0,9.8,0,0,0\n", i);
        assert_int_equal(call_raw(f, "upload_session", in, csv, &out, NULL), 0);
        if (i == 3)
            first = json_integer_value(json_object_get(out, "session_id"));
        json_decref(settled(f, json_integer_value(json_object_get(out, "session_id"))));
        json_decref(out);
    }
    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_int_equal(call(f, "horse_trend", in, &out), 0);
    horse = json_array_get(json_object_get(out, "horses"), 0);
    assert_int_equal(json_integer_value(json_object_get(horse, "sessions")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(horse, "dates"), 0)),
                        "2026-05-01T10:00:00Z");
    assert_string_equal(json_string_value(json_array_get(json_object_get(horse, "dates"), 2)),
                        "2026-05-03T10:00:00Z");
    json_decref(out);

    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)first);
    assert_int_equal(call(f, "delete_session", in, &out), 0);
    json_decref(out);
    assert_int_equal(call(f, "get_session", in, &out), KEEL_ENOTFOUND);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_session_data"), 2);
    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_int_equal(call(f, "horse_trend", in, &out), 0);
    horse = json_array_get(json_object_get(out, "horses"), 0);
    assert_int_equal(json_integer_value(json_object_get(horse, "sessions")), 2);
    json_decref(out);
}

/* Fault sweep over the session transaction: fault call N for N = 1, 2, …
 * until the insert no longer reaches it; every run ends in success or a
 * documented error, and sessions and raw data always come in pairs. */
static void test_insert_fault_sweep(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet");
    struct keel_faulty fs;
    keel_store *st = NULL;
    char err[256], hash[16];
    json_t *summary = json_pack("{s:i}", "samples", 1);
    long n;
    int64_t id;
    int rc, ok = 0;

    keel_faulty_store_init(&fs, &keel_store_sqlite);
    assert_int_equal(keel_faulty_open(&fs, f->t.url, "riding", &st, err, sizeof err), 0);
    for (n = 1; n < 20; n++) {
        snprintf(hash, sizeof hash, "h%ld", n);
        keel_faulty_arm(&fs, n, 0);
        rc = riding_session_insert(NULL, st, h, 0, f->a, "2026-05-01T10:00:00Z", hash, "a,b\n1,2\n",
                                   8, summary, &id);
        assert_true(rc == 0 || rc == KEEL_EIO || rc == KEEL_EUNAVAIL);
        assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_sessions"),
                         count_rows(f, "SELECT count(*) AS n FROM riding_session_data"));
        if (rc == 0 && fs.faults == 0) {
            ok = 1;  /* the operation no longer reaches call n */
            break;
        }
    }
    assert_true(ok);
    assert_true(n >= 3);  /* begin, two inserts at least */
    keel_store_close(st);
    json_decref(summary);
}

/* riding_session_gz reads a session not yet compressed in pieces of
 * characters and compresses them as they come: the member decodes to the
 * stored bytes exactly — multi-byte characters everywhere (a piece's end
 * counts characters, its length bytes), a text of exactly two pieces (the
 * last query finds nothing) and one a character longer; a recorded size
 * that differs is KEEL_ESTORE. */
static void test_session_gz_pieces(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet");
    keel_store *st = keel_module_store(keel__rt_find(f->t.rt, "riding"));
    keel_ctx *ctx = keel__ctx_new(f->t.rt, KEEL_TR_CLI, NULL, 0);
    json_t *summary = json_pack("{s:i}", "samples", 1);
    /* "1,2,\u00e9\u00b0\n": 7 characters, 9 bytes */
    static const char line[] = "1,2,\xc3\xa9\xc2\xb0\n";
    size_t sizes[3] = {2 * RIDING_READ_CHARS / 7 * 7 + 3 * 7, 0, 0}, k;

    /* exactly two pieces of ASCII, then one character more */
    sizes[1] = 2 * (size_t)RIDING_READ_CHARS;
    sizes[2] = sizes[1] + 1;
    for (k = 0; k < 3; k++) {
        size_t chars = sizes[k], len = 0, gzlen = 0, i;
        char *csv = malloc(chars / 7 * 9 + 16), hash[16], *back = NULL;
        unsigned char *gz = NULL;
        int64_t id;
        int fresh = 0;

        for (i = 0; i + 7 <= chars; i += 7) {
            if (k == 0) {
                memcpy(csv + len, line, 9); /* NOLINT(bugprone-not-null-terminated-result): a text with a length */
                len += 9;
            } else {
                memcpy(csv + len, "1,2,3,\n", 7); /* NOLINT(bugprone-not-null-terminated-result): a text with a length */
                len += 7;
            }
        }
        for (; i < chars; i++)
            csv[len++] = 'x';
        snprintf(hash, sizeof hash, "p%zu", k);
        assert_int_equal(riding_session_insert(NULL, st, h, 0, f->a, "2026-05-01T10:00:00Z", hash,
                                               csv, len, summary, &id), 0);
        assert_int_equal(riding_session_gz(ctx, st, id, len, &gz, &gzlen, &fresh), 0);
        assert_int_equal(fresh, 1);
        assert_true(gzlen > 0 && gzlen < len);
        assert_int_equal(riding_csv_inflate(ctx, gz, gzlen, len, &back), 0);
        assert_memory_equal(back, csv, len);
        free(back);
        free(gz);
        gz = NULL;
        assert_int_equal(riding_session_gz(ctx, st, id, len + 1, &gz, &gzlen, &fresh), KEEL_ESTORE);
        assert_null(gz);
        free(csv);
    }
    json_decref(summary);
    keel__ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_riders_and_horses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_stores_summary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_csv, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_csv_base64_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_upload_not_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_stores_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trend_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_fault_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_gz_pieces, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
