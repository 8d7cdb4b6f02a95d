/*
 * cli_flags.c — flag parsing shared by the compute commands (cli.c and
 * cli_aggregate.c): usage errors, "--name value" / "--name=value", units.
 */
#include <stdio.h>
#include <string.h>

#include "compute-internal.h"

int compute_cli_usage(const char *text, const char *fmt, const char *arg)
{
    if (fmt) {
        fprintf(stderr, "keel compute: ");
        fprintf(stderr, fmt, arg);
        fputc('\n', stderr);
    }
    fputs(text, fmt ? stderr : stdout);
    return fmt ? 2 : 0;
}

/* "--name value" or "--name=value"; *i advanced.  NULL if not this flag. */
const char *compute_cli_flag(int argc, char **argv, int *i, const char *name, int *missing)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (name[1] != '-' && argv[*i][n] != 0)
        return argv[*i] + n; /* -j4 */
    if (argv[*i][n] != 0)
        return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

compute_unit compute_cli_unit(const char *s)
{
    static const struct { const char *n; compute_unit u; } t[] = {
        { "s", COMPUTE_TIME_S }, { "ms", COMPUTE_TIME_MS }, { "m/s2", COMPUTE_ACCEL_MS2 },
        { "g", COMPUTE_ACCEL_G }, { "mg", COMPUTE_ACCEL_MG }, { "rad/s", COMPUTE_GYRO_RADS }, { "deg/s", COMPUTE_GYRO_DEGS },
        { NULL, COMPUTE_UNIT_AUTO }
    };
    for (int i = 0; t[i].n; i++)
        if (strcmp(s, t[i].n) == 0)
            return t[i].u;
    return COMPUTE_UNIT_AUTO;
}
