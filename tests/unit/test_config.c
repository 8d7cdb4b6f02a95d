/* test_config.c — layers, precedence, _FILE secrets, errors naming key and source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/config-internal.h"

static const keel_config_key mod_keys[] = {
    {.name = "workers", .type = KEEL_CFG_INT, .def = "4", .min = 1, .max = 64},
    {.name = "token", .type = KEEL_CFG_STRING, .def = "", .flags = KEEL_SECRET},
    {.name = "fast", .type = KEEL_CFG_BOOL, .def = "false"},
    {0}
};

static keel_config *new_cfg(void)
{
    keel_config *c = keel__config_new();
    assert_non_null(c);
    assert_int_equal(keel__config_declare(c, NULL, keel_core_config_keys), 0);
    assert_int_equal(keel__config_declare(c, "compute", mod_keys), 0);
    return c;
}

static char *write_tmp(const char *content)
{
    char *path = strdup("/tmp/keel-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, strlen(content)), (int)strlen(content));
    close(fd);
    return path;
}

static void test_defaults(void **state)
{
    keel_config *c = new_cfg();
    char err[256];
    (void)state;
    assert_int_equal(keel__config_load(c, NULL, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(keel__config_int(c, NULL, "port"), 8080);
    assert_int_equal(keel__config_int(c, "compute", "workers"), 4);
    assert_int_equal(keel__config_source(c, NULL, "port"), KEEL_SRC_DEFAULT);
    keel__config_free(c);
}

static void test_precedence(void **state)
{
    char *file = write_tmp("{\"port\": 9000, \"threads\": 3, \"log_level\": \"warn\", \"compute\": {\"workers\": 8}}");
    char *env[] = {"KEEL_PORT=9100", "KEEL_COMPUTE_WORKERS=16", "PATH=/bin", NULL};
    const char *flags[] = {"port=9200", NULL};
    keel_config *c = new_cfg();
    char err[256];
    (void)state;
    assert_int_equal(keel__config_load(c, file, env, flags, err, sizeof(err)), 0);
    assert_int_equal(keel__config_int(c, NULL, "port"), 9200);            /* flag wins */
    assert_int_equal(keel__config_source(c, NULL, "port"), KEEL_SRC_FLAG);
    assert_int_equal(keel__config_int(c, "compute", "workers"), 16);      /* env beats file */
    assert_int_equal(keel__config_source(c, "compute", "workers"), KEEL_SRC_ENV);
    assert_int_equal(keel__config_int(c, NULL, "threads"), 3);            /* file beats default */
    assert_int_equal(keel__config_source(c, NULL, "threads"), KEEL_SRC_FILE);
    assert_string_equal(keel__config_get(c, NULL, "log_level"), "warn");
    keel__config_free(c);
    unlink(file);
    free(file);
}

static void test_env_file_secret(void **state)
{
    char *secret = write_tmp("s3cr3t\n");
    char envvar[300];
    char *env[] = {envvar, NULL};
    keel_config *c = new_cfg();
    char err[256];
    json_t *dump, *e;
    size_t i;
    int seen = 0;
    (void)state;
    snprintf(envvar, sizeof(envvar), "KEEL_COMPUTE_TOKEN_FILE=%s", secret);
    assert_int_equal(keel__config_load(c, NULL, env, NULL, err, sizeof(err)), 0);
    assert_string_equal(keel__config_get(c, "compute", "token"), "s3cr3t");   /* newline trimmed */
    assert_int_equal(keel__config_source(c, "compute", "token"), KEEL_SRC_ENVFILE);
    dump = keel__config_dump(c);
    json_array_foreach(dump, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "env")), "KEEL_COMPUTE_TOKEN") == 0) {
            assert_string_equal(json_string_value(json_object_get(e, "value")), "<redacted>");
            seen = 1;
        }
    }
    assert_true(seen);
    json_decref(dump);
    keel__config_free(c);
    unlink(secret);
    free(secret);
}

static void test_invalid_values_name_key_and_source(void **state)
{
    char *env1[] = {"KEEL_PORT=abc", NULL};
    char *env2[] = {"KEEL_COMPUTE_WORKERS=999", NULL};
    char *env3[] = {"KEEL_COMPUTE_FAST=maybe", NULL};
    char *env4[] = {"KEEL_PORT=1", "KEEL_PORT_FILE=/nonexistent", NULL};
    const char *flags[] = {"nope=1", NULL};
    char err[256];
    keel_config *c;
    (void)state;

    c = new_cfg();
    assert_int_equal(keel__config_load(c, NULL, env1, NULL, err, sizeof(err)), KEEL_ECONFIG);
    assert_non_null(strstr(err, "KEEL_PORT"));
    assert_non_null(strstr(err, "environment"));
    keel__config_free(c);

    c = new_cfg();
    assert_int_equal(keel__config_load(c, NULL, env2, NULL, err, sizeof(err)), KEEL_ECONFIG);
    assert_non_null(strstr(err, "out of range"));
    keel__config_free(c);

    c = new_cfg();
    assert_int_equal(keel__config_load(c, NULL, env3, NULL, err, sizeof(err)), KEEL_ECONFIG);
    assert_non_null(strstr(err, "KEEL_COMPUTE_FAST"));
    keel__config_free(c);

    c = new_cfg();
    assert_int_equal(keel__config_load(c, NULL, env4, NULL, err, sizeof(err)), KEEL_ECONFIG);
    keel__config_free(c);

    c = new_cfg();
    assert_int_equal(keel__config_load(c, NULL, NULL, flags, err, sizeof(err)), KEEL_ECONFIG);
    assert_non_null(strstr(err, "--nope"));
    keel__config_free(c);
}

