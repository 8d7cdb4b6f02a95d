/*
 * openapi.c — GET /openapi.json: an OpenAPI 3.1 document generated from the
 * module descriptors and their embedded schemas (http-internal.h).
 *
 *   every served method   POST /v1/<module>/<method>, operationId module_method,
 *                         tag = module, summary from the descriptor
 *   input                 application/json with the input schema (or any
 *                         object); KEEL_RAW_IN methods also list their raw
 *                         media types (text/csv …) with the schema's other
 *                         properties as query parameters
 *   output                200 with the output schema
 *   errors                one shared response per HTTP status of the error
 *                         table (include/keel/error.h), all with the Error model
 *   security              bearer with the method's scope; [] for KEEL_PUBLIC
 *
 * Schemas are keel's JSON Schema subset (docs/schema.md), which is valid
 * JSON Schema 2020-12, the dialect of OpenAPI 3.1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http-internal.h"

typedef struct err_row {
    const char *code;
    const char *msg;
    int         http;
} err_row;

static const err_row err_rows[] = {
#define XX(name, val, code, msg, http, exitc) {code, msg, http},
    KEEL_ERRNO_MAP(XX)
#undef XX
    {0}
};

/* {"$ref":"#/components/<kind>/<name>"} */
static json_t *ref(const char *kind, const char *name)
{
    char buf[160];
    snprintf(buf, sizeof buf, "#/components/%s/%s", kind, name);
    return json_pack("{s:s}", "$ref", buf);
}

static json_t *error_schema(void)
{
    json_t *codes = json_array();
    const err_row *e;
    for (e = err_rows; e->code && codes; e++)
        json_array_append_new(codes, json_string(e->code));
    return json_pack("{s:s, s:[s], s:{s:{s:s, s:[s,s], s:{s:{s:s, s:o}, s:{s:s}, s:{s:s}, s:{s:s}}}}}",
                     "type", "object", "required", "error", "properties", "error",
                     "type", "object", "required", "code", "message", "properties",
                     "code", "type", "string", "enum", codes,
                     "message", "type", "string",
                     "request_id", "type", "string",
                     "module", "type", "string");
}

/* components.responses: one per HTTP status of the error table, naming its codes. */
static json_t *error_responses(void)
{
    json_t *resp = json_object();
    const err_row *e, *f;
    for (e = err_rows; e->code && resp; e++) {
        char name[16], desc[512];
        size_t o = 0;
        snprintf(name, sizeof name, "E%d", e->http);
        if (json_object_get(resp, name))
            continue;
        o += (size_t)snprintf(desc, sizeof desc, "error codes:");
        for (f = e; f->code && o < sizeof desc; f++)
            if (f->http == e->http)
                o += (size_t)snprintf(desc + o, sizeof desc - o, " %s (%s)%s", f->code, f->msg, "");
        json_object_set_new(resp, name, json_pack("{s:s, s:{s:{s:o}}}", "description", desc,
                                                  "content", "application/json", "schema",
                                                  ref("schemas", "Error")));
    }
    return resp;
}

/* The schema text parsed, or fallback when absent/unparseable.  New ref. */
static json_t *schema_of(const char *text, const char *fallback)
{
    json_t *s = text ? json_loads(text, 0, NULL) : NULL;
    return s ? s : json_loads(fallback, 0, NULL);
}

/* Query parameters of a raw method: the input schema's properties except
 * the raw field (the body carries it). */
static json_t *query_params(const json_t *in, const char *raw_field)
{
    json_t *params = json_array(), *req = json_object_get(in, "required"), *p;
    const char *k;
    json_object_foreach(json_object_get(in, "properties"), k, p) {
        size_t i;
        int needed = 0;
        if (raw_field && strcmp(k, raw_field) == 0)
            continue;
        for (i = 0; i < json_array_size(req); i++)
            needed |= json_is_string(json_array_get(req, i))
                      && strcmp(json_string_value(json_array_get(req, i)), k) == 0;
        /* a JSON body carries them instead, so none is required as such */
        json_array_append_new(params, json_pack("{s:s, s:s, s:s, s:b, s:O}", "name", k, "in", "query",
                                                "description", needed ? "with a raw body: required"
                                                                      : "with a raw body: optional",
                                                "required", 0, "schema", p));
    }
    return params;
}

