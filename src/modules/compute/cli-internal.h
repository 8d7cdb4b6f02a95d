/*
 * cli-internal.h — shared by compute's batch CLI files (cli_aggregate.c,
 * cli_batch.c).
 */
#ifndef COMPUTE_CLI_INTERNAL_H
#define COMPUTE_CLI_INTERNAL_H

#include <pthread.h>
#include <stdio.h>

#include "compute-internal.h"

typedef struct compute_batch_file {
    const char *path;
    int owned;                 /* path is ours to free (--files-from) */
    int rc;                    /* 0 or KEEL_E* */
    int done;                  /* under the batch mutex */
    char err[320];
    compute_summary *sum;      /* owned until emitted */
    json_t *meta;              /* ids for this file (owned) or NULL */
} compute_batch_file;

typedef struct compute_batch compute_batch;
struct compute_batch {
    compute_batch_file *files;
    size_t n, cap, next, ndone;
    json_t *meta;              /* --meta (owned) or NULL */
    const char *pattern;       /* --name-pattern (borrowed) or NULL */
    const compute_options *opt;
    int progress;
    void (*run)(compute_batch *b, compute_batch_file *f); /* one file, any thread */
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

/* Appends a path (owned: freed by compute_batch_free).  0 or KEEL_ENOMEM. */
int compute_batch_add(compute_batch *b, const char *path, int owned);
/* One path a line (empty lines skipped) from in.  0 or KEEL_E* with err. */
int compute_batch_files_from(compute_batch *b, FILE *in, char *err, size_t errlen);
/* "k=v,k=v" ids for every file; KEEL_EINVAL with err on a bad key. */
int compute_batch_meta(compute_batch *b, const char *spec, char *err, size_t errlen);
/* "{horse_id}_{date}.csv": ids from each file's base name. */
int compute_batch_pattern(compute_batch *b, const char *pat, char *err, size_t errlen);
/* f->meta from --meta and the pattern; KEEL_EBADDATA with f->err when the
 * name does not match. */
int compute_batch_ids(compute_batch *b, compute_batch_file *f);
/* Names of the id fields in output order (new array). */
json_t *compute_batch_id_keys(const compute_batch *b);
/* Runs b->run on every file with `jobs` threads and calls emit for each in
 * input order as soon as it and all before it are done. */
int compute_batch_run(compute_batch *b, int jobs, void (*emit)(compute_batch *, compute_batch_file *));
void compute_batch_free(compute_batch *b);

#endif
