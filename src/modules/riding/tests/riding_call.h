/*
 * riding_call.h — one riding method call as a given principal, the way the
 * gateway makes it: what test_riding, test_riding_access (riding_fixture.h)
 * and test_riding_views share.  Include after cmocka.h and the runtime's
 * internal headers.
 */
#ifndef KEEL_RIDING_TESTS_CALL_H
#define KEEL_RIDING_TESTS_CALL_H

/* riding.<method>(input) on rt as who (NULL: nobody); raw (may be NULL) as
 * a text/csv body.  *out new ref or NULL; *body (may be NULL) gets the error
 * body on failure. */
static inline int riding_test_call(keel_runtime *rt, json_t *who, const char *method,
                                   const char *input, const char *raw, json_t **out,
                                   json_t **body)
{
    keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_HTTP, NULL, 0);
    json_t *in = json_loads(input, 0, NULL);
    int rc;

    assert_non_null(ctx);
    assert_non_null(in);
    if (who != NULL)
        keel__ctx_set_principal_new(ctx, json_incref(who));
    if (raw != NULL)
        keel__ctx_set_raw(ctx, raw, strlen(raw), "text/csv");
    *out = NULL;
    rc = keel__call_root(ctx, "riding", method, in, out);
    if (body != NULL)
        *body = rc != 0 ? keel__ctx_error_body(ctx, rc) : NULL;
    json_decref(in);
    keel__ctx_free(ctx);
    return rc;
}

#endif
