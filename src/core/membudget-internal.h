/*
 * membudget-internal.h — the process's in-flight memory budget as the core
 * sees it (keel_ctx_mem_reserve, docs/http.md "The in-flight budget").
 *
 * The counter is the HTTP server's (request bodies × their methods' memory
 * factors, keel__http_conn_stats.inflight_bytes): the server hands it here
 * when it starts, so work no request body accounts for (an event handler
 * reading a stored upload back) reserves against the same budget.  A process
 * without a server (a one-shot CLI command) has no budget: reservations are
 * granted at once.
 */
#ifndef KEEL_CORE_MEMBUDGET_INTERNAL_H
#define KEEL_CORE_MEMBUDGET_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

/* ctr: the shared counter (lives as long as the process); max: its budget,
 * 0 = none.  Called once the HTTP limits are known; any thread. */
void keel__mem_budget_set(atomic_llong *ctr, int64_t max);

/* Reserves n bytes on *ctr unless that would pass max: 1 (reserved) or 0
 * (nothing changed).  A compare-and-swap, so the counter never shows more
 * than max, not even for an instant: adding first and taking back on refusal
 * let /metrics (another thread) see 3 × 100 MB against a 256 MiB budget, and
 * let two loops' heads both pass max and both be refused although one fitted.
 * Used by the HTTP server's heads, chunks and gzip growth and by
 * keel_ctx_mem_reserve.  Any thread. */
static inline int keel__mem_take(atomic_llong *ctr, int64_t n, int64_t max)
{
    long long cur = atomic_load(ctr);

    do {
        if (n > max - cur)
            return 0;
    } while (!atomic_compare_exchange_weak(ctr, &cur, cur + n));
    return 1;
}

#endif
