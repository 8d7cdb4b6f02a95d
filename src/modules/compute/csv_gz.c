/*
 * csv_gz.c — aggregate a CSV given as gzip, decompressed piece by piece.
 *
 * A stored session (riding keeps its CSV as one gzip member) is summarized
 * without ever being whole in memory: zlib inflates into a window of
 * COMPUTE_GZ_CHUNK bytes, the resumable parser (csv.c) takes every complete
 * line of it, and the unfinished last line moves to the window's start for
 * the next piece — what `keel compute aggregate` does with a file's reads.
 * The aggregation stream (aggregate.c) holds a bounded state whatever the
 * session's length, so the memory is the gzip (the caller's), the window and
 * zlib's 32 KiB dictionary.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "compute-internal.h"

/* the window; a line longer than this is an error (no sensor row is 1 MiB) */
#define COMPUTE_GZ_CHUNK (1u << 20)

int compute_aggregate_gz(const void *gz, size_t len, size_t max_csv, const compute_options *opt,
                         compute_summary *s, char *err, size_t errlen)
{
    compute_csv p;
    z_stream zs;
    size_t have = 0, decoded = 0;
    char *buf = malloc(COMPUTE_GZ_CHUNK);
    compute_agg *g = compute_agg_new(opt);
    int rc = 0, zinit = 0, eof = 0;

    memset(&zs, 0, sizeof zs);
    if (buf == NULL || g == NULL || inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
        rc = KEEL_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    zinit = 1;
    compute_csv_init(&p, g);
    zs.next_in = (Bytef *)(uintptr_t)gz;
    while (!eof) {
        size_t left = len - (size_t)((const unsigned char *)zs.next_in - (const unsigned char *)gz);
        int zrc;

        zs.avail_in = (uInt)(left > (1u << 30) ? (1u << 30) : left);
        zs.next_out = (Bytef *)buf + have;
        zs.avail_out = (uInt)(COMPUTE_GZ_CHUNK - have);
        zrc = inflate(&zs, Z_NO_FLUSH);
        decoded += COMPUTE_GZ_CHUNK - zs.avail_out - have;
        have = COMPUTE_GZ_CHUNK - zs.avail_out;
        /* a bomb costs time, not memory, here: the caller says how much
         * CSV the gzip may hold */
        if (max_csv > 0 && decoded > max_csv) {
            rc = KEEL_ETOOBIG;
            snprintf(err, errlen, "gzip: decodes to more than %zu bytes", max_csv);
            goto out;
        }
        if (zrc == Z_STREAM_END) {
            /* concatenated members are one file (gzip -d reads them so) */
            if (zs.avail_in > 0 || (size_t)((const unsigned char *)zs.next_in
                                            - (const unsigned char *)gz) < len) {
                if (inflateReset(&zs) != Z_OK) {
                    rc = KEEL_EINTERNAL;
                    snprintf(err, errlen, "gzip: cannot read the next member");
                    goto out;
                }
            } else {
                eof = 1;
            }
        } else if (zrc == Z_BUF_ERROR && zs.avail_in == 0
                   && (size_t)((const unsigned char *)zs.next_in - (const unsigned char *)gz) == len) {
            rc = KEEL_EBADDATA;
            snprintf(err, errlen, "gzip: the input ends inside its member (cut short?)");
            goto out;
        } else if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            rc = KEEL_EBADDATA;
            snprintf(err, errlen, "gzip: %s", zs.msg ? zs.msg : "not a gzip member");
            goto out;
        }
        if ((rc = compute_csv_feed_buf(&p, buf, &have, eof, err, errlen)) != 0)
            goto out;
        if (!eof && have == COMPUTE_GZ_CHUNK) {
            rc = KEEL_EBADDATA;
            snprintf(err, errlen, "line %lld: longer than %u bytes", p.line + 1, COMPUTE_GZ_CHUNK);
            goto out;
        }
    }
    rc = compute_csv_summary(&p, s, err, errlen);
out:
    if (zinit)
        inflateEnd(&zs);
    compute_agg_free(g);
    free(buf);
    return rc;
}
