/*
 * test_riding_events.c — summaries after the upload (issue 18): the
 * riding.session_uploaded handler against the fake compute of
 * riding_fixture.h, with the events dispatcher running.
 *   - compute calls a well-formed file bad: 'failed' with compute's
 *     message, asked once (no retry), left out of the trend;
 *   - compute unavailable a few times: retried, then 'ready';
 *   - unavailable past the last attempt: 'failed', a dead letter, and
 *     `keel jobs retry` (keel_jobs_retry) makes it 'ready';
 *   - get_session's wait_ms: returns as the summary lands, returns
 *     'pending' when the wait or the call's deadline ends, bounded by the
 *     schema;
 *   - a one-shot CLI upload summarizes inline; the event then applies
 *     nothing twice;
 *   - a session deleted while pending completes its event quietly.
 */
#include <pthread.h>
#include <time.h>

#include "riding_fixture.h"

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_int_t upload_pending(fix *f, json_int_t h, const char *started_at, const char *csv)
{
    json_t *out = NULL;
    char in[160];
    json_int_t sid;

    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"%s\"}", (long long)h, started_at);
    assert_int_equal(call_raw(f, "upload_session", in, csv, &out, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "pending");
    sid = json_integer_value(json_object_get(out, "session_id"));
    json_decref(out);
    return sid;
}

/* Polls until sql counts 0 (the dispatcher has nothing left), up to 10 s. */
static void drained(fix *f, const char *sql)
{
    int i;

    for (i = 0; i < 1000 && count_rows(f, sql) != 0; i++)
        usleep(10000);
    assert_int_equal(count_rows(f, sql), 0);
}

static size_t dead_letters(fix *f)
{
    json_t *rows = NULL;
    size_t n;

    assert_int_equal(keel_store_exec(keel__events_of(f->t.rt)->core,
                                     "SELECT count(*) AS n FROM keel_dead_letters",
                                     NULL, &rows), 0);
    n = (size_t)json_integer_value(json_object_get(json_array_get(rows, 0), "n"));
    json_decref(rows);
    return n;
}

static void test_bad_file_fails_once(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet"), sid;
    json_t *out;
    char in[64], code[64];

    sid = upload_pending(f, h, "2026-05-01T10:00:00Z", CSV_LATE_BAD);
    out = settled(f, sid);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "failed");
    assert_true(json_is_null(json_object_get(out, "summary")));
    assert_string_equal(json_string_value(json_object_get(out, "error")),
                        "bad_data: row 2: column ax: not a number");
    json_decref(out);
    drained(f, "SELECT count(*) AS n FROM riding_outbox");
    assert_int_equal(fake_calls, 1);  /* permanent: never retried */
    assert_int_equal(dead_letters(f), 0);
    /* listed with its status; no ready session: no trend */
    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_int_equal(call(f, "list_sessions", in, &out), 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(out, "sessions"), 0), "status")), "failed");
    json_decref(out);
    assert_string_equal(fails(f, "horse_trend", in, code, sizeof code), "not_found");
    /* a ready one next to it: the trend has that one only */
    upload_settled(f, h, "2026-05-02T10:00:00Z", CSV_A, "ready");
    assert_int_equal(call(f, "horse_trend", in, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(out, "horses"), 0), "sessions")), 1);
    json_decref(out);
}

static void test_transient_is_retried(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet"), sid;
    json_t *out;

    fake_unavail = 3;  /* compute down for three attempts */
    sid = upload_pending(f, h, "2026-05-01T10:00:00Z", CSV_A);
    out = settled(f, sid);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "ready");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "summary"), "samples")), 2);
    json_decref(out);
    assert_int_equal(fake_calls, 4);
    assert_int_equal(dead_letters(f), 0);
}

static void test_gives_up_then_replays(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet"), sid;
    keel_ctx *ctx;
    json_t *out = NULL, *op;
    char in[64];
    int i;

    fake_unavail = -1;  /* compute down for good */
    sid = upload_pending(f, h, "2026-05-01T10:00:00Z", CSV_A);
    out = settled(f, sid);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "failed");
    assert_string_equal(json_string_value(json_object_get(out, "error")),
                        "gave up after 10 attempts: unavailable: compute is not available");
    json_decref(out);
    drained(f, "SELECT count(*) AS n FROM riding_outbox");
    assert_int_equal(fake_calls, 10);  /* events_max_attempts' default */
    assert_int_equal(dead_letters(f), 1);

    /* compute is back; the operator replays the dead letter */
    fake_unavail = 0;
    ctx = keel__ctx_new(f->t.rt, KEEL_TR_CLI, NULL, 0);
    op = json_pack("{s:b, s:[s]}", "operator", 1, "scopes", "admin");
    keel__ctx_set_principal_new(ctx, op);
    assert_int_equal(keel_jobs_retry(ctx, 0, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "retried")), 1);
    json_decref(out);
    keel__ctx_free(ctx);
    /* 'failed' is not 'pending': wait_ms answers at once, so poll */
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    for (i = 0; i < 1000; i++) {
        assert_int_equal(call(f, "get_session", in, &out), 0);
        if (strcmp(json_string_value(json_object_get(out, "status")), "ready") == 0)
            break;
        json_decref(out);
        out = NULL;
        usleep(10000);
    }
    assert_non_null(out);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "ready");
    assert_null(json_object_get(out, "error"));
    json_decref(out);
    assert_int_equal(dead_letters(f), 0);
}

static void *release_later(void *arg)
{
    (void)arg;
    usleep(300 * 1000);
    fake_hold = 0;
    return NULL;
}

