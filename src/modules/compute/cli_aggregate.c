/*
 * cli_aggregate.c — `keel compute aggregate FILE…|-`: files streamed in 1 MiB
 * chunks through the resumable CSV parser, -j N in parallel (default: the
 * cores), each result written as soon as it and every file before it are
 * done, in input order, as JSON, NDJSON or CSV (columns = the summary's
 * flattened JSON paths, summary_flat.c).  The batch machinery (file lists,
 * ids, the pool) is cli_batch.c.  Progress on stderr only when it is a TTY.
 * Exit: 0 ok, 1 internal (out of memory, output not written), 2 usage,
 * 3 bad input data in at least one file (every other file is still written).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-internal.h"

#define CHUNK (1u << 20)
#define JSON_FLAGS (JSON_REAL_PRECISION(10) | JSON_COMPACT)

enum { FMT_JSON, FMT_NDJSON, FMT_CSV };

static const char agg_help[] =
    "usage: keel compute aggregate [options] [--] FILE...|-\n"
    "  One riding session per CSV file (header + time, ax, ay, az, gx, gy, gz in any\n"
    "  order and common spellings) to its summary; '-' reads stdin.\n"
    "  --format json|ndjson|csv   output (default json; ndjson/csv: one line per file,\n"
    "                             csv columns = the JSON paths, docs/compute.md)\n"
    "  -j N                       files in parallel (default: the number of cores);\n"
    "                             results stream in input order as they are ready\n"
    "  --files-from FILE|-        more input paths, one a line\n"
    "  --meta k=v[,k=v...]        ids added to every record (horse_id=7,date=2026-03-02):\n"
    "                             aggregate --format ndjson --meta ... | keel compute trend -\n"
    "  --name-pattern PAT         ids from each file's name: '{horse_id}_{date}.csv'\n"
    "  --keep-going               the default: a bad file gives its error record and\n"
    "                             the others are still written\n"
    "  --time-unit s|ms           override detection (also --accel-unit m/s2|g|mg,\n"
    "  --gyro-unit rad/s|deg/s)   see docs/compute.md\n"
    "  --opt key=value            one threshold (repeatable; keel compute defaults\n"
    "                             lists aggregate's); --options JSON, --options-file F\n"
    "                             (a JSON object) give several: file, then --options,\n"
    "                             then --opt, the later wins; the output's \"options\"\n"
    "                             records every value used\n"
    "  --                         ends the options\n"
    "exit: 0 ok, 1 internal error, 2 usage, 3 bad input data in at least one file\n";

static int aggregate_fd(int fd, const compute_options *opt, compute_summary *s, char *err, size_t errlen)
{
    return compute_cli_read_fd(fd, opt, NULL, NULL, s, err, errlen);
}

int compute_cli_read_fd(int fd, const compute_options *opt, compute_window_cb cb, void *arg,
                        compute_summary *s, char *err, size_t errlen)
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
    compute_agg_on_window(g, cb, arg);
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
        if ((rc = compute_csv_feed_buf(&p, buf, &have, eof, err, errlen)) != 0)
            goto out;
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

static void run_file(compute_batch *b, compute_batch_file *j)
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
        j->rc = aggregate_fd(fd, b->opt, j->sum, j->err, sizeof j->err);
    }
    if (fd != 0)
        close(fd);
}

typedef struct out {
    int fmt, status, first;
    size_t nfiles;
    char **cols;
    size_t ncols;
    json_t *idkeys;
} out;

static out O;

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

static void csv_value(const json_t *v)
{
    if (json_is_integer(v))
        printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        printf("%.10g", json_real_value(v));
    else if (json_is_string(v))
        csv_field(json_string_value(v));
    else if (json_is_true(v) || json_is_false(v))
        fputs(json_is_true(v) ? "true" : "false", stdout);
    /* null / absent: an empty cell */
}

static void csv_header(void)
{
    size_t i;
    json_t *k;
    fputs("file", stdout);
    json_array_foreach(O.idkeys, i, k) {
        putchar(',');
        csv_field(json_string_value(k));
    }
    for (size_t c = 0; c < O.ncols; c++)
        printf(",%s", O.cols[c]);
    fputs(",error\n", stdout);
}

