/*
 * test_schema_coerce.c — turning CLI and query-string text into JSON by the
 * method's input schema (src/core/schema_coerce.c): every type, arrays and
 * objects, errors naming the field, the same results under a locale whose
 * decimal separator is a comma, and bad arguments refused.
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
#include "schema_test_util.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_coerce),
        cmocka_unit_test(test_coerce_locale_independent),
        cmocka_unit_test(test_coerce_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
