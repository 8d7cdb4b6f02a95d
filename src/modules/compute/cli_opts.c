/*
 * cli_opts.c — the option flags every tunable command shares (aggregate,
 * windows, trend): --options-file FILE (a JSON object), --options JSON and
 * --opt key=value (repeatable), merged in that order so the later wins.
 * The keys are checked by the command's own table (params.c, trend.c), not
 * here: an unknown key or a bad value is the command's invalid_input.
 */
#include <stdio.h>
#include <string.h>

#include "compute-internal.h"

int compute_cli_opts_flag(compute_cli_opts *o, int argc, char **argv, int *i, int *missing,
                          const char **bad)
{
    const char *v;
    *bad = NULL;
    if ((v = compute_cli_flag(argc, argv, i, "--options-file", missing))) {
        o->file = v;
        return 1;
    }
    if ((v = compute_cli_flag(argc, argv, i, "--options", missing))) {
        o->json = v;
        return 1;
    }
    if (!(v = compute_cli_flag(argc, argv, i, "--opt", missing)))
        return 0;
    const char *eq = strchr(v, '=');
    if (!eq || eq == v || eq - v > 63) {
        *bad = v;
        return -1;
    }
    if (!o->sets && !(o->sets = json_object()))
        return -1;
    /* a number is a number; anything else goes in as text so the command's
     * check names the key ("options.halt_rms: must be a number …") */
    double x;
    const char *nx, *end = eq + 1 + strlen(eq + 1);
    int isn;
    char key[64];
    snprintf(key, sizeof key, "%.*s", (int)(eq - v), v);
    int num = eq[1] && compute_parse_number(eq + 1, end, '.', 0, &x, &nx, &isn, NULL) == 0 &&
              nx == end && !isn;
    json_object_set_new(o->sets, key, num ? json_real(x) : json_string(eq + 1));
    return 1;
}

int compute_cli_opts_merge(const compute_cli_opts *o, const char *cmd, json_t **out)
{
    json_error_t je;
    *out = NULL;
    if (!o->file && !o->json && !o->sets)
        return 0;
    json_t *m = json_object();
    if (!m)
        return 1;
    if (o->file) {
        json_t *f = json_load_file(o->file, 0, &je);
        if (!json_is_object(f)) {
            fprintf(stderr, "keel compute %s: --options-file %s: not a JSON object (%s)\n", cmd,
                    o->file, f ? "another JSON value" : je.text);
            json_decref(f);
            json_decref(m);
            return 2;
        }
        json_object_update(m, f);
        json_decref(f);
    }
    if (o->json) {
        json_t *j = json_loads(o->json, 0, &je);
        if (!json_is_object(j)) {
            fprintf(stderr, "keel compute %s: --options: not a JSON object (%s)\n", cmd,
                    j ? "another JSON value" : je.text);
            json_decref(j);
            json_decref(m);
            return 2;
        }
        json_object_update(m, j);
        json_decref(j);
    }
    if (o->sets)
        json_object_update(m, o->sets);
    *out = m;
    return 0;
}

void compute_cli_opts_free(compute_cli_opts *o)
{
    json_decref(o->sets);
    o->sets = NULL;
}

int compute_cli_params(const compute_cli_opts *o, const char *cmd, compute_params *p)
{
    json_t *j;
    char err[160];
    int st = compute_cli_opts_merge(o, cmd, &j);
    if (st != 0)
        return st;
    int rc = compute_params_from_json(p, j, err, sizeof err);
    json_decref(j);
    if (rc < 0) {
        fprintf(stderr, "keel compute %s: invalid_input: %s\n", cmd, err);
        return 3;
    }
    return 0;
}