static void csv_row(const compute_batch_file *j, const json_t *o)
{
    size_t i;
    json_t *k;
    csv_field(j->path);
    json_array_foreach(O.idkeys, i, k) {
        putchar(',');
        csv_value(json_object_get(j->meta, json_string_value(k)));
    }
    for (size_t c = 0; c < O.ncols; c++) {
        putchar(',');
        if (o)
            csv_value(compute_summary_path(o, O.cols[c]));
    }
    putchar(',');
    if (j->rc < 0)
        csv_field(j->err);
    putchar('\n');
}

static void emit(compute_batch *b, compute_batch_file *j)
{
    json_t *o = NULL;
    (void)b;
    if (j->rc < 0) {
        fprintf(stderr, "keel compute: %s: %s\n", j->path, j->err);
        int ex = keel_exit_status(j->rc);
        if (ex > O.status)
            O.status = ex;
    } else if (!(o = compute_summary_json(j->sum))) {
        O.status = 1;
        return;
    }
    if (O.fmt == FMT_CSV) {
        csv_row(j, o);
        json_decref(o);
        fflush(stdout);
        return;
    }
    if (j->rc < 0)
        o = json_pack("{s:s,s:{s:s,s:s}}", "file", j->path, "error", "code",
                      keel_errname(j->rc), "message", j->err);
    if (!o) {
        O.status = 1;
        return;
    }
    if (O.nfiles > 1 || O.fmt == FMT_NDJSON)
        json_object_set_new(o, "file", json_string(j->path));
    if (j->meta)
        json_object_update(o, j->meta);
    if (O.fmt == FMT_JSON && O.nfiles == 1) {
        if (j->rc == 0) {
            json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
            putchar('\n');
        }
    } else {
        if (O.fmt == FMT_JSON)
            fputs(O.first ? "[\n" : ",\n", stdout);
        json_dumpf(o, stdout, JSON_FLAGS);
        if (O.fmt == FMT_NDJSON)
            putchar('\n');
    }
    O.first = 0;
    json_decref(o);
    fflush(stdout); /* the record is out before the next file is awaited */
}

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

