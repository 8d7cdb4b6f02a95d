/*
 * gunzip.c — decoding a gzip stream in memory under caps (core/gunzip-internal.h):
 * the HTTP gateway's gzip request bodies, the CLI's gzip files and a raw
 * call made in-process (keel_client_call_raw) decode with the same caps and
 * the same errors.
 *
 * A compressed body can expand a thousandfold (deflate's limit is ~1032:1),
 * so the decoder checks its output as it grows, never after: inflate writes
 * into a buffer that doubles up to the cap, and the cap is the smaller of
 * the method's body limit and KEEL_MAX_GZIP_RATIO x the compressed size
 * (never less than GZIP_RATIO_FLOOR, so a tiny, very regular file is not
 * refused).  A 10 KB bomb meant to become 10 GB stops after ~2 MB of output.
 * The growth can be reserved against an in-flight budget.
 *
 * Concatenated gzip members are one body (RFC 1952 §2.2; gzip -d does the
 * same), the caps apply to their sum.  Anything after the last member that
 * is not another member — trailing garbage, zero padding — is refused:
 * a truncated or altered upload must not become a shorter session.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/gunzip-internal.h"
#include "core/membudget-internal.h"

/* Decoded size the ratio cap always allows (1 MiB): below it a bomb
 * costs nothing, and small regular files may compress past the ratio. */
#define GZIP_RATIO_FLOOR ((int64_t)1 << 20)
/* First output buffer: the usual ratio for CSV of decimals, at least 64 KiB. */
#define GZIP_FIRST_GUESS 8

