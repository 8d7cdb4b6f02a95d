/*
 * cli_call.c — calling methods from the command line.
 *
 *   keel call MODULE.METHOD [JSON | @FILE | -]
 *   keel MODULE METHOD [--key value | --key=value | --key @FILE]... [--json JSON]
 *
 * Both run as the local operator (no token: whoever can run the binary owns
 * the data) and go through the same dispatch as HTTP: placement, schema,
 * handler.  Flags are mapped to the method's input schema by type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/cli-internal.h"
#include "api/remote-internal.h"
#include "core/schema-internal.h"

/* --owner EMAIL: the principal of that user, looked up through auth by the
 * operator.  0 or an exit status (message printed). */
static int keel_cli_as_owner(keel_ctx *ctx, const char *email)
{
    json_t *in = json_pack("{s:s}", "email", email), *user = NULL;
    int rc;

    if (in == NULL)
        return KEEL_EXIT_RUNTIME;
    rc = keel_call(ctx, "auth", "lookup_user", in, &user);
    json_decref(in);
    if (rc != 0)
        return keel__cli_fail(ctx, rc, "--owner");
    keel__ctx_set_principal_new(ctx, json_pack("{s:O, s:O, s:O, s:b}", "user_id",
                                               json_object_get(user, "user_id"), "email",
                                               json_object_get(user, "email"), "scopes",
                                               json_object_get(user, "scopes"), "cli", 1));
    json_decref(user);
    return keel_ctx_principal(ctx) != NULL ? 0 : KEEL_EXIT_RUNTIME;
}

/* Runs one call as the operator (or owner, see --owner) and prints the
 * result; returns the exit status. */
static int keel_cli_invoke(keel_runtime *rt, const char *owner, const char *module,
                           const char *method, json_t *in, const char *raw, size_t raw_len)
{
    keel_ctx *ctx = keel__cli_trace_ctx(rt);
    json_t *out = NULL;
    char what[256];
    int rc;
    if (ctx == NULL) {
        fprintf(stderr, "keel: out of memory\n");
        return KEEL_EXIT_RUNTIME;
    }
    keel__ctx_set_principal_new(ctx, json_pack("{s:b, s:[s]}", "operator", 1, "scopes", "admin"));
    if (owner != NULL && (rc = keel_cli_as_owner(ctx, owner)) != 0) {
        keel__ctx_free(ctx);
        return rc;
    }
    if (raw != NULL)
        keel__ctx_set_raw(ctx, raw, raw_len, "text/plain");
    rc = keel__call_root(ctx, module, method, in, &out);
    if (rc == 0) {
        /* a KEEL_RAW_OUT method's bytes (a download) go to stdout as they are */
        size_t raw_out_len = 0;
        const char *raw_ct, *raw_enc;
        void *raw_out = keel__ctx_take_raw_out(ctx, &raw_out_len, &raw_ct, &raw_enc);
        if (raw_out != NULL) {
            if (fwrite(raw_out, 1, raw_out_len, stdout) != raw_out_len || fflush(stdout) != 0) {
                fprintf(stderr, "keel: %s.%s: cannot write the answer to stdout\n", module, method);
                rc = KEEL_EXIT_RUNTIME;
            }
            free(raw_out);
        } else {
            keel__cli_print_json(out);
        }
    } else {
        snprintf(what, sizeof(what), "%s.%s", module, method);
        rc = keel__cli_fail(ctx, rc, what);
    }
    json_decref(out);
    keel__ctx_free(ctx);
    return rc;
}

/* Starts the runtime for one module (and its dependencies) when it runs here. */
static int keel_cli_runtime_for(const keel_cli_opts *o, const char *module, keel_runtime **rt)
{
    keel_runtime *probe;
    keel_module_ctx *mc;
    const char *only[3] = {module, o->owner ? "auth" : NULL, NULL};
    const char *none[1] = {NULL};
    int rc;
    if ((rc = keel__cli_runtime(o, NULL, 0, &probe)) != 0)
        return rc;
    mc = keel__rt_find(probe, module);
    if (mc == NULL) {
        fprintf(stderr, "keel: unknown command or module '%s' (see keel --help, keel modules)\n", module);
        keel__remote_uninstall(probe);
        keel__rt_free(probe);
        return KEEL_EXIT_USAGE;
    }
    {
        keel_placement p = keel__mc_placement(mc);
        char err[1024] = "";
        rc = keel__rt_start(probe, p == KEEL_PLACE_LOCAL ? only : o->owner ? only + 1 : none,
                            err, sizeof(err));
        if (rc != 0) {
            fprintf(stderr, "keel: start: %s\n", err);
            keel__remote_uninstall(probe);
            keel__rt_free(probe);
            return keel_exit_status(rc);
        }
    }
    keel__cli_trace_start(probe);
    *rt = probe;
    return 0;
}

static void keel_cli_done(keel_runtime *rt)
{
    keel__cli_trace_stop();   /* the command's spans go out before modules stop */
    keel__rt_stop(rt);
    keel__remote_uninstall(rt);
    keel__rt_free(rt);
}