int compute_cli_aggregate(int argc, char **argv)
{
    compute_options opt = { 0 };
    compute_params params;
    compute_cli_opts co = { 0 };
    compute_batch b = { 0 };
    int jobs = cores(), missing = 0, opts_done = 0, stdin_list = 0, stdin_data = 0, k;
    char err[320] = "";
    const char *v, *bad;

    memset(&O, 0, sizeof O);
    O.fmt = FMT_JSON;
    O.first = 1;
    for (int i = 1; i < argc; i++) {
        if (opts_done || argv[i][0] != '-' || argv[i][1] == 0) {
            stdin_data |= strcmp(argv[i], "-") == 0;
            if (compute_batch_add(&b, argv[i], 0) < 0) { O.status = 1; goto out; }
        } else if (strcmp(argv[i], "--") == 0) {
            opts_done = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            O.status = compute_cli_usage(agg_help, NULL, NULL);
            goto out;
        } else if (strcmp(argv[i], "--keep-going") == 0) {
            continue; /* the behaviour in every case; accepted for scripts that say so */
        } else if ((k = compute_cli_opts_flag(&co, argc, argv, &i, &missing, &bad)) != 0) {
            if (k < 0) {
                O.status = bad ? compute_cli_usage(agg_help, "--opt wants key=value, got '%s'", bad) : 1;
                goto out;
            }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--format", &missing))) {
            if (strcmp(v, "json") == 0) O.fmt = FMT_JSON;
            else if (strcmp(v, "ndjson") == 0) O.fmt = FMT_NDJSON;
            else if (strcmp(v, "csv") == 0) O.fmt = FMT_CSV;
            else { O.status = compute_cli_usage(agg_help, "unknown --format '%s' (json, ndjson, csv)", v); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "-j", &missing)) || (v = compute_cli_flag(argc, argv, &i, "--jobs", &missing))) {
            char *e;
            long n = strtol(v, &e, 10);
            if (*e || n < 1 || n > 256) { O.status = compute_cli_usage(agg_help, "-j wants 1..256, got '%s'", v); goto out; }
            jobs = (int)n;
        } else if ((v = compute_cli_flag(argc, argv, &i, "--files-from", &missing))) {
            FILE *f = strcmp(v, "-") == 0 ? stdin : fopen(v, "r");
            stdin_list |= f == stdin;
            if (!f) {
                fprintf(stderr, "keel compute: --files-from %s: %s\n", v, strerror(errno));
                O.status = 2;
                goto out;
            }
            int rc = compute_batch_files_from(&b, f, err, sizeof err);
            if (f != stdin)
                fclose(f);
            if (rc < 0) {
                fprintf(stderr, "keel compute: %s\n", err);
                O.status = rc == KEEL_ENOMEM ? 1 : 2;
                goto out;
            }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--meta", &missing))) {
            if (compute_batch_meta(&b, v, err, sizeof err) < 0) { O.status = compute_cli_usage(agg_help, "%s", err); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--name-pattern", &missing))) {
            if (compute_batch_pattern(&b, v, err, sizeof err) < 0) { O.status = compute_cli_usage(agg_help, "%s", err); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--time-unit", &missing))) {
            opt.time_unit = compute_cli_unit(v);
            if (opt.time_unit != COMPUTE_TIME_S && opt.time_unit != COMPUTE_TIME_MS) { O.status = compute_cli_usage(agg_help, "--time-unit wants s or ms, got '%s'", v); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--accel-unit", &missing))) {
            opt.accel_unit = compute_cli_unit(v);
            if (opt.accel_unit != COMPUTE_ACCEL_MS2 && opt.accel_unit != COMPUTE_ACCEL_G && opt.accel_unit != COMPUTE_ACCEL_MG) { O.status = compute_cli_usage(agg_help, "--accel-unit wants m/s2, g or mg, got '%s'", v); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--gyro-unit", &missing))) {
            opt.gyro_unit = compute_cli_unit(v);
            if (opt.gyro_unit != COMPUTE_GYRO_RADS && opt.gyro_unit != COMPUTE_GYRO_DEGS) { O.status = compute_cli_usage(agg_help, "--gyro-unit wants rad/s or deg/s, got '%s'", v); goto out; }
        } else if (missing) {
            O.status = compute_cli_usage(agg_help, "option '%s' needs a value", argv[i]);
            goto out;
        } else {
            O.status = compute_cli_usage(agg_help, "unknown option '%s' (-- ends the options)", argv[i]);
            goto out;
        }
    }
    if (stdin_list && stdin_data) {
        O.status = compute_cli_usage(agg_help, "stdin cannot hold both the file list and a session%s", "");
        goto out;
    }
    if (b.n == 0) {
        O.status = compute_cli_usage(agg_help, "no input file (use - for stdin)%s", "");
        goto out;
    }
    if ((O.status = compute_cli_params(&co, "aggregate", &params)) != 0)
        goto out;
    opt.params = &params;
    b.opt = &opt;
    b.run = run_file;
    b.progress = isatty(2) && b.n > 1;
    O.nfiles = b.n;
    if (!(O.idkeys = compute_batch_id_keys(&b))) {
        O.status = 1;
        goto out;
    }
    if (O.fmt == FMT_CSV) {
        if (!(O.cols = compute_summary_columns(&O.ncols))) {
            O.status = 1;
            goto out;
        }
        csv_header();
    }
    if (compute_batch_run(&b, jobs, emit) < 0) {
        O.status = 1;
        goto out;
    }
    if (b.progress)
        fputc('\n', stderr);
    if (O.fmt == FMT_JSON && b.n > 1)
        fputs(O.first ? "[]\n" : "\n]\n", stdout);
out:
    compute_cli_opts_free(&co);
    compute_summary_columns_free(O.cols, O.ncols);
    json_decref(O.idkeys);
    compute_batch_free(&b);
    if (fflush(stdout) != 0 && O.status == 0)
        O.status = 1;
    return O.status;
}
