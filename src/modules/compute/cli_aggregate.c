/*
 * cli_aggregate.c — `keel compute aggregate FILE…|-`: files streamed in 1 MiB
 * chunks through the resumable CSV parser, -j N in parallel (pthreads),
 * results in argument order as JSON, NDJSON or CSV; progress on stderr only
 * when it is a TTY.  Exit: 0 ok, 2 usage, 3 bad input data.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compute-internal.h"

#define CHUNK (1u << 20)
#define JSON_FLAGS (JSON_REAL_PRECISION(10) | JSON_COMPACT)

enum { FMT_JSON, FMT_NDJSON, FMT_CSV };

static const char agg_help[] =
    "usage: keel compute aggregate [options] FILE...|-\n"
    "  One riding session per CSV file (header + time, ax, ay, az, gx, gy, gz in any\n"
    "  order and common spellings) to its summary; '-' reads stdin.\n"
    "  --format json|ndjson|csv   output (default json; ndjson/csv: one line per file)\n"
    "  -j N                       files in parallel (default 1)\n"
    "  --time-unit s|ms           override detection (also --accel-unit m/s2|g|mg,\n"
    "  --gyro-unit rad/s|deg/s)   see docs/compute.md\n"
    "exit: 0 ok, 2 usage, 3 bad input data\n";

static int aggregate_fd(int fd, const compute_options *opt, compute_summary *s, char *err, size_t errlen)
{
    compute_csv p;
    size_t cap = CHUNK, have = 0;
    char *buf = malloc(cap);
    compute_agg *g = compute_agg_new(opt);
    int rc = 0;

    if (!buf || !g) {
        rc = KEEL_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    compute_csv_init(&p, g);
    for (;;) {
        ssize_t n = read(fd, buf + have, cap - have);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = KEEL_EBADDATA;
            snprintf(err, errlen, "read: %s", strerror(errno));
            goto out;
        }
        int eof = n == 0;
        have += (size_t)n;
        long long used = compute_csv_feed(&p, buf, have, eof);
        if (used < 0) {
            rc = (int)used;
            snprintf(err, errlen, "%s", p.err);
            goto out;
        }
        memmove(buf, buf + used, have - (size_t)used);
        have -= (size_t)used;
        if (eof)
            break;
        if (have == cap) {
            rc = KEEL_EBADDATA;
            snprintf(err, errlen, "line %lld: longer than %u bytes", p.line + 1, CHUNK);
            goto out;
        }
    }
    rc = compute_csv_summary(&p, s, err, errlen);
out:
    compute_agg_free(g);
    free(buf);
    return rc;
}

typedef struct job {
    const char *path;
    int rc;
    char err[320];
    compute_summary *sum;
} job;

typedef struct pool {
    job *jobs;
    size_t n, next, done;
    const compute_options *opt;
    int progress;
    pthread_mutex_t mu;
} pool;

static void run_job(job *j, const compute_options *opt)
{
    int fd = strcmp(j->path, "-") == 0 ? 0 : open(j->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        j->rc = KEEL_EBADDATA;
        snprintf(j->err, sizeof j->err, "cannot open: %s", strerror(errno));
        return;
    }
    j->sum = malloc(sizeof *j->sum);
    if (!j->sum) {
        j->rc = KEEL_ENOMEM;
        snprintf(j->err, sizeof j->err, "out of memory");
    } else {
        j->rc = aggregate_fd(fd, opt, j->sum, j->err, sizeof j->err);
    }
    if (fd != 0)
        close(fd);
}

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            break;
        run_job(&p->jobs[i], p->opt);
        pthread_mutex_lock(&p->mu);
        p->done++;
        if (p->progress)
            fprintf(stderr, "\rkeel compute: %zu/%zu files", p->done, p->n);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

static void csv_field(const char *s)
{
    if (strpbrk(s, ",\"\n\r")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
}

static void csv_header(void)
{
    fputs("file,duration_s,samples,rate_hz,gaps,gap_s,dropped_rows,nonmonotonic_rows,nan_cells,"
          "time_unit,accel_unit,gyro_unit", stdout);
    for (int g = 0; g < COMPUTE_NGAITS; g++)
        printf(",%s_time_s,%s_share,%s_cadence_spm,%s_regularity", compute_gait_names[g],
               compute_gait_names[g], compute_gait_names[g], compute_gait_names[g]);
    fputs(",rein_left_s,rein_right_s,rein_straight_s,rein_balance,trot_symmetry_pct,"
          "canter_lead_left_s,canter_lead_right_s,jump_count,mdba,load,error\n", stdout);
}

static void csv_row(const job *j)
{
    csv_field(j->path);
    if (j->rc < 0 || !j->sum) {
        for (int i = 0; i < 11 + 4 * COMPUTE_NGAITS + 10; i++)
            putchar(',');
        putchar(',');
        csv_field(j->err);
        putchar('\n');
        return;
    }
    const compute_summary *s = j->sum;
    printf(",%.3f,%lld,%.3f,%lld,%.3f,%lld,%lld,%lld,%s,%s,%s", s->duration_s, s->samples,
           s->rate_hz, s->gaps, s->gap_s, s->dropped_rows, s->nonmonotonic_rows, s->nan_cells,
           s->time_unit, s->accel_unit, s->gyro_unit);
    for (int g = 0; g < COMPUTE_NGAITS; g++)
        printf(",%.2f,%.4f,%.2f,%.2f", s->gaits[g].time_s, s->gaits[g].share,
               s->gaits[g].cadence_spm, s->gaits[g].regularity);
    if (s->no_gyro) /* accelerometer only: unknown is an empty cell, never 0 */
        printf(",,,,,,,,%zu,%.4f,%.2f,\n", s->jump_count, s->mdba, s->load);
    else
        printf(",%.2f,%.2f,%.2f,%.4f,%.2f,%.2f,%.2f,%zu,%.4f,%.2f,\n", s->rein_left_s,
               s->rein_right_s, s->rein_straight_s, s->rein_balance, s->trot_symmetry_pct,
               s->canter_lead_left_s, s->canter_lead_right_s, s->jump_count, s->mdba, s->load);
}