int keel__cli_call(const keel_cli_opts *o, int argc, char **argv)
{
    char module[128], *dot, *text = NULL;
    const char *method;
    json_t *in = NULL;
    json_error_t jerr;
    keel_runtime *rt = NULL;
    size_t len = 0;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || argc > 3) {
        FILE *f = (argc >= 2 && strcmp(argv[1], "--help") == 0) ? stdout : stderr;
        fprintf(f, "usage: keel call MODULE.METHOD [JSON | @FILE | -]\n\n"
                   "Calls a method with a JSON object input (default {}), as the local operator.\n"
                   "Example: keel call kv.put '{\"key\":\"a\",\"value\":\"1\"}'\n");
        return f == stdout ? 0 : KEEL_EXIT_USAGE;
    }
    snprintf(module, sizeof(module), "%s", argv[1]);
    if ((dot = strchr(module, '.')) == NULL || dot == module || dot[1] == '\0') {
        fprintf(stderr, "keel call: expected MODULE.METHOD, got '%s'\n", argv[1]);
        return KEEL_EXIT_USAGE;
    }
    *dot = '\0';
    method = dot + 1;
    if (argc == 3) {
        const char *src = argv[2];
        if (src[0] == '@' || strcmp(src, "-") == 0) {
            const char *path = src[0] == '@' ? src + 1 : "-";
            if ((text = keel__cli_slurp(path, &len)) == NULL) {
                fprintf(stderr, "keel call: cannot read %s\n", path);
                return KEEL_EXIT_DATA;
            }
            in = json_loadb(text, len, 0, &jerr);
        } else {
            in = json_loads(src, 0, &jerr);
        }
        if (in == NULL) {
            fprintf(stderr, "keel call: invalid JSON input: %s (line %d, column %d)\n", jerr.text,
                    jerr.line, jerr.column);
            free(text);
            return KEEL_EXIT_DATA;
        }
    }
    if ((rc = keel_cli_runtime_for(o, module, &rt)) == 0) {
        rc = keel_cli_invoke(rt, o->owner, module, method, in, NULL, 0);
        keel_cli_done(rt);
    }
    json_decref(in);
    free(text);
    return rc;
}

static void keel_cli_module_help(keel_runtime *rt, keel_module_ctx *mc)
{
    const keel_module *d = keel_module_desc(mc);
    const keel_method *m;
    (void)rt;
    printf("usage: keel %s METHOD [--key value]...\n\n%s\n\nmethods:\n", d->name, d->summary ? d->summary : "");
    for (m = d->methods; m != NULL && m->name != NULL; m++)
        if (!(m->flags & KEEL_INTERNAL))
            printf("  %-18s %s\n", m->name, m->summary ? m->summary : "");
    printf("\n`keel %s METHOD --help` shows a method's options.\n", d->name);
}

static void keel_cli_method_help(keel_module_ctx *mc, const keel_method *m)
{
    const keel_schema *s = keel__mc_in_schema(mc, m);
    const json_t *sj = s ? keel__schema_json(s) : NULL;
    const json_t *props = json_object_get(sj, "properties"), *req = json_object_get(sj, "required");
    const char *k;
    json_t *v;
    printf("usage: keel %s %s [--key value]... [--json JSON]\n\n%s\n", keel_module_name(mc), m->name,
           m->summary ? m->summary : "");
    if (json_object_size(props) > 0)
        printf("\noptions (from the input schema):\n");
    json_object_foreach((json_t *)props, k, v) {
        const json_t *t = json_object_get(v, "type"), *r;
        size_t i;
        int required = 0;
        json_array_foreach(req, i, r)
            if (json_is_string(r) && strcmp(json_string_value(r), k) == 0)
                required = 1;
        printf("  --%-16s %-8s %s%s\n", k, json_is_string(t) ? json_string_value(t) : "any",
               required ? "(required) " : "",
               json_is_string(json_object_get(v, "description")) ?
                   json_string_value(json_object_get(v, "description")) : "");
    }
    if (m->flags & KEEL_RAW_IN)
        printf("\n  --%s @FILE reads the %s text from a file (- for stdin).\n",
               m->raw_field ? m->raw_field : "body", m->raw_types ? m->raw_types : "raw");
    printf("\non a server: --url http://HOST:PORT [--token-file FILE] (else the token in KEEL_TOKEN)\n");
    if (m->flags & KEEL_RAW_IN)
        printf("  several files: --%s @A --%s @B …, or -- FILE…: one call per file, one JSON\n"
               "  line each in input order; -j N calls at once (default 1);\n"
               "  --from-name FIELD=FORMAT sets FIELD from the date in each file's name\n"
               "  (strptime FORMAT, e.g. started_at=%%Y-%%m-%%d_%%H%%M), or --from-column\n"
               "  FIELD=COLUMN from the first row's COLUMN in Unix seconds (or ms); the exit\n"
               "  status is the first failed file's.\n",
               m->raw_field ? m->raw_field : "body", m->raw_field ? m->raw_field : "body");
}

