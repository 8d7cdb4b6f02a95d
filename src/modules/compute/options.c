/*
 * compute/options.c — numeric option tables (contract in options.h).
 */
#include "options.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "keel/error.h"

/* the option fields are doubles at k->off: memcpy, not a char*→double* cast */
static double get(const void *st, const compute_optkey *k)
{
    double x;
    memcpy(&x, (const char *)st + k->off, sizeof x);
    return x;
}

static void put(void *st, const compute_optkey *k, double x)
{
    memcpy((char *)st + k->off, &x, sizeof x);
}

void compute_opts_init(const compute_optkey *keys, void *st)
{
    for (const compute_optkey *k = keys; k->name; k++)
        put(st, k, k->def);
}

int compute_opts_set(const compute_optkey *keys, void *st, const json_t *options, char *err,
                     size_t errlen)
{
    const char *name;
    json_t *val;

    if (!options || json_is_null(options))
        return 0;
    if (!json_is_object(options)) {
        snprintf(err, errlen, "options: must be an object");
        return KEEL_EINVAL;
    }
    json_object_foreach((json_t *)options, name, val) {
        const compute_optkey *k;
        for (k = keys; k->name && strcmp(k->name, name) != 0; k++) {}
        if (!k->name) {
            snprintf(err, errlen, "options.%s: unknown option", name);
            return KEEL_EINVAL;
        }
        double x = json_is_number(val) ? json_number_value(val) : NAN;
        if (!(x >= k->min && x <= k->max) || (k->integer && x != floor(x))) {
            snprintf(err, errlen, "options.%s: must be %s between %g and %g", name,
                     k->integer ? "an integer" : "a number", k->min, k->max);
            return KEEL_EINVAL;
        }
        put(st, k, x);
    }
    return 0;
}

json_t *compute_opts_echo(const compute_optkey *keys, const void *st)
{
    json_t *o = json_object();
    for (const compute_optkey *k = keys; o && k->name; k++) {
        double x = get(st, k);
        if (json_object_set_new(o, k->name, k->integer ? json_integer((json_int_t)x) : json_real(x))) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

void compute_opts_print(FILE *f, const char *command, const compute_optkey *keys, json_t *json)
{
    json_t *o = json ? json_object() : NULL;
    char head[48];

    if (!json) {
        snprintf(head, sizeof head, "%s option", command);
        fprintf(f, "%-22s %-8s %-14s %-9s %s\n", head, "default", "range", "unit", "meaning");
    }
    for (const compute_optkey *k = keys; k->name; k++) {
        if (json) {
            json_object_set_new(o, k->name, json_pack("{s:f,s:f,s:f,s:b,s:s,s:s}", "default", k->def,
                                                      "min", k->min, "max", k->max, "integer",
                                                      k->integer, "unit", k->unit, "meaning", k->meaning));
            continue;
        }
        char range[32];
        snprintf(range, sizeof range, "%g..%g%s", k->min, k->max, k->integer ? " int" : "");
        fprintf(f, "%-22s %-8g %-14s %-9s %s\n", k->name, k->def, range, k->unit, k->meaning);
    }
    if (json)
        json_object_set_new(json, command, o);
}
