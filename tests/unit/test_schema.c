/*
 * test_schema.c — keel's JSON Schema subset (src/core/schema*.c): every
 * keyword passing and failing, error texts, refused keywords, depth limits,
 * CLI/query coercion, and the repository's own schema files (each compiles;
 * every built-in method has an input schema; no orphan schema files).
 * The official test suite runs in test_schema_suite.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "keel/keel.h"
#include "core/runtime-internal.h"
#include "core/schema-internal.h"

/* ---- helpers ----------------------------------------------------------- */

static keel_schema *compile_ok(const char *text)
{
    keel_schema *s = NULL;
    char err[256];
    int rc = keel__schema_compile(text, &s, err, sizeof err);

    if (rc != 0)
        fail_msg("schema %s did not compile: %s", text, err);
    assert_non_null(s);
    return s;
}

/* Validates JSON text v; returns the code and leaves the message in err. */
static int validate_text(const keel_schema *s, const char *v, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *j = json_loads(v, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    int rc;

    if (j == NULL)
        fail_msg("bad test JSON %s: %s", v, jerr.text);
    rc = keel__schema_validate(s, j, err, errlen);
    json_decref(j);
    return rc;
}

static void expect_valid(const char *schema, const char *v)
{
    keel_schema *s = compile_ok(schema);
    char err[256];

    if (validate_text(s, v, err, sizeof err) != 0)
        fail_msg("%s should accept %s, said: %s", schema, v, err);
    keel__schema_free(s);
}

/* want: the exact error text, or NULL to only require a failure. */
static void expect_invalid(const char *schema, const char *v, const char *want)
{
    keel_schema *s = compile_ok(schema);
    char err[256];

    if (validate_text(s, v, err, sizeof err) != KEEL_EINVAL)
        fail_msg("%s should reject %s", schema, v);
    if (want != NULL)
        assert_string_equal(err, want);
    else
        assert_true(err[0] != '\0');
    keel__schema_free(s);
}

/* Compile must fail with KEEL_EINVAL and a message containing want. */
static void expect_refused(const char *schema, const char *want)
{
    keel_schema *s = (keel_schema *)1;
    char err[256] = "";

    assert_int_equal(keel__schema_compile(schema, &s, err, sizeof err), KEEL_EINVAL);
    assert_null(s);
    if (strstr(err, want) == NULL)
        fail_msg("compiling %s: message '%s' lacks '%s'", schema, err, want);
}

/* ---- keywords ---------------------------------------------------------- */

static void test_type(void **state)
{
    static const struct { const char *type, *ok, *bad, *got; } rows[] = {
        {"null", "null", "0", "integer"},
        {"boolean", "true", "\"true\"", "string"},
        {"object", "{}", "[]", "array"},
        {"array", "[1]", "{}", "object"},
        {"number", "1.5", "\"1\"", "string"},
        {"integer", "-4", "4.5", "number"},
        {"string", "\"x\"", "null", "null"},
        {0}
    };
    char schema[64], want[96];

    for (int i = 0; rows[i].type != NULL; i++) {
        snprintf(schema, sizeof schema, "{\"type\":\"%s\"}", rows[i].type);
        snprintf(want, sizeof want, "/: expected %s, got %s", rows[i].type, rows[i].got);
        expect_valid(schema, rows[i].ok);
        expect_invalid(schema, rows[i].bad, want);
    }
    expect_valid("{\"type\":\"integer\"}", "1.0"); /* draft 7: zero fraction is an integer */
    expect_valid("{\"type\":\"number\"}", "7");
    expect_valid("{\"type\":[\"integer\",\"null\"]}", "null");
    expect_invalid("{\"type\":[\"integer\",\"null\"]}", "\"a\"",
                   "/: expected null or integer, got string");
    expect_invalid("{\"properties\":{\"horse_id\":{\"type\":\"integer\"}}}",
                   "{\"horse_id\":\"h1\"}", "/horse_id: expected integer, got string");
    expect_refused("{\"type\":\"float\"}", "unknown type 'float' at /");
    expect_refused("{\"type\":[]}", "empty");
    expect_refused("{\"type\":[\"string\",\"string\"]}", "twice");
    expect_refused("{\"type\":3}", "'type' must be");
}

static void test_object_keywords(void **state)
{
    const char *sch = "{\"type\":\"object\",\"required\":[\"email\"],"
                      "\"properties\":{\"email\":{\"type\":\"string\"},\"age\":{\"type\":\"integer\"}},"
                      "\"additionalProperties\":false}";

    expect_valid(sch, "{\"email\":\"a@b\"}");
    expect_valid(sch, "{\"email\":\"a@b\",\"age\":3}");
    expect_invalid(sch, "{\"age\":3}", "/: missing required property 'email'");
    expect_invalid(sch, "{\"email\":\"a\",\"foo\":1}", "/: unknown property 'foo'");
    expect_invalid(sch, "{\"email\":\"a\",\"age\":\"3\"}", "/age: expected integer, got string");
    /* required names with and without a property schema, repeated names */
    expect_invalid("{\"required\":[\"a\",\"b\"],\"properties\":{\"a\":{}}}", "{\"a\":1}",
                   "/: missing required property 'b'");
    expect_invalid("{\"required\":[\"a\",\"b\"],\"properties\":{\"a\":{}}}", "{\"b\":1}",
                   "/: missing required property 'a'");
    expect_valid("{\"required\":[\"a\",\"a\"],\"properties\":{\"a\":{}}}", "{\"a\":null}");
    expect_invalid("{\"required\":[\"a\",\"a\"],\"properties\":{\"a\":{}}}", "{\"c\":1}",
                   "/: missing required property 'a'");
    /* keywords for objects ignore other types (draft 7) */
    expect_valid("{\"required\":[\"a\"],\"additionalProperties\":false}", "[1]");
    /* additionalProperties as a schema, nested pointers and escaping */
    expect_valid("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"x\":\"y\"}");
    expect_invalid("{\"additionalProperties\":{\"type\":\"string\"}}", "{\"a/b~c\":1}",
                   "/a~1b~0c: expected string, got integer");
    expect_invalid("{\"properties\":{\"a\":{\"properties\":{\"b\":{\"type\":\"null\"}}}}}",
                   "{\"a\":{\"b\":false}}", "/a/b: expected null, got boolean");
    expect_valid("{\"additionalProperties\":true,\"properties\":{}}", "{\"z\":1}");
    expect_refused("{\"required\":\"email\"}", "'required' must be an array");
    expect_refused("{\"required\":[1]}", "'required' must be an array");
    expect_refused("{\"properties\":[]}", "'properties' must be an object");
    expect_refused("{\"properties\":{\"a\":3}}", "must be an object or a boolean, not integer "
                                                 "at /properties/a");
    expect_refused("{\"additionalProperties\":\"no\"}", "at /additionalProperties");
}

static void test_array_keywords(void **state)
{
    const char *sch = "{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"minItems\":1,"
                      "\"maxItems\":3}";

    expect_valid(sch, "[\"a\"]");
    expect_valid(sch, "[\"a\",\"b\",\"c\"]");
    expect_invalid(sch, "[]", "/: array has fewer than 1 items (0)");
    expect_invalid(sch, "[\"a\",\"b\",\"c\",\"d\"]", "/: array has more than 3 items (4)");
    expect_invalid(sch, "[\"a\",2]", "/1: expected string, got integer");
    expect_invalid("{\"properties\":{\"tags\":{\"items\":{\"maxLength\":2}}}}",
                   "{\"tags\":[\"ab\",\"abc\"]}", "/tags/1: string longer than 2 characters (3)");
    expect_valid("{\"uniqueItems\":true}", "[1,\"1\",[1],{\"a\":1},{\"a\":2}]");
    expect_invalid("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]",
                   "/: items 0 and 1 are equal (uniqueItems)");
    expect_invalid("{\"uniqueItems\":true}", "[1,2,1.0]", "/: items 0 and 2 are equal (uniqueItems)");
    expect_valid("{\"uniqueItems\":false}", "[1,1]");
    expect_valid("{\"items\":false}", "[]");
    expect_invalid("{\"items\":false}", "[0]", "/0: value not allowed here");
    expect_refused("{\"items\":[{\"type\":\"string\"}]}", "unsupported keyword 'items' (array form) at /");
    expect_refused("{\"minItems\":-1}", "'minItems' must be a non-negative integer");
    expect_refused("{\"maxItems\":1.5}", "'maxItems' must be a non-negative integer");
    expect_refused("{\"uniqueItems\":1}", "'uniqueItems' must be a boolean");
    expect_valid("{\"maxItems\":2.0}", "[1,2]"); /* draft 7 accepts 2.0 as a count */
}

static void test_enum_const(void **state)
{
    expect_valid("{\"enum\":[\"walk\",\"trot\",\"canter\"]}", "\"trot\"");
    expect_invalid("{\"enum\":[\"walk\",\"trot\"]}", "\"gallop\"",
                   "/: expected one of [\"walk\",\"trot\"]");
    expect_valid("{\"enum\":[1,null]}", "1.0");
    expect_invalid("{\"enum\":[1,null]}", "true", NULL);
    expect_invalid("{\"enum\":[\"a\"]}", "\"a\\u0000\"", "/: expected one of [\"a\"]");
    expect_invalid("{\"enum\":[\"1\"]}", "1", "/: expected one of [\"1\"]");
    expect_invalid("{\"enum\":[]}", "1", "/: expected one of []");
    expect_invalid("{\"enum\":[0]}", "false", NULL);
    expect_valid("{\"const\":{\"a\":[1,2]}}", "{\"a\":[1,2.0]}");
    expect_invalid("{\"const\":{\"a\":[1,2]}}", "{\"a\":[2,1]}", "/: expected {\"a\":[1,2]}");
    expect_invalid("{\"const\":\"a\"}", "\"a\\u0000\"", NULL);
    expect_valid("{\"const\":null}", "null");
    expect_refused("{\"enum\":\"a\"}", "'enum' must be an array");
}

/* A value too long for the message is cut with "...", and what precedes the
 * cut is the start of its rendering: json_dumpb skips a chunk that does not
 * fit whole, so its buffer past the last whole chunk is never written. */
static void test_enum_message_truncated(void **state)
{
    char schema[512], err[256], want[256];
    keel_schema *s;
    size_t n;

    (void)state;
    memset(want, 'b', 200);
    want[200] = '\0';
    snprintf(schema, sizeof schema, "{\"enum\":[\"a\",\"%s\"]}", want);
    s = compile_ok(schema);
    memset(err, 0, sizeof err);
    assert_int_equal(validate_text(s, "\"c\"", err, sizeof err), KEEL_EINVAL);
    keel__schema_free(s);
    n = strlen(err);
    if (n < 3 || strcmp(err + n - 3, "...") != 0)
        fail_msg("message not cut with '...': '%s'", err);
    snprintf(want, sizeof want, "/: expected one of [\"a\",\"bbbbbbbbbb");
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("message '%s' does not start with '%s'", err, want);
    for (size_t i = strlen("/: expected one of [\"a\",\""); i < n - 3; i++)
        if (err[i] != 'b')
            fail_msg("byte %zu of the message is 0x%02x, not from the value: '%s'", i,
                     (unsigned char)err[i], err);
}

static void test_numbers(void **state)
{
    expect_valid("{\"minimum\":1,\"maximum\":3}", "1");
    expect_valid("{\"minimum\":1,\"maximum\":3}", "3.0");
    expect_invalid("{\"minimum\":1}", "0.5", "/: must be >= 1, got 0.5");
    expect_invalid("{\"maximum\":3}", "4", "/: must be <= 3, got 4");
    expect_invalid("{\"exclusiveMinimum\":1}", "1", "/: must be > 1, got 1");
    expect_invalid("{\"exclusiveMaximum\":2.5}", "2.5", "/: must be < 2.5, got 2.5");
    expect_valid("{\"exclusiveMinimum\":1,\"exclusiveMaximum\":2}", "1.5");
    expect_valid("{\"minimum\":10}", "\"not a number\""); /* ignored for strings */
    expect_refused("{\"exclusiveMinimum\":true}", "draft-4 boolean form");
    expect_refused("{\"minimum\":\"1\"}", "'minimum' must be a number");
}

static void test_strings(void **state)
{
    expect_valid("{\"minLength\":2,\"maxLength\":5}", "\"h\\u00e9llo\""); /* 5 code points, 6 bytes */
    expect_invalid("{\"maxLength\":4}", "\"h\\u00e9llo\"", "/: string longer than 4 characters (5)");
    expect_valid("{\"maxLength\":1}", "\"\\ud83d\\udc0e\""); /* one horse, 4 bytes */
    expect_invalid("{\"minLength\":1}", "\"\"", "/: string shorter than 1 characters (0)");
    expect_valid("{\"minLength\":3}", "12"); /* ignored for numbers */
    expect_refused("{\"minLength\":\"3\"}", "'minLength' must be a non-negative integer");
}

static void test_boolean_schemas_and_annotations(void **state)
{
    expect_valid("true", "{\"anything\":[1]}");
    expect_invalid("false", "null", "/: value not allowed here");
    expect_invalid("{\"properties\":{\"legacy\":false}}", "{\"legacy\":1}",
                   "/legacy: value not allowed here");
    expect_valid("{\"title\":\"t\",\"description\":\"d\",\"default\":{\"format\":1},"
                 "\"examples\":[1],\"$comment\":\"c\",\"$schema\":"
                 "\"http://json-schema.org/draft-07/schema#\",\"$id\":\"x\"}", "5");
    expect_refused("42", "must be an object or a boolean, not integer at /");
    expect_refused("{\"type\":", "not valid JSON");
    expect_refused("{\"a\":1,\"a\":2}", "not valid JSON");
}

static void test_unsupported_keywords(void **state)
{
    static const char *const kws[] = {
        "format", "pattern", "$ref", "oneOf", "anyOf", "allOf", "not", "if", "then", "else",
        "dependencies", "patternProperties", "propertyNames", "contains", "additionalItems",
        "definitions", "multipleOf", "minProperties", "maxProperties", "contentMediaType", NULL
    };
    char schema[160], want[160];

    for (int i = 0; kws[i] != NULL; i++) {
        snprintf(schema, sizeof schema, "{\"properties\":{\"x\":{\"%s\":{}}}}", kws[i]);
        snprintf(want, sizeof want, "unsupported keyword '%s' at /properties/x", kws[i]);
        expect_refused(schema, want);
    }
    expect_refused("{\"items\":{\"additionalProperties\":{\"format\":\"email\"}}}",
                   "unsupported keyword 'format' at /items/additionalProperties");
    expect_refused("{\"properties\":{\"a/b\":{\"pattern\":\"x\"}}}",
                   "unsupported keyword 'pattern' at /properties/a~1b");
}

static void test_bad_arguments(void **state)
{
    keel_schema *s = (keel_schema *)1;
    char err[128];

    assert_int_equal(keel__schema_compile(NULL, &s, err, sizeof err), KEEL_EINVAL);
    assert_null(s);
    assert_int_equal(keel__schema_compile_json(NULL, &s, err, sizeof err), KEEL_EINVAL);
    assert_int_equal(keel__schema_compile("{}", NULL, err, sizeof err), KEEL_EINVAL);
    /* tiny and absent error buffers never overflow or crash */
    assert_int_equal(keel__schema_compile("{\"format\":1}", &s, err, 4), KEEL_EINVAL);
    assert_int_equal(strlen(err), 3);
    assert_int_equal(keel__schema_compile("{\"format\":1}", &s, NULL, 0), KEEL_EINVAL);
    s = compile_ok("{\"type\":\"string\"}");
    assert_int_equal(keel__schema_validate(s, NULL, err, sizeof err), KEEL_EINVAL);
    assert_int_equal(keel__schema_validate(s, json_null(), NULL, 0), KEEL_EINVAL);
    assert_int_equal(keel__schema_validate(NULL, json_null(), err, sizeof err), 0);
    keel__schema_free(s);
    keel__schema_free(NULL);
    assert_null(keel__schema_json(NULL));
}

/* A message cut mid-character by a short buffer is still valid UTF-8. */
static void test_messages_stay_utf8(void **state)
{
    keel_schema *s = compile_ok("{\"additionalProperties\":false}");
    json_t *v = json_pack("{s:i}", "\xc3\xa9\xc3\xa9\xc3\xa9", 1), *msg;
    char err[25];

    assert_int_equal(keel__schema_validate(s, v, err, sizeof err), KEEL_EINVAL);
    /* 24 bytes of "/: unknown property 'ééé'" end inside the second é */
    msg = json_string(err);
    assert_non_null(msg);
    json_decref(msg);
    json_decref(v);
    keel__schema_free(s);
}

static void test_schema_json_is_kept(void **state)
{
    json_t *j = json_pack("{s:s}", "type", "integer");
    keel_schema *s = NULL;
    char err[128];

    assert_int_equal(keel__schema_compile_json(j, &s, err, sizeof err), 0);
    json_decref(j); /* the schema holds its own reference */
    assert_string_equal(json_string_value(json_object_get(keel__schema_json(s), "type")), "integer");
    j = json_integer(1);
    assert_int_equal(keel__schema_validate(s, j, err, sizeof err), 0);
    json_decref(j);
    keel__schema_free(s);
}

/* ---- depth ------------------------------------------------------------- */

/* {"items":{"items":…{}…}} nested n deep. */
static char *nested_items(int n)
{
    size_t len = (size_t)n * 12 + 8;
    char *buf = malloc(len), *p = buf;

    assert_non_null(buf);
    for (int i = 0; i < n; i++)
        p += sprintf(p, "{\"items\":");
    p += sprintf(p, "{}");
    for (int i = 0; i < n; i++)
        *p++ = '}';
    *p = '\0';
    return buf;
}

static void test_depth_limit(void **state)
{
    char *ok = nested_items(63), *deep = nested_items(65), *huge = nested_items(5000);
    keel_schema *s = NULL;
    json_t *v = json_array(), *cur = v, *konst;
    char err[256];

    keel__schema_free(compile_ok(ok));
    expect_refused(deep, "schema nested deeper than 64 levels");
    /* jansson refuses to parse this much nesting itself; still a clean error */
    assert_int_equal(keel__schema_compile(huge, &s, err, sizeof err), KEEL_EINVAL);
    /* a value 10000 deep against an open schema: validation does not follow it */
    for (int i = 0; i < 10000; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    s = compile_ok("{\"type\":\"array\",\"items\":{\"type\":\"array\"}}");
    assert_int_equal(keel__schema_validate(s, v, err, sizeof err), 0);
    keel__schema_free(s);
    /* const and uniqueItems compare values: bounded, an error not a crash */
    konst = json_pack("{s:O}", "const", v);
    assert_int_equal(keel__schema_compile_json(konst, &s, err, sizeof err), 0);
    assert_int_equal(keel__schema_validate(s, v, err, sizeof err), KEEL_EINVAL);
    assert_non_null(strstr(err, "nested deeper than 64"));
    keel__schema_free(s);
    json_decref(konst);
    json_decref(v);
    free(ok);
    free(deep);
    free(huge);
}

/* ---- coercion ---------------------------------------------------------- */

static const char *coerce_schema =
    "{\"type\":\"object\",\"additionalProperties\":false,\"properties\":{"
    "\"n\":{\"type\":\"integer\"},\"x\":{\"type\":\"number\"},\"b\":{\"type\":\"boolean\"},"
    "\"s\":{\"type\":\"string\"},\"o\":{\"type\":\"object\"},\"a\":{\"type\":\"array\"},"
    "\"in\":{\"type\":[\"integer\",\"null\"]},\"ns\":{\"type\":[\"number\",\"string\"]},"
    "\"any\":{},\"level\":{\"enum\":[1,2,\"max\"]},\"on\":{\"const\":true}}}";

/* Coerces and compares with the expected JSON text (compact, exact types). */
static void coerce_ok(const keel_schema *s, const char *name, const char *text, const char *want)
{
    json_t *out = (json_t *)1;
    char err[256], *got;

    if (keel__schema_coerce(s, name, text, &out, err, sizeof err) != 0)
        fail_msg("--%s %s: %s", name, text, err);
    got = json_dumps(out, JSON_COMPACT | JSON_ENCODE_ANY);
    if (strcmp(got, want) != 0)
        fail_msg("--%s %s gave %s, want %s", name, text, got, want);
    free(got);
    json_decref(out);
}

static void coerce_bad(const keel_schema *s, const char *name, const char *text, const char *want)
{
    json_t *out = (json_t *)1;
    char err[256];

    assert_int_equal(keel__schema_coerce(s, name, text, &out, err, sizeof err), KEEL_EINVAL);
    assert_null(out);
    if (strstr(err, want) == NULL)
        fail_msg("--%s %s: message '%s' lacks '%s'", name, text, err, want);
}

static void test_coerce(void **state)
{
    keel_schema *s = compile_ok(coerce_schema), *open;

    coerce_ok(s, "n", "42", "42");
    coerce_ok(s, "n", "-7", "-7");
    coerce_ok(s, "n", "+3", "3");
    coerce_ok(s, "n", "9223372036854775807", "9223372036854775807");
    coerce_bad(s, "n", "9223372036854775808", "option --n: '9223372036854775808' is out of range");
    coerce_bad(s, "n", "4.2", "option --n: expected integer, got '4.2'");
    coerce_bad(s, "n", "", "option --n: expected integer");
    coerce_bad(s, "n", " 1", "expected integer");
    coerce_bad(s, "n", "0x10", "expected integer");
    coerce_ok(s, "x", "3.25", "3.25");
    coerce_ok(s, "x", "-0.5", "-0.5");
    coerce_ok(s, "x", "1e3", "1000.0");
    coerce_ok(s, "x", "12", "12");
    coerce_bad(s, "x", "1,5", "expected number");
    coerce_bad(s, "x", ".5", "expected number");
    coerce_bad(s, "x", "nan", "expected number");
    coerce_bad(s, "x", "1e999", "out of range");
    static const char *const yes[] = {"true", "1", "yes", "YES", NULL};
    static const char *const no[] = {"false", "0", "no", "False", NULL};
    for (int i = 0; yes[i] != NULL; i++) {
        coerce_ok(s, "b", yes[i], "true");
        coerce_ok(s, "b", no[i], "false");
    }
    coerce_bad(s, "b", "maybe", "option --b: expected boolean, got 'maybe'");
    coerce_ok(s, "s", "42", "\"42\"");
    coerce_ok(s, "s", "", "\"\"");
    coerce_bad(s, "s", "\xff", "expected string"); /* not UTF-8 */
    coerce_ok(s, "o", "{\"k\":[1]}", "{\"k\":[1]}");
    coerce_bad(s, "o", "[1]", "expected object");
    coerce_bad(s, "o", "{bad", "expected object");
    coerce_ok(s, "a", "[1,\"x\"]", "[1,\"x\"]");
    coerce_bad(s, "a", "{}", "expected array");
    coerce_ok(s, "in", "null", "null");
    coerce_ok(s, "in", "5", "5");
    coerce_bad(s, "in", "five", "expected null or integer");
    coerce_ok(s, "ns", "2.5", "2.5");
    coerce_ok(s, "ns", "abc", "\"abc\"");
    coerce_ok(s, "any", "text", "\"text\"");
    coerce_ok(s, "level", "2", "2"); /* untyped: types implied by enum / const */
    coerce_ok(s, "level", "max", "\"max\"");
    coerce_ok(s, "on", "yes", "true");
    coerce_bad(s, "on", "maybe", "expected boolean");
    coerce_bad(s, "foo", "1", "unknown option --foo");
    /* user bytes in messages: invalid UTF-8 replaced, long text shortened */
    coerce_bad(s, "n", "\xc3(", "option --n: expected integer, got '?('");
    coerce_bad(s, "\xe2\x82", "1", "unknown option --??");
    coerce_bad(s, "\xed\xa0\x80", "1", "unknown option --???");     /* a surrogate */
    coerce_bad(s, "\xc0\xaf", "1", "unknown option --??");           /* overlong '/' */
    coerce_bad(s, "\xf4\x90\x80\x80", "1", "unknown option --????"); /* above U+10FFFF */
    coerce_bad(s, "\xf0\x9f\x90\x8e", "1", "unknown option --\xf0\x9f\x90\x8e"); /* kept */
    {
        char longtext[300];
        json_t *o = NULL;
        char err[256];
        memset(longtext, 'x', sizeof longtext - 1);
        longtext[sizeof longtext - 1] = '\0';
        assert_int_equal(keel__schema_coerce(s, "n", longtext, &o, err, sizeof err), KEEL_EINVAL);
        assert_non_null(strstr(err, "xxx...'"));
        assert_true(strlen(err) < 120);
    }
    keel__schema_free(s);

    open = compile_ok("{\"properties\":{\"n\":{\"type\":\"integer\"}}}");
    coerce_ok(open, "extra", "1", "\"1\""); /* additionalProperties absent: a string */
    keel__schema_free(open);
    open = compile_ok("{\"additionalProperties\":{\"type\":\"integer\"}}");
    coerce_ok(open, "extra", "1", "1");
    keel__schema_free(open);
    coerce_ok(NULL, "free", "1", "\"1\"");
}

/* Sets a locale whose decimal separator is a comma: an installed one, else
 * one compiled with localedef into a temporary LOCPATH.  NULL if impossible. */
static const char *comma_locale(char *dir, size_t dirlen)
{
    static const char *const names[] = {"de_DE.UTF-8", "fr_FR.UTF-8", "de_DE", NULL};
    char cmd[512];

    for (int i = 0; names[i] != NULL; i++)
        if (setlocale(LC_NUMERIC, names[i]) != NULL)
            return names[i];
    snprintf(dir, dirlen, "/tmp/keel-schema-locale-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return NULL;
    snprintf(cmd, sizeof cmd,
             "localedef -i de_DE -f ISO-8859-1 %s/de_DE >/dev/null 2>&1", dir);
    if (system(cmd) == -1)
        return NULL;
    setenv("LOCPATH", dir, 1);
    return setlocale(LC_NUMERIC, "de_DE") != NULL ? "de_DE (localedef)" : NULL;
}

static void test_coerce_locale_independent(void **state)
{
    keel_schema *s = compile_ok(coerce_schema);
    char dir[64] = "", cmd[128], shown[32];
    const char *used = comma_locale(dir, sizeof dir);

    if (used == NULL) {
        print_message("no comma-decimal locale (localedef failed): checking under \"C\" only\n");
    } else {
        snprintf(shown, sizeof shown, "%.2f", 3.25);
        assert_string_equal(shown, "3,25"); /* the locale really is active */
        print_message("LC_NUMERIC=%s\n", used);
    }
    coerce_ok(s, "x", "3.25", "3.25");
    coerce_bad(s, "x", "3,25", "expected number");
    setlocale(LC_NUMERIC, "C");
    unsetenv("LOCPATH");
    if (dir[0] != '\0') {
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
    keel__schema_free(s);
}

static void test_coerce_bad_arguments(void **state)
{
    keel_schema *s = compile_ok(coerce_schema);
    json_t *out = NULL;
    char err[64];

    assert_int_equal(keel__schema_coerce(s, NULL, "1", &out, err, sizeof err), KEEL_EINVAL);
    assert_int_equal(keel__schema_coerce(s, "n", NULL, &out, err, sizeof err), KEEL_EINVAL);
    assert_int_equal(keel__schema_coerce(s, "n", "1", NULL, err, sizeof err), KEEL_EINVAL);
    assert_int_equal(keel__schema_coerce(s, "n", "x", &out, NULL, 0), KEEL_EINVAL);
    assert_null(out);
    keel__schema_free(s);
}

/* ---- speed (printed, not asserted) ------------------------------------- */

static void test_validation_speed(void **state)
{
    keel_schema *s = compile_ok(
        "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"horse_id\",\"name\"],"
        "\"properties\":{\"horse_id\":{\"type\":\"integer\",\"minimum\":1},"
        "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":80},"
        "\"gait\":{\"enum\":[\"walk\",\"trot\",\"canter\"]},"
        "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":8}}}");
    json_t *v = json_pack("{s:i,s:s,s:s,s:[s,s]}", "horse_id", 17, "name", "Bucephalus",
                          "gait", "trot", "tags", "grey", "stallion");
    struct timespec t0, t1;
    const int n = 40000, rounds = 5;
    double best = 0, ns;
    char err[128];
    int bad = 0;

    /* best of a few rounds: the machine is shared, the minimum is the cost */
    for (int r = 0; r < rounds; r++) {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < n; i++)
            bad += keel__schema_validate(s, v, err, sizeof err) != 0;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / n;
        if (r == 0 || ns < best)
            best = ns;
    }
    assert_int_equal(bad, 0);
    print_message("validate: %.0f ns per call (4-property object, best of %d rounds of %d)\n",
                  best, rounds, n);
    json_decref(v);
    keel__schema_free(s);
}