int keel__cli_flags_to_input(keel_module_ctx *mc, const keel_method *m, int argc, char **argv,
                             json_t **inp, char **blob, size_t *blob_len)
{
    const keel_schema *s = keel__mc_in_schema(mc, m);
    json_t *in = json_object();
    json_error_t jerr;
    int i;
    *inp = NULL;
    for (i = 0; i < argc; i++) {
        char key[128];
        const char *a = argv[i], *val, *eq;
        char *file = NULL;
        json_t *v = NULL;
        char err[512];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            fprintf(stderr, "keel %s %s: unexpected argument '%s' (options are --key value)\n",
                    keel_module_name(mc), m->name, a);
            goto fail;
        }
        if ((eq = strchr(a, '=')) != NULL) {
            snprintf(key, sizeof(key), "%.*s", (int)(eq - a - 2), a + 2);
            val = eq + 1;
        } else {
            snprintf(key, sizeof(key), "%s", a + 2);
            if (i + 1 >= argc) {
                fprintf(stderr, "keel %s %s: --%s needs a value\n", keel_module_name(mc), m->name, key);
                goto fail;
            }
            val = argv[++i];
        }
        if (strcmp(key, "json") == 0) {
            json_t *base = json_loads(val, 0, &jerr);
            if (!json_is_object(base)) {
                fprintf(stderr, "keel: --json: expected a JSON object (%s)\n", base ? "not an object" : jerr.text);
                json_decref(base);
                json_decref(in);
                return KEEL_EXIT_DATA;
            }
            json_object_update_missing(in, base);
            json_decref(base);
            continue;
        }
        if (val[0] == '@') {
            size_t len = 0;
            if ((file = keel__cli_slurp(val + 1, &len)) == NULL) {
                fprintf(stderr, "keel: --%s: cannot read %s\n", key, val + 1);
                json_decref(in);
                return KEEL_EXIT_DATA;
            }
            if ((m->flags & KEEL_RAW_IN) && m->raw_field && strcmp(key, m->raw_field) == 0 && blob) {
                free(*blob);
                *blob = file; /* handed to the ctx as the raw body: no JSON copy */
                *blob_len = len; /* a .csv.gz holds NUL bytes: not strlen */
                continue;
            }
            val = file;
        }
        if (s != NULL) {
            if (keel__schema_coerce(s, key, val, &v, err, sizeof(err)) != 0) {
                fprintf(stderr, "keel %s %s: %s\n", keel_module_name(mc), m->name, err);
                free(file);
                json_decref(in);
                return KEEL_EXIT_DATA;
            }
        } else {
            v = json_string(val);
        }
        free(file);
        json_object_set_new(in, key, v);
    }
    *inp = in;
    return 0;
fail:
    json_decref(in);
    return KEEL_EXIT_USAGE;
}

int keel__cli_module(const keel_cli_opts *o, int argc, char **argv)
{
    keel_runtime *rt = NULL;
    keel_module_ctx *mc;
    const keel_method *m;
    const keel_module *d;
    json_t *in = NULL;
    char *blob = NULL;
    size_t blob_len = 0;
    int rc;

    /* --url: the call goes to a server over HTTP (cli_remote.c); nothing
     * starts here, no local database is opened */
    if (keel__cli_remote_wanted(argc, argv))
        return keel__cli_remote(o, argc, argv);
    if ((rc = keel_cli_runtime_for(o, argv[0], &rt)) != 0)
        return rc;
    mc = keel__rt_find(rt, argv[0]);
    d = keel_module_desc(mc);
    if (d->cli != NULL && argc >= 2) {
        keel_ctx *ctx = keel__ctx_new(rt, KEEL_TR_CLI, NULL, 0);
        if (ctx == NULL) {
            rc = KEEL_EXIT_RUNTIME;
            goto out;
        }
        keel__ctx_set_principal_new(ctx, json_pack("{s:b, s:[s]}", "operator", 1, "scopes", "admin"));
        keel__ctx_set_callee(ctx, mc);
        rc = d->cli(ctx, argc - 1, argv + 1);
        keel__ctx_free(ctx);
        if (rc != KEEL_CLI_PASS)
            goto out;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        keel_cli_module_help(rt, mc);
        rc = argc < 2 ? KEEL_EXIT_USAGE : 0;
        goto out;
    }
    if ((m = keel__mc_method(mc, argv[1])) == NULL || (m->flags & KEEL_INTERNAL)) {
        fprintf(stderr, "keel: module '%s' has no method '%s' (keel %s --help)\n", d->name, argv[1], d->name);
        rc = KEEL_EXIT_USAGE;
        goto out;
    }
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        keel_cli_method_help(mc, m);
        rc = 0;
        goto out;
    }
    if ((rc = keel__cli_flags_to_input(mc, m, argc - 2, argv + 2, &in, &blob, &blob_len)) != 0)
        goto out;
    if (blob != NULL && (rc = keel__cli_gunzip_file(rt, &blob, &blob_len)) != 0)
        goto out;
    rc = keel_cli_invoke(rt, o->owner, d->name, m->name, in, blob, blob_len);
out:
    json_decref(in);
    free(blob);
    keel_cli_done(rt);
    return rc;
}
