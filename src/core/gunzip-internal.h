/*
 * gunzip-internal.h — a gzip stream decoded in memory under caps (gunzip.c).
 *
 * Shared by the HTTP gateway (gzip request bodies), the CLI (gzip files)
 * and keel_client_call_raw in-process, so each refuses the same streams
 * with the same codes.
 */
#ifndef KEEL_GUNZIP_INTERNAL_H
#define KEEL_GUNZIP_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "keel/error.h"

/* Caps of one gzip decode. */
typedef struct keel_gunzip_limits {
    int64_t       max_out;       /* decoded bytes, 0 = none */
    const char   *max_out_name;  /* for the message: "KEEL_MAX_UPLOAD" */
    int64_t       max_ratio;     /* decoded / compressed, 0 = none (never below 1 MiB decoded) */
    atomic_llong *inflight;      /* the output's growth is reserved here, or NULL */
    int64_t       max_inflight;  /* budget for *inflight, 0 = none */
    int64_t       factor;        /* reserved per decoded byte (the method's memory factor); <1 = 1 */
} keel_gunzip_limits;

/* Decodes the gzip stream in[0..inlen) (one or more members, nothing after
 * them) into *out (malloc'd, caller frees; not NUL-terminated), checking the
 * caps while the output grows.  *reserved: bytes added to lim->inflight,
 * released with keel__gunzip_release when *out is freed.  0;
 * KEEL_ETOOBIG (a cap: msg names it), KEEL_EBADDATA (empty, corrupt,
 * truncated, trailing bytes: msg says which), KEEL_EUNAVAIL (in-flight budget),
 * KEEL_ENOMEM.  On error nothing is held.  Any thread. */
int keel__gunzip(const void *in, size_t inlen, const keel_gunzip_limits *lim, char **out,
                 size_t *outlen, int64_t *reserved, char *msg, size_t msglen);
void keel__gunzip_release(const keel_gunzip_limits *lim, int64_t reserved);

#endif /* KEEL_GUNZIP_INTERNAL_H */
