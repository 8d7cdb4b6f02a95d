/*
 * test_riding_access.c — ownership in the riding module (riding_fixture.h):
 * a second user sees nothing of the first's horses, riders and sessions
 * (the same answers as for missing ones), sharing a horse as viewer or
 * editor and taking it back, and what an admin, the operator and an
 * anonymous caller may do.
 */
#include "riding_fixture.h"

/* ---- ownership: a second user sees nothing --------------------------------- */

/* A's horse with a rider and a session; ids out. */
static void seed_a(fix *f, json_int_t *horse, json_int_t *rider, json_int_t *session)
{
    json_t *out = NULL;
    char in[200];

    as_user(f->a);
    assert_int_equal(call(f, "create_rider", "{\"name\":\"Ann\"}", &out), 0);
    *rider = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    snprintf(in, sizeof in, "{\"name\":\"Comet\",\"rider_ids\":[%lld]}", (long long)*rider);
    assert_int_equal(call(f, "create_horse", in, &out), 0);
    *horse = json_integer_value(json_object_get(out, "id"));
    assert_int_equal(json_integer_value(json_object_get(out, "owner_id")), f->a);
    assert_string_equal(json_string_value(json_object_get(out, "role")), "owner");
    json_decref(out);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"rider_id\":%lld,"
             "\"started_at\":\"2026-05-01T10:00:00Z\"}", (long long)*horse, (long long)*rider);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_A, &out, NULL), 0);
    *session = json_integer_value(json_object_get(out, "session_id"));
    assert_int_equal(json_integer_value(json_object_get(out, "uploaded_by")), f->a);
    json_decref(out);
    json_decref(settled(f, *session));  /* summarized as A */
}

/* Every riding method, called by B on A's objects: 404 not_found, with the
 * same message as for an id that does not exist, and nothing changes. */
static void test_second_user_sees_nothing(void **state)
{
    fix *f = *state;
    json_int_t h, r, sid, bh, br;
    json_t *out = NULL, *body = NULL, *summary = NULL;
    char in[200], code[64], msg_mine[160], msg_none[160];
    keel_ctx *ctx;

    seed_a(f, &h, &r, &sid);
    as_user(f->b);
    assert_int_equal(call(f, "list_horses", "{}", &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "horses")), 0);
    json_decref(out);
    assert_int_equal(call(f, "list_riders", "{}", &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "riders")), 0);
    json_decref(out);

    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    assert_string_equal(fails(f, "get_session", in, code, sizeof code), "not_found");
    assert_string_equal(fails(f, "delete_session", in, code, sizeof code), "not_found");
    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_string_equal(fails(f, "list_sessions", in, code, sizeof code), "not_found");
    assert_string_equal(fails(f, "horse_trend", in, code, sizeof code), "not_found");
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"email\":\"bob@example.com\",\"role\":\"editor\"}",
             (long long)h);
    assert_string_equal(fails(f, "share_horse", in, code, sizeof code), "not_found");
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"email\":\"ann@example.com\"}", (long long)h);
    assert_string_equal(fails(f, "unshare_horse", in, code, sizeof code), "not_found");
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-02T10:00:00Z\"}",
             (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_B, &out, &body), KEEL_ENOTFOUND);
    json_decref(body);
    assert_int_equal(fake_calls, 1);  /* A's upload only: compute never saw B's CSV */

    /* the message does not tell A's horse from a horse that does not exist */
    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_int_equal(call_raw(f, "list_sessions", in, NULL, &out, &body), KEEL_ENOTFOUND);
    snprintf(msg_mine, sizeof msg_mine, "%s", json_string_value(json_object_get(
                 json_object_get(body, "error"), "message")));
    json_decref(body);
    assert_int_equal(call_raw(f, "list_sessions", "{\"horse_id\":98765}", NULL, &out, &body),
                     KEEL_ENOTFOUND);
    snprintf(msg_none, sizeof msg_none, "%s", json_string_value(json_object_get(
                 json_object_get(body, "error"), "message")));
    json_decref(body);
    snprintf(in, sizeof in, "horse %lld not found", (long long)h);
    assert_string_equal(msg_mine, in);
    assert_string_equal(msg_none, "horse 98765 not found");

    /* B's own horse and rider cannot be tied to A's */
    assert_int_equal(call(f, "create_rider", "{\"name\":\"Bob\"}", &out), 0);
    br = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    bh = new_horse(f, "Dancer");
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"rider_id\":%lld}", (long long)h, (long long)br);
    assert_string_equal(fails(f, "add_rider_to_horse", in, code, sizeof code), "not_found");
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"rider_id\":%lld}", (long long)bh, (long long)r);
    assert_string_equal(fails(f, "add_rider_to_horse", in, code, sizeof code), "not_found");
    snprintf(in, sizeof in, "{\"name\":\"Thief\",\"rider_ids\":[%lld]}", (long long)r);
    assert_string_equal(fails(f, "create_horse", in, code, sizeof code), "not_found");
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"rider_id\":%lld,"
             "\"started_at\":\"2026-05-02T10:00:00Z\"}", (long long)bh, (long long)r);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_B, &out, NULL), KEEL_ENOTFOUND);

    /* the typed iface answers under the caller's principal too */
    ctx = keel__ctx_new(f->t.rt, KEEL_TR_LOCAL, NULL, 0);
    keel__ctx_set_principal_new(ctx, json_incref(g_who));
    assert_int_equal(riding_local.session_summary(keel__rt_find(f->t.rt, "riding"), ctx, sid,
                                                  &summary), KEEL_ENOTFOUND);
    assert_null(summary);
    assert_int_equal(riding_client.session_summary(NULL, ctx, sid, &summary), KEEL_ENOTFOUND);
    keel__ctx_free(ctx);

    /* A still has everything */
    as_user(f->a);
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    assert_int_equal(call(f, "get_session", in, &out), 0);
    json_decref(out);
    assert_int_equal(count_rows(f, "SELECT count(*) AS n FROM riding_horses"), 2);
    assert_int_equal(call(f, "list_horses", "{}", &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "horses")), 1);
    json_decref(out);
}

