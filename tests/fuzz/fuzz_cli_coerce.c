/*
 * fuzz_cli_coerce.c — command-line flags through schema coercion
 * (keel__schema_coerce, src/core/schema_coerce.c), as `keel <module>
 * <method> --key value …` and URL query parameters use it, then the input
 * object through validation and integer normalisation as dispatch runs them.
 *
 * Input: byte 0 picks one of the schemas below; the rest is an argv, one
 * argument per NUL-separated piece: "--key=value" or "--key" "value".
 * Checked: no crash or sanitizer report; a coerced value has a JSON type
 * its property declares (a string exactly the text given); an error message
 * is valid UTF-8 (it goes into JSON replies and logs) and never empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/error.h"
#include "core/schema-internal.h"

static const char *const schemas[] = {
    /* shapes the real methods use */
    "{\"type\":\"object\",\"required\":[\"horse_id\"],\"additionalProperties\":false,"
    "\"properties\":{\"horse_id\":{\"type\":\"integer\",\"minimum\":1},\"date\":{\"type\":\"string\","
    "\"maxLength\":10},\"limit\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":500},"
    "\"dry\":{\"type\":\"boolean\"},\"x\":{\"type\":\"number\"}}}",
    "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":[\"integer\",\"null\"]},"
    "\"s\":{\"type\":[\"string\",\"number\"]},\"o\":{\"type\":\"object\"},\"a\":{\"type\":\"array\","
    "\"items\":{\"type\":\"integer\"}},\"level\":{\"enum\":[1,2,3]},\"mode\":{\"enum\":[\"a\",\"b\",null]},"
    "\"k\":{\"const\":true},\"any\":{}},\"additionalProperties\":{\"type\":\"integer\"}}",
    "{\"type\":\"object\"}",
    "{\"type\":\"object\",\"additionalProperties\":false}",
    NULL
};

static keel_schema *compiled[8];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    int i;
    (void)argc;
    (void)argv;
    for (i = 0; schemas[i] != NULL; i++)
        if (keel__schema_compile(schemas[i], &compiled[i], err, sizeof err) != 0)
            abort();
    return 0;
}

/* The declared "type" of property name (from the schema JSON, independently
 * of the compiled tree), as a mask of 1 << json_type; 0 = no check. */
static unsigned declared(const keel_schema *s, const char *name)
{
    const json_t *root = keel__schema_json(s), *p, *t;
    unsigned m = 0;
    size_t i;

    p = json_object_get(json_object_get(root, "properties"), name);
    if (p == NULL)
        p = json_object_get(root, "additionalProperties");
    if (!json_is_object(p))
        return json_is_object(json_object_get(root, "properties")) || p != NULL ? 0 : 1u << JSON_STRING;
    t = json_object_get(p, "type");
    if (t == NULL)
        return 0;
    for (i = 0; i < (json_is_array(t) ? json_array_size(t) : 1); i++) {
        const char *n = json_string_value(json_is_array(t) ? json_array_get(t, i) : t);
        if (strcmp(n, "integer") == 0)
            m |= 1u << JSON_INTEGER;
        else if (strcmp(n, "number") == 0)
            m |= 1u << JSON_INTEGER | 1u << JSON_REAL;
        else if (strcmp(n, "string") == 0)
            m |= 1u << JSON_STRING;
        else if (strcmp(n, "boolean") == 0)
            m |= 1u << JSON_TRUE | 1u << JSON_FALSE;
        else if (strcmp(n, "null") == 0)
            m |= 1u << JSON_NULL;
        else if (strcmp(n, "object") == 0)
            m |= 1u << JSON_OBJECT;
        else if (strcmp(n, "array") == 0)
            m |= 1u << JSON_ARRAY;
    }
    return m;
}

static void coerce_one(const keel_schema *s, json_t *in, const char *key, const char *val)
{
    char err[512];
    json_t *v = NULL, *msg;
    unsigned want;
    int rc = keel__schema_coerce(s, key, val, &v, err, sizeof err);

    if (rc != 0) {
        if (v != NULL || rc != KEEL_EINVAL || err[0] == '\0')
            abort();
        msg = json_string(err);        /* NULL if the message is not UTF-8 */
        if (msg == NULL)
            abort();
        json_decref(msg);
        return;
    }
    if (v == NULL)
        abort();
    want = declared(s, key);
    if (want != 0 && !(want & (1u << json_typeof(v))))
        abort();                       /* a type the property does not declare */
    if (json_is_string(v) && strcmp(json_string_value(v), val) != 0)
        abort();                       /* a string is the text as given */
    json_object_set_new(in, key, v);   /* may fail on a non-UTF-8 key: dropped */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *p, *end, *args[64];
    int n = 0, i, k = 0;
    const keel_schema *s;
    json_t *in, *norm = NULL;
    char err[512];

    if (size < 1 || size > 65536)
        return 0;
    while (schemas[k] != NULL)
        k++;
    s = compiled[data[0] % k];
    buf = malloc(size);                 /* argv strings: NUL-terminated pieces */
    if (buf == NULL)
        abort();
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    for (p = buf, end = buf + size - 1; p <= end && n < 64; p += strlen(p) + 1)
        args[n++] = p;
    in = json_object();
    for (i = 0; i < n; i++) {
        char key[128];
        const char *a = args[i], *val, *eq;
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            continue;
        if ((eq = strchr(a, '=')) != NULL) {
            snprintf(key, sizeof key, "%.*s", (int)(eq - a - 2), a + 2);
            val = eq + 1;
        } else {
            if (i + 1 >= n)
                break;
            snprintf(key, sizeof key, "%s", a + 2);
            val = args[++i];
        }
        coerce_one(s, in, key, val);
    }
    /* what dispatch does next with the object the flags built */
    if (keel__schema_validate(s, in, err, sizeof err) == 0) {
        if (keel__schema_normalize(s, in, &norm, err, sizeof err) == 0 &&
            keel__schema_validate(s, norm ? norm : in, err, sizeof err) != 0)
            abort();
    } else if (err[0] == '\0') {
        abort();
    }
    json_decref(norm);
    json_decref(in);
    free(buf);
    return 0;
}
