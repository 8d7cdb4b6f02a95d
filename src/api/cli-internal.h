/*
 * cli-internal.h — the `keel` command line: one binary, every command.
 */
#ifndef KEEL_CLI_INTERNAL_H
#define KEEL_CLI_INTERNAL_H

#include <stdio.h>
#include "core/runtime-internal.h"

/* Exit statuses (also keel_exit_status()). */
enum { KEEL_EXIT_OK = 0, KEEL_EXIT_RUNTIME = 1, KEEL_EXIT_USAGE = 2, KEEL_EXIT_DATA = 3,
       KEEL_EXIT_UNAVAILABLE = 4 };

/* Global options shared by every command (before or after the command word). */
typedef struct keel_cli_opts {
    const char  *config_file;   /* --config FILE (or KEEL_CONFIG) */
    const char **flags;         /* --set key=value …, NULL-terminated, owned array */
    size_t       nflags;
    int          json;          /* --json: machine-readable output */
    const char  *owner;         /* --owner EMAIL: method calls run as that user, not the operator */
} keel_cli_opts;

/* Entry point from main(): returns the process exit status. */
int keel_cli_main(int argc, char **argv);

/* Builds, configures and (with only != NULL or start_all) starts a runtime.
 * Prints the error and returns an exit status on failure. */
int keel__cli_runtime(const keel_cli_opts *o, const char *const *only, int start_all,
                      keel_runtime **rt);

/* Prints an error for err (with ctx detail when ctx != NULL) on stderr as
 * "keel: <code>: <message>" and returns its exit status. */
int keel__cli_fail(keel_ctx *ctx, int err, const char *what);

/* `keel call module.method JSON|@file|-` */
int keel__cli_call(const keel_cli_opts *o, int argc, char **argv);
/* `keel <module> [<method> [--key value …]]` */
int keel__cli_module(const keel_cli_opts *o, int argc, char **argv);

/* Reads a whole file ("-" = stdin) into a malloc'd NUL-terminated buffer. */
char *keel__cli_slurp(const char *path, size_t *len);
/* Prints JSON to stdout, pretty when stdout is a TTY, compact otherwise. */
void keel__cli_print_json(const json_t *v);

#endif
