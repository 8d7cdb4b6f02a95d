/*
 * json_bench.c — keel's JSON reader and writer (src/core/json_parse.c,
 * json_dump.c) against jansson's json_loadb / json_dumps, on the texts keel
 * moves most: an event row's 1 KiB payload ({"n","t","pad"} as
 * bench/events emits), a small request body ({"msg":"hi"}, the echo
 * benchmark's), and a 64 KiB document of mixed values (a riding summary
 * list).  Prints ns per operation for both and keel's speed-up; both run in
 * the same process, interleaved, best of 5 rounds.
 *
 *   keel_bench_json [ITERATIONS]   (default 200000 for the small texts)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json-internal.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct shape {
    const char *name;
    char       *text;
    long        iters;
} shape;

static double time_parse(const shape *s, int keel)
{
    size_t len = strlen(s->text);
    double t0 = now_ns();
    long i;
    for (i = 0; i < s->iters; i++) {
        json_t *v = keel ? keel__json_parse(s->text, len, JSON_REJECT_DUPLICATES, NULL)
                         : json_loadb(s->text, len, JSON_REJECT_DUPLICATES, NULL);
        if (v == NULL)
            abort();
        json_decref(v);
    }
    return (now_ns() - t0) / (double)s->iters;
}

static double time_dump(const shape *s, const json_t *v, int keel)
{
    double t0 = now_ns();
    long i;
    for (i = 0; i < s->iters; i++) {
        char *t = keel ? keel__json_dump(v, JSON_COMPACT) : json_dumps(v, JSON_COMPACT);
        if (t == NULL)
            abort();
        free(t);
    }
    return (now_ns() - t0) / (double)s->iters;
}

static char *big_doc(void)
{
    json_t *a = json_array();
    char *t;
    int i;
    for (i = 0; i < 200; i++)
        json_array_append_new(a, json_pack("{sisssfsfs{sfsfsi}sb}", "id", i, "started_at",
                                           "2026-12-05T10:00:00Z", "trot_symmetry_pct", 93.25 + i,
                                           "cadence_spm", 150.5, "gaits", "walk_s", 600.0,
                                           "trot_s", 1200.5, "jumps", 3, "ready", 1));
    t = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    return t;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    char pad[1001], payload[1200];
    shape shapes[3];
    int k, r;

    memset(pad, 'x', 1000);
    pad[1000] = '\0';
    snprintf(payload, sizeof payload, "{\"n\":12345,\"t\":1764928800123456789,\"pad\":\"%s\"}", pad);
    shapes[0] = (shape){ "event payload 1 KiB", strdup(payload), n };
    shapes[1] = (shape){ "echo body {\"msg\":\"hi\"}", strdup("{\"msg\":\"hi\"}"), n * 4 };
    shapes[2] = (shape){ "summary list", big_doc(), n / 200 > 10 ? n / 200 : 10 };
    printf("%-26s %8s | %10s %10s %7s | %10s %10s %7s\n", "text", "bytes", "parse keel",
           "jansson", "ratio", "dump keel", "jansson", "ratio");
    for (k = 0; k < 3; k++) {
        shape *s = &shapes[k];
        json_t *v = json_loads(s->text, 0, NULL);
        double pk = 1e18, pj = 1e18, dk = 1e18, dj = 1e18, t;
        for (r = 0; r < 5; r++) {   /* interleaved rounds, best of each */
            if ((t = time_parse(s, 1)) < pk) pk = t;
            if ((t = time_parse(s, 0)) < pj) pj = t;
            if ((t = time_dump(s, v, 1)) < dk) dk = t;
            if ((t = time_dump(s, v, 0)) < dj) dj = t;
        }
        printf("%-26s %8zu | %8.0f ns %8.0f ns %6.2fx | %8.0f ns %8.0f ns %6.2fx\n", s->name,
               strlen(s->text), pk, pj, pj / pk, dk, dj, dj / dk);
        json_decref(v);
        free(s->text);
    }
    return 0;
}
