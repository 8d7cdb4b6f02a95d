/*
 * events_bench.c — events/s emitted and handled on one keel process, with
 * emit-to-handle latency.  Shape (issue 18): 1 KiB payloads; a producer
 * thread emits in transactions of TX events (100, or 1); one subscriber whose
 * handler does one idempotent insert in its own module (keel_event_tx); the
 * dispatcher claims and completes in batches (events_batch, default 100).
 *
 *   keel_bench_events N TX [single|batch [DB_URL [REPLICAS]]]   env: KEEL_* as for keel serve
 *
 * REPLICAS (PostgreSQL, default 1): that many processes dispatch from the one
 * database; the first also produces.  The others are forked before any
 * thread exists and start their runtime once the first has migrated; the
 * latencies of all of them go to one shared mapping (CLOCK_MONOTONIC is one
 * clock for every process of the machine).
 *
 * single: the handler's keel_event_tx commits once per event (the default
 * for any subscription); batch: the subscription has KEEL_SUB_BATCH, so a
 * claimed batch of deliveries commits once.
 *
 * Prints one line: events, tx size, seconds from the first emit to the last
 * handled, events/s, p50/p99 emit-to-handle latency (ms), and the store's
 * synchronous setting.  Latency is measured under full load: the producer
 * never waits, so it includes the time an event queues behind the backlog.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "keel/keel.h"
#include "core/ctx-internal.h"
#include "core/events-internal.h"

static const keel_topic prod_topics[] = {{.name = "prod.thing"}, {0}};
static const keel_method no_methods[] = {{0}};
static const keel_module mod_prod = {
    .abi = KEEL_ABI, .name = "prod", .version = "1", .methods = no_methods, .topics = prod_topics,
};

/* shared with the replica processes (MAP_SHARED) */
typedef struct shared {
    atomic_long nlat;
    atomic_int  migrated;     /* the first process's runtime has started */
    int64_t     lat[];        /* ns, one per handled event */
} shared;
static shared *sh;
static int64_t *lat;
static long total;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int apply(keel_store *tx, void *arg)
{
    const keel_event *e = arg;
    json_t *p = json_pack("[sI]", e->key, json_integer_value(json_object_get(e->payload, "n")));
    int rc = keel_store_exec(tx, "INSERT INTO cons_effects (ikey, n) VALUES ($1, $2)", p, NULL);
    json_decref(p);
    return rc;
}

static int on_thing(keel_ctx *ctx, const keel_event *ev)
{
    int rc = keel_event_tx(ctx, ev, apply, (void *)ev);
    if (rc == 0) {
        long i = atomic_fetch_add(&sh->nlat, 1);
        if (i < total)
            lat[i] = now_ns() - json_integer_value(json_object_get(ev->payload, "t"));
    }
    return rc;
}

static const keel_subscription cons_subs[] = {{.topic = "prod.thing", .handler = on_thing}, {0}};
static const keel_subscription cons_subs_batch[] = {
    {.topic = "prod.thing", .handler = on_thing, .flags = KEEL_SUB_BATCH}, {0}
};
static const keel_migration cons_migs[] = {
    {1, "0001_effects", "CREATE TABLE cons_effects (ikey TEXT PRIMARY KEY, n INTEGER)"}, {0}
};
static const keel_module mod_cons = {
    .abi = KEEL_ABI, .name = "cons", .version = "1", .methods = no_methods,
    .migrations = cons_migs, .subs = cons_subs,
};
static const keel_module mod_cons_batch = {
    .abi = KEEL_ABI, .name = "cons", .version = "1", .methods = no_methods,
    .migrations = cons_migs, .subs = cons_subs_batch,
};
static const keel_module *const mods[] = { &mod_prod, &mod_cons, NULL };
static const keel_module *const mods_batch[] = { &mod_prod, &mod_cons_batch, NULL };

typedef struct prod { keel_ctx *ctx; long from, n; const char *pad; } prod;

