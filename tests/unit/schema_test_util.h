/*
 * schema_test_util.h — what the schema tests share (test_schema.c,
 * test_schema_coerce.c): compiling a schema text that must compile.
 * Include after cmocka.h and core/schema-internal.h.
 */
#ifndef KEEL_TESTS_SCHEMA_TEST_UTIL_H
#define KEEL_TESTS_SCHEMA_TEST_UTIL_H

static inline keel_schema *compile_ok(const char *text)
{
    keel_schema *s = NULL;
    char err[256];
    int rc = keel__schema_compile(text, &s, err, sizeof err);

    if (rc != 0)
        fail_msg("schema %s did not compile: %s", text, err);
    assert_non_null(s);
    return s;
}

#endif
