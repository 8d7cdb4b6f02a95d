/*
 * auth_fixture.h — the runtime {kv, auth} the auth tests share: a SQLite
 * file in a temp dir (kv only to show that its keyspace does not touch
 * auth's counters), calls through dispatch from a chosen client address,
 * and the typed authenticate the gateway uses.  Header-only: each test_*.c
 * here is its own executable.
 */
#ifndef AUTH_TEST_FIXTURE_H
#define AUTH_TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>
#include <cmocka.h>

#include "core/runtime-internal.h"
#include "fakes/test_runtime.h"
#include "auth/auth.h"
#include "auth/auth-internal.h"
#include "kv/kv.h"

typedef struct keel_test_rt fix;

/* The client address the next calls come from (NULL = none, as the CLI). */
static const char *g_addr __attribute__((unused));
/* retry_after_s of the last failed call, 0 if none. */
static _Thread_local json_int_t g_retry; /* per thread: test_lockout_counts_atomically logs in from several */

static inline int setup_env(void **state, const char *rate)
{
    static const keel_module *const mods[] = { &keel_module_kv, &keel_module_auth, NULL };
    const char *const env[] = { "KEEL_AUTH_ARGON2_MEMORY_KIB=64", "KEEL_AUTH_ARGON2_PASSES=1",
                                "KEEL_AUTH_LOCKOUT_BASE_S=10", rate, NULL };
    fix *f = calloc(1, sizeof *f);
    char err[512];

    if (f == NULL || keel_test_rt_start(f, "auth", mods, env, err, sizeof err) != 0)
        fail_msg("runtime: %s", f == NULL ? "out of memory" : err);
    *state = f;
    return 0;
}

static inline int setup(void **state)
{
    return setup_env(state, "KEEL_AUTH_RATE_PER_MIN=1000");
}

static inline int setup_rate(void **state)
{
    return setup_env(state, "KEEL_AUTH_RATE_PER_MIN=8");
}

static inline int teardown(void **state)
{
    keel_test_rt_stop(*state);
    free(*state);
    g_addr = NULL;
    return 0;
}

/* Calls auth.<method> with input text as principal (JSON text or NULL),
 * from g_addr.  *out new ref or NULL; msg (may be NULL) gets the detail. */
static inline int call(fix *f, const char *principal, const char *method, const char *input,
                json_t **out, char *msg, size_t msglen)
{
    keel_ctx *ctx = keel__ctx_new(f->rt, KEEL_TR_LOCAL, NULL, 0);
    json_t *in = json_loads(input, 0, NULL), *body;
    int rc;

    assert_non_null(ctx);
    assert_non_null(in);
    if (principal != NULL)
        keel__ctx_set_principal_new(ctx, json_loads(principal, 0, NULL));
    keel__ctx_set_client(ctx, g_addr);
    *out = NULL;
    rc = keel__call_root(ctx, "auth", method, in, out);
    if (msg != NULL)
        snprintf(msg, msglen, "%s", keel_ctx_errmsg(ctx) ? keel_ctx_errmsg(ctx) : "");
    body = rc != 0 ? keel__ctx_error_body(ctx, rc) : NULL;
    g_retry = json_integer_value(json_object_get(json_object_get(body, "error"), "retry_after_s"));
    json_decref(body);
    json_decref(in);
    keel__ctx_free(ctx);
    return rc;
}

/* authenticate through the typed iface, as the gateway does. */
static inline int authn(fix *f, const char *token, const char *scope, json_t **principal)
{
    keel_ctx *ctx = keel__ctx_new(f->rt, KEEL_TR_HTTP, NULL, 0);
    keel_module_ctx *self = NULL;
    const auth_iface *a = keel_iface(ctx, "auth", AUTH_IFACE_VERSION, &self);
    int rc;

    assert_non_null(a);
    assert_ptr_equal(a, &auth_local);
    assert_ptr_equal(self, keel__rt_find(f->rt, "auth"));
    rc = a->authenticate(self, ctx, token, scope, principal);
    keel__ctx_free(ctx);
    return rc;
}

static inline void register_user(fix *f, const char *email, const char *password)
{
    json_t *out = NULL;
    char in[256], msg[256];

    snprintf(in, sizeof in, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    assert_int_equal(call(f, NULL, "register", in, &out, msg, sizeof msg), 0);
    json_decref(out);
}

/* login → token text (static buffer). */
static const char *login(fix *f, const char *email, const char *password, int *rc)
{
    static _Thread_local char token[AUTH_TOKEN_MAXLEN];
    json_t *out = NULL;
    char in[256];

    snprintf(in, sizeof in, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    *rc = call(f, NULL, "login", in, &out, NULL, 0);
    token[0] = '\0';
    if (*rc == 0)
        snprintf(token, sizeof token, "%s", json_string_value(json_object_get(out, "token")));
    json_decref(out);
    return token;
}

/* The principal of a token, as the gateway would set it (JSON text). */
static inline void principal_of(fix *f, const char *token, char *buf, size_t len)
{
    json_t *p = NULL;
    char *text;

    assert_int_equal(authn(f, token, NULL, &p), 0);
    text = json_dumps(p, JSON_COMPACT);
    snprintf(buf, len, "%s", text);
    free(text);
    json_decref(p);
}

static inline json_int_t count(fix *f, const char *sql)
{
    json_t *rows = NULL;
    json_int_t n;

    assert_int_equal(keel_store_exec(keel_module_store(keel__rt_find(f->rt, "auth")), sql, NULL,
                                     &rows), 0);
    n = json_integer_value(json_object_get(json_array_get(rows, 0), "n"));
    json_decref(rows);
    return n;
}


#endif /* AUTH_TEST_FIXTURE_H */
