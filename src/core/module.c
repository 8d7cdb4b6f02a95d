/*
 * module.c — what a module and the API layer can ask about a module.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "core/ctx-internal.h"
#include "core/events-internal.h"

const keel_module *keel_module_desc(const keel_module_ctx *mc)
{
    return mc->desc;
}

const char *keel_module_name(const keel_module_ctx *mc)
{
    return mc->desc->name;
}

void keel_module_set_state(keel_module_ctx *mc, void *state)
{
    mc->state = state;
}

void *keel_module_state(const keel_module_ctx *mc)
{
    return mc->state;
}

keel_store *keel_module_store(keel_module_ctx *mc)
{
    return mc->store;
}

static const keel_config_key *keel_declared(const keel_module_ctx *mc, const char *name)
{
    const keel_config_key *k;
    for (k = mc->desc->config; k != NULL && k->name != NULL; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    keel_log_module(mc->desc->name, KEEL_LOG_WARN, "config key '%s' is not declared by the module", name);
    return NULL;
}

const char *keel_config_str(const keel_module_ctx *mc, const char *name)
{
    const keel_config_key *k = keel_declared(mc, name);
    if (k == NULL)
        return NULL;
    if (mc->rt->cfg == NULL)
        return k->def;
    return keel__config_get(mc->rt->cfg, mc->desc->name, name);
}

long long keel_config_int(const keel_module_ctx *mc, const char *name)
{
    const keel_config_key *k = keel_declared(mc, name);
    if (k == NULL)
        return 0;
    if (mc->rt->cfg == NULL)
        return k->def ? strtoll(k->def, NULL, 10) : 0;
    return keel__config_int(mc->rt->cfg, mc->desc->name, name);
}

int keel_config_bool(const keel_module_ctx *mc, const char *name)
{
    const keel_config_key *k = keel_declared(mc, name);
    if (k == NULL)
        return 0;
    if (mc->rt->cfg == NULL)
        return k->def != NULL && strcmp(k->def, "true") == 0;
    return keel__config_bool(mc->rt->cfg, mc->desc->name, name);
}

const keel_method *keel__mc_method(keel_module_ctx *mc, const char *name)
{
    size_t i;
    for (i = 0; i < mc->nmethods; i++)
        if (strcmp(mc->methods[i].m->name, name) == 0)
            return mc->methods[i].m;
    return NULL;
}

static keel_method_rt *keel_method_rt_of(keel_module_ctx *mc, const keel_method *m)
{
    size_t i = (size_t)(m - mc->desc->methods);
    return i < mc->nmethods ? &mc->methods[i] : NULL;
}

keel_placement keel__mc_placement(const keel_module_ctx *mc)
{
    return mc->place;
}

const char *keel__mc_remote_url(const keel_module_ctx *mc)
{
    return mc->remote_url;
}

int keel__mc_started(const keel_module_ctx *mc)
{
    return mc->started;
}

keel_runtime *keel__mc_runtime(keel_module_ctx *mc)
{
    return mc->rt;
}

const char *keel__mc_scope(keel_module_ctx *mc, const keel_method *m)
{
    keel_method_rt *mr = keel_method_rt_of(mc, m);
    return mr ? mr->scope : "admin";
}

const keel_schema *keel__mc_in_schema(keel_module_ctx *mc, const keel_method *m)
{
    keel_method_rt *mr = keel_method_rt_of(mc, m);
    return mr ? mr->in : NULL;
}

/* Computed on first use, not at start: SHA-256 through EVP initialises
 * OpenSSL's library context, which alone made up most of an idle process's
 * resident pages (bench/ship).  Only /v1/modules and remote callers need it. */
static pthread_mutex_t keel_digest_lock = PTHREAD_MUTEX_INITIALIZER;

const char *keel__mc_digest(keel_module_ctx *mc)
{
    EVP_MD_CTX *md;
    unsigned char h[32];
    unsigned hl = 0, b;
    char ver[32];
    size_t k;

    pthread_mutex_lock(&keel_digest_lock);
    if (mc->digest[0] != '\0' || (md = EVP_MD_CTX_new()) == NULL)
        goto out;
    /* iface version + every method name and schema text. */
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    snprintf(ver, sizeof(ver), "%u", mc->desc->iface_version);
    EVP_DigestUpdate(md, ver, strlen(ver));
    for (k = 0; k < mc->nmethods; k++) {
        const keel_method *mm = mc->methods[k].m;
        EVP_DigestUpdate(md, mm->name, strlen(mm->name) + 1);
        if (mm->in_schema)
            EVP_DigestUpdate(md, mm->in_schema, strlen(mm->in_schema) + 1);
        if (mm->out_schema)
            EVP_DigestUpdate(md, mm->out_schema, strlen(mm->out_schema) + 1);
    }
    EVP_DigestFinal_ex(md, h, &hl);
    EVP_MD_CTX_free(md);
    for (b = 0; b < hl && b < 32; b++)
        snprintf(mc->digest + 2 * b, 3, "%02x", h[b]);
out:
    pthread_mutex_unlock(&keel_digest_lock);
    return mc->digest;
}

