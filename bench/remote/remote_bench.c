/*
 * remote_bench.c — what placement costs: latency of one call to echo.echo
 *   (a) in-process keel_call,
 *   (b) keel_call routed to a keel process on loopback (the remote client),
 *   (c) the same HTTP POST with the same socket code and JSON work but no
 *       keel_call (keel__http_request on a keep-alive connection),
 * then the ratio b/c.  (b) and (c) alternate call by call so both see the
 * same machine.  Usage: remote_bench PORT [N] — PORT runs `keel serve` with
 * echo local.  Built and run by bench/remote/run.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/remote-internal.h"

typedef struct series {
    const char *name;
    int64_t    *ns;
    size_t      n;
} series;

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(const series *s, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)(s->n - 1) + 0.5);
    return (double)s->ns[i] / 1000.0;
}

static void report(series *s, double *p50, double *p99)
{
    double sum = 0;
    size_t i;

    qsort(s->ns, s->n, sizeof(int64_t), cmp_i64);
    for (i = 0; i < s->n; i++)
        sum += (double)s->ns[i];
    *p50 = pct(s, 50);
    *p99 = pct(s, 99);
    printf("| %-34s | %7zu | %9.2f | %9.2f | %9.2f | %9.2f |\n", s->name, s->n,
           sum / (double)s->n / 1000.0, *p50, *p99, (double)s->ns[s->n - 1] / 1000.0);
}

static keel_runtime *runtime(char **envp, int start)
{
    static const char *const only[] = { "echo", NULL };
    keel_runtime *rt = NULL;
    char err[512];

    if (keel__rt_new(keel_builtin_modules, &rt, err, sizeof(err)) != 0 ||
        keel__rt_configure(rt, NULL, envp, NULL, err, sizeof(err)) != 0 ||
        keel__remote_install(rt, err, sizeof(err)) != 0 ||
        (start && keel__rt_start(rt, only, err, sizeof(err)) != 0)) {
        fprintf(stderr, "remote_bench: runtime: %s\n", err);
        exit(1);
    }
    return rt;
}

static int call_once(keel_ctx *ctx, const json_t *in)
{
    json_t *out = NULL;
    int rc = keel_call(ctx, "echo", "echo", in, &out);

    if (rc == 0 && !json_equal(in, out))
        rc = KEEL_EINTERNAL;
    if (rc)
        fprintf(stderr, "remote_bench: echo.echo: %s: %s\n", keel_errname(rc),
                keel_ctx_errmsg(ctx) ? keel_ctx_errmsg(ctx) : "");
    json_decref(out);
    return rc;
}

static int raw_once(keel_http_pool *p, const json_t *in)
{
    static const char *const base[] = { "Content-Type: application/json", "Accept: application/json",
                                        "X-Keel-Caller: keel", "X-Request-Id: r-bench-raw" };
    const char *headers[6];
    char dl[64], err[256];
    keel_http_reply rep;
    json_t *out = NULL;
    char *body = json_dumps(in, JSON_COMPACT);
    int64_t deadline = keel__now_ms() + 10000;
    int rc;

    memcpy(headers, base, sizeof(base));
    snprintf(dl, sizeof(dl), "X-Keel-Deadline-Ms: %d", 10000);
    headers[4] = dl;
    headers[5] = NULL;
    rc = keel__http_request(p, "POST", "/v1/echo/echo", headers, body, strlen(body), deadline,
                            &rep, err, sizeof(err));
    if (rc == 0) {
        out = json_loadb(rep.body, rep.len, 0, NULL);
        if (rep.status != 200 || !json_equal(in, out)) {
            snprintf(err, sizeof(err), "HTTP %d %.100s", rep.status, rep.body);
            rc = KEEL_EINTERNAL;
        }
    }
    if (rc)
        fprintf(stderr, "remote_bench: raw POST: %s: %s\n", keel_errname(rc), err);
    json_decref(out);
    keel__http_reply_clear(&rep);
    free(body);
    return rc;
}

int main(int argc, char **argv)
{
    char url[64], env_remote[96];
    char *env_local[] = { "KEEL_MODULES_LOCAL=echo", "KEEL_LOG_LEVEL=warn", NULL };
    char *env_rem[] = { "KEEL_MODULES_LOCAL=kv", env_remote, "KEEL_LOG_LEVEL=warn", NULL };
    keel_runtime *rt_local, *rt_rem;
    keel_ctx *ctx_local, *ctx_rem;
    keel_http_pool *pool;
    keel_remote_url u;
    json_t *in;
    series a, b, c;
    size_t n, i, warm = 500;
    double a50, a99, b50, b99, c50, c99;
    char err[256];

    if (argc < 2) {
        fprintf(stderr, "usage: remote_bench PORT [N]\n");
        return 2;
    }
    n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
    if (n < 100)
        n = 100;
    snprintf(url, sizeof(url), "http://127.0.0.1:%s", argv[1]);
    snprintf(env_remote, sizeof(env_remote), "KEEL_REMOTE_ECHO=%s", url);
    in = json_pack("{s:s, s:i, s:[i,i,i]}", "msg", "hello from the bench", "n", 42, "xs", 1, 2, 3);

    rt_local = runtime(env_local, 1);
    rt_rem = runtime(env_rem, 0);
    ctx_local = keel__ctx_new(rt_local, KEEL_TR_LOCAL, "r-bench-local", 0);
    ctx_rem = keel__ctx_new(rt_rem, KEEL_TR_LOCAL, "r-bench-remote", 0);
    if (keel__remote_url_parse(url, &u, err, sizeof(err)) != 0 ||
        keel__http_pool_new(&u, 8, &pool) != 0) {
        fprintf(stderr, "remote_bench: %s\n", err);
        return 1;
    }
    a = (series){ "(a) in-process keel_call", calloc(n, sizeof(int64_t)), n };
    b = (series){ "(b) remote keel_call (loopback)", calloc(n, sizeof(int64_t)), n };
    c = (series){ "(c) raw HTTP POST, same client", calloc(n, sizeof(int64_t)), n };

    for (i = 0; i < warm; i++)
        if (call_once(ctx_local, in) || call_once(ctx_rem, in) || raw_once(pool, in))
            return 1;
    for (i = 0; i < n; i++) {
        int64_t t0 = keel__now_ns();
        if (call_once(ctx_local, in))
            return 1;
        a.ns[i] = keel__now_ns() - t0;
    }
    for (i = 0; i < n; i++) {
        int64_t t0 = keel__now_ns();
        if (call_once(ctx_rem, in))
            return 1;
        b.ns[i] = keel__now_ns() - t0;
        t0 = keel__now_ns();
        if (raw_once(pool, in))
            return 1;
        c.ns[i] = keel__now_ns() - t0;
    }
    printf("| %-34s | %7s | %9s | %9s | %9s | %9s |\n", "echo.echo, sequential", "calls",
           "mean µs", "p50 µs", "p99 µs", "max µs");
    printf("|%s|%s|%s|%s|%s|%s|\n", "------------------------------------", "---------",
           "-----------", "-----------", "-----------", "-----------");
    report(&a, &a50, &a99);
    report(&b, &b50, &b99);
    report(&c, &c50, &c99);
    printf("\nratio b/c: p50 %.3f, p99 %.3f (target <= 1.2)\n", b50 / c50, b99 / c99);
    printf("connections opened by (c): %lu\n", keel__http_pool_connects(pool));

    keel__http_pool_free(pool);
    keel__ctx_free(ctx_local);
    keel__ctx_free(ctx_rem);
    keel__remote_uninstall(rt_rem);
    keel__rt_stop(rt_local);
    keel__rt_free(rt_local);
    keel__rt_free(rt_rem);
    json_decref(in);
    free(a.ns);
    free(b.ns);
    free(c.ns);
    return 0;
}
