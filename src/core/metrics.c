/*
 * metrics.c — recording: per-thread shards of per-method counters
 * (metrics-internal.h).  Rendering is metrics_text.c, process figures
 * metrics_process.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics-internal.h"
#include "core/ctx-internal.h"
#include "core/metrics_shard-internal.h"

/* Bucket upper bounds in ns; the text names them in seconds (metrics_text.c). */
const int64_t keel__metrics_bounds_ns[KEEL_METRICS_BUCKETS] = {
    100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 25000000,
    50000000, 100000000, 250000000, 500000000, 1000000000, 2500000000LL,
    5000000000LL, 10000000000LL};

static int metrics_on = 1;

/* Names by slot; written under reg_mu before nslots is published (release). */
keel_metrics_name keel__metrics_names[KEEL_METRICS_MAX_METHODS];
keel_metrics_name keel__metrics_iface_names[KEEL_METRICS_MAX_IFACE];
int keel__metrics_nslots;
int keel__metrics_niface;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;

/* Shards: append-only list, head published with release. */
keel_metrics_shard *keel__metrics_shards;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t shard_key;
static _Thread_local keel_metrics_shard *my_shard;

void keel__metrics_set_enabled(int on)
{
    __atomic_store_n(&metrics_on, on ? 1 : 0, __ATOMIC_RELAXED);
}

int keel__metrics_enabled(void)
{
    return __atomic_load_n(&metrics_on, __ATOMIC_RELAXED);
}

static int name_ok(const char *s)
{
    return s != NULL && *s != '\0' && strlen(s) < sizeof(((keel_metrics_name *)0)->module);
}

/* Finds or adds (module, method) in names[0..*n); -1 when full or bad. */
static int slot_of(keel_metrics_name *names, int *n, int max, const char *module, const char *method)
{
    int i, slot = -1, have;
    if (!name_ok(module) || !name_ok(method))
        return -1;
    pthread_mutex_lock(&reg_mu);
    have = __atomic_load_n(n, __ATOMIC_RELAXED);
    for (i = 0; i < have; i++)
        if (strcmp(names[i].module, module) == 0 && strcmp(names[i].method, method) == 0) {
            slot = i;
            goto out;
        }
    if (have < max) {
        snprintf(names[have].module, sizeof names[have].module, "%s", module);
        snprintf(names[have].method, sizeof names[have].method, "%s", method);
        slot = have;
        __atomic_store_n(n, have + 1, __ATOMIC_RELEASE);
    }
out:
    pthread_mutex_unlock(&reg_mu);
    return slot;
}

int keel__metrics_method_slot(const char *module, const char *method)
{
    return slot_of(keel__metrics_names, &keel__metrics_nslots, KEEL_METRICS_MAX_METHODS,
                   module, method);
}

static void shard_retire(void *p)
{
    keel_metrics_shard *s = p;
    __atomic_store_n(&s->in_use, 0, __ATOMIC_RELEASE);
}

static void key_init(void)
{
    pthread_key_create(&shard_key, shard_retire);
}

/* The calling thread's shard: a retired one, or a new one pushed on the
 * list.  NULL only when out of memory (the call then goes uncounted). */
static keel_metrics_shard *shard_get(void)
{
    keel_metrics_shard *s;
    if (my_shard != NULL)
        return my_shard;
    pthread_once(&key_once, key_init);
    pthread_mutex_lock(&reg_mu);
    for (s = __atomic_load_n(&keel__metrics_shards, __ATOMIC_ACQUIRE); s; s = s->next)
        if (!__atomic_load_n(&s->in_use, __ATOMIC_ACQUIRE))
            break;
    if (s == NULL && (s = calloc(1, sizeof *s)) != NULL) {
        s->next = keel__metrics_shards;
        __atomic_store_n(&keel__metrics_shards, s, __ATOMIC_RELEASE);
    }
    if (s != NULL)
        __atomic_store_n(&s->in_use, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&reg_mu);
    if (s != NULL) {
        pthread_setspecific(shard_key, s);
        my_shard = s;
    }
    return s;
}

/* The cell for slot/tr in the calling thread's shard, allocating the chunk
 * on this thread's first call into it. */