/* viewer reads, editor also uploads and deletes their own uploads, the owner
 * everything; unsharing takes it all back. */
static void test_sharing(void **state)
{
    fix *f = *state;
    json_int_t h, r, sid, bsid;
    json_t *out = NULL, *e, *body = NULL;
    char in[200], code[64];

    seed_a(f, &h, &r, &sid);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"email\":\"BOB@example.com\",\"role\":\"viewer\"}",
             (long long)h);
    assert_int_equal(call(f, "share_horse", in, &out), 0);
    assert_int_equal(json_integer_value(json_object_get(out, "user_id")), f->b);
    json_decref(out);
    /* unknown users, bad roles, sharing with the owner */
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"email\":\"nobody@example.com\",\"role\":\"viewer\"}",
             (long long)h);
    assert_string_equal(fails(f, "share_horse", in, code, sizeof code), "not_found");
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"user_id\":4242,\"role\":\"viewer\"}", (long long)h);
    assert_string_equal(fails(f, "share_horse", in, code, sizeof code), "not_found");
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"user_id\":%lld,\"role\":\"owner\"}", (long long)h,
             (long long)f->c);
    assert_string_equal(fails(f, "share_horse", in, code, sizeof code), "invalid_input");
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"user_id\":%lld,\"role\":\"viewer\"}", (long long)h,
             (long long)f->a);
    assert_string_equal(fails(f, "share_horse", in, code, sizeof code), "invalid_input");

    as_user(f->b);
    assert_int_equal(call(f, "list_horses", "{}", &out), 0);
    e = json_array_get(json_object_get(out, "horses"), 0);
    assert_int_equal(json_integer_value(json_object_get(e, "id")), h);
    assert_string_equal(json_string_value(json_object_get(e, "role")), "viewer");
    assert_null(json_object_get(e, "shared_with"));  /* the share list is the owner's */
    json_decref(out);
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    assert_int_equal(call(f, "get_session", in, &out), 0);
    json_decref(out);
    assert_string_equal(fails(f, "delete_session", in, code, sizeof code), "forbidden");
    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_int_equal(call(f, "list_sessions", in, &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "sessions")), 1);
    json_decref(out);
    assert_int_equal(call(f, "horse_trend", in, &out), 0);
    json_decref(out);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"started_at\":\"2026-05-02T10:00:00Z\"}",
             (long long)h);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_B, &out, &body), KEEL_EFORBIDDEN);
    assert_string_equal(json_string_value(json_object_get(json_object_get(body, "error"), "role")),
                        "viewer");
    json_decref(body);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"user_id\":%lld,\"role\":\"editor\"}",
             (long long)h, (long long)f->b);
    assert_string_equal(fails(f, "share_horse", in, code, sizeof code), "forbidden");
    /* C still sees nothing */
    as_user(f->c);
    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_string_equal(fails(f, "list_sessions", in, code, sizeof code), "not_found");

    /* editor: uploads (recorded as theirs), deletes only their own */
    as_user(f->a);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"user_id\":%lld,\"role\":\"editor\"}",
             (long long)h, (long long)f->b);
    assert_int_equal(call(f, "share_horse", in, &out), 0);
    json_decref(out);
    as_user(f->b);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"rider_id\":%lld,"
             "\"started_at\":\"2026-05-02T10:00:00Z\"}", (long long)h, (long long)r);
    assert_int_equal(call_raw(f, "upload_session", in, CSV_B, &out, NULL), 0);  /* A's rider rides h */
    bsid = json_integer_value(json_object_get(out, "session_id"));
    assert_int_equal(json_integer_value(json_object_get(out, "uploaded_by")), f->b);
    json_decref(out);
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    assert_string_equal(fails(f, "delete_session", in, code, sizeof code), "forbidden");
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)bsid);
    assert_int_equal(call(f, "delete_session", in, &out), 0);
    json_decref(out);

    /* the owner sees the share list, deletes anything, unshares */
    as_user(f->a);
    assert_int_equal(call(f, "list_horses", "{}", &out), 0);
    e = json_object_get(json_array_get(json_object_get(out, "horses"), 0), "shared_with");
    assert_int_equal(json_array_size(e), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(e, 0), "user_id")), f->b);
    assert_string_equal(json_string_value(json_object_get(json_array_get(e, 0), "role")), "editor");
    json_decref(out);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"email\":\"bob@example.com\"}", (long long)h);
    assert_int_equal(call(f, "unshare_horse", in, &out), 0);
    assert_true(json_is_true(json_object_get(out, "removed")));
    json_decref(out);
    as_user(f->b);
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    assert_string_equal(fails(f, "get_session", in, code, sizeof code), "not_found");
    assert_int_equal(call(f, "list_horses", "{}", &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "horses")), 0);
    json_decref(out);

    /* a user may leave a horse shared with them */
    as_user(f->a);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"user_id\":%lld,\"role\":\"viewer\"}",
             (long long)h, (long long)f->c);
    assert_int_equal(call(f, "share_horse", in, &out), 0);
    json_decref(out);
    as_user(f->c);
    snprintf(in, sizeof in, "{\"horse_id\":%lld,\"user_id\":%lld}", (long long)h, (long long)f->c);
    assert_int_equal(call(f, "unshare_horse", in, &out), 0);
    json_decref(out);
    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)h);
    assert_string_equal(fails(f, "list_sessions", in, code, sizeof code), "not_found");
}

