/*
 * summary_flat.c — the summary as one flat row: every scalar of the JSON
 * summary, named by its path joined with '.' (gaits.trot.cadence_spm), in
 * the JSON's order.  The column list is taken from the JSON of a summary with
 * every section present, so a field added to the summary is a CSV column at
 * once and the CSV can never drift from the JSON; pandas.json_normalize() on
 * the NDJSON gives the same names.  Arrays (jumps, assumed.missing,
 * assumed.vertical) are JSON only.
 */
#include <stdlib.h>
#include <string.h>

#include "compute-internal.h"

static int add_paths(const json_t *o, const char *prefix, char ***names, size_t *n, size_t *cap)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(v)) {
            if (add_paths(v, path, names, n, cap) < 0)
                return -1;
            continue;
        }
        if (json_is_array(v))
            continue;
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            char **nn = realloc(*names, nc * sizeof *nn);
            if (!nn)
                return -1;
            *names = nn;
            *cap = nc;
        }
        if (!((*names)[*n] = strdup(path)))
            return -1;
        (*n)++;
    }
    return 0;
}

char **compute_summary_columns(size_t *n)
{
    compute_summary *s = calloc(1, sizeof *s);
    char **names = NULL;
    size_t cap = 0;
    json_t *j = NULL;

    *n = 0;
    if (!s)
        return NULL;
    /* every section present: rate columns (rein, lead, trot_reins objects);
     * linear, so assumed.vertical is the array it can be (JSON only) */
    s->linear = 1;
    for (int i = 0; i < COMPUTE_NCOLS; i++)
        snprintf(s->columns[i], sizeof s->columns[i], "%s", compute_col_names[i]);
    j = compute_summary_json(s);
    if (!j || add_paths(j, "", &names, n, &cap) < 0) {
        compute_summary_columns_free(names, *n);
        names = NULL;
        *n = 0;
    }
    json_decref(j);
    free(s);
    return names;
}

void compute_summary_columns_free(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

const json_t *compute_summary_path(const json_t *j, const char *path)
{
    char key[256];
    const char *p = path;
    while (j && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= sizeof key)
            return NULL;
        memcpy(key, p, len);
        key[len] = 0;
        j = json_object_get(j, key);
        p = dot ? dot + 1 : p + len;
    }
    return j;
}
