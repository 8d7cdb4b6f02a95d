/*
 * test_schema_files.c — the repository's own schema files against keel's
 * JSON Schema subset: each compiles, every built-in method has an input
 * schema and its schemas compile, every topic has a payload schema, and no
 * schema file is an orphan that no method or topic uses.
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
        cmocka_unit_test(test_repository_schemas_compile),
        cmocka_unit_test(test_builtin_methods_have_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
