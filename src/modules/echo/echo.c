/*
 * echo.c — descriptor and implementation of the echo module.
 */
#include <string.h>

#include "echo.h"
#include "echo_embedded.h"
#include "keel/client.h"

static int echo_handler(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    /* the answer is the input itself, shared (a new reference, as the
     * contract asks; nothing downstream changes an output) */
    *out = json_incref((json_t *)in);
    return 0;
}

static int echo_typed(keel_module_ctx *self, keel_ctx *ctx, const char *in, size_t len,
                      const char **out, size_t *outlen)
{
    (void)self;
    KEEL_IFACE_COUNT("echo", "echo");
    (void)ctx;
    *out = in;
    *outlen = len;
    return 0;
}

static const echo_iface echo_local = {
    .version = ECHO_IFACE_VERSION,
    .echo = echo_typed,
};

/* The same vtable over keel_call, for when echo runs in another process. */
static int echo_client_echo(keel_module_ctx *self, keel_ctx *ctx, const char *in, size_t len,
                            const char **out, size_t *outlen)
{
    json_t *reply = NULL;
    const char *text;
    size_t n = 0;
    char *copy;
    int rc;

    (void)self;   /* the remote echo: reached by name through keel_call */
    rc = keel_client_callf(ctx, "echo", "echo", &reply, "{s:s%}", "text", in, len);
    if (rc == 0)
        rc = keel_client_unpack(ctx, "echo.echo", reply, "{s:s%}", "text", &text, &n);
    if (rc == 0) {
        if ((copy = keel_arena_alloc(keel_ctx_arena(ctx), n + 1)) == NULL) {
            rc = KEEL_ENOMEM;
        } else {
            memcpy(copy, text, n);
            copy[n] = '\0';
            *out = copy;
            *outlen = n;
        }
    }
    json_decref(reply);
    return rc;
}

static const echo_iface echo_client = {
    .version = ECHO_IFACE_VERSION,
    .echo = echo_client_echo,
};

static const keel_method echo_methods[] = {
    {.name = "echo", .handler = echo_handler, .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_PUBLIC | KEEL_CHEAP,
     .summary = "Returns its input object unchanged",
     .in_schema = echo_schema_echo_in, .out_schema = echo_schema_echo_out},
    {0}
};

const keel_module keel_module_echo = {
    .abi = KEEL_ABI,
    .name = "echo",
    .version = "1.0.0",
    .summary = "Returns its input (benchmarks, docs, tests)",
    .methods = echo_methods,
    .iface = &echo_local,
    .iface_version = ECHO_IFACE_VERSION,
    .client = &echo_client,
};
