/*
 * compute/options.h — a table of numeric options, one row per key (nginx's
 * ngx_command_t habit), shared by aggregate's thresholds (params.c) and
 * trend's (trend.c): defaults, validation of a JSON object naming the key
 * that is wrong, the echo every output records, and `keel compute defaults`.
 * Depends on jansson and keel/error.h only.
 */
#ifndef COMPUTE_OPTIONS_H
#define COMPUTE_OPTIONS_H

#include <stddef.h>
#include <stdio.h>
#include <jansson.h>

/* One key: a double at offsetof(struct, name) in the options struct. */
typedef struct compute_optkey {
    const char *name;
    size_t      off;
    int         integer;        /* 1: must be a whole number */
    double      def, min, max;
    const char *unit, *meaning; /* for `keel compute defaults` */
} compute_optkey;

#define COMPUTE_OPT(T, n, i, d, lo, hi, u, m) { #n, offsetof(T, n), i, d, lo, hi, u, m }

/* Every key of keys (ended by a zeroed row) to its default in *st. */
void compute_opts_init(const compute_optkey *keys, void *st);
/* The keys of options (borrowed; NULL or JSON null: none) into *st over
 * what is there.  KEEL_EINVAL with err "options.KEY: …" for a non-object, an
 * unknown key, a non-number, a value out of range or a fraction where an
 * integer is wanted; *st may then be partly set. */
int compute_opts_set(const compute_optkey *keys, void *st, const json_t *options, char *err,
                     size_t errlen);
/* Every key and the value in *st: new object, NULL on ENOMEM. */
json_t *compute_opts_echo(const compute_optkey *keys, const void *st);
/* The table for `keel compute defaults`: text rows headed "<command> option",
 * or, when json is an object, {key: {default, min, max, integer, unit,
 * meaning}} set into it under command. */
void compute_opts_print(FILE *f, const char *command, const compute_optkey *keys, json_t *json);

#endif /* COMPUTE_OPTIONS_H */
