/*
 * fuzz_csv_aggregate.c — a CSV session through compute's parser and
 * aggregation (src/modules/compute: csv.c → aggregate*.c → gait.c …), twice:
 *
 *   1. the whole-buffer path (compute_aggregate_buffer, as compute.aggregate
 *      and riding.upload_session run it), and
 *   2. the resumable path (compute_csv_feed, as `keel compute aggregate`
 *      streams a file), fed in chunks whose sizes come from the input, the
 *      unconsumed tail kept and extended as the CLI does.
 *
 * Input: byte 0 picks the unit options (explicit or detected), byte 1 seeds
 * the chunk sizes (1..64, or 1..4096 bytes), the rest is the CSV text.
 * Checked: no crash or sanitizer report; both paths give the same result
 * (same error code and message, or byte-identical summary JSON); a summary's
 * numbers are finite and its counts consistent.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "keel/error.h"
#include "compute-internal.h"

static void check_summary(const compute_summary *s)
{
    int i;
    if (!isfinite(s->duration_s) || s->duration_s < 0 || !isfinite(s->mdba) || !isfinite(s->load))
        abort();
    if (s->samples < 0 || s->dropped_rows < 0 || s->nonmonotonic_rows > s->dropped_rows)
        abort();
    for (i = 0; i < COMPUTE_NGAITS; i++)
        if (!isfinite(s->gaits[i].time_s) || s->gaits[i].time_s < 0 ||
            s->gaits[i].time_s > s->duration_s + 1e-6 * (1 + s->duration_s))
            abort();
}

/* The resumable path: chunks of 1..max bytes from a xorshift seeded by seed. */
static int streamed(const char *csv, size_t len, const compute_options *opt, unsigned seed,
                    size_t max, compute_summary *s, char *err, size_t errlen)
{
    compute_agg *g = compute_agg_new(opt);
    compute_csv p;
    char *buf = malloc(len + 1);
    size_t have = 0, off = 0;
    uint32_t x = seed * 2654435761u + 1;
    int rc = 0;

    if (g == NULL || buf == NULL)
        abort();
    compute_csv_init(&p, g);
    for (;;) {
        size_t take;
        long long used;
        int eof;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        take = (size_t)(x % max) + 1;
        if (take > len - off)
            take = len - off;
        memcpy(buf + have, csv + off, take);
        have += take;
        off += take;
        eof = off == len;
        used = compute_csv_feed(&p, buf, have, eof);
        if (used < 0) {
            rc = (int)used;
            snprintf(err, errlen, "%s", p.err);
            goto out;
        }
        if ((size_t)used > have)
            abort();                      /* consumed more than it was given */
        memmove(buf, buf + used, have - (size_t)used);
        have -= (size_t)used;
        if (eof) {
            if (have != 0)
                abort();                  /* the last feed leaves nothing behind */
            break;
        }
    }
    rc = compute_csv_summary(&p, s, err, errlen);
out:
    compute_agg_free(g);
    free(buf);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const compute_unit tu[] = { COMPUTE_UNIT_AUTO, COMPUTE_TIME_S, COMPUTE_TIME_MS };
    static const compute_unit au[] = { COMPUTE_UNIT_AUTO, COMPUTE_ACCEL_MS2, COMPUTE_ACCEL_G };
    static const compute_unit gu[] = { COMPUTE_UNIT_AUTO, COMPUTE_GYRO_RADS, COMPUTE_GYRO_DEGS };
    compute_options opt = { 0 };
    compute_summary *a, *b;
    char ea[320], eb[320];
    const char *csv;
    size_t len;
    int ra, rb;

    if (size < 2 || size > (1u << 20))
        return 0;
    /* mostly detected units, as uploads are; sometimes explicit ones */
    opt.time_unit = tu[data[0] & 0x80 ? (data[0] & 3) % 3 : 0];
    opt.accel_unit = au[data[0] & 0x80 ? ((data[0] >> 2) & 3) % 3 : 0];
    opt.gyro_unit = gu[data[0] & 0x80 ? ((data[0] >> 4) & 3) % 3 : 0];
    csv = (const char *)data + 2;
    len = size - 2;
    a = calloc(1, sizeof *a);
    b = calloc(1, sizeof *b);
    if (a == NULL || b == NULL)
        abort();
    ea[0] = eb[0] = '\0';
    ra = compute_aggregate_buffer(csv, len, &opt, a, ea, sizeof ea);
    rb = streamed(csv, len, &opt, data[1], data[1] & 1 ? 4096 : 64, b, eb, sizeof eb);
    if (ra != rb) {
        fprintf(stderr, "buffer rc %d (%s) vs streamed rc %d (%s)\n", ra, ea, rb, eb);
        abort();
    }
    if (ra != 0) {
        if (ra != KEEL_EBADDATA && ra != KEEL_ENOMEM)
            abort();
        if (strcmp(ea, eb) != 0 || ea[0] == '\0') {
            fprintf(stderr, "buffer error '%s' vs streamed '%s'\n", ea, eb);
            abort();
        }
    } else {
        json_t *ja = compute_summary_json(a), *jb = compute_summary_json(b);
        char *ta = ja ? json_dumps(ja, JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
        char *tb = jb ? json_dumps(jb, JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
        if (ta == NULL || tb == NULL)
            abort();
        if (strcmp(ta, tb) != 0) {
            fprintf(stderr, "buffer:   %s\nstreamed: %s\n", ta, tb);
            abort();
        }
        check_summary(a);
        free(ta);
        free(tb);
        json_decref(ja);
        json_decref(jb);
    }
    free(a);
    free(b);
    return 0;
}
