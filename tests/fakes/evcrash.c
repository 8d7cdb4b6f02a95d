/*
 * evcrash.c — see evcrash.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "keel/keel.h"
#include "core/events-internal.h"
#include "evcrash.h"

static const keel_topic prod_topics[] = {
    {.name = "prod.thing", .schema = "{\"type\":\"object\",\"required\":[\"n\"]}"},
    {0}
};
static const keel_method no_methods[] = {{0}};
static const keel_module mod_prod = {
    .abi = KEEL_ABI, .name = "prod", .version = "1", .methods = no_methods, .topics = prod_topics,
};

static int apply(keel_store *tx, void *arg)
{
    const keel_event *e = arg;
    json_t *p = json_pack("[ss?I]", e->key, e->order_key,
                          json_integer_value(json_object_get(e->payload, "n")));
    int rc = p != NULL ? keel_store_exec(tx, "INSERT INTO cons_effects (ikey, okey, n) "
                                         "VALUES ($1, $2, $3)", p, NULL) : KEEL_ENOMEM;
    json_decref(p);
    return rc;
}

static int on_thing(keel_ctx *ctx, const keel_event *ev)
{
    /* every invocation, outside the transaction: shows redeliveries happened */
    json_t *p = json_pack("[s]", ev->key);
    if (p != NULL)
        keel_store_exec(keel_ctx_store(ctx), "INSERT INTO cons_calls (ikey) VALUES ($1)", p, NULL);
    json_decref(p);
    return keel_event_tx(ctx, ev, apply, (void *)ev);
}

static const keel_subscription cons_subs[] = {
    {.topic = "prod.thing", .handler = on_thing, .max_attempts = 1000}, {0}
};
static const keel_migration cons_migs[] = {
    {1, "0001_effects", "CREATE TABLE cons_effects (seq INTEGER PRIMARY KEY, ikey TEXT, okey TEXT,"
                        " n INTEGER);"
                        "CREATE TABLE cons_calls (seq INTEGER PRIMARY KEY, ikey TEXT);"},
    {0}
};
static const keel_module mod_cons = {
    .abi = KEEL_ABI, .name = "cons", .version = "1", .methods = no_methods,
    .migrations = cons_migs, .subs = cons_subs,
};
static const keel_subscription cons_subs_batch[] = {
    {.topic = "prod.thing", .handler = on_thing, .max_attempts = 1000, .flags = KEEL_SUB_BATCH},
    {0}
};
static const keel_module mod_cons_batch = {
    .abi = KEEL_ABI, .name = "cons", .version = "1", .methods = no_methods,
    .migrations = cons_migs, .subs = cons_subs_batch,
};
const keel_module *const keel_evcrash_mods_plain[] = { &mod_prod, &mod_cons, NULL };
const keel_module *const keel_evcrash_mods_batch[] = { &mod_prod, &mod_cons_batch, NULL };

keel_runtime *keel_evcrash_rt(const keel_evcrash *c)
{
    char db[320];
    char *envp[] = { db, "KEEL_LOG_LEVEL=error", "KEEL_EVENTS_LEASE_MS=300",
                     "KEEL_EVENTS_POLL_MS=20", "KEEL_EVENTS_BATCH=50", "KEEL_EVENTS_WORKERS=2",
                     "KEEL_STORE_BUSY_MS=20000", "KEEL_STORE_SYNC=normal", NULL };
    keel_runtime *rt = NULL;
    char err[512];

    snprintf(db, sizeof db, "KEEL_DATABASE_URL=%s", c->url);
    if (keel__rt_new(c->mods, &rt, err, sizeof err) != 0 ||
        keel__rt_configure(rt, NULL, envp, NULL, err, sizeof err) != 0 ||
        keel__rt_start(rt, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "child runtime: %s\n", err);
        _exit(2);
    }
    return rt;
}

