/*
 * keel/metrics.h — counting typed in-process calls.
 *
 * Generic calls (HTTP, CLI, remote, keel_call) are counted by dispatch with
 * no help from the module.  A typed call through keel_iface() is a plain
 * function pointer call that dispatch never sees, so the module's local
 * implementation counts it itself, one line at the top of each member:
 *
 *     static int echo_echo_typed(keel_ctx *ctx, …)
 *     {
 *         KEEL_IFACE_COUNT("echo", "echo");
 *         …
 *     }
 *
 * The count is a per-thread relaxed counter (a few ns, no lock), exported
 * as keel_iface_calls_total{module,method} on /metrics.
 */
#ifndef KEEL_METRICS_H
#define KEEL_METRICS_H

/* One counting site; the macro below declares it static.  slot is filled
 * on first use (0 = not yet, -1 = no room). */
typedef struct keel_iface_site {
    const char *module;
    const char *method;
    int         slot;
} keel_iface_site;

/* Counts one call at site (borrowed, static storage).  Thread-safe. */
void keel_iface_count(keel_iface_site *site);

#define KEEL_IFACE_COUNT(module, method)                                      \
    do {                                                                      \
        static keel_iface_site keel_iface_site_ = {(module), (method), 0};    \
        keel_iface_count(&keel_iface_site_);                                  \
    } while (0)

#endif /* KEEL_METRICS_H */
