/*
 * cli.c — `keel compute aggregate|trend|synth`, offline, in the mlr/jq habit.
 *
 * No server, no database: files are streamed in 1 MiB chunks through the
 * resumable CSV parser (memory bounded by the window, not the file), many
 * files in parallel with -j N (pthreads), results on stdout as JSON, NDJSON
 * or CSV in the order the files were given, messages and progress (only
 * when stderr is a TTY) on stderr.  Exit: 0 ok, 2 usage, 3 bad input data.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compute-internal.h"
#include "trend.h"

#define CHUNK (1u << 20)
#define JSON_FLAGS (JSON_REAL_PRECISION(10) | JSON_COMPACT)

enum { FMT_JSON, FMT_NDJSON, FMT_CSV };

static const char agg_help[] =
    "usage: keel compute aggregate [options] FILE...|-\n"
    "  One riding session per CSV file (header + time, ax, ay, az, gx, gy, gz in any\n"
    "  order and common spellings) to its summary; '-' reads stdin.\n"
    "  --format json|ndjson|csv   output (default json; ndjson/csv: one line per file)\n"
    "  -j N                       files in parallel (default 1)\n"
    "  --time-unit s|ms           override detection (also --accel-unit m/s2|g,\n"
    "  --gyro-unit rad/s|deg/s)   see docs/compute.md\n"
    "exit: 0 ok, 2 usage, 3 bad input data\n";

static const char synth_help[] =
    "usage: keel compute synth [options]\n"
    "  A deterministic synthetic session with known ground truth, CSV on stdout.\n"
    "  --plan P        e.g. \"walk:120,trot-left:300,canter-right:60,jump:1.1,halt:30\"\n"
    "                  gaits halt|walk|trot|canter|gallop[-left|-right]:seconds, jump:metres\n"
    "  --seed N        PRNG seed (default 1)     --rate HZ     sample rate (default 100)\n"
    "  --noise X       noise multiplier (1)      --drift X     gyro drift multiplier (1)\n"
    "  --roll DEG --pitch DEG --yaw DEG          sensor mounting rotation (0, 0, 0)\n"
    "  --trot-asym A   right diagonal amplitude 1-A, 0..0.5 (0)\n"
    "  --time-unit s|ms --accel-unit m/s2|g --gyro-unit rad/s|deg/s --delimiter ,|;\n"
    "  --out FILE      CSV to FILE instead of stdout\n"
    "  --truth FILE    ground truth JSON to FILE\n";

static const char trend_help[] =
    "usage: keel compute trend [--options JSON] FILE|-\n"
    "  Sessions as NDJSON (one {horse_id, date, summary} per line) or a JSON array\n"
    "  to per-horse baselines, changes and load (docs/compute.md \"trend\").\n";

static int usage(const char *text, const char *fmt, const char *arg)
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
static const char *flag(int argc, char **argv, int *i, const char *name, int *missing)
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

static compute_unit parse_unit(const char *s)
{
    static const struct { const char *n; compute_unit u; } t[] = {
        { "s", COMPUTE_TIME_S }, { "ms", COMPUTE_TIME_MS }, { "m/s2", COMPUTE_ACCEL_MS2 },
        { "g", COMPUTE_ACCEL_G }, { "rad/s", COMPUTE_GYRO_RADS }, { "deg/s", COMPUTE_GYRO_DEGS },
        { NULL, COMPUTE_UNIT_AUTO }
    };
    for (int i = 0; t[i].n; i++)
        if (strcmp(s, t[i].n) == 0)
            return t[i].u;
    return COMPUTE_UNIT_AUTO;
}

/* ---- streaming one file ------------------------------------------------------ */

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
    if ((rc = compute_csv_finish(&p)) < 0) {
        snprintf(err, errlen, "%s", p.err);
        goto out;
    }
    if ((rc = compute_agg_finish(g, s, err, errlen)) < 0)
        goto out;
    s->delimiter = p.delim;
    s->decimal = p.seen_dec ? p.seen_dec : '.';
    for (int i = 0; i < COMPUTE_NCOLS; i++)
        memcpy(s->columns[i], p.names[i], sizeof s->columns[i]);
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
    printf(",%.2f,%.2f,%.2f,%.4f,%.2f,%.2f,%.2f,%zu,%.4f,%.2f,\n", s->rein_left_s,
           s->rein_right_s, s->rein_straight_s, s->rein_balance, s->trot_symmetry_pct,
           s->canter_lead_left_s, s->canter_lead_right_s, s->jump_count, s->mdba, s->load);
}

