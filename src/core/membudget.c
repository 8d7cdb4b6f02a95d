/*
 * membudget.c — keel_ctx_mem_reserve: a handler's working memory against
 * the in-flight budget the HTTP server keeps (membudget-internal.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "keel/arena.h"
#include "keel/module.h"
#include "core/membudget-internal.h"

static _Atomic(atomic_llong *) budget_ctr;
static atomic_llong budget_max;

/* A call with no deadline waits at most this long for room. */
#define MEM_WAIT_MAX_MS 60000
#define MEM_WAIT_STEP_MS 20

void keel__mem_budget_set(atomic_llong *ctr, int64_t max)
{
    atomic_store(&budget_max, max);
    atomic_store(&budget_ctr, ctr);
}

typedef struct mem_hold {
    atomic_llong *ctr;
    int64_t       n;
} mem_hold;

static void mem_release(void *arg)
{
    mem_hold *h = arg;
    atomic_fetch_sub(h->ctr, h->n);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int keel_ctx_mem_reserve(keel_ctx *ctx, int64_t bytes)
{
    atomic_llong *ctr = atomic_load(&budget_ctr);
    int64_t max = atomic_load(&budget_max), until, left;
    keel_arena *a;
    mem_hold *h;

    if (bytes <= 0 || ctr == NULL || max <= 0)
        return 0;
    if (bytes > max)
        return keel_ctx_error(ctx, KEEL_ETOOBIG, "this work needs %lld bytes of memory, over "
                              "KEEL_MAX_INFLIGHT_BYTES=%lld", (long long)bytes, (long long)max);
    if ((a = keel_ctx_arena(ctx)) == NULL || (h = keel_arena_alloc(a, sizeof *h)) == NULL)
        return KEEL_ENOMEM;
    left = keel_ctx_remaining_ms(ctx);
    until = mono_ms() + (keel_ctx_deadline_ms(ctx) > 0 && left < MEM_WAIT_MAX_MS
                         ? (left > 0 ? left : 0) : MEM_WAIT_MAX_MS);
    /* the bytes come back when other calls end, on other threads, with no
     * signal: look again every 20 ms */
    while (!keel__mem_take(ctr, bytes, max)) {
        struct timespec ts = {0, MEM_WAIT_STEP_MS * 1000000L};
        if (mono_ms() >= until)
            return keel_ctx_error(ctx, KEEL_EUNAVAIL, "%lld bytes of memory did not fit "
                                  "KEEL_MAX_INFLIGHT_BYTES=%lld in time; retry",
                                  (long long)bytes, (long long)max);
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
    h->ctr = ctr;
    h->n = bytes;
    if (keel_arena_cleanup(a, mem_release, h) != 0) {
        mem_release(h);
        return KEEL_ENOMEM;
    }
    return 0;
}
