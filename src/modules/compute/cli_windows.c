/*
 * cli_windows.c — `keel compute windows FILE…|-`: one row per analysis
 * window, streamed as each window is classified (NDJSON or CSV), files in
 * argument order.  The rows come from the aggregation stream's window
 * callback (compute_agg_on_window), the same one other modules call.
 * Exit: 0 ok, 2 usage, 3 bad input data (the other files are still written).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compute-internal.h"

static const char win_help[] =
    "usage: keel compute windows [options] [--] FILE...|-\n"
    "  One row per analysis window of each session as the summary counts it (2 s\n"
    "  each, tiling the session; gait times add up to the summary's), streamed:\n"
    "  file, t_start, t_end, gait, confidence, stride_hz, cadence_spm, regularity,\n"
    "  yaw_rate, rein, lead, dba, symmetry_pct (docs/compute.md \"windows\").\n"
    "  --format ndjson|csv   output (default ndjson; pandas.read_json(f, lines=True))\n"
    "  --time-unit s|ms --accel-unit m/s2|g|mg --gyro-unit rad/s|deg/s   as for aggregate\n"
    "  --opt key=value --options JSON --options-file F   thresholds, as for aggregate\n"
    "  --                    ends the options (a file named like one follows)\n"
    "exit: 0 ok, 2 usage, 3 bad input data (an error record is written for that file,\n"
    "      the other files are still processed)\n";

typedef struct wout {
    int csv;
    const char *file;
    char *file_json;          /* the name as a JSON string */
    long long rows;
} wout;

static void put_num(FILE *f, double x, const char *fmt, int csv)
{
    if (!isfinite(x))
        fputs(csv ? "" : "null", f);
    else
        fprintf(f, fmt, x);
}