static const char *keel_place_name(keel_placement p)
{
    switch (p) {
    case KEEL_PLACE_LOCAL:  return "local";
    case KEEL_PLACE_REMOTE: return "remote";
    case KEEL_PLACE_NONE:   return "none";
    }
    return "?";
}

static json_t *keel_method_json(keel_module_ctx *mc, const keel_method_rt *mr)
{
    const keel_method *m = mr->m;
    json_t *flags = json_array();
    json_t *o;
    if (m->flags & KEEL_READONLY)   json_array_append_new(flags, json_string("readonly"));
    if (m->flags & KEEL_IDEMPOTENT) json_array_append_new(flags, json_string("idempotent"));
    if (m->flags & KEEL_PUBLIC)     json_array_append_new(flags, json_string("public"));
    if (m->flags & KEEL_RAW_IN)     json_array_append_new(flags, json_string("raw_in"));
    if (m->flags & KEEL_INTERNAL)   json_array_append_new(flags, json_string("internal"));
    if (m->flags & KEEL_ADMIN)      json_array_append_new(flags, json_string("admin"));
    o = json_pack("{s:s, s:s, s:o, s:s}", "name", m->name, "summary", m->summary ? m->summary : "",
                  "flags", flags, "scope", mr->scope);
    if (o != NULL && m->raw_types != NULL)
        json_object_set_new(o, "raw_types", json_string(m->raw_types));
    if (o != NULL && mr->in != NULL)
        json_object_set(o, "input", (json_t *)keel__schema_json(mr->in));
    (void)mc;
    return o;
}

json_t *keel__rt_describe(keel_runtime *rt)
{
    json_t *arr = json_array();
    size_t i, k;
    for (i = 0; i < rt->n; i++) {
        keel_module_ctx *mc = &rt->mods[i];
        const char *const *d;
        json_t *deps = json_array(), *methods = json_array();
        json_t *o;
        for (d = mc->desc->deps; d != NULL && *d != NULL; d++)
            json_array_append_new(deps, json_string(*d));
        for (k = 0; k < mc->nmethods; k++)
            if (!(mc->methods[k].m->flags & KEEL_INTERNAL))
                json_array_append_new(methods, keel_method_json(mc, &mc->methods[k]));
        o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:b}",
                      "name", mc->desc->name, "version", mc->desc->version ? mc->desc->version : "",
                      "summary", mc->desc->summary ? mc->desc->summary : "",
                      "placement", keel_place_name(mc->place),
                      "iface_version", (json_int_t)mc->desc->iface_version,
                      "digest", keel__mc_digest(mc), "deps", deps, "methods", methods,
                      "started", mc->started);
        if (o == NULL)
            continue;
        if (mc->place == KEEL_PLACE_LOCAL) {
            json_t *ev = keel__events_module_stats(rt, mc->desc->name);
            json_t *cnt = keel__events_counters(rt, mc->desc->name);
            /* the deliveries this process ran for the module as subscriber */
            if (ev != NULL && cnt != NULL && mc->desc->subs != NULL && mc->desc->subs[0].topic != NULL)
                json_object_update(ev, cnt);
            json_decref(cnt);
            if (ev != NULL)
                json_object_set_new(o, "events", ev);
        }
        if (mc->place == KEEL_PLACE_REMOTE) {
            json_object_set_new(o, "url", json_string(mc->remote_url));
            if (rt->remote != NULL && rt->remote->status != NULL) {
                json_t *st = rt->remote->status(rt->remote_self, mc);
                if (st != NULL)
                    json_object_set_new(o, "remote", st);
            }
        }
        json_array_append_new(arr, o);
    }
    /* auth: "disabled" (every caller is the operator: local development),
     * "tokens" (bearer tokens checked through the authn module), "none" (no
     * authn module built); service_token: keel peers must present one */
    return json_pack("{s:s, s:{s:s, s:b}, s:o}", "keel", KEEL_VERSION, "auth", "mode",
                     rt->auth_disabled ? "disabled" : rt->authn ? "tokens" : "none",
                     "service_token", rt->service_token != NULL, "modules", arr);
}

/* ---- looking modules up ---------------------------------------------------- */

size_t keel__rt_count(const keel_runtime *rt)
{
    return rt->n;
}

keel_module_ctx *keel__rt_at(keel_runtime *rt, size_t i)
{
    return i < rt->n ? &rt->mods[i] : NULL;
}

keel_module_ctx *keel__rt_find(keel_runtime *rt, const char *name)
{
    size_t i;
    for (i = 0; i < rt->n; i++)
        if (strcmp(rt->mods[i].desc->name, name) == 0)
            return &rt->mods[i];
    return NULL;
}

keel_module_ctx *keel__rt_authn(keel_runtime *rt)
{
    return rt->authn;
}