static keel_metrics_cell *cell_get(int slot, keel_transport tr)
{
    keel_metrics_shard *s;
    keel_metrics_cell *chunk;
    unsigned ci;
    if (slot < 0 || slot >= KEEL_METRICS_MAX_METHODS || (unsigned)tr >= KEEL_METRICS_TRANSPORTS
        || (s = shard_get()) == NULL)
        return NULL;
    ci = (unsigned)slot / KEEL_METRICS_CHUNK;
    chunk = s->chunks[ci];
    if (chunk == NULL) {
        chunk = calloc(KEEL_METRICS_CHUNK * KEEL_METRICS_TRANSPORTS, sizeof *chunk);
        if (chunk == NULL)
            return NULL;
        __atomic_store_n(&s->chunks[ci], chunk, __ATOMIC_RELEASE);
    }
    return &chunk[((unsigned)slot % KEEL_METRICS_CHUNK) * KEEL_METRICS_TRANSPORTS + (unsigned)tr];
}

/* Single writer per shard: a relaxed load and store is enough for readers
 * on other threads to see whole values, without a locked instruction. */
#define KM_ADD(p, v) __atomic_store_n((p), __atomic_load_n((p), __ATOMIC_RELAXED) + (v), __ATOMIC_RELAXED)

void keel__metrics_call(int slot, keel_transport tr, int rc, int64_t dur_ns)
{
    keel_metrics_cell *c;
    int b = 0;
    if (!__atomic_load_n(&metrics_on, __ATOMIC_RELAXED) || (c = cell_get(slot, tr)) == NULL)
        return;
    if (dur_ns < 0)
        dur_ns = 0;
    while (b < KEEL_METRICS_BUCKETS && dur_ns > keel__metrics_bounds_ns[b])
        b++;
    KM_ADD(&c->buckets[b], 1);
    KM_ADD(&c->sum_ns, (uint64_t)dur_ns);
    KM_ADD(&c->calls, 1);
    if (rc != 0)
        KM_ADD(&c->errors[rc < 0 && rc > -KEEL_METRICS_CODES ? -rc : 0], 1);
}

void keel__metrics_bytes(int slot, keel_transport tr, uint64_t in, uint64_t out)
{
    keel_metrics_cell *c;
    if (!__atomic_load_n(&metrics_on, __ATOMIC_RELAXED) || (c = cell_get(slot, tr)) == NULL)
        return;
    KM_ADD(&c->bytes_in, in);
    KM_ADD(&c->bytes_out, out);
}

void keel_iface_count(keel_iface_site *site)
{
    keel_metrics_shard *s;
    int slot = __atomic_load_n(&site->slot, __ATOMIC_RELAXED);
    if (!__atomic_load_n(&metrics_on, __ATOMIC_RELAXED))
        return;
    if (slot == 0) {
        slot = slot_of(keel__metrics_iface_names, &keel__metrics_niface, KEEL_METRICS_MAX_IFACE,
                       site->module, site->method);
        slot = slot < 0 ? -1 : slot + 1;
        __atomic_store_n(&site->slot, slot, __ATOMIC_RELAXED);
    }
    if (slot <= 0 || slot > KEEL_METRICS_MAX_IFACE || (s = shard_get()) == NULL)
        return;
    KM_ADD(&s->iface[slot - 1], 1);
}

void keel__metrics_ctx_bytes(keel_ctx *ctx, uint64_t in, uint64_t out)
{
    ptrdiff_t i;
    if (ctx == NULL || ctx->mc == NULL || ctx->m == NULL || ctx->mc->methods == NULL)
        return;
    i = ctx->m - ctx->mc->desc->methods;
    if (i >= 0 && (size_t)i < ctx->mc->nmethods)
        keel__metrics_bytes(ctx->mc->methods[i].metric_slot, ctx->tr, in, out);
}

void keel__metrics_count(keel_metrics_counter c, uint64_t v)
{
    keel_metrics_shard *s;
    if ((unsigned)c >= KEEL_MC__COUNT
        || (c < KEEL_MC_TRACE_EXPORTED && !__atomic_load_n(&metrics_on, __ATOMIC_RELAXED))
        || (s = shard_get()) == NULL)
        return;
    KM_ADD(&s->counters[c], v);
}

void keel__metrics_http_status(int status)
{
    keel_metrics_shard *s;
    if (!__atomic_load_n(&metrics_on, __ATOMIC_RELAXED) || (s = shard_get()) == NULL)
        return;
    KM_ADD(&s->http_status[status >= 100 && status < 600 ? status : 0], 1);
}