static void test_bad_file(void **state)
{
    char *bad = write_tmp("{\"port\": ");
    char *unknown = write_tmp("{\"prot\": 1}");
    char err[256];
    keel_config *c;
    (void)state;
    c = new_cfg();
    assert_int_equal(keel__config_load(c, bad, NULL, NULL, err, sizeof(err)), KEEL_ECONFIG);
    keel__config_free(c);
    c = new_cfg();
    assert_int_equal(keel__config_load(c, unknown, NULL, NULL, err, sizeof(err)), KEEL_ECONFIG);
    assert_non_null(strstr(err, "prot"));
    keel__config_free(c);
    c = new_cfg();
    assert_int_equal(keel__config_load(c, "/nonexistent/keel.json", NULL, NULL, err, sizeof(err)), KEEL_ECONFIG);
    keel__config_free(c);
    unlink(bad); unlink(unknown);
    free(bad); free(unknown);
}

static void test_unknown_env_is_only_a_warning(void **state)
{
    char *env[] = {"KEEL_PROT=1", NULL};
    char err[256];
    keel_config *c = new_cfg();
    (void)state;
    assert_int_equal(keel__config_load(c, NULL, env, NULL, err, sizeof(err)), 0);
    keel__config_free(c);
}

/* Knobs that used to be raw getenv calls are ordinary keys now: they come
 * from the file, the environment, _FILE and flags, and are checked. */
static void test_former_getenv_knobs(void **state)
{
    char *path = write_tmp("{\"health_host\":\"10.0.0.9\",\"store_busy_ms\":250,"
                           "\"store_cache\":false,\"call_log\":\"/tmp/calls\"}");
    char *secret = write_tmp("extra\n");
    char env_file[128];
    char *env[] = {"KEEL_STORE_SYNC=normal", "KEEL_CHECK_OUTPUT=1", env_file, NULL};
    const char *flags[] = {"store_busy_ms=300", NULL};
    char *bad_env[] = {"KEEL_STORE_BUSY_MS=0", NULL};
    char err[256];
    keel_config *c = new_cfg();
    (void)state;

    assert_string_equal(keel__config_get(c, NULL, "health_host"), "127.0.0.1");
    assert_string_equal(keel__config_get(c, NULL, "store_sync"), "full");
    assert_int_equal(keel__config_int(c, NULL, "store_busy_ms"), 5000);
    assert_true(keel__config_bool(c, NULL, "store_cache"));
    snprintf(env_file, sizeof env_file, "KEEL_STORE_SYNC_FILE=%s", secret);
    env[2] = NULL;   /* KEEL_STORE_SYNC and its _FILE together are refused: see below */
    assert_int_equal(keel__config_load(c, path, env, flags, err, sizeof(err)), 0);
    assert_string_equal(keel__config_get(c, NULL, "health_host"), "10.0.0.9");
    assert_int_equal(keel__config_source(c, NULL, "health_host"), KEEL_SRC_FILE);
    assert_false(keel__config_bool(c, NULL, "store_cache"));
    assert_string_equal(keel__config_get(c, NULL, "call_log"), "/tmp/calls");
    assert_string_equal(keel__config_get(c, NULL, "store_sync"), "normal");
    assert_int_equal(keel__config_source(c, NULL, "store_sync"), KEEL_SRC_ENV);
    assert_true(keel__config_bool(c, NULL, "check_output"));
    assert_int_equal(keel__config_int(c, NULL, "store_busy_ms"), 300);
    assert_int_equal(keel__config_source(c, NULL, "store_busy_ms"), KEEL_SRC_FLAG);
    keel__config_free(c);

    c = new_cfg();
    env[0] = env_file;
    env[1] = NULL;
    assert_int_equal(keel__config_load(c, NULL, env, NULL, err, sizeof(err)), 0);
    assert_string_equal(keel__config_get(c, NULL, "store_sync"), "extra");
    assert_int_equal(keel__config_source(c, NULL, "store_sync"), KEEL_SRC_ENVFILE);
    keel__config_free(c);

    c = new_cfg();
    assert_int_equal(keel__config_load(c, NULL, bad_env, NULL, err, sizeof(err)), KEEL_ECONFIG);
    assert_non_null(strstr(err, "KEEL_STORE_BUSY_MS=0"));
    keel__config_free(c);
    unlink(path);
    unlink(secret);
    free(path);
    free(secret);
}

static void test_envname(void **state)
{
    char buf[64];
    (void)state;
    keel__config_envname("compute", "workers", buf, sizeof(buf));
    assert_string_equal(buf, "KEEL_COMPUTE_WORKERS");
    keel__config_envname(NULL, "max_body", buf, sizeof(buf));
    assert_string_equal(buf, "KEEL_MAX_BODY");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_env_file_secret),
        cmocka_unit_test(test_invalid_values_name_key_and_source),
        cmocka_unit_test(test_bad_file),
        cmocka_unit_test(test_unknown_env_is_only_a_warning),
        cmocka_unit_test(test_former_getenv_knobs),
        cmocka_unit_test(test_envname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