int compute_cli_aggregate(int argc, char **argv)
{
    compute_options opt = { 0 };
    int fmt = FMT_JSON, jobs = 1, nfiles = 0, status = 0, missing = 0;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    job *js = NULL;
    pthread_t *th = NULL;
    const char *v;

    if (!files)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            status = compute_cli_usage(agg_help, NULL, NULL);
            goto out;
        } else if ((v = compute_cli_flag(argc, argv, &i, "--format", &missing))) {
            if (strcmp(v, "json") == 0) fmt = FMT_JSON;
            else if (strcmp(v, "ndjson") == 0) fmt = FMT_NDJSON;
            else if (strcmp(v, "csv") == 0) fmt = FMT_CSV;
            else { status = compute_cli_usage(agg_help, "unknown --format '%s' (json, ndjson, csv)", v); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "-j", &missing)) || (v = compute_cli_flag(argc, argv, &i, "--jobs", &missing))) {
            char *e;
            long n = strtol(v, &e, 10);
            if (*e || n < 1 || n > 256) { status = compute_cli_usage(agg_help, "-j wants 1..256, got '%s'", v); goto out; }
            jobs = (int)n;
        } else if ((v = compute_cli_flag(argc, argv, &i, "--time-unit", &missing))) {
            opt.time_unit = compute_cli_unit(v);
            if (opt.time_unit != COMPUTE_TIME_S && opt.time_unit != COMPUTE_TIME_MS) { status = compute_cli_usage(agg_help, "--time-unit wants s or ms, got '%s'", v); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--accel-unit", &missing))) {
            opt.accel_unit = compute_cli_unit(v);
            if (opt.accel_unit != COMPUTE_ACCEL_MS2 && opt.accel_unit != COMPUTE_ACCEL_G && opt.accel_unit != COMPUTE_ACCEL_MG) { status = compute_cli_usage(agg_help, "--accel-unit wants m/s2, g or mg, got '%s'", v); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--gyro-unit", &missing))) {
            opt.gyro_unit = compute_cli_unit(v);
            if (opt.gyro_unit != COMPUTE_GYRO_RADS && opt.gyro_unit != COMPUTE_GYRO_DEGS) { status = compute_cli_usage(agg_help, "--gyro-unit wants rad/s or deg/s, got '%s'", v); goto out; }
        } else if (missing) {
            break;
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            status = compute_cli_usage(agg_help, "unknown option '%s'", argv[i]);
            goto out;
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (missing) {
        status = compute_cli_usage(agg_help, "option '%s' needs a value", argv[argc - 1]);
        goto out;
    }
    if (nfiles == 0) {
        status = compute_cli_usage(agg_help, "no input file (use - for stdin)%s", "");
        goto out;
    }
    js = calloc((size_t)nfiles, sizeof *js);
    th = calloc((size_t)jobs, sizeof *th);
    if (!js || !th) {
        status = 1;
        goto out;
    }
    for (int i = 0; i < nfiles; i++)
        js[i].path = files[i];
    pool p = { .jobs = js, .n = (size_t)nfiles, .opt = &opt,
               .progress = isatty(2) && nfiles > 1 };
    pthread_mutex_init(&p.mu, NULL);
    int started = 0;
    if (jobs > nfiles)
        jobs = nfiles;
    for (int i = 1; i < jobs; i++)
        if (pthread_create(&th[i], NULL, worker, &p) == 0)
            started = i;
    worker(&p);
    for (int i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
    pthread_mutex_destroy(&p.mu);
    if (p.progress)
        fputc('\n', stderr);

    if (fmt == FMT_CSV)
        csv_header();
    if (fmt == FMT_JSON && nfiles > 1)
        fputs("[\n", stdout);
    for (int i = 0; i < nfiles; i++) {
        job *j = &js[i];
        if (j->rc < 0) {
            fprintf(stderr, "keel compute: %s: %s\n", j->path, j->err);
            int ex = keel_exit_status(j->rc);
            if (ex > status)
                status = ex;
        }
        if (fmt == FMT_CSV) {
            csv_row(j);
            continue;
        }
        json_t *o;
        if (j->rc < 0)
            o = json_pack("{s:s,s:{s:s,s:s}}", "file", j->path, "error", "code",
                          keel_errname(j->rc), "message", j->err);
        else
            o = compute_summary_json(j->sum);
        if (!o) {
            status = 1;
            continue;
        }
        if (nfiles > 1 || fmt == FMT_NDJSON)
            json_object_set_new(o, "file", json_string(j->path));
        if (fmt == FMT_JSON && nfiles == 1) {
            if (j->rc == 0)
                json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        } else {
            json_dumpf(o, stdout, JSON_FLAGS);
            if (fmt == FMT_JSON && i + 1 < nfiles)
                putchar(',');
        }
        if (!(fmt == FMT_JSON && nfiles == 1 && j->rc < 0))
            putchar('\n');
        json_decref(o);
    }
    if (fmt == FMT_JSON && nfiles > 1)
        fputs("]\n", stdout);
out:
    if (js)
        for (int i = 0; i < nfiles; i++)
            free(js[i].sum);
    free(js);
    free(th);
    free(files);
    fflush(stdout);
    return status;
}

/* ---- synth -------------------------------------------------------------------- */
