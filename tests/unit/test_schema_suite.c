/*
 * test_schema_suite.c — keel's schema subset against the official
 * JSON-Schema-Test-Suite (Debian package json-schema-test-suite, draft 7).
 *
 * For every test group of every supported keyword's file: if the group's
 * schema stays inside the subset, it must compile and every case must give
 * the suite's "valid" answer; if it uses a keyword outside the subset
 * ($ref, definitions, patternProperties, …), compilation must fail (counted
 * as "refused").  KEEL_SCHEMA_SUITE_DIR overrides the directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <jansson.h>

#include "keel/error.h"
#include "core/schema-internal.h"

#define SUITE_DEFAULT "/usr/share/json-schema-test-suite/tests/draft7"

static const char *const files[] = {
    "type", "properties", "required", "additionalProperties", "items", "enum", "const",
    "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
    "minItems", "maxItems", "uniqueItems", "boolean_schema", NULL
};

/* The subset as this test understands it, written independently of
 * schema.c: keywords, and which of them hold sub-schemas. */
static const char *const plain_keywords[] = {
    "type", "required", "enum", "const", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
    "title", "description", "default", "examples", "$comment", "$schema", "$id", NULL
};

static int is_plain(const char *key)
{
    for (int i = 0; plain_keywords[i] != NULL; i++)
        if (strcmp(plain_keywords[i], key) == 0)
            return 1;
    return 0;
}

/* 1 if the schema uses anything outside the subset. */
static int outside_subset(const json_t *schema)
{
    const char *key, *pname;
    json_t *val, *sub;

    if (!json_is_object(schema))
        return 0;
    json_object_foreach((json_t *)schema, key, val) {
        if (is_plain(key))
            continue;
        if (strcmp(key, "properties") == 0) {
            json_object_foreach(val, pname, sub)
                if (outside_subset(sub))
                    return 1;
        } else if (strcmp(key, "additionalProperties") == 0) {
            if (outside_subset(val))
                return 1;
        } else if (strcmp(key, "items") == 0) {
            if (json_is_array(val) || outside_subset(val))
                return 1;
        } else {
            return 1;
        }
    }
    return 0;
}

static const char *suite_dir(void)
{
    const char *d = getenv("KEEL_SCHEMA_SUITE_DIR");
    return d != NULL && d[0] != '\0' ? d : SUITE_DEFAULT;
}

typedef struct tally {
    int groups, cases, passed, failed, refused, refused_cases;
} tally;

static void run_group(const char *file, const json_t *group, tally *t)
{
    const json_t *schema = json_object_get(group, "schema");
    const json_t *tests = json_object_get(group, "tests");
    const char *gdesc = json_string_value(json_object_get(group, "description"));
    keel_schema *s = NULL;
    char err[512];
    size_t i;
    json_t *tc;
    int rc;

    t->groups++;
    rc = keel__schema_compile_json(schema, &s, err, sizeof err);
    if (outside_subset(schema)) {
        if (rc == KEEL_EINVAL && s == NULL && err[0] != '\0') {
            t->refused++;
            t->refused_cases += (int)json_array_size(tests);
        } else {
            t->failed++;
            print_error("%s: '%s': schema outside the subset was not refused\n", file, gdesc);
        }
        keel__schema_free(s);
        return;
    }
    if (rc != 0) {
        t->failed++;
        print_error("%s: '%s': compile failed: %s\n", file, gdesc, err);
        return;
    }
    json_array_foreach(tests, i, tc) {
        int want = json_is_true(json_object_get(tc, "valid"));
        int got = keel__schema_validate(s, json_object_get(tc, "data"), err, sizeof err) == 0;
        t->cases++;
        if (got == want) {
            t->passed++;
        } else {
            t->failed++;
            print_error("%s: '%s' / '%s': expected %s, got %s (%s)\n", file, gdesc,
                        json_string_value(json_object_get(tc, "description")),
                        want ? "valid" : "invalid", got ? "valid" : "invalid", err);
        }
    }
    keel__schema_free(s);
}

static void test_official_suite(void **state)
{
    char path[1024];
    struct stat st;
    tally total = {0};
    json_error_t jerr;

    if (stat(suite_dir(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        print_message("skipped: %s not found (apt-get install json-schema-test-suite)\n",
                      suite_dir());
        skip();
    }
    for (int f = 0; files[f] != NULL; f++) {
        tally t = {0};
        size_t i;
        json_t *groups, *g;

        snprintf(path, sizeof path, "%s/%s.json", suite_dir(), files[f]);
        groups = json_load_file(path, JSON_ALLOW_NUL, &jerr);
        if (groups == NULL)
            fail_msg("%s: %s", path, jerr.text);
        assert_true(json_is_array(groups));
        json_array_foreach(groups, i, g)
            run_group(files[f], g, &t);
        json_decref(groups);
        print_message("%-22s groups %3d  cases passed %3d/%3d  refused groups %2d (%d cases)%s\n",
                      files[f], t.groups, t.passed, t.cases, t.refused, t.refused_cases,
                      t.failed ? "  FAILURES" : "");
        total.groups += t.groups;
        total.cases += t.cases;
        total.passed += t.passed;
        total.failed += t.failed;
        total.refused += t.refused;
        total.refused_cases += t.refused_cases;
    }
    print_message("TOTAL                  groups %3d  cases passed %3d/%3d  refused groups %2d "
                  "(%d cases)  failures %d\n",
                  total.groups, total.passed, total.cases, total.refused, total.refused_cases,
                  total.failed);
    assert_int_equal(total.failed, 0);
    assert_true(total.passed > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_official_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
