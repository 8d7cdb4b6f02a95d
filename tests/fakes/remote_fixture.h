/*
 * remote_fixture.h — a runtime with one module placed at a fake server
 * (fake_http_server.h): what a test of a remote call sets up.  The server's
 * GET /v1/modules lists the module as local there with the given
 * iface_version and this build's digest (so the skew check passes); POSTs
 * get the fake server's answer (f->s->status and reply, set under f->s->mu).
 */
#ifndef KEEL_TESTS_REMOTE_FIXTURE_H
#define KEEL_TESTS_REMOTE_FIXTURE_H

#include "core/runtime-internal.h"
#include "fake_http_server.h"

typedef struct remote_fix {
    const keel_module *m; /* the module placed at the server */
    fake_srv     *s;
    keel_runtime *rt;
    keel_ctx     *ctx;    /* a local call's context, request id rid */
} remote_fix;

/* KEEL_REMOTE_<M>=the server, KEEL_CALL_TIMEOUT_MS=3000; aborts with a
 * message on failure (a test fixture has no way to go on). */
remote_fix *remote_fix_start(const keel_module *m, int iface_version, const char *rid);
/* What the server's GET /v1/modules says of the module (and of one other). */
void remote_fix_modules(remote_fix *f, int iface_version, const char *digest);
void remote_fix_stop(remote_fix *f);

#endif