int keel_evcrash_migrate(const keel_evcrash *c)
{
    int status;
    pid_t pid = fork();

    if (pid == 0) {
        keel_runtime *rt = keel_evcrash_rt(c);
        keel__rt_stop(rt);
        keel__rt_free(rt);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

typedef struct batch { const keel_evcrash *c; keel_ctx *ctx; int from; } batch;

static int emit_batch(keel_store *tx, void *arg)
{
    batch *b = arg;
    int i, rc = 0;
    for (i = b->from; i < b->from + b->c->per_tx && i < b->c->events && rc == 0; i++) {
        char key[32], okey[32];
        keel_emit_opts o = { .order_key = NULL };
        json_t *p = json_pack("{si}", "n", i);
        snprintf(key, sizeof key, "e%05d", i);
        if (b->c->nkeys > 0) {
            snprintf(okey, sizeof okey, "h%d", i % b->c->nkeys);
            o.order_key = okey;
        }
        rc = keel_emit_ex(b->ctx, tx, "prod.thing", p, key, &o);
        json_decref(p);
    }
    return rc;
}

pid_t keel_evcrash_producer(const keel_evcrash *c)
{
    pid_t pid = fork();
    keel_runtime *rt;
    keel_ctx *ctx;
    batch b;
    int rc;

    if (pid != 0)
        return pid;
    rt = keel_evcrash_rt(c);
    ctx = keel__ctx_new(rt, KEEL_TR_CLI, NULL, 0);
    keel__ctx_set_callee(ctx, keel__rt_find(rt, "prod"));
    b.c = c;
    b.ctx = ctx;
    for (b.from = 0; b.from < c->events; b.from += c->per_tx) {
        while ((rc = keel_store_tx(keel_module_store(keel__rt_find(rt, "prod")), emit_batch, &b))
               == KEEL_EUNAVAIL)
            usleep(1000);   /* busy: a consumer holds the write lock */
        if (rc != 0) {
            fprintf(stderr, "producer: %s\n", keel_strerror(rc));
            _exit(3);
        }
        usleep(3000);
    }
    keel__ctx_free(ctx);
    keel__rt_stop(rt);
    keel__rt_free(rt);
    _exit(0);
}

pid_t keel_evcrash_consumer(const keel_evcrash *c)
{
    pid_t pid = fork();
    if (pid == 0) {
        keel_runtime *rt = keel_evcrash_rt(c);
        char err[256];
        if (keel__events_start(rt, err, sizeof err) != 0)
            _exit(4);
        for (;;)
            pause();
    }
    return pid;
}

#define EVC_MAX_CONSUMERS 8

/* The count query sql with {p}, {c} and {k} replaced by the prod, cons and
 * keel table prefixes ("prod." … on PostgreSQL, "" on SQLite). */
static long long evc_q(const keel_evcrash *c, const keel_evcrash_race *r, const char *sql)
{
    char buf[512], *o = buf;
    const char *s;

    for (s = sql; *s != '\0' && o < buf + sizeof buf - 8; s++) {
        if (s[0] == '{' && s[1] != '\0' && s[2] == '}') {
            const char *pre = !c->pg ? "" : s[1] == 'p' ? "prod." : s[1] == 'c' ? "cons." : "keel.";
            size_t n = strlen(pre);
            memcpy(o, pre, n);
            o += n;
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return r->q(buf);
}

static void evc_stop(pid_t *pids, int n)
{
    int i, status;
    for (i = 0; i < n; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], &status, 0);
            pids[i] = 0;
        }
}

/* 1 if a consumer exited by itself (r->failure says which). */
static int evc_died(keel_evcrash_race *r, const pid_t *cons)
{
    int i, status;
    for (i = 0; i < r->consumers; i++)
        if (waitpid(cons[i], &status, WNOHANG) == cons[i]) {
            snprintf(r->failure, sizeof r->failure, "consumer %d exited by itself (status %d)",
                     i, status);
            return 1;
        }
    return 0;
}

int keel_evcrash_run(const keel_evcrash *c, keel_evcrash_race *r)
{
    pid_t prod, cons[EVC_MAX_CONSUMERS] = {0};
    time_t give_up = time(NULL) + r->seconds;
    int i, status;

    r->failure[0] = '\0';
    r->killed = 0;
    if (r->consumers < 1 || r->consumers > EVC_MAX_CONSUMERS) {
        snprintf(r->failure, sizeof r->failure, "1..%d consumers", EVC_MAX_CONSUMERS);
        return -1;
    }
    prod = keel_evcrash_producer(c);
    for (i = 0; i < r->consumers; i++)
        cons[i] = keel_evcrash_consumer(c);
    while (time(NULL) < give_up) {
        if (prod > 0 && waitpid(prod, &status, WNOHANG) == prod) {
            if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
                snprintf(r->failure, sizeof r->failure, "producer failed (status %d)", status);
                prod = 0;
                goto fail;
            }
            prod = 0;
        }
        if (r->killed >= r->kills && prod == 0)
            break;
        usleep(100000 + (useconds_t)(rand() % 300000));
        if (evc_died(r, cons))
            goto fail;
        i = rand() % r->consumers;
        kill(cons[i], SIGKILL);
        waitpid(cons[i], &status, 0);
        r->killed++;
        cons[i] = keel_evcrash_consumer(c);
    }
    if (prod > 0) {
        snprintf(r->failure, sizeof r->failure, "the producer did not finish in %d s", r->seconds);
        goto fail;
    }
    /* the consumers still running finish the queue */
    while (time(NULL) < give_up && (evc_q(c, r, "SELECT count(*) FROM {p}prod_outbox") != 0 ||
                                    evc_q(c, r, "SELECT count(*) FROM {c}cons_effects") < c->events)) {
        if (evc_died(r, cons))
            goto fail;
        usleep(50000);
    }
    evc_stop(cons, r->consumers);
    r->effects = evc_q(c, r, "SELECT count(*) FROM {c}cons_effects");
    r->distinct = evc_q(c, r, "SELECT count(DISTINCT ikey) FROM {c}cons_effects");
    r->calls = evc_q(c, r, "SELECT count(*) FROM {c}cons_calls");
    r->outbox = evc_q(c, r, "SELECT count(*) FROM {p}prod_outbox");
    r->inbox = evc_q(c, r, "SELECT count(*) FROM {c}cons_inbox");
    r->dead = evc_q(c, r, "SELECT count(*) FROM {k}keel_dead_letters");
    /* per ordering key, effects in the order the events were emitted */
    r->out_of_order = evc_q(c, r, "SELECT count(*) FROM (SELECT n, lag(n) OVER (PARTITION BY okey"
                                  " ORDER BY seq) AS prev FROM {c}cons_effects WHERE okey IS NOT NULL)"
                                  " x WHERE prev > n");
    return 0;
fail:
    if (prod > 0)
        evc_stop(&prod, 1);
    evc_stop(cons, r->consumers);
    return -1;
}
