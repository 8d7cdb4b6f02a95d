/*
 * test_compute_columns.c — the CSV column table of docs/compute.md against
 * what aggregate really writes: the generated column list
 * (compute_summary_columns) equals the table's rows, and every scalar in
 * real summaries (with rate columns, accelerometer-only, linear) is one of
 * those columns, so neither the docs nor the CSV can drift from the JSON.
 */
#include "input_util.h"

static const char *const expand_g[] = { "halt", "walk", "trot", "canter", "gallop", NULL };
static const char *const expand_ch[] = { "ax", "ay", "az", "gx", "gy", "gz", NULL };
static const char *const expand_col[] = { "time", "ax", "ay", "az", "gx", "gy", "gz", NULL };
static const char *const expand_r[] = { "left", "right", "straight", NULL };
static const char *const expand_mg[] = { "walk", "trot", "canter", "gallop", NULL };
static const char *const expand_r4[] = { "left", "right", "straight", "unknown", NULL };

/* adds path to set, expanding its placeholders (<g>, <ch>, <col>, <r>,
 * <mg> moving gaits, <r4> reins with unknown) */
static void add_expanded(json_t *set, const char *path)
{
    static const struct { const char *ph; const char *const *v; } ph[] = {
        { "<g>", expand_g }, { "<ch>", expand_ch }, { "<col>", expand_col }, { "<r>", expand_r },
        { "<mg>", expand_mg }, { "<r4>", expand_r4 },
    };
    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++) {
        const char *at = strstr(path, ph[i].ph);
        if (!at)
            continue;
        for (int k = 0; ph[i].v[k]; k++) {
            char buf[256];
            snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - path), path, ph[i].v[k], at + strlen(ph[i].ph));
            add_expanded(set, buf);
        }
        return;
    }
    json_object_set_new(set, path, json_true());
}

/* the backticked names in the first cell of each row of "### CSV columns" */
static json_t *doc_columns(void)
{
    const char *src = getenv("KEEL_SOURCE_DIR");
    char path[1024], *line = NULL;
    size_t cap = 0;
    int in = 0;
    json_t *set = json_object();
    snprintf(path, sizeof path, "%s/docs/compute.md", src ? src : ".");
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s (KEEL_SOURCE_DIR)", path);
    while (getline(&line, &cap, f) >= 0) {
        if (strncmp(line, "### CSV columns", 15) == 0) {
            in = 1;
            continue;
        }
        if (in && strncmp(line, "#", 1) == 0)
            break;
        if (!in || strncmp(line, "| `", 3) != 0)
            continue;
        char *end = strchr(line + 1, '|'); /* end of the first cell */
        for (char *p = line; p && p < end && (p = strchr(p, '`')) && p < end;) {
            char *q = strchr(p + 1, '`');
            if (!q)
                break;
            *q = 0;
            add_expanded(set, p + 1);
            p = q + 1;
        }
    }
    free(line);
    fclose(f);
    return set;
}

static void scalars_in(const json_t *o, const char *prefix, const json_t *cols)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", k);
        if (json_is_object(v))
            scalars_in(v, path, cols);
        else if (!json_is_array(v) && !json_is_null(v) && !json_object_get(cols, path))
            fail_msg("the summary has '%s', which is no CSV column", path);
    }
}

static void test_table_matches_output(void **state)
{
    size_t n;
    (void)state;
    char **cols = compute_summary_columns(&n);
    assert_non_null(cols);
    json_t *gen = json_object(), *doc = doc_columns();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(gen, cols[i], json_true());
    const char *k;
    json_t *v;
    json_object_foreach(gen, k, v)
        if (!json_object_get(doc, k))
            fail_msg("CSV column '%s' is not in docs/compute.md \"CSV columns\"", k);
    json_object_foreach(doc, k, v)
        if (!json_object_get(gen, k))
            fail_msg("docs/compute.md lists '%s', which aggregate does not write", k);
    assert_int_equal(json_object_size(gen), n); /* no duplicate name */
    /* real summaries: with and without rate columns */
    size_t len;
    compute_summary *s = malloc(sizeof *s);
    char err[320];
    char *csv = synth(plan, 100, 0, 0, 0, 0, &len);
    assert_int_equal(agg(csv, len, s, err, sizeof err), 0);
    json_t *j = compute_summary_json(s);
    scalars_in(j, "", gen);
    json_decref(j);
    s->no_gyro = 1;
    s->linear = 1;
    j = compute_summary_json(s);
    scalars_in(j, "", gen);
    json_decref(j);
    free(csv);
    free(s);
    json_decref(gen);
    json_decref(doc);
    compute_summary_columns_free(cols, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