static int cmd_aggregate(int argc, char **argv)
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
            status = usage(agg_help, NULL, NULL);
            goto out;
        } else if ((v = flag(argc, argv, &i, "--format", &missing))) {
            if (strcmp(v, "json") == 0) fmt = FMT_JSON;
            else if (strcmp(v, "ndjson") == 0) fmt = FMT_NDJSON;
            else if (strcmp(v, "csv") == 0) fmt = FMT_CSV;
            else { status = usage(agg_help, "unknown --format '%s' (json, ndjson, csv)", v); goto out; }
        } else if ((v = flag(argc, argv, &i, "-j", &missing)) || (v = flag(argc, argv, &i, "--jobs", &missing))) {
            char *e;
            long n = strtol(v, &e, 10);
            if (*e || n < 1 || n > 256) { status = usage(agg_help, "-j wants 1..256, got '%s'", v); goto out; }
            jobs = (int)n;
        } else if ((v = flag(argc, argv, &i, "--time-unit", &missing))) {
            opt.time_unit = parse_unit(v);
            if (opt.time_unit != COMPUTE_TIME_S && opt.time_unit != COMPUTE_TIME_MS) { status = usage(agg_help, "--time-unit wants s or ms, got '%s'", v); goto out; }
        } else if ((v = flag(argc, argv, &i, "--accel-unit", &missing))) {
            opt.accel_unit = parse_unit(v);
            if (opt.accel_unit != COMPUTE_ACCEL_MS2 && opt.accel_unit != COMPUTE_ACCEL_G) { status = usage(agg_help, "--accel-unit wants m/s2 or g, got '%s'", v); goto out; }
        } else if ((v = flag(argc, argv, &i, "--gyro-unit", &missing))) {
            opt.gyro_unit = parse_unit(v);
            if (opt.gyro_unit != COMPUTE_GYRO_RADS && opt.gyro_unit != COMPUTE_GYRO_DEGS) { status = usage(agg_help, "--gyro-unit wants rad/s or deg/s, got '%s'", v); goto out; }
        } else if (missing) {
            break;
        } else if (argv[i][0] == '-' && argv[i][1] != 0) {
            status = usage(agg_help, "unknown option '%s'", argv[i]);
            goto out;
        } else {
            files[nfiles++] = argv[i];
        }
    }
    if (missing) {
        status = usage(agg_help, "option '%s' needs a value", argv[argc - 1]);
        goto out;
    }
    if (nfiles == 0) {
        status = usage(agg_help, "no input file (use - for stdin)%s", "");
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

static int num_flag(const char *v, double lo, double hi, double *out)
{
    double x;
    const char *nx;
    int isn;
    compute_parse_number(v, v + strlen(v), '.', 0, &x, &nx, &isn, NULL);
    if (isn || *nx || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

static int cmd_synth(int argc, char **argv)
{
    compute_synth_opts o = { .seed = 1, .plan = "walk:60,trot:60,canter:60", .rate_hz = 100,
                             .noise = 1, .drift = 1 };
    const char *outp = NULL, *truthp = NULL, *v;
    int missing = 0, rc;
    double x;
    char err[320] = "";
    FILE *out = stdout;
    json_t *truth = NULL;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(synth_help, NULL, NULL);
#define NUMF(name, lo, hi, dst) \
        else if ((v = flag(argc, argv, &i, name, &missing))) { \
            if (num_flag(v, lo, hi, &x) < 0) return usage(synth_help, name " out of range: '%s'", v); \
            dst = x; }
        if (0) {}
        NUMF("--seed", 0, 9007199254740992.0, o.seed)
        NUMF("--rate", 10, 1000, o.rate_hz)
        NUMF("--noise", 0, 10, o.noise)
        NUMF("--drift", 0, 10, o.drift)
        NUMF("--roll", -180, 180, o.roll_deg)
        NUMF("--pitch", -60, 60, o.pitch_deg)
        NUMF("--yaw", -180, 180, o.yaw_deg)
        NUMF("--trot-asym", 0, 0.5, o.trot_asym)
#undef NUMF
        else if ((v = flag(argc, argv, &i, "--plan", &missing))) o.plan = v;
        else if ((v = flag(argc, argv, &i, "--out", &missing))) outp = v;
        else if ((v = flag(argc, argv, &i, "--truth", &missing))) truthp = v;
        else if ((v = flag(argc, argv, &i, "--time-unit", &missing))) {
            if (parse_unit(v) != COMPUTE_TIME_S && parse_unit(v) != COMPUTE_TIME_MS) return usage(synth_help, "--time-unit wants s or ms, got '%s'", v);
            o.time_ms = parse_unit(v) == COMPUTE_TIME_MS;
        } else if ((v = flag(argc, argv, &i, "--accel-unit", &missing))) {
            if (parse_unit(v) != COMPUTE_ACCEL_MS2 && parse_unit(v) != COMPUTE_ACCEL_G) return usage(synth_help, "--accel-unit wants m/s2 or g, got '%s'", v);
            o.accel_g = parse_unit(v) == COMPUTE_ACCEL_G;
        } else if ((v = flag(argc, argv, &i, "--gyro-unit", &missing))) {
            if (parse_unit(v) != COMPUTE_GYRO_RADS && parse_unit(v) != COMPUTE_GYRO_DEGS) return usage(synth_help, "--gyro-unit wants rad/s or deg/s, got '%s'", v);
            o.gyro_deg = parse_unit(v) == COMPUTE_GYRO_DEGS;
        } else if ((v = flag(argc, argv, &i, "--delimiter", &missing))) {
            if (strcmp(v, ",") && strcmp(v, ";")) return usage(synth_help, "--delimiter wants , or ;, got '%s'", v);
            o.semicolon = v[0] == ';';
        } else if (missing) {
            return usage(synth_help, "option '%s' needs a value", argv[i]);
        } else {
            return usage(synth_help, "unknown argument '%s'", argv[i]);
        }
    }
    /* check the plan before creating any file */
    if ((rc = compute_synth(&o, NULL, NULL, err, sizeof err)) < 0) {
        fprintf(stderr, "keel compute synth: %s\n", err);
        return 2;
    }
    if (outp && !(out = fopen(outp, "w"))) {
        fprintf(stderr, "keel compute synth: %s: %s\n", outp, strerror(errno));
        return 1;
    }
    static char obuf[1 << 16];
    if (!outp)
        setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    rc = compute_synth(&o, out, truthp ? &truth : NULL, err, sizeof err);
    if (outp && fclose(out) != 0 && rc == 0)
        rc = KEEL_EIO;
    if (!outp)
        fflush(stdout);
    if (rc == 0 && truthp && json_dump_file(truth, truthp, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0) {
        snprintf(err, sizeof err, "%s: cannot write", truthp);
        rc = KEEL_EIO;
    }
    json_decref(truth);
    if (rc < 0) {
        fprintf(stderr, "keel compute synth: %s\n", err[0] ? err : keel_strerror(rc));
        return keel_exit_status(rc) == 3 ? 3 : 1;
    }
    return 0;
}

/* ---- trend ---------------------------------------------------------------------- */

static char *slurp_fd(int fd, size_t *len)
{
    size_t cap = CHUNK, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (!nb) { free(b); return NULL; }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) { free(b); return NULL; }
        if (r == 0) break;
        n += (size_t)r;
    }
    if (b) { b[n] = 0; *len = n; }
    return b;
}

static int cmd_trend(keel_ctx *ctx, int argc, char **argv)
{
    const char *path = NULL, *optstr = NULL, *v;
    int missing = 0, status = 0;
    json_t *opts = NULL, *sessions = NULL, *out = NULL;
    char *text = NULL, err[320] = "";
    size_t len = 0;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return usage(trend_help, NULL, NULL);
        if ((v = flag(argc, argv, &i, "--options", &missing))) optstr = v;
        else if (missing) return usage(trend_help, "option '%s' needs a value", argv[i]);
        else if (argv[i][0] == '-' && argv[i][1]) return usage(trend_help, "unknown option '%s'", argv[i]);
        else if (path) return usage(trend_help, "one input only, got also '%s'", argv[i]);
        else path = argv[i];
    }
    if (!path)
        return usage(trend_help, "no input file (use - for stdin)%s", "");
    if (optstr) {
        json_error_t je;
        opts = json_loads(optstr, 0, &je);
        if (!json_is_object(opts)) {
            fprintf(stderr, "keel compute trend: --options: not a JSON object (%s)\n", je.text);
            status = 2;
            goto out;
        }
    }
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || !(text = slurp_fd(fd, &len))) {
        fprintf(stderr, "keel compute trend: %s: cannot read: %s\n", path, strerror(errno));
        if (fd > 0)
            close(fd);
        status = 3;
        goto out;
    }
    if (fd > 0)
        close(fd);
    json_t *in = json_pack("{s:s#}", "ndjson", text, len);
    if (!in) {
        fprintf(stderr, "keel compute trend: %s: not valid UTF-8\n", path);
        status = 3;
        goto out;
    }
    if (opts)
        json_object_set(in, "options", opts);
    int rc = keel_call(ctx, "compute", "trend", in, &out);
    json_decref(in);
    if (rc < 0) {
        const char *m = keel_ctx_errmsg(ctx);
        fprintf(stderr, "keel compute trend: %s: %s\n", path, m ? m : keel_strerror(rc));
        status = keel_exit_status(rc);
        goto out;
    }
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    putchar('\n');
    (void)err;
out:
    json_decref(opts);
    json_decref(sessions);
    json_decref(out);
    free(text);
    return status;
}

int compute_cli(keel_ctx *ctx, int argc, char **argv)
{
    if (argc < 1)
        return KEEL_CLI_PASS;
    if (strcmp(argv[0], "aggregate") == 0)
        return cmd_aggregate(argc, argv);
    if (strcmp(argv[0], "synth") == 0)
        return cmd_synth(argc, argv);
    if (strcmp(argv[0], "trend") == 0)
        return cmd_trend(ctx, argc, argv);
    return KEEL_CLI_PASS;
}