static void csv_text(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void on_window(void *arg, const compute_window_row *w)
{
    wout *o = arg;
    FILE *f = stdout;
    const char *rein = w->rein > 1 ? NULL : w->rein > 0 ? "left" : w->rein < 0 ? "right" : "straight";
    const char *lead = w->lead > 0 ? "left" : w->lead < 0 ? "right" : NULL;
    static const char *const names[] = { "t_start", "t_end", "confidence", "stride_hz",
                                         "cadence_spm", "regularity", "yaw_rate", "dba",
                                         "symmetry_pct" };
    const double v[] = { w->t_start, w->t_end, w->confidence, w->stride_hz, w->cadence_spm,
                         w->regularity, w->yaw_rate, w->dba, w->symmetry_pct };
    static const char *const fmt[] = { "%.3f", "%.3f", "%.3f", "%.4f", "%.2f", "%.2f", "%.4f",
                                       "%.4f", "%.2f" };
    o->rows++;
    if (o->csv) {
        csv_text(f, o->file);
        for (int i = 0; i < 2; i++) {
            fputc(',', f);
            put_num(f, v[i], fmt[i], 1);
        }
        fprintf(f, ",%s", compute_window_gait(w->gait));
        for (int i = 2; i < 7; i++) {
            fputc(',', f);
            put_num(f, v[i], fmt[i], 1);
        }
        fprintf(f, ",%s,%s,", rein ? rein : "", lead ? lead : "");
        put_num(f, v[7], fmt[7], 1);
        fputc(',', f);
        put_num(f, v[8], fmt[8], 1);
        fputc('\n', f);
        return;
    }
    fprintf(f, "{\"file\":%s", o->file_json);
    for (int i = 0; i < 9; i++) {
        if (i == 2)
            fprintf(f, ",\"gait\":\"%s\"", compute_window_gait(w->gait));
        if (i == 7) {
            fputs(",\"rein\":", f);
            fprintf(f, rein ? "\"%s\"" : "null", rein ? rein : "");
            fputs(",\"lead\":", f);
            fprintf(f, lead ? "\"%s\"" : "null", lead ? lead : "");
        }
        fprintf(f, ",\"%s\":", names[i]);
        put_num(f, v[i], fmt[i], 0);
    }
    fputs("}\n", f);
}

int compute_cli_windows(int argc, char **argv)
{
    compute_options opt = { 0 };
    compute_params params;
    compute_cli_opts co = { 0 };
    int csv = 0, nfiles = 0, status = 0, missing = 0, opts_done = 0, k;
    const char *bad;
    char **files = calloc((size_t)argc + 1, sizeof *files);
    compute_summary *s = malloc(sizeof *s);
    const char *v;
    static char obuf[1 << 16];

    if (!files || !s) {
        free(files);
        free(s);
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (opts_done || (argv[i][0] != '-' || argv[i][1] == 0)) {
            files[nfiles++] = argv[i];
        } else if (strcmp(argv[i], "--") == 0) {
            opts_done = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            status = compute_cli_usage(win_help, NULL, NULL);
            goto out;
        } else if ((k = compute_cli_opts_flag(&co, argc, argv, &i, &missing, &bad)) != 0) {
            if (k < 0) {
                status = bad ? compute_cli_usage(win_help, "--opt wants key=value, got '%s'", bad) : 1;
                goto out;
            }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--format", &missing))) {
            if (strcmp(v, "ndjson") == 0) csv = 0;
            else if (strcmp(v, "csv") == 0) csv = 1;
            else { status = compute_cli_usage(win_help, "unknown --format '%s' (ndjson, csv)", v); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--time-unit", &missing))) {
            opt.time_unit = compute_cli_unit(v);
            if (opt.time_unit != COMPUTE_TIME_S && opt.time_unit != COMPUTE_TIME_MS) { status = compute_cli_usage(win_help, "--time-unit wants s or ms, got '%s'", v); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--accel-unit", &missing))) {
            opt.accel_unit = compute_cli_unit(v);
            if (opt.accel_unit != COMPUTE_ACCEL_MS2 && opt.accel_unit != COMPUTE_ACCEL_G && opt.accel_unit != COMPUTE_ACCEL_MG) { status = compute_cli_usage(win_help, "--accel-unit wants m/s2, g or mg, got '%s'", v); goto out; }
        } else if ((v = compute_cli_flag(argc, argv, &i, "--gyro-unit", &missing))) {
            opt.gyro_unit = compute_cli_unit(v);
            if (opt.gyro_unit != COMPUTE_GYRO_RADS && opt.gyro_unit != COMPUTE_GYRO_DEGS) { status = compute_cli_usage(win_help, "--gyro-unit wants rad/s or deg/s, got '%s'", v); goto out; }
        } else if (missing) {
            status = compute_cli_usage(win_help, "option '%s' needs a value", argv[i]);
            goto out;
        } else {
            status = compute_cli_usage(win_help, "unknown option '%s'", argv[i]);
            goto out;
        }
    }
    if (nfiles == 0) {
        status = compute_cli_usage(win_help, "no input file (use - for stdin)%s", "");
        goto out;
    }
    if ((status = compute_cli_params(&co, "windows", &params)) != 0)
        goto out;
    opt.params = &params;
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    if (csv)
        fputs("file,t_start,t_end,gait,confidence,stride_hz,cadence_spm,regularity,yaw_rate,"
              "rein,lead,dba,symmetry_pct\n", stdout);
    for (int i = 0; i < nfiles; i++) {
        char err[320] = "";
        json_t *name = json_string(files[i]);
        wout o = { .csv = csv, .file = files[i],
                   .file_json = name ? json_dumps(name, JSON_ENCODE_ANY) : NULL };
        json_decref(name);
        int rc;
        if (!o.file_json) {
            rc = KEEL_EBADDATA;
            snprintf(err, sizeof err, "file name is not valid UTF-8");
        } else {
            int fd = strcmp(files[i], "-") == 0 ? 0 : open(files[i], O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                rc = KEEL_EBADDATA;
                snprintf(err, sizeof err, "cannot open: %s", strerror(errno));
            } else {
                rc = compute_cli_read_fd(fd, &opt, on_window, &o, s, err, sizeof err);
                if (fd != 0)
                    close(fd);
            }
        }
        if (rc < 0) {
            fflush(stdout);
            fprintf(stderr, "keel compute: %s: %s\n", files[i], err);
            if (!csv) {
                json_t *e = json_pack("{s:s,s:{s:s,s:s}}", "file", files[i], "error", "code",
                                      keel_errname(rc), "message", err);
                if (e) {
                    json_dumpf(e, stdout, JSON_COMPACT);
                    putchar('\n');
                }
                json_decref(e);
            }
            int ex = keel_exit_status(rc);
            if (ex > status)
                status = ex;
        }
        free(o.file_json);
    }
out:
    compute_cli_opts_free(&co);
    fflush(stdout);
    free(files);
    free(s);
    return status;
}