static json_t *operation(keel_module_ctx *mc, const keel_method *m)
{
    const char *mod = keel_module_name(mc);
    char opid[160], *types = NULL, *save = NULL, *t;
    json_t *in = schema_of(m->in_schema, "{\"type\":\"object\"}");
    json_t *content = json_pack("{s:{s:O}}", "application/json", "schema", in);
    json_t *responses = json_object(), *op;
    const err_row *e;

    snprintf(opid, sizeof opid, "%s_%s", mod, m->name);
    if ((m->flags & KEEL_RAW_IN) && m->raw_types && (types = strdup(m->raw_types)) != NULL) {
        for (t = strtok_r(types, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
            json_object_set_new(content, t, json_pack("{s:{s:s}}", "schema", "type", "string"));
        free(types);
    }
    /* a method without an output schema gets a 200 without content: the
     * suite's check fails on it (tests/openapi/validate.mjs) */
    json_object_set_new(responses, "200", m->out_schema
                        ? json_pack("{s:s, s:{s:{s:o}}}", "description", "the method's output",
                                    "content", "application/json", "schema",
                                    schema_of(m->out_schema, "{\"type\":\"object\"}"))
                        : json_pack("{s:s}", "description", "the method's output (no schema declared)"));
    if ((m->flags & KEEL_RAW_OUT) && m->raw_types && (types = strdup(m->raw_types)) != NULL) {
        /* a download answers its bytes (docs/modules.md "Raw answers") */
        json_t *ok = json_object_get(responses, "200"), *c = json_object_get(ok, "content");
        if (c == NULL && ok != NULL) {
            c = json_object();
            json_object_set_new(ok, "content", c);
        }
        for (t = strtok_r(types, ", ", &save); c && t; t = strtok_r(NULL, ", ", &save))
            json_object_set_new(c, t, json_pack("{s:{s:s}}", "schema", "type", "string"));
        free(types);
    }
    for (e = err_rows; e->code; e++) {
        char st[8], name[16];
        if ((m->flags & KEEL_PUBLIC) && (e->http == 401 || e->http == 403))
            continue;
        snprintf(st, sizeof st, "%d", e->http);
        snprintf(name, sizeof name, "E%d", e->http);
        if (!json_object_get(responses, st))
            json_object_set_new(responses, st, ref("responses", name));
    }
    op = json_pack("{s:s, s:s, s:[s], s:{s:b, s:o}, s:o}", "operationId", opid,
                   "summary", m->summary ? m->summary : m->name, "tags", mod,
                   "requestBody", "required", 0, "content", content, "responses", responses);
    if (op && (m->flags & KEEL_RAW_IN))
        json_object_set_new(op, "parameters", query_params(in, m->raw_field));
    if (op)
        json_object_set_new(op, "security", (m->flags & KEEL_PUBLIC) ? json_array()
                            : json_pack("[{s:[s]}]", "bearer", keel__mc_scope(mc, m)));
    json_decref(in);
    return op;
}

/* A GET route with its 200 answer of media type ctype; admin: needs scope
 * "admin" outside the admin listener. */
static json_t *get_route(const char *summary, const char *ctype, int admin)
{
    int is_json = strcmp(ctype, "application/json") == 0;
    json_t *ok = json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", summary, "content", ctype,
                           "schema", "type", is_json ? "object" : "string");
    json_t *responses = json_pack("{s:o}", "200", ok);
    json_t *get = json_pack("{s:s, s:o}", "summary", summary, "responses", responses);
    if (get && admin) {
        json_object_set_new(responses, "401", ref("responses", "E401"));
        json_object_set_new(responses, "403", ref("responses", "E403"));
        json_object_set_new(get, "security", json_pack("[{s:[s]}]", "bearer", "admin"));
    } else if (get) {
        json_object_set_new(get, "security", json_array());
    }
    if (get && strstr(summary, "readiness"))
        json_object_set_new(responses, "503", ref("responses", "E503"));
    return json_pack("{s:o}", "get", get);
}

json_t *keel__openapi(keel_runtime *rt, const char *only_module)
{
    json_t *doc, *paths = json_object(), *tags = json_array();
    size_t i;

    for (i = 0; i < keel__rt_count(rt) && paths; i++) {
        keel_module_ctx *mc = keel__rt_at(rt, i);
        const keel_module *d = keel_module_desc(mc);
        const keel_method *m;
        if (keel__mc_placement(mc) == KEEL_PLACE_NONE
            || (only_module && strcmp(only_module, d->name) != 0))
            continue;
        json_array_append_new(tags, json_pack("{s:s, s:s}", "name", d->name, "description",
                                              d->summary ? d->summary : d->name));
        for (m = d->methods; m && m->name; m++) {
            char path[160];
            if (m->flags & KEEL_INTERNAL)
                continue;
            snprintf(path, sizeof path, "/v1/%s/%s", d->name, m->name);
            json_object_set_new(paths, path, json_pack("{s:o}", "post", operation(mc, m)));
        }
    }
    json_object_set_new(paths, "/healthz", get_route("liveness: the process serves HTTP", "application/json", 0));
    json_object_set_new(paths, "/readyz", get_route(
        "readiness: 200 ok, or degraded (a non-critical module is down); 503 when a critical "
        "module is down or the process drains; per-module detail with an admin token",
        "application/json", 0));
    json_object_set_new(paths, "/v1/modules", get_route("modules, versions, schema digests, methods",
                                                        "application/json", 0));
    json_object_set_new(paths, "/metrics", get_route("Prometheus text exposition format", "text/plain", 1));
    json_object_set_new(paths, "/openapi.json", get_route("this document", "application/json", 0));
    doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:o, s:o, s:{s:{s:o}, s:o, s:{s:{s:s, s:s, s:s}}}}",
                    "openapi", "3.1.0",
                    "info", "title", "keel", "version", KEEL_VERSION, "description",
                    "Every method of every module served by this process (generated from the descriptors).",
                    "jsonSchemaDialect", "https://json-schema.org/draft/2020-12/schema",
                    "tags", tags, "paths", paths,
                    "components", "schemas", "Error", error_schema(), "responses", error_responses(),
                    "securitySchemes", "bearer", "type", "http", "scheme", "bearer", "description",
                    "an API token from auth (login or create_token); scopes per method");
    return doc;
}