/* Operator rows have no owner and are admin-only; admins see everyone's;
 * a caller with no principal at all is refused. */
static void test_admin_operator_anonymous(void **state)
{
    fix *f = *state;
    json_int_t h, r, sid, oh;
    json_t *out = NULL, *horses, *v;
    char in[200], code[64];
    size_t i;
    int seen = 0;

    seed_a(f, &h, &r, &sid);
    as_operator();
    oh = new_horse(f, "Barn");
    assert_int_equal(call(f, "list_horses", "{}", &out), 0);
    assert_int_equal(json_array_size(json_object_get(out, "horses")), 2);
    json_decref(out);
    snprintf(in, sizeof in, "{\"horse_id\":%lld}", (long long)oh);
    as_user(f->a);
    assert_string_equal(fails(f, "list_sessions", in, code, sizeof code), "not_found");
    as_json(json_pack("{s:I, s:s, s:[s]}", "user_id", f->adm, "email", "root@example.com",
                      "scopes", "admin"));
    assert_int_equal(call(f, "list_horses", "{}", &out), 0);
    horses = json_object_get(out, "horses");
    json_array_foreach(horses, i, v) {
        assert_string_equal(json_string_value(json_object_get(v, "role")), "admin");
        if (json_integer_value(json_object_get(v, "id")) == oh) {
            assert_true(json_is_null(json_object_get(v, "owner_id")));
            seen++;
        }
    }
    assert_int_equal(seen, 1);
    json_decref(out);
    snprintf(in, sizeof in, "{\"session_id\":%lld}", (long long)sid);
    assert_int_equal(call(f, "get_session", in, &out), 0);
    json_decref(out);

    as_json(NULL);
    assert_string_equal(fails(f, "list_horses", "{}", code, sizeof code), "unauthorized");
    assert_string_equal(fails(f, "get_session", in, code, sizeof code), "unauthorized");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_second_user_sees_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sharing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_operator_anonymous, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
