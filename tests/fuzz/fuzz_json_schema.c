/*
 * fuzz_json_schema.c — a JSON body through what dispatch does with it:
 * parse (as the HTTP input reader does, duplicates refused), validate against
 * an input schema, normalise integer-typed reals (src/core/schema*.c).
 *
 * The first byte picks one of the schemas below (shapes the real methods
 * use: integers, nested arrays, enums, additionalProperties, unions); the
 * rest is the body.  Checked: no crash or sanitizer report; a normalised
 * value still validates, holds no real where the schema says integer, and
 * the caller's value is never modified.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "keel/error.h"
#include "core/schema-internal.h"

static const char *const schemas[] = {
    "{\"type\":\"object\",\"required\":[\"a\",\"b\"],\"additionalProperties\":false,"
    "\"properties\":{\"a\":{\"type\":\"integer\"},\"b\":{\"type\":\"integer\",\"minimum\":0}}}",
    "{\"type\":\"object\",\"properties\":{\"ids\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
    "\"maxItems\":50,\"uniqueItems\":true},\"n\":{\"type\":[\"integer\",\"null\"]},\"x\":{\"type\":\"number\"},"
    "\"sub\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"integer\",\"maximum\":1e300}}}}",
    "{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8},"
    "\"e\":{\"enum\":[\"walk\",\"trot\",1,2.5,null]},\"c\":{\"const\":{\"k\":[1,2]}},"
    "\"deep\":{\"type\":\"array\",\"items\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
    "\"properties\":{\"v\":{\"type\":\"integer\",\"exclusiveMinimum\":-5,\"exclusiveMaximum\":5}}}}}}}",
    "{\"type\":\"integer\"}",
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

/* 1 if v holds a real where n's schema (walked through the JSON text of the
 * schema) says integer; checked only at the top level and one level down. */
static int has_real_integer(const json_t *schema, const json_t *v)
{
    const json_t *t = json_object_get(schema, "type");
    if (json_is_string(t) && strcmp(json_string_value(t), "integer") == 0 && json_is_real(v))
        return 1;
    if (json_is_object(v)) {
        const json_t *props = json_object_get(schema, "properties");
        const char *k;
        json_t *m;
        json_object_foreach((json_t *)v, k, m) {
            const json_t *ps = json_object_get(props, k);
            if (ps != NULL && has_real_integer(ps, m))
                return 1;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const keel_schema *s;
    json_t *in, *norm = NULL, *copy;
    char err[512];
    int n = 0;

    if (size < 1)
        return 0;
    while (schemas[n] != NULL)
        n++;
    s = compiled[data[0] % n];
    in = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    if (in == NULL)
        return 0;
    copy = json_deep_copy(in);
    if (keel__schema_validate(s, in, err, sizeof err) == 0 &&
        keel__schema_normalize(s, in, &norm, err, sizeof err) == 0) {
        const json_t *out = norm != NULL ? norm : in;
        if (keel__schema_validate(s, out, err, sizeof err) != 0)
            abort();                       /* normalising broke validity */
        if (has_real_integer(keel__schema_json(s), out))
            abort();                       /* a real left where integer is declared */
    }
    if (!json_equal(in, copy))
        abort();                           /* the caller's value was modified */
    json_decref(norm);
    json_decref(copy);
    json_decref(in);
    return 0;
}
