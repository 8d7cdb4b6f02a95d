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

#endif
