/*
 * fuzz_config.c — the configuration layers (src/core/config.c): a JSON config
 * file, environment variables (KEEL_…, KEEL_…_FILE) and --name=value flags
 * over the core's own keys plus a module's and a dynamic one.
 *
 * Input: four NUL-separated parts: the config file's bytes, environment
 * lines ("K=V", newline separated), flag lines ("name=value" or
 * "module.name=value"), and the bytes of the file every KEEL_…_FILE
 * variable names (the harness points them all at it: a fuzzer must not read
 * the machine's files or block on a pipe).  Checked: no crash or sanitizer
 * report; on success every integer key holds a decimal integer in its
 * range, every boolean "true" or "false", and a flag's key says it came
 * from a flag; on failure the message is non-empty.  keel_log is stubbed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "keel/error.h"
#include "keel/log.h"
#include "core/config-internal.h"

void keel_log(keel_ctx *ctx, keel_log_level lvl, const char *fmt, ...)
{
    (void)ctx; (void)lvl; (void)fmt;
}

static const keel_config_key mod_keys[] = {
    {.name = "workers", .type = KEEL_CFG_INT, .def = "2", .min = 1, .max = 64, .help = "w"},
    {.name = "strict", .type = KEEL_CFG_BOOL, .def = "false", .help = "s"},
    {.name = "secret", .type = KEEL_CFG_STRING, .def = "", .flags = KEEL_SECRET, .help = "x"},
    {.name = "anyint", .type = KEEL_CFG_INT, .def = "0", .help = "unbounded (min == max)"},
    {0}
};
static const keel_config_key dyn_key = {.name = "remote_compute", .type = KEEL_CFG_STRING,
                                        .def = "", .help = "dynamic"};

static int file_fd = -1, secret_fd = -1;
static char file_path[64], secret_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    file_fd = memfd_create("keel-config", 0);
    secret_fd = memfd_create("keel-secret", 0);
    if (file_fd < 0 || secret_fd < 0)
        abort();
    snprintf(file_path, sizeof file_path, "/proc/self/fd/%d", file_fd);
    snprintf(secret_path, sizeof secret_path, "/proc/self/fd/%d", secret_fd);
    return 0;
}

static void put(int fd, const uint8_t *d, size_t n)
{
    if (ftruncate(fd, 0) != 0 || (n > 0 && pwrite(fd, d, n, 0) != (ssize_t)n))
        abort();
}

/* Splits [p, p+n) at '\n' into NUL-terminated strings in out (max entries). */
static size_t lines(char *p, size_t n, char **out, size_t max)
{
    size_t k = 0;
    char *end = p + n, *s = p;
    while (s < end && k < max) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        if (nl == NULL)
            nl = end;
        *nl = '\0';
        out[k++] = s;
        s = nl + 1;
    }
    out[k] = NULL;
    return k;
}

static void check_key(const keel_config *cfg, const char *scope, const keel_config_key *k)
{
    const char *v = keel__config_get(cfg, scope, k->name);
    char *end;
    long long n;

    if (v == NULL)
        return;
    if (k->type == KEEL_CFG_INT) {
        errno = 0;
        n = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0' || errno != 0)
            abort();                   /* an integer key holds a non-integer */
        if (k->min < k->max && (n < k->min || n > k->max))
            abort();                   /* out of its declared range */
        if (keel__config_int(cfg, scope, k->name) != n)
            abort();
    } else if (k->type == KEEL_CFG_BOOL) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *part[4] = {0};
    size_t plen[4] = {0}, off = 0;
    char *envbuf = NULL, *flagbuf = NULL, *env[65], *flags[65], *envp[65];
    char subst[65][160];
    keel_config *cfg = NULL;
    char err[512];
    json_t *dump = NULL;
    size_t i, ne, nf;
    int p, rc;

    if (size > 65536)
        return 0;
    for (p = 0; p < 4; p++) {
        const uint8_t *z = off < size ? memchr(data + off, '\0', size - off) : NULL;
        size_t e = z ? (size_t)(z - data) : size;
        part[p] = data + (off < size ? off : size);
        plen[p] = off < size ? e - off : 0;
        off = e + 1;
    }
    put(file_fd, part[0], plen[0]);
    put(secret_fd, part[3], plen[3]);
    envbuf = malloc(plen[1] + 1);
    flagbuf = malloc(plen[2] + 1);
    if (envbuf == NULL || flagbuf == NULL)
        abort();
    memcpy(envbuf, part[1], plen[1]);
    memcpy(flagbuf, part[2], plen[2]);
    ne = lines(envbuf, plen[1], env, 64);
    nf = lines(flagbuf, plen[2], flags, 64);
    /* every …_FILE variable reads the fuzzer's secret file */
    for (i = 0; i < ne; i++) {
        const char *eq = strchr(env[i], '=');
        envp[i] = env[i];
        if (eq != NULL && eq - env[i] > 5 && eq - env[i] < 100 && memcmp(eq - 5, "_FILE", 5) == 0) {
            snprintf(subst[i], sizeof subst[i], "%.*s=%s", (int)(eq - env[i]), env[i], secret_path);
            envp[i] = subst[i];
        }
    }
    envp[ne] = NULL;

    if ((cfg = keel__config_new()) == NULL ||
        keel__config_declare(cfg, NULL, keel_core_config_keys) != 0 ||
        keel__config_declare(cfg, "compute", mod_keys) != 0 ||
        keel__config_declare_one(cfg, NULL, &dyn_key) != 0)
        abort();
    err[0] = '\0';
    rc = keel__config_load(cfg, plen[0] > 0 ? file_path : NULL, envp,
                           (const char *const *)flags, err, sizeof err);
    if (rc != 0) {
        if (rc != KEEL_ECONFIG || err[0] == '\0')
            abort();
        goto out;
    }
    for (i = 0; keel_core_config_keys[i].name != NULL; i++)
        check_key(cfg, NULL, &keel_core_config_keys[i]);
    for (i = 0; mod_keys[i].name != NULL; i++)
        check_key(cfg, "compute", &mod_keys[i]);
    /* a flag that named a key and was accepted is where that key came from */
    for (i = 0; i < nf; i++) {
        const char *eq = strchr(flags[i], '='), *dot;
        char name[128];
        if (eq == NULL)
            continue;
        dot = memchr(flags[i], '.', (size_t)(eq - flags[i]));
        if (dot == NULL && (size_t)(eq - flags[i]) < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - flags[i]), flags[i]);
            if (keel__config_get(cfg, NULL, name) != NULL &&
                keel__config_source(cfg, NULL, name) != KEEL_SRC_FLAG)
                abort();
        }
    }
    dump = keel__config_dump(cfg);
    if (dump == NULL)
        abort();
out:
    json_decref(dump);
    keel__config_free(cfg);
    free(envbuf);
    free(flagbuf);
    return 0;
}
