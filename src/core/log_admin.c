/*
 * log_admin.c — reading and changing the log levels of a running process
 * (keel/log.h; served by the admin module as admin.log_levels and
 * admin.set_log_level).  A change holds until the next one or a SIGHUP,
 * which goes back to what the configuration says.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "core/ctx-internal.h"
#include "core/log-internal.h"

int keel_log_levels(keel_ctx *ctx, json_t **out)
{
    char spec[1024];
    json_t *mods = json_object();
    size_t i;

    *out = NULL;
    if (mods == NULL)
        return KEEL_ENOMEM;
    for (i = 0; ctx != NULL && i < ctx->rt->n; i++) {
        const keel_module_ctx *mc = &ctx->rt->mods[i];
        json_object_set_new(mods, mc->desc->name,
                            json_string(keel__log_level_name(keel__log_level_of(mc->log_slot))));
    }
    keel__log_spec_format(spec, sizeof spec);
    *out = json_pack("{s:s, s:s, s:o}", "level", spec, "default",
                     keel__log_level_name(keel__log_default_level()), "modules", mods);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

int keel_log_set_level(keel_ctx *ctx, const char *module, const char *level)
{
    keel_log_level lvl = KEEL_LOG_INFO;
    int inherit = level != NULL && strcmp(level, "default") == 0;
    int64_t uid = keel_ctx_user_id(ctx);

    if (inherit ? module == NULL : level == NULL || keel__log_parse_level(level, &lvl) != 0)
        return keel_ctx_error(ctx, KEEL_EINVAL, "level '%s': use debug, info, warn, error, "
                              "off%s", level != NULL ? level : "", module ? " or default" : "");
    if (module != NULL && keel__rt_find(ctx->rt, module) == NULL)
        return keel_ctx_error(ctx, KEEL_ENOTFOUND, "no module '%s' in this build", module);
    /* who changed what, judged by the levels before the change: lowering
     * the level still leaves the line that says so */
    if (uid > 0)
        keel_log(NULL, KEEL_LOG_WARN, "log level: %s=%s by user %lld",
                 module ? module : "default", level, (long long)uid);
    else
        keel_log(NULL, KEEL_LOG_WARN, "log level: %s=%s by the operator",
                 module ? module : "default", level);
    if (module == NULL)
        keel__log_set_level(lvl);
    else if (keel__log_set_module_level(module, inherit ? -1 : (int)lvl) != 0)
        return keel_ctx_error(ctx, KEEL_ENOTFOUND, "no module '%s' in this build", module);
    return 0;
}
