/*
 * cli_util.c — what every CLI command shares: building the runtime,
 * reporting errors, reading input files, printing JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/cli-internal.h"
#include "api/remote-internal.h"

extern char **environ;

int keel__cli_fail(keel_ctx *ctx, int err, const char *what)
{
    const char *msg = ctx ? keel_ctx_errmsg(ctx) : NULL;
    fprintf(stderr, "keel: %s%s%s: %s\n", what ? what : "", what ? ": " : "", keel_errname(err),
            msg ? msg : keel_strerror(err));
    return keel_exit_status(err);
}

const char *keel_cli_opt(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    const char *a = argv[*i];

    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int keel__cli_runtime(const keel_cli_opts *o, const char *const *only, int start_all,
                      keel_runtime **out)
{
    keel_runtime *rt = NULL;
    char err[1024] = "";
    int rc;

    *out = NULL;
    if ((rc = keel__rt_new(keel_builtin_modules, &rt, err, sizeof(err))) != 0) {
        fprintf(stderr, "keel: registry: %s\n", err);
        return keel_exit_status(rc);
    }
    if ((rc = keel__rt_configure(rt, o->config_file, environ, o->flags, err, sizeof(err))) != 0) {
        fprintf(stderr, "keel: configuration: %s\n", err);
        if (strstr(err, "unknown configuration key") != NULL)
            fprintf(stderr, "keel: `keel config` lists keel's own keys (--set, --name=value); "
                            "a command's own options follow it (compute: --opt key=value)\n");
        keel__rt_free(rt);
        return KEEL_EXIT_USAGE;
    }
    if ((rc = keel__remote_install(rt, err, sizeof(err))) != 0) {
        fprintf(stderr, "keel: placement: %s\n", err);
        keel__rt_free(rt);
        return KEEL_EXIT_USAGE;
    }
    if ((only != NULL || start_all) && (rc = keel__rt_start(rt, only, err, sizeof(err))) != 0) {
        fprintf(stderr, "keel: start: %s\n", err);
        keel__remote_uninstall(rt);
        keel__rt_free(rt);
        return keel_exit_status(rc);
    }
    *out = rt;
    return 0;
}

char *keel__cli_slurp(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    char *buf = NULL, *nb;
    size_t n = 0, cap = 0, r;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 131072;
            if ((nb = realloc(buf, cap + 1)) == NULL) {
                free(buf);
                buf = NULL;
                goto out;
            }
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        buf = NULL;
        goto out;
    }
    buf[n] = '\0';
    *len = n;
out:
    if (f != stdin)
        fclose(f);
    return buf;
}

void keel__cli_print_json(const json_t *v)
{
    size_t flags = isatty(STDOUT_FILENO) ? JSON_INDENT(2) : JSON_COMPACT;
    json_dumpf(v, stdout, flags | JSON_ENCODE_ANY);
    fputc('\n', stdout);
    fflush(stdout);
}

