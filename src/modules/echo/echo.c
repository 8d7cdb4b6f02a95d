/*
 * echo.c — descriptor and implementation of the echo module.
 */
#include "echo.h"
#include "echo_embedded.h"

static int echo_handler(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    *out = json_deep_copy(in);
    return *out ? 0 : KEEL_ENOMEM;
}

static int echo_typed(keel_ctx *ctx, const char *in, size_t len, const char **out, size_t *outlen)
{
    (void)ctx;
    *out = in;
    *outlen = len;
    return 0;
}

static const echo_iface echo_local = {
    .version = ECHO_IFACE_V1,
    .echo = echo_typed,
};

static const keel_method echo_methods[] = {
    {.name = "echo", .handler = echo_handler, .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_PUBLIC,
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
    .iface_version = ECHO_IFACE_V1,
    /* A remote client would add nothing over keel_call for echo: the typed
     * call is in-process only, and keel_iface returns NULL when echo is remote. */
};
