/*
 * blob_bench.c — what storing and reading back one gzip member costs in
 * memory through the store (issue 23), the two ways riding has done it:
 *
 *   old  the member as base64 text in a JSON string, stored with
 *        decode($1, 'base64'); read back as a row whose BLOB is base64 text
 *        (keel_store_one), decoded (riding's code before keel_store_exec_blob)
 *   new  keel_store_exec_blob / keel_store_one_blob: the bytes as they are
 *
 * usage: keel_bench_blob old|new GZIP_FILE DB_URL
 * One way per process (run.sh runs each in its own, on a fresh database):
 * the file is read into memory first (the caller holds the member either
 * way), then for the store and for the read the process's peak RSS is
 * reset (/proc/self/clear_refs 5) and VmHWM minus VmRSS just before is
 * printed, in bytes and as a multiple of the member's size.  The read's
 * growth includes the buffer it returns (what the caller then holds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <openssl/evp.h>

#include "keel/keel.h"
#include "core/store-internal.h"

/* VmRSS or VmHWM of this process, bytes. */
static long long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long long kb = -1;
    size_t n = strlen(key);

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            kb = atoll(line + n + 1);
    fclose(f);
    return kb * 1024;
}

/* Starts a measurement: RSS now, peak reset to it. */
static long long mark(void)
{
    FILE *f;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    f = fopen("/proc/self/clear_refs", "w");
    if (f == NULL || fputs("5", f) < 0) {
        fprintf(stderr, "cannot reset the peak RSS (/proc/self/clear_refs)\n");
        exit(2);
    }
    fclose(f);
    return status_kb("VmRSS");
}

static int store_old(keel_store *st, const unsigned char *gz, size_t n)
{
    size_t b64len = 4 * ((n + 2) / 3);
    unsigned char *text = malloc(b64len + 1);
    json_t *p;
    int rc;

    if (text == NULL)
        return KEEL_ENOMEM;
    EVP_EncodeBlock(text, gz, (int)n);
    p = json_pack("[s%]", (const char *)text, b64len);
    free(text);
    if (p == NULL)
        return KEEL_ENOMEM;
    rc = keel_store_exec(st, "INSERT INTO bench_blobs (k, b) VALUES (1, decode($1, 'base64'))",
                         p, NULL);
    json_decref(p);
    return rc;
}

static int read_old(keel_store *st, unsigned char **out, size_t *len)
{
    json_t *row = NULL, *b;
    const char *t;
    size_t n;
    int got, rc = keel_store_one(st, "SELECT b FROM bench_blobs WHERE k = 1", NULL, &row);

    if (rc != 0)
        return rc;
    b = json_object_get(row, "b");
    t = json_string_value(b);
    n = json_string_length(b);
    if (t == NULL || n % 4 != 0 || (*out = malloc(n / 4 * 3 + 1)) == NULL) {
        json_decref(row);
        return KEEL_ESTORE;
    }
    got = EVP_DecodeBlock(*out, (const unsigned char *)t, (int)n);
    got -= (n >= 1 && t[n - 1] == '=') + (n >= 2 && t[n - 2] == '=');
    *len = (size_t)got;
    json_decref(row);
    return 0;
}

int main(int argc, char **argv)
{
    static const keel_migration migs[] = {
        {1, "0001_blobs", "CREATE TABLE bench_blobs (k INTEGER NOT NULL, b BLOB);"}, {0}};
    keel_store *st = NULL;
    unsigned char *gz = NULL, *back = NULL;
    size_t n = 0, blen = 0;
    long long base, store_peak, read_peak;
    char err[512];
    json_t *p;
    FILE *f;
    int old, rc;

    if (argc != 4 || (strcmp(argv[1], "old") != 0 && strcmp(argv[1], "new") != 0)) {
        fprintf(stderr, "usage: %s old|new GZIP_FILE DB_URL\n", argv[0]);
        return 2;
    }
    old = strcmp(argv[1], "old") == 0;
    if ((f = fopen(argv[2], "rb")) == NULL) {
        fprintf(stderr, "cannot open %s\n", argv[2]);
        return 2;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (n = (size_t)ftell(f)) == 0 ||
        fseek(f, 0, SEEK_SET) != 0 || (gz = malloc(n)) == NULL || fread(gz, 1, n, f) != n) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        fclose(f);
        free(gz);
        return 2;
    }
    fclose(f);
    if (keel__store_open_url(argv[3], "bench", &st, err, sizeof err) != 0 ||
        keel__store_migrate(st, "bench", migs, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "store: %s\n", err);
        keel_store_close(st);
        free(gz);
        return 2;
    }

    base = mark();
    if (old) {
        rc = store_old(st, gz, n);
    } else {
        p = json_pack("[n]");
        rc = keel_store_exec_blob(st, "INSERT INTO bench_blobs (k, b) VALUES (1, $1)", p, 1,
                                  gz, n, NULL);
        json_decref(p);
    }
    store_peak = status_kb("VmHWM") - base;
    if (rc != 0) {
        fprintf(stderr, "store: %s (%s)\n", keel_strerror(rc), keel_store_errmsg(st));
        return 1;
    }

    base = mark();
    if (old) {
        rc = read_old(st, &back, &blen);
    } else {
        void *v = NULL;
        rc = keel_store_one_blob(st, "SELECT b FROM bench_blobs WHERE k = 1", NULL, &v, &blen);
        back = v;
    }
    read_peak = status_kb("VmHWM") - base;
    if (rc != 0 || blen != n || memcmp(back, gz, n) != 0) {
        fprintf(stderr, "read: %s (%s), %zu bytes back of %zu\n", keel_strerror(rc),
                keel_store_errmsg(st), blen, n);
        return 1;
    }
    printf("%s %s: member %zu bytes; store +%lld bytes (%.2f x), read +%lld bytes (%.2f x)\n",
           argv[1], keel_store_backend_name(st), n, store_peak, (double)store_peak / (double)n,
           read_peak, (double)read_peak / (double)n);
    free(back);
    free(gz);
    keel_store_close(st);
    return 0;
}