/* ---- the repository's schema files ------------------------------------- */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long len;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)len + 1)) != NULL) {
        if (fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            buf = NULL;
        } else {
            buf[len] = '\0';
        }
    }
    fclose(f);
    return buf;
}

static const char *source_dir(void)
{
    const char *d = getenv("KEEL_SOURCE_DIR");

    if (d == NULL || d[0] == '\0') {
        print_message("skipped: KEEL_SOURCE_DIR is not set (ctest sets it)\n");
        skip();
    }
    return d;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Every src/modules/<m>/schema/<file>.json in the tree compiles. */
static void test_repository_schemas_compile(void **state)
{
    const char *src = source_dir();
    char path[1024], err[256];
    DIR *mods, *sd;
    struct dirent *m, *f;
    int count = 0, failed = 0;

    snprintf(path, sizeof path, "%s/src/modules", src);
    mods = opendir(path);
    assert_non_null(mods);
    while ((m = readdir(mods)) != NULL) {
        if (m->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/src/modules/%s/schema", src, m->d_name);
        if ((sd = opendir(path)) == NULL)
            continue;
        while ((f = readdir(sd)) != NULL) {
            keel_schema *s = NULL;
            char *text;
            if (!has_suffix(f->d_name, ".json"))
                continue;
            snprintf(path, sizeof path, "%s/src/modules/%s/schema/%s", src, m->d_name, f->d_name);
            text = read_file(path);
            count++;
            if (text == NULL || keel__schema_compile(text, &s, err, sizeof err) != 0) {
                print_error("%s: %s\n", path, text == NULL ? "unreadable" : err);
                failed++;
            }
            keel__schema_free(s);
            free(text);
        }
        closedir(sd);
    }
    closedir(mods);
    print_message("%d module schema files compiled\n", count);
    assert_int_equal(failed, 0);
}

/* The method behind schema file "<method>.in.json" / "<method>.out.json",
 * and whether the file is its in or out schema. */
static const keel_method *method_for_file(const keel_module *mod, const char *file, int *is_in)
{
    char name[256];
    size_t len = strlen(file);

    *is_in = has_suffix(file, ".in.json");
    if (!*is_in && !has_suffix(file, ".out.json"))
        return NULL;
    len -= *is_in ? strlen(".in.json") : strlen(".out.json");
    if (len >= sizeof name)
        return NULL;
    memcpy(name, file, len);
    name[len] = '\0';
    for (const keel_method *me = mod->methods; me != NULL && me->name != NULL; me++)
        if (strcmp(me->name, name) == 0)
            return me;
    return NULL;
}

/* Built-in modules: every method has an input schema that compiles; every
 * schema file on disk is some method's in/out schema, byte for byte. */
static void test_builtin_methods_have_schemas(void **state)
{
    const char *src = source_dir();
    char path[1024], err[256];
    int methods = 0, files = 0, failed = 0;

    for (size_t i = 0; keel_builtin_modules[i] != NULL; i++) {
        const keel_module *mod = keel_builtin_modules[i];
        DIR *sd;
        struct dirent *f;

        for (const keel_method *me = mod->methods; me != NULL && me->name != NULL; me++) {
            keel_schema *s = NULL;
            methods++;
            if (me->in_schema == NULL) {
                print_error("%s.%s: no input schema (schema/%s.in.json)\n", mod->name, me->name,
                            me->name);
                failed++;
                continue;
            }
            if (keel__schema_compile(me->in_schema, &s, err, sizeof err) != 0) {
                print_error("%s.%s in_schema: %s\n", mod->name, me->name, err);
                failed++;
            }
            keel__schema_free(s);
            s = NULL;
            if (me->out_schema != NULL &&
                keel__schema_compile(me->out_schema, &s, err, sizeof err) != 0) {
                print_error("%s.%s out_schema: %s\n", mod->name, me->name, err);
                failed++;
            }
            keel__schema_free(s);
        }
        snprintf(path, sizeof path, "%s/src/modules/%s/schema", src, mod->name);
        if ((sd = opendir(path)) == NULL)
            continue;
        while ((f = readdir(sd)) != NULL) {
            const keel_method *me;
            char *text;
            int is_in;
            if (f->d_name[0] == '.')
                continue;
            files++;
            snprintf(path, sizeof path, "%s/src/modules/%s/schema/%s", src, mod->name, f->d_name);
            if (strncmp(f->d_name, "topic.", 6) == 0) {
                /* topic.<name>.json: the payload schema of topic <module>.<name> */
                const keel_topic *t = NULL;
                char want[256];
                for (t = mod->topics; t != NULL && t->name != NULL; t++) {
                    snprintf(want, sizeof want, "topic.%s.json", t->name + strlen(mod->name) + 1);
                    if (strcmp(want, f->d_name) == 0)
                        break;
                }
                text = read_file(path);
                if (t == NULL || t->name == NULL || t->schema == NULL || text == NULL ||
                    strcmp(t->schema, text) != 0) {
                    print_error("%s: no topic of module %s uses it as its schema\n", path, mod->name);
                    failed++;
                }
                free(text);
                continue;
            }
            me = method_for_file(mod, f->d_name, &is_in);
            text = read_file(path);
            if (me == NULL || text == NULL) {
                print_error("%s: orphan (no method '%s' uses it)\n", path, f->d_name);
                failed++;
            } else if ((is_in ? me->in_schema : me->out_schema) == NULL ||
                       strcmp(is_in ? me->in_schema : me->out_schema, text) != 0) {
                print_error("%s: method %s.%s does not use this file as its %s_schema\n", path,
                            mod->name, me->name, is_in ? "in" : "out");
                failed++;
            }
            free(text);
        }
        closedir(sd);
    }
    for (size_t i = 0; keel_builtin_modules[i] != NULL; i++) {
        const keel_topic *t;
        for (t = keel_builtin_modules[i]->topics; t != NULL && t->name != NULL; t++) {
            keel_schema *s = NULL;
            if (t->schema == NULL) {
                print_error("topic %s: no payload schema (schema/topic.<name>.json)\n", t->name);
                failed++;
            } else if (keel__schema_compile(t->schema, &s, err, sizeof err) != 0) {
                print_error("topic %s schema: %s\n", t->name, err);
                failed++;
            }
            keel__schema_free(s);
        }
    }
    print_message("%d built-in methods, %d schema files checked\n", methods, files);
    assert_int_equal(failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type),
        cmocka_unit_test(test_object_keywords),
        cmocka_unit_test(test_array_keywords),
        cmocka_unit_test(test_enum_const),
        cmocka_unit_test(test_enum_message_truncated),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_boolean_schemas_and_annotations),
        cmocka_unit_test(test_unsupported_keywords),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_schema_json_is_kept),
        cmocka_unit_test(test_messages_stay_utf8),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_coerce),
        cmocka_unit_test(test_coerce_locale_independent),
        cmocka_unit_test(test_coerce_bad_arguments),
        cmocka_unit_test(test_validation_speed),
        cmocka_unit_test(test_repository_schemas_compile),
        cmocka_unit_test(test_builtin_methods_have_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
