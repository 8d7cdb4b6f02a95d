/*
 * jobs.c — the jobs module: operators' view of the event and job queues,
 * `keel jobs list|show|retry|purge` and POST /v1/jobs/<method> (admin scope).
 * All the work is the core's (keel/events.h); this module only serves it.
 */
#include <string.h>

#include "keel/keel.h"
#include "jobs_embedded.h"

static int jobs_list(keel_ctx *ctx, const json_t *in, json_t **out)
{
    return keel_jobs_list(ctx, in, out);
}

static int jobs_show(keel_ctx *ctx, const json_t *in, json_t **out)
{
    const char *state = json_string_value(json_object_get(in, "state"));
    const char *module = json_string_value(json_object_get(in, "module"));

    if (state == NULL)
        state = module != NULL ? "queued" : "dead";
    if (strcmp(state, "queued") == 0 && module == NULL)
        return keel_ctx_error(ctx, KEEL_EINVAL, "jobs.show: a queued entry needs its module");
    return keel_jobs_show(ctx, state, module, json_integer_value(json_object_get(in, "id")), out);
}

/* id, or all: true for every dead letter; exactly one of them. */
static int jobs_target(keel_ctx *ctx, const json_t *in, const char *what, json_int_t *id)
{
    int all = json_is_true(json_object_get(in, "all"));

    *id = json_integer_value(json_object_get(in, "id"));
    if ((*id > 0) == all)
        return keel_ctx_error(ctx, KEEL_EINVAL, "jobs.%s: give either id or all: true", what);
    if (all)
        *id = 0;
    return 0;
}

static int jobs_retry(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_int_t id;
    int rc = jobs_target(ctx, in, "retry", &id);
    return rc != 0 ? rc : keel_jobs_retry(ctx, id, out);
}

static int jobs_purge(keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_int_t id;
    int rc = jobs_target(ctx, in, "purge", &id);
    return rc != 0 ? rc : keel_jobs_purge(ctx, id, out);
}

static const keel_method jobs_methods[] = {
    {.name = "list", .handler = jobs_list, .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_ADMIN,
     .summary = "queued deliveries and dead letters",
     .in_schema = jobs_schema_list_in, .out_schema = jobs_schema_list_out},
    {.name = "show", .handler = jobs_show, .flags = KEEL_READONLY | KEEL_IDEMPOTENT | KEEL_ADMIN,
     .summary = "one queued delivery or dead letter, with payload",
     .in_schema = jobs_schema_show_in, .out_schema = jobs_schema_show_out},
    {.name = "retry", .handler = jobs_retry, .flags = KEEL_ADMIN,
     .summary = "replay a dead letter (or all)",
     .in_schema = jobs_schema_retry_in, .out_schema = jobs_schema_retry_out},
    {.name = "purge", .handler = jobs_purge, .flags = KEEL_ADMIN,
     .summary = "delete a dead letter (or all)",
     .in_schema = jobs_schema_purge_in, .out_schema = jobs_schema_purge_out},
    {0}
};

const keel_module keel_module_jobs = {
    .abi = KEEL_ABI,
    .name = "jobs",
    .version = "1.0.0",
    .summary = "event and job queues: list, inspect, replay and purge dead letters",
    .methods = jobs_methods,
};
