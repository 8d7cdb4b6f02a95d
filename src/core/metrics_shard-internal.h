/*
 * metrics_shard-internal.h — the shard layout shared by metrics.c (writers)
 * and metrics_text.c (the scrape).  Nobody else includes it.
 */
#ifndef KEEL_METRICS_SHARD_INTERNAL_H
#define KEEL_METRICS_SHARD_INTERNAL_H

#include <stdint.h>

#include "core/metrics-internal.h"

#define KEEL_METRICS_BUCKETS 16   /* finite buckets; one more counts +Inf */
#define KEEL_METRICS_CODES   32   /* errors[-rc]; errors[0] = a code outside the table */
#define KEEL_METRICS_CHUNK   16   /* methods per lazily allocated chunk */

extern const int64_t keel__metrics_bounds_ns[KEEL_METRICS_BUCKETS];

/* One method over one transport, in one shard. */
typedef struct keel_metrics_cell {
    uint64_t calls;
    uint64_t sum_ns;
    uint64_t bytes_in, bytes_out;
    uint64_t buckets[KEEL_METRICS_BUCKETS + 1]; /* not cumulative; last = above all bounds */
    uint64_t errors[KEEL_METRICS_CODES];
} keel_metrics_cell;

typedef struct keel_metrics_shard {
    struct keel_metrics_shard *next;   /* immutable once published */
    int                        in_use; /* a live thread owns it */
    /* chunks[i]: KEEL_METRICS_CHUNK methods × KEEL_METRICS_TRANSPORTS cells,
     * published with release by the owner on first use. */
    keel_metrics_cell         *chunks[KEEL_METRICS_MAX_METHODS / KEEL_METRICS_CHUNK];
    uint64_t                   iface[KEEL_METRICS_MAX_IFACE];
    uint64_t                   counters[KEEL_MC__COUNT];
    uint64_t                   http_status[600];
} keel_metrics_shard;

typedef struct keel_metrics_name {
    char module[64];
    char method[64];
} keel_metrics_name;

extern keel_metrics_name   keel__metrics_names[KEEL_METRICS_MAX_METHODS];
extern keel_metrics_name   keel__metrics_iface_names[KEEL_METRICS_MAX_IFACE];
extern int                 keel__metrics_nslots;
extern int                 keel__metrics_niface;
extern keel_metrics_shard *keel__metrics_shards;

#endif /* KEEL_METRICS_SHARD_INTERNAL_H */
