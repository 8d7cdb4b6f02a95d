/*
 * cli-internal.h — the `keel` command line: one binary, every command.
 */
#ifndef KEEL_CLI_INTERNAL_H
#define KEEL_CLI_INTERNAL_H

#include <stdio.h>
#include "core/runtime-internal.h"
#include "api/remote-internal.h"

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

/* The input object of method m from --key value flags (argv without the
 * module and method); a KEEL_RAW_IN method's --<raw_field> @FILE becomes
 * *blob (malloc'd, *blob_len bytes, NUL-terminated) instead of a field.
 * 0 or an exit status (message printed). */
int keel__cli_flags_to_input(keel_module_ctx *mc, const keel_method *m, int argc, char **argv,
                             json_t **inp, char **blob, size_t *blob_len);

/* A raw file that is gzip (it starts with 1f 8b: ride.csv.gz) is replaced by
 * its decoded bytes, within KEEL_MAX_UPLOAD and KEEL_MAX_GZIP_RATIO as over
 * HTTP.  0 or an exit status (message printed). */
int keel__cli_gunzip_file(keel_runtime *rt, char **blob, size_t *len);

/* ---- cli_trace.c: spans of one-shot commands ------------------------------ */

/* Starts the span exporter when otlp_endpoint is set (a bad one is a
 * warning: the command still runs, untraced). */
void      keel__cli_trace_start(keel_runtime *rt);
/* Sends what is queued within KEEL_TRACE_CLI_FLUSH_MS and stops it. */
void      keel__cli_trace_stop(void);
/* The ctx of a command's call: transport cli, in the trace of TRACEPARENT /
 * TRACESTATE from the environment when they are valid.  NULL on ENOMEM. */
keel_ctx *keel__cli_trace_ctx(keel_runtime *rt);

/* ---- cli_remote.c: `keel <module> <method> --url http://host:port …` ---- */

/* Where a remote CLI call goes.  token: NULL = none (borrowed);
 * traceparent, tracestate: sent when set (borrowed). */
typedef struct keel_cli_remote {
    keel_remote_url u;
    const char     *module, *method, *token;
    const char     *traceparent, *tracestate;
} keel_cli_remote;

/* 1 when argv (module, method, flags…) asks for --url. */
int keel__cli_remote_wanted(int argc, char **argv);
/* Runs the call against the server at --url with the token from KEEL_TOKEN
 * or --token-file; a raw file goes gzip-compressed (a .csv.gz as it is),
 * with a progress line on stderr when it is a terminal.  Prints the answer
 * as a local call would; the exit status of the error code the server
 * answered (0 ok, 2 usage, 3 bad input, 4 unavailable, 1 the rest). */
int keel__cli_remote(const keel_cli_opts *o, int argc, char **argv);
/* One request: in's fields as the JSON body, or as query parameters next to
 * blob (the raw file; gzip-compressed on the wire unless it already is).
 * Thread-safe (a connection of its own).  0 with *rep filled (any HTTP
 * status; caller clears it), or KEEL_EUNAVAIL / KEEL_ETIMEDOUT / KEEL_ENOMEM
 * with err saying what happened. */
int keel__cli_remote_send(const keel_cli_remote *t, const json_t *in, const char *blob,
                          size_t blob_len, int tty, keel_http_reply *rep, char *err, size_t errlen);
/* The exit status for an HTTP status and the answer's error code (NULL if
 * none): 0 for 2xx, else as a local call with that code would exit. */
int keel__cli_remote_exit(int status, const char *code);

/* ---- cli_remote_many.c: one call per file, -j N at once ------------------- */

typedef struct keel_cli_many {
    char      **files;       /* malloc'd array of borrowed argv paths */
    size_t      nfiles;      /* 0 = the one-call path */
    int         jobs;        /* calls in flight, 1..64 */
    const char *name_format; /* --from-name FIELD=FORMAT: strptime FORMAT */
    char        name_field[128];
    const char *col_name;    /* --from-column FIELD=COLUMN: the CSV column */
    char        col_field[128];
} keel_cli_many;

/* Takes -j N, --from-name FIELD=FORMAT, every --<raw_field> @FILE and the
 * FILEs after `--` out of rest (compacting it, *nrest updated).  Several
 * files (or -j / --from-name with one) fill *many; one plain --csv @FILE
 * stays in rest.  0 or an exit status (message printed). */
int  keel__cli_many_args(const keel_method *m, size_t *nrest, char **rest, keel_cli_many *many);
/* One call per file with in's fields (borrowed), -j at once; one NDJSON line
 * per file on stdout in input order, each as soon as it and the ones before
 * it are done.  The exit status of the first file that failed, else 0. */
int  keel__cli_many_run(const keel_cli_remote *t, const json_t *in, const keel_cli_many *many);
void keel__cli_many_clear(keel_cli_many *many);

#endif
