/*
 * fuzz_http_input.c — what the HTTP layer does with a request once evhttp
 * has it, without a socket: the request target parsed as evhttp 2.1 parses
 * it, the /v1/<module>/<method> route (keel__http_split_call_path), the
 * input built from body, Content-Type and query (keel__http_read_input),
 * then dispatch (keel__call_root: schema validation, integer normalisation,
 * the handler) on a real runtime with one test module.  Links the whole
 * runtime (build-fuzz/rt/libkeelrt.a, built by scripts/fuzz.sh).
 *
 * Input: three NUL-separated parts: the request target ("/v1/t/echo?n=1"),
 * the Content-Type value (empty = none), the body.
 * Checked: no crash or sanitizer report; the route names hold no '/'; a
 * built input is an object holding every query parameter; a raw method's
 * body reaches the handler byte for byte; an error has a message; a reply
 * the echo handler gives back validates against the method's schema.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "api/http-internal.h"
#include "core/runtime-internal.h"
#include "core/schema-internal.h"

static const char ids_schema[] =
    "{\"type\":\"object\",\"properties\":{"
    "\"ids\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"maxItems\":20},"
    "\"n\":{\"type\":[\"integer\",\"null\"]},\"x\":{\"type\":\"number\"},"
    "\"flag\":{\"type\":\"boolean\"},\"name\":{\"type\":\"string\",\"maxLength\":16},"
    "\"level\":{\"enum\":[1,2,3]},\"any\":{},"
    "\"sub\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\"}}}}";
static const char strict_schema[] =
    "{\"type\":\"object\",\"required\":[\"horse_id\"],\"additionalProperties\":false,"
    "\"properties\":{\"horse_id\":{\"type\":\"integer\",\"minimum\":1},"
    "\"date\":{\"type\":\"string\"}}}";
static const char secret_schema[] =
    "{\"type\":\"object\",\"properties\":{\"password\":{\"type\":\"string\"}}}";

static int h_echo(keel_ctx *ctx, const json_t *in, json_t **out)
{
    (void)ctx;
    *out = json_deep_copy(in);
    return *out ? 0 : KEEL_ENOMEM;
}

static const char *raw_seen;
static size_t raw_seen_len;

static int h_raw(keel_ctx *ctx, const json_t *in, json_t **out)
{
    int rc = keel_ctx_input_text(ctx, in, &raw_seen, &raw_seen_len);
    if (rc != 0)
        return rc;
    *out = json_pack("{s:I}", "bytes", (json_int_t)raw_seen_len);
    return 0;
}

static const keel_method t_methods[] = {
    {.name = "echo", .handler = h_echo, .in_schema = ids_schema},
    {.name = "strict", .handler = h_echo, .in_schema = strict_schema},
    {.name = "open", .handler = h_echo},
    {.name = "secret", .handler = h_echo, .flags = KEEL_BODY_ONLY, .in_schema = secret_schema},
    {.name = "raw", .handler = h_raw, .flags = KEEL_RAW_IN, .raw_types = "text/csv, application/json",
     .raw_field = "csv", .in_schema = strict_schema},
    {0}
};
static const keel_module m_t = {.abi = KEEL_ABI, .name = "t", .methods = t_methods};

static keel_runtime *rt;
static keel_schema *schemas[3];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const keel_module *mods[] = {&m_t, NULL};
    char *env[] = {"KEEL_CHECK_OUTPUT=1", "KEEL_LOG_LEVEL=error", NULL};
    char err[512];
    (void)argc;
    (void)argv;
    if (keel__rt_new(mods, &rt, err, sizeof err) != 0 ||
        keel__rt_configure(rt, NULL, env, NULL, err, sizeof err) != 0 ||
        keel__rt_start(rt, NULL, err, sizeof err) != 0 ||
        keel__schema_compile(ids_schema, &schemas[0], err, sizeof err) != 0 ||
        keel__schema_compile(strict_schema, &schemas[1], err, sizeof err) != 0 ||
        keel__schema_compile(secret_schema, &schemas[2], err, sizeof err) != 0)
        abort();
    return 0;
}

static const keel_schema *schema_of(const char *meth)
{
    if (strcmp(meth, "echo") == 0)
        return schemas[0];
    if (strcmp(meth, "strict") == 0)
        return schemas[1];
    if (strcmp(meth, "secret") == 0)
        return schemas[2];
    return NULL;
}

/* Every decoded query parameter (as evhttp decodes them) is a key of in. */
static void check_query(const char *q, const json_t *in)
{
    struct evkeyvalq kv;
    struct evkeyval *p;

    TAILQ_INIT(&kv);
    if (q == NULL || *q == '\0' || evhttp_parse_query_str(q, &kv) != 0) {
        evhttp_clear_headers(&kv);
        return;
    }
    TAILQ_FOREACH(p, &kv, next)
        if (json_object_get(in, p->key) == NULL)
            abort();
    evhttp_clear_headers(&kv);
}