static void gz_msg(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void gz_msg(char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;
    if (msg == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
}

/* Grows *buf (capacity *cap, reserved bytes *reserved) towards want, never
 * past hard; reserves the growth against the in-flight budget.  0, or
 * KEEL_EUNAVAIL (budget) / KEEL_ENOMEM. */
static int gz_grow(const keel_gunzip_limits *lim, char **buf, size_t *cap, size_t want,
                   int64_t *reserved)
{
    /* the decoded bytes are what the handler works on: reserved with the
     * method's factor, as the hook reserved the compressed ones */
    int64_t add = (int64_t)(want - *cap) * (lim->factor > 1 ? lim->factor : 1);
    char *nb;

    if (lim->inflight != NULL && lim->max_inflight > 0) {
        if (!keel__mem_take(lim->inflight, add, lim->max_inflight))
            return KEEL_EUNAVAIL;
        *reserved += add;
    }
    nb = realloc(*buf, want);
    if (nb == NULL)
        return KEEL_ENOMEM;
    *buf = nb;
    *cap = want;
    return 0;
}

void keel__gunzip_release(const keel_gunzip_limits *lim, int64_t reserved)
{
    if (lim != NULL && lim->inflight != NULL && reserved > 0)
        atomic_fetch_sub(lim->inflight, (long long)reserved);
}

int keel__gunzip(const void *in, size_t inlen, const keel_gunzip_limits *lim, char **out,
                 size_t *outlen, int64_t *reserved, char *msg, size_t msglen)
{
    int64_t hard = lim->max_out > 0 ? lim->max_out : INT64_MAX - 1;
    int by_ratio = 0, zrc = Z_OK, rc = 0, members = 0;
    size_t cap = 0, want;
    char *buf = NULL;
    z_stream zs;

    *out = NULL;
    *outlen = 0;
    *reserved = 0;
    if (lim->max_ratio > 0 && (int64_t)inlen <= (INT64_MAX / lim->max_ratio)) {
        int64_t r = (int64_t)inlen * lim->max_ratio;
        if (r < GZIP_RATIO_FLOOR)
            r = GZIP_RATIO_FLOOR;
        if (r < hard) {
            hard = r;
            by_ratio = 1;
        }
    }
    if (inlen == 0) {
        gz_msg(msg, msglen, "the gzip body is empty (truncated upload?)");
        return KEEL_EBADDATA;
    }
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) /* 16: gzip wrapper only, not zlib or raw */
        return KEEL_ENOMEM;
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = 0;
    want = inlen > SIZE_MAX / GZIP_FIRST_GUESS ? SIZE_MAX : inlen * GZIP_FIRST_GUESS;
    if (want < 65536)
        want = 65536;
    if ((int64_t)want > hard)
        want = (size_t)hard + 1;
    if ((rc = gz_grow(lim, &buf, &cap, want, reserved)) != 0)
        goto out;
    for (;;) {
        size_t done = (size_t)(zs.next_in - (const Bytef *)in);
        /* zlib counts in uInt: feed at most 1 GiB at a time */
        if (zs.avail_in == 0 && done < inlen)
            zs.avail_in = (uInt)((inlen - done) > (1u << 30) ? (1u << 30) : (inlen - done));
        if (*outlen == cap) {
            /* the buffer may hold one byte more than the cap, so a body of
             * exactly the cap is told apart from one that goes on */
            want = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
            if ((int64_t)want > hard + 1)
                want = (size_t)hard + 1;
            if ((rc = gz_grow(lim, &buf, &cap, want, reserved)) != 0)
                goto out;
        }
        zs.next_out = (Bytef *)buf + *outlen;
        zs.avail_out = (uInt)((cap - *outlen) > (1u << 30) ? (1u << 30) : (cap - *outlen));
        {
            uInt before = zs.avail_out;
            zrc = inflate(&zs, Z_NO_FLUSH);
            *outlen += before - zs.avail_out;
        }
        if ((int64_t)*outlen > hard) {
            rc = KEEL_ETOOBIG;
            if (by_ratio)
                gz_msg(msg, msglen, "the gzip body expands more than %lld times its %zu "
                       "compressed bytes (KEEL_MAX_GZIP_RATIO=%lld): refused as a "
                       "decompression bomb", (long long)lim->max_ratio, inlen,
                       (long long)lim->max_ratio);
            else
                gz_msg(msg, msglen, "the gzip body expands past the limit of %lld bytes (%s)",
                       (long long)hard, lim->max_out_name ? lim->max_out_name
                                                          : "the method's limit");
            goto out;
        }
        if (zrc == Z_STREAM_END) {
            size_t used = (size_t)(zs.next_in - (const Bytef *)in);
            members++;
            if (used == inlen)
                break;
            /* another member must start right here (RFC 1952 ID1 ID2) */
            if (inlen - used < 2 || ((const unsigned char *)in)[used] != 0x1f
                || ((const unsigned char *)in)[used + 1] != 0x8b) {
                rc = KEEL_EBADDATA;
                gz_msg(msg, msglen, "%zu bytes after the end of gzip member %d are not "
                       "another gzip member", inlen - used, members);
                goto out;
            }
            if (inflateReset(&zs) != Z_OK) {
                rc = KEEL_ENOMEM;
                goto out;
            }
            continue;
        }
        if (zrc == Z_OK)
            continue;
        if (zrc == Z_BUF_ERROR && zs.avail_out == 0)
            continue; /* output full: grow (or refuse) above */
        rc = KEEL_EBADDATA;
        if (zrc == Z_BUF_ERROR)
            gz_msg(msg, msglen, "the gzip body is truncated: it ends %s",
                   *outlen == 0 && members == 0 ? "inside the gzip header"
                                               : "before the end of its last member");
        else if (zrc == Z_MEM_ERROR)
            rc = KEEL_ENOMEM;
        else
            gz_msg(msg, msglen, "the gzip body is corrupt at compressed byte %zu: %s",
                   (size_t)(zs.next_in - (const Bytef *)in), zs.msg ? zs.msg : "invalid data");
        goto out;
    }
out:
    inflateEnd(&zs);
    if (rc != 0) {
        free(buf);
        keel__gunzip_release(lim, *reserved);
        *reserved = 0;
        *outlen = 0;
        return rc;
    }
    *out = buf;
    return 0;
}
