/*
 * csv_check.c — the structure of a sensor CSV's beginning, checked with the
 * parser aggregate uses (csv.c) and without compute running: riding's
 * upload_session answers 400 for a malformed file at once, while the summary
 * itself is computed later (docs/riding.md "Summaries are asynchronous").
 *
 * The prefix is cut at a line end so the last row checked is whole; rows are
 * pushed into a throw-away aggregator (the parser's only sink) and never
 * finished, so the cost is the prefix's rows, not the session's.
 */
#include <stdio.h>
#include <string.h>

#include "compute-internal.h"

int compute_csv_check(const char *csv, size_t len, size_t max_bytes, char *err, size_t errlen)
{
    compute_csv p;
    compute_agg *g;
    size_t n = len;
    int eof = 1, rc = 0;
    long long used;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (len > max_bytes) {
        const char *nl = max_bytes > 0 ? memrchr(csv, '\n', max_bytes) : NULL;
        /* no line end in the prefix: one long header line; check up to the
         * first line end wherever it is, or the whole file */
        if (nl == NULL)
            nl = memchr(csv, '\n', len);
        n = nl != NULL ? (size_t)(nl - csv) + 1 : len;
        eof = n == len;
    }
    g = compute_agg_new(NULL);
    if (g == NULL) {
        snprintf(err, errlen, "out of memory");
        return KEEL_ENOMEM;
    }
    compute_csv_init(&p, g);
    used = compute_csv_feed(&p, csv, n, eof);
    if (used < 0)
        rc = (int)used;
    else
        rc = compute_csv_finish(&p);
    if (rc < 0)
        snprintf(err, errlen, "%s", p.err);
    compute_agg_free(g);
    return rc;
}
