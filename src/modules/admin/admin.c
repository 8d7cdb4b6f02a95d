/*
 * admin.c — the admin module: operating the process that serves the call.
 * It runs in every keel process (KEEL_MOD_EVERY_PROCESS), so in a split
 * deployment each process is asked on its own port; every method needs
 * scope admin.  All the work is the core's (keel/log.h).
 */
#include "keel/keel.h"
#include "admin_embedded.h"

static int admin_log_levels(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)in;
    return keel_log_levels(ctx, out);
}

static int admin_set_log_level(keel_ctx *ctx, const json_t *in, json_t **out)
{
    int rc = keel_log_set_level(ctx, json_string_value(json_object_get(in, "module")),
                                json_string_value(json_object_get(in, "level")));
    return rc != 0 ? rc : keel_log_levels(ctx, out);
}

static const keel_method admin_methods[] = {
    {.name = "log_levels", .handler = admin_log_levels,
     .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_ADMIN,
     .summary = "the log levels in force in this process",
     .in_schema = admin_schema_log_levels_in, .out_schema = admin_schema_log_levels_out},
    {.name = "set_log_level", .handler = admin_set_log_level,
     .flags = KEEL_IDEMPOTENT | KEEL_ADMIN | KEEL_BODY_ONLY,
     .summary = "change the default or one module's log level in this process",
     .in_schema = admin_schema_set_log_level_in, .out_schema = admin_schema_set_log_level_out},
    {0}
};

const keel_module keel_module_admin = {
    .abi = KEEL_ABI,
    .name = "admin",
    .version = "1.0.0",
    .summary = "operating the process that serves the call: log levels",
    .methods = admin_methods,
    .mflags = KEEL_MOD_EVERY_PROCESS,
};