static int emit_tx(keel_store *tx, void *arg)
{
    prod *p = arg;
    long i;
    int rc = 0;
    for (i = p->from; i < p->from + p->n && rc == 0; i++) {
        char key[32];
        json_t *pl = json_pack("{sIsIss}", "n", (json_int_t)i, "t", (json_int_t)now_ns(), "pad", p->pad);
        snprintf(key, sizeof key, "b%ld", i);
        rc = keel_emit(p->ctx, tx, "prod.thing", pl, key);
        json_decref(pl);
    }
    return rc;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000, txn = argc > 2 ? atol(argv[2]) : 100;
    char dir[] = "/tmp/keel-bench-events-XXXXXX", url[256], db[300], pad[1024], err[512];
    int batch = argc > 3 && strcmp(argv[3], "batch") == 0;
    const char *given = argc > 4 ? argv[4] : NULL;
    int replicas = argc > 5 ? atoi(argv[5]) : 1, r;
    pid_t kids[8];
    extern char **environ;
    char **envp;
    size_t ne = 0, i;
    keel_runtime *rt = NULL;
    keel_ctx *ctx;
    prod p;
    int64_t t0, t1;
    json_t *sync = NULL;

    if (n <= 0 || txn <= 0) {
        fprintf(stderr, "usage: keel_bench_events N TX [single|batch [DB_URL]]\n");
        return 2;
    }
    if (replicas < 1 || replicas > 8 || (replicas > 1 && given == NULL)) {
        fprintf(stderr, "bench: 1..8 replicas, more than one only on a DB_URL\n");
        return 2;
    }
    total = n;
    sh = mmap(NULL, sizeof *sh + (size_t)n * sizeof(int64_t), PROT_READ | PROT_WRITE,
              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        return 1;
    lat = sh->lat;
    if (given == NULL) {
        if (mkdtemp(dir) == NULL)
            return 1;
        snprintf(url, sizeof url, "sqlite:%s/keel.db", dir);
    } else {
        snprintf(url, sizeof url, "%s", given);
    }
    snprintf(db, sizeof db, "KEEL_DATABASE_URL=%s", url);
    while (environ[ne] != NULL)
        ne++;
    envp = calloc(ne + 3, sizeof *envp);
    if (envp == NULL || lat == NULL) {
        free(envp);
        return 1;
    }
    for (i = 0; i < ne; i++)
        envp[i] = environ[i];
    envp[ne] = db;
    envp[ne + 1] = "KEEL_LOG_LEVEL=warn";
    memset(pad, 'x', sizeof pad - 1 - 60);   /* ~1 KiB of JSON with n, t and keys */
    pad[sizeof pad - 1 - 60] = '\0';
    for (r = 1; r < replicas; r++) {
        if ((kids[r] = fork()) == 0) {
            while (!atomic_load(&sh->migrated))
                usleep(10000);
            if (keel__rt_new(batch ? mods_batch : mods, &rt, err, sizeof err) != 0 ||
                keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0 ||
                keel__rt_start(rt, NULL, err, sizeof err) != 0 ||
                keel__events_start(rt, err, sizeof err) != 0) {
                fprintf(stderr, "bench replica: %s\n", err);
                _exit(1);
            }
            for (;;)
                pause();
        }
    }
    if (keel__rt_new(batch ? mods_batch : mods, &rt, err, sizeof err) != 0 ||
        keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0 ||
        keel__rt_start(rt, NULL, err, sizeof err) != 0 ||
        keel__events_start(rt, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s\n", err);
        free(envp);
        return 1;
    }
    atomic_store(&sh->migrated, 1);
    keel_store_one(keel__events_of(rt)->core, "PRAGMA synchronous", NULL, &sync);
    ctx = keel__ctx_new(rt, KEEL_TR_CLI, NULL, 0);
    keel__ctx_set_callee(ctx, keel__rt_find(rt, "prod"));
    p.ctx = ctx;
    p.pad = pad;
    t0 = now_ns();
    for (p.from = 0; p.from < n; p.from += txn) {
        int rc;
        p.n = p.from + txn <= n ? txn : n - p.from;
        while ((rc = keel_store_tx(keel_module_store(keel__rt_find(rt, "prod")), emit_tx, &p)) ==
               KEEL_EUNAVAIL)
            ;
        if (rc != 0) {
            fprintf(stderr, "emit: %s\n", keel_ctx_errmsg(ctx) ? keel_ctx_errmsg(ctx) : keel_strerror(rc));
            return 1;
        }
    }
    t1 = now_ns();
    while (atomic_load(&sh->nlat) < n)
        usleep(1000);
    {
        int64_t t2 = now_ns();
        double secs = (double)(t2 - t0) / 1e9;
        long p50 = n / 2, p99 = n - 1 - n / 100;
        qsort(lat, (size_t)n, sizeof *lat, cmp64);
        printf("%s events %ld tx %ld replicas %d: emitted in %.2f s, all handled in %.2f s: %.0f events/s; "
               "emit->handle p50 %.1f ms p99 %.1f ms (synchronous=%lld)\n",
               batch ? "batch " : "single", n, txn, replicas, (double)(t1 - t0) / 1e9, secs, (double)n / secs,
               (double)lat[p50] / 1e6, (double)lat[p99] / 1e6,
               (long long)json_integer_value(json_object_get(sync, "synchronous")));
    }
    for (r = 1; r < replicas; r++) {
        kill(kids[r], SIGKILL);
        waitpid(kids[r], NULL, 0);
    }
    json_decref(sync);
    keel__ctx_free(ctx);
    keel__rt_stop(rt);
    keel__rt_free(rt);
    free(envp);
    munmap(sh, sizeof *sh + (size_t)n * sizeof(int64_t));
    if (given == NULL) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