/* The error body the client would get has a non-empty message. */
static void check_error(keel_ctx *ctx, int rc)
{
    json_t *body = keel__ctx_error_body(ctx, rc);
    const char *msg = json_string_value(json_object_get(json_object_get(body, "error"), "message"));
    char *text = body ? json_dumps(body, 0) : NULL;
    if (msg == NULL || *msg == '\0' || text == NULL)
        abort();
    free(text);
    json_decref(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *part[3];
    char *buf, *p;
    size_t plen[3], off = 0;
    struct evhttp_uri *uri = NULL;
    const char *path;
    char mod[64], meth[64];
    keel_ctx *ctx = NULL;
    keel_module_ctx *mc;
    const keel_method *m;
    keel_http_body b;
    json_t *in = NULL, *out = NULL;
    int i, rc;

    if (size > 1 << 20)
        return 0;
    buf = malloc(size + 1);
    if (buf == NULL)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (i = 0; i < 3; i++) {
        p = i < 2 && off <= size ? memchr(buf + off, '\0', size - off) : NULL;
        part[i] = buf + (off <= size ? off : size);
        plen[i] = p ? (size_t)(p - part[i]) : (off <= size ? size - off : 0);
        off = p ? (size_t)(p - buf) + 1 : size + 1;
    }
    /* evhttp_parse_request_line: a URI it cannot parse is its own 400 */
    uri = evhttp_uri_parse_with_flags(part[0], EVHTTP_URI_NONCONFORMANT);
    if (uri == NULL)
        goto out;
    path = evhttp_uri_get_path(uri);
    if (path == NULL || *path == '\0')
        path = "/";
    if (!keel__http_split_call_path(path, mod, sizeof mod, meth, sizeof meth))
        goto out;
    if (strchr(mod, '/') || strchr(meth, '/') || !*mod || !*meth)
        abort();
    mc = keel__rt_find(rt, mod);
    m = mc ? keel__mc_method(mc, meth) : NULL;
    if (m == NULL)
        goto out;
    ctx = keel__ctx_new(rt, KEEL_TR_HTTP, NULL, 0);
    if (ctx == NULL)
        abort();
    b.data = part[2];
    b.len = plen[2];
    b.ctype = plen[1] ? part[1] : NULL;
    b.query = evhttp_uri_get_query(uri);
    raw_seen = NULL;
    rc = keel__http_read_input(ctx, mc, m, &b, &in);
    if (rc != 0) {
        if (in != NULL)
            abort();
        check_error(ctx, rc);
        goto out;
    }
    if (!json_is_object(in))
        abort();
    check_query(b.query, in);
    rc = keel__call_root(ctx, mod, meth, in, &out);
    if (rc == 0) {
        const keel_schema *s = schema_of(meth);
        char err[512];
        if (s != NULL && keel__schema_validate(s, out, err, sizeof err) != 0)
            abort();                   /* the handler got an input that does not validate */
        if (raw_seen != NULL && (raw_seen_len != b.len || memcmp(raw_seen, b.data, b.len) != 0))
            abort();                   /* the raw body was changed on the way */
    } else {
        check_error(ctx, rc);
    }
out:
    json_decref(in);
    json_decref(out);
    if (ctx)
        keel__ctx_free(ctx);
    if (uri)
        evhttp_uri_free(uri);
    free(buf);
    return 0;
}