static void test_wait_ms(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet"), sid;
    json_t *out = NULL, *in_j;
    keel_ctx *ctx;
    pthread_t th;
    char in[96], code[64];
    int64_t t0, dt;

    fake_hold = 1;  /* a slow compute */
    sid = upload_pending(f, h, "2026-05-01T10:00:00Z", CSV_A);
    /* the wait ends first: still pending, after about wait_ms */
    snprintf(in, sizeof in, "{\"session_id\":%lld,\"wait_ms\":400}", (long long)sid);
    t0 = now_ms();
    assert_int_equal(call(f, "get_session", in, &out), 0);
    dt = now_ms() - t0;
    assert_string_equal(json_string_value(json_object_get(out, "status")), "pending");
    json_decref(out);
    /* only the lower bound is the wait's; the upper one just tells "ended by
     * wait_ms" from a hang, with room for a preempted thread (TSan, load) */
    assert_true(dt >= 399 && dt < 10000);

    /* the call's deadline ends first: pending, RIDING_WAIT_MARGIN_MS before
     * the deadline.  When it answers is bounded below (the code's until);
     * above, a thread preempted for more than the margin answers late on a
     * loaded machine whatever the code does, so the upper bound only tells
     * the deadline's end from wait_ms's (20 s) */
    snprintf(in, sizeof in, "{\"session_id\":%lld,\"wait_ms\":20000}", (long long)sid);
    in_j = json_loads(in, 0, NULL);
    t0 = now_ms();
    ctx = keel__ctx_new(f->t.rt, KEEL_TR_HTTP, NULL, t0 + 1000);
    keel__ctx_set_principal_new(ctx, json_incref(g_who));
    assert_int_equal(keel__call_root(ctx, "riding", "get_session", in_j, &out), 0);
    dt = now_ms() - t0;
    assert_string_equal(json_string_value(json_object_get(out, "status")), "pending");
    assert_true(dt >= 1000 - RIDING_WAIT_MARGIN_MS - 1 && dt < 10000);
    json_decref(out);
    json_decref(in_j);
    keel__ctx_free(ctx);

    /* the summary lands during the wait: answered then, not at wait_ms.
     * t0 before the thread exists: its 300 ms start after t0 however the
     * two threads are scheduled, so the summary cannot land sooner */
    t0 = now_ms();
    assert_int_equal(pthread_create(&th, NULL, release_later, NULL), 0);
    assert_int_equal(call(f, "get_session", in, &out), 0);
    dt = now_ms() - t0;
    pthread_join(th, NULL);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "ready");
    assert_true(dt >= 299 && dt < 10000);
    json_decref(out);

    /* the schema bounds it */
    snprintf(in, sizeof in, "{\"session_id\":%lld,\"wait_ms\":30001}", (long long)sid);
    assert_string_equal(fails(f, "get_session", in, code, sizeof code), "invalid_input");
    snprintf(in, sizeof in, "{\"session_id\":%lld,\"wait_ms\":-1}", (long long)sid);
    assert_string_equal(fails(f, "get_session", in, code, sizeof code), "invalid_input");
}

/* `keel riding upload_session` runs no dispatcher: it summarizes before it
 * answers; the event it emitted is delivered later and changes nothing.
 * The fixture's dispatcher is stopped for the CLI call, as no dispatcher
 * runs in a one-shot command: left running, it could claim the event
 * between the upload's commit and the inline summary's, find the session
 * still pending and ask compute a second time (fake_calls 2, seen on a
 * loaded machine) — not the order this test is about. */
static void test_cli_upload_inline(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet");
    keel_ctx *ctx = keel__ctx_new(f->t.rt, KEEL_TR_CLI, NULL, 0);
    json_t *in, *out = NULL;
    char text[128], err[512];

    keel__events_stop(f->t.rt);
    snprintf(text, sizeof text, "{\"horse_id\":%lld,\"started_at\":\"2026-05-01T10:00:00Z\"}",
             (long long)h);
    in = json_loads(text, 0, NULL);
    keel__ctx_set_principal_new(ctx, json_incref(g_who));
    keel__ctx_set_raw(ctx, CSV_A, strlen(CSV_A), "text/csv");
    assert_int_equal(keel__call_root(ctx, "riding", "upload_session", in, &out), 0);
    assert_string_equal(json_string_value(json_object_get(out, "status")), "ready");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "summary"), "samples")), 2);
    json_decref(out);
    json_decref(in);
    keel__ctx_free(ctx);
    assert_int_equal(fake_calls, 1);
    /* the event waits for a server; one delivers it now */
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_outbox"), 1);
    assert_int_equal(keel__events_start(f->t.rt, err, sizeof err), 0);
    drained(f, "SELECT count(*) AS n FROM riding_outbox");
    assert_int_equal(fake_calls, 1);
    assert_int_equal(dead_letters(f), 0);
}

static void test_deleted_while_pending(void **state)
{
    fix *f = *state;
    json_int_t h = new_horse(f, "Comet"), sid;
    json_t *out = NULL;
    char in[64];

    fake_hold = 1;
    sid = upload_pending(f, h, "2026-05-01T10:00:00Z", CSV_A);
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    assert_int_equal(call(f, "delete_session", in, &out), 0);
    json_decref(out);
    fake_hold = 0;
    drained(f, "SELECT count(*) AS n FROM riding_outbox");
    assert_int_equal(dead_letters(f), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_sessions"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_file_fails_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transient_is_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gives_up_then_replays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_ms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cli_upload_inline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_while_pending, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
