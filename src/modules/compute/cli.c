/*
 * cli.c — `keel compute aggregate|trend|synth`, offline, in the mlr/jq habit:
 * no server, no database.  This file: dispatch, synth and trend; aggregate's
 * batch runner is cli_aggregate.c, the flag helpers both use cli_flags.c.
 * Exit: 0 ok, 2 usage, 3 bad input data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compute-internal.h"
#include "trend.h"

#define CHUNK (1u << 20)

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
    "usage: keel compute trend [--opt k=v]... [--format json|ndjson|csv] [--] FILE|-\n"
    "  Sessions as NDJSON (one {horse_id, date, summary} per line, or aggregate's\n"
    "  ndjson with --meta) or a JSON array to per-horse baselines, changes and load\n"
    "  (docs/compute.md \"trend\").\n"
    "  --opt key=value   one option (repeatable; keel compute defaults lists them)\n"
    "  --options JSON    options as a JSON object\n"
    "  --options-file F  options from a JSON object {\"key\": value, ...}; --options\n"
    "                    and --opt win over it.  Unknown keys and values out of range\n"
    "                    are errors; the output's \"options\" records what was used.\n"
    "                    (--set/--config are keel's own configuration flags.)\n"
    "  --format json     one document {horses, options} (default)\n"
    "  --format ndjson   one line per horse\n"
    "  --format csv      one row per horse and metric: horse_id, metric, n, baseline_n,\n"
    "                    latest, baseline, change, change_pct, z, z_basis, slope_30d\n"
    "exit: 0 ok, 2 usage, 3 bad input data\n";

static void csv_cell(const json_t *v)
{
    if (json_is_integer(v)) {
        printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        printf("%.10g", json_real_value(v));
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strpbrk(s, ",\"\n\r")) {
            fputs(s, stdout);
            return;
        }
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    }
}

/* trend's output as one row per horse and metric (long form, for pandas) */
static void trend_csv(const json_t *out)
{
    static const char *const f[] = { "n", "baseline_n", "latest", "baseline", "change",
                                      "change_pct", "z", "z_basis", "slope_30d", NULL };
    size_t i;
    const json_t *h;
    fputs("horse_id,metric", stdout);
    for (int k = 0; f[k]; k++)
        printf(",%s", f[k]);
    putchar('\n');
    json_array_foreach(json_object_get(out, "horses"), i, h) {
        const char *name;
        const json_t *m;
        json_object_foreach(json_object_get(h, "metrics"), name, m) {
            csv_cell(json_object_get(h, "horse_id"));
            printf(",%s", name);
            for (int k = 0; f[k]; k++) {
                putchar(',');
                csv_cell(json_object_get(m, f[k]));
            }
            putchar('\n');
        }
    }
}
/* ---- streaming one file ------------------------------------------------------ */

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
            return compute_cli_usage(synth_help, NULL, NULL);
        static const struct { const char *name; double lo, hi; } numf[] = {
            { "--seed", 0, 9007199254740992.0 }, { "--rate", 10, 1000 }, { "--noise", 0, 10 },
            { "--drift", 0, 10 }, { "--roll", -180, 180 }, { "--pitch", -60, 60 },
            { "--yaw", -180, 180 }, { "--trot-asym", 0, 0.5 }, { NULL, 0, 0 }
        };
        double *const numd[] = { NULL, &o.rate_hz, &o.noise, &o.drift, &o.roll_deg,
                                 &o.pitch_deg, &o.yaw_deg, &o.trot_asym };
        int nf = 0;
        for (; numf[nf].name; nf++)
            if ((v = compute_cli_flag(argc, argv, &i, numf[nf].name, &missing)))
                break;
        if (numf[nf].name) {
            if (num_flag(v, numf[nf].lo, numf[nf].hi, &x) < 0) {
                char m[200];
                snprintf(m, sizeof m, "%s out of range (%g..%g): '%.80s'", numf[nf].name,
                         numf[nf].lo, numf[nf].hi, v);
                return compute_cli_usage(synth_help, "%s", m);
            }
            if (nf == 0)
                o.seed = (uint64_t)x;
            else
                *numd[nf] = x;
            continue;
        }
        else if ((v = compute_cli_flag(argc, argv, &i, "--plan", &missing))) o.plan = v;
        else if ((v = compute_cli_flag(argc, argv, &i, "--out", &missing))) outp = v;
        else if ((v = compute_cli_flag(argc, argv, &i, "--truth", &missing))) truthp = v;
        else if ((v = compute_cli_flag(argc, argv, &i, "--time-unit", &missing))) {
            if (compute_cli_unit(v) != COMPUTE_TIME_S && compute_cli_unit(v) != COMPUTE_TIME_MS) return compute_cli_usage(synth_help, "--time-unit wants s or ms, got '%s'", v);
            o.time_ms = compute_cli_unit(v) == COMPUTE_TIME_MS;
        } else if ((v = compute_cli_flag(argc, argv, &i, "--accel-unit", &missing))) {
            if (compute_cli_unit(v) != COMPUTE_ACCEL_MS2 && compute_cli_unit(v) != COMPUTE_ACCEL_G) return compute_cli_usage(synth_help, "--accel-unit wants m/s2 or g, got '%s'", v);
            o.accel_g = compute_cli_unit(v) == COMPUTE_ACCEL_G;
        } else if ((v = compute_cli_flag(argc, argv, &i, "--gyro-unit", &missing))) {
            if (compute_cli_unit(v) != COMPUTE_GYRO_RADS && compute_cli_unit(v) != COMPUTE_GYRO_DEGS) return compute_cli_usage(synth_help, "--gyro-unit wants rad/s or deg/s, got '%s'", v);
            o.gyro_deg = compute_cli_unit(v) == COMPUTE_GYRO_DEGS;
        } else if ((v = compute_cli_flag(argc, argv, &i, "--delimiter", &missing))) {
            if (strcmp(v, ",") != 0 && strcmp(v, ";") != 0) return compute_cli_usage(synth_help, "--delimiter wants , or ;, got '%s'", v);
            o.semicolon = v[0] == ';';
        } else if (missing) {
            return compute_cli_usage(synth_help, "option '%s' needs a value", argv[i]);
        } else {
            return compute_cli_usage(synth_help, "unknown argument '%s'", argv[i]);
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
    const char *path = NULL, *v, *bad, *fmt = "json";
    int missing = 0, status = 0, opts_done = 0, k;
    json_t *opts = NULL, *sessions = NULL, *out = NULL;
    compute_cli_opts co = { 0 };
    char *text = NULL, err[320] = "";
    size_t len = 0;

    for (int i = 1; i < argc; i++) {
        if (!opts_done && strcmp(argv[i], "--") == 0) { opts_done = 1; continue; }
        if (opts_done || argv[i][0] != '-' || argv[i][1] == 0) {
            if (path) { status = compute_cli_usage(trend_help, "one input only, got also '%s'", argv[i]); goto out; }
            path = argv[i];
            continue;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            status = compute_cli_usage(trend_help, NULL, NULL);
            goto out;
        }
        if ((k = compute_cli_opts_flag(&co, argc, argv, &i, &missing, &bad)) < 0) {
            status = bad ? compute_cli_usage(trend_help, "--opt wants key=value, got '%s'", bad) : 1;
            goto out;
        }
        if (k > 0) continue;
        if ((v = compute_cli_flag(argc, argv, &i, "--format", &missing))) {
            if (strcmp(v, "json") != 0 && strcmp(v, "ndjson") != 0 && strcmp(v, "csv") != 0) {
                status = compute_cli_usage(trend_help, "unknown --format '%s' (json, ndjson, csv)", v);
                goto out;
            }
            fmt = v;
        }
        else if (missing) { status = compute_cli_usage(trend_help, "option '%s' needs a value", argv[i]); goto out; }
        else { status = compute_cli_usage(trend_help, "unknown option '%s' (-- ends the options)", argv[i]); goto out; }
    }
    if (!path) {
        status = compute_cli_usage(trend_help, "no input file (use - for stdin)%s", "");
        goto out;
    }
    /* --options-file, then --options, then --opt: the later wins */
    if ((status = compute_cli_opts_merge(&co, "trend", &opts)) != 0)
        goto out;
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
    if (strcmp(fmt, "csv") == 0) {
        trend_csv(out);
    } else if (strcmp(fmt, "ndjson") == 0) {
        size_t i;
        const json_t *h;
        json_array_foreach(json_object_get(out, "horses"), i, h) {
            json_dumpf(h, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10));
            putchar('\n');
        }
    } else {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        putchar('\n');
    }
    (void)err;
out:
    compute_cli_opts_free(&co);
    json_decref(opts);
    json_decref(sessions);
    json_decref(out);
    free(text);
    return status;
}

static const char defaults_help[] =
    "usage: keel compute defaults [--format text|json]\n"
    "  Every tunable option with its default, range, unit and meaning, under the\n"
    "  command it belongs to: \"aggregate\" (aggregate and windows) and \"trend\".\n"
    "  Set them with --opt key=value, --options-file F or --options JSON on that\n"
    "  command, or as \"options\" in its HTTP/keel_call input (docs/compute.md).\n";

static int cmd_defaults(int argc, char **argv)
{
    int json = 0, missing = 0;
    const char *v;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return compute_cli_usage(defaults_help, NULL, NULL);
        if ((v = compute_cli_flag(argc, argv, &i, "--format", &missing))) {
            if (strcmp(v, "json") != 0 && strcmp(v, "text") != 0)
                return compute_cli_usage(defaults_help, "unknown --format '%s' (text, json)", v);
            json = strcmp(v, "json") == 0;
        } else {
            return compute_cli_usage(defaults_help, missing ? "option '%s' needs a value" : "unknown argument '%s'", argv[i]);
        }
    }
    json_t *j = json ? json_object() : NULL;
    if (json && !j)
        return 1;
    compute_params_print(stdout, j);
    if (!json)
        putchar('\n');
    compute_trend_defaults(stdout, j);
    if (json) {
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        putchar('\n');
        json_decref(j);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int compute_cli(keel_ctx *ctx, int argc, char **argv)
{
    if (argc < 1)
        return KEEL_CLI_PASS;
    if (strcmp(argv[0], "aggregate") == 0)
        return compute_cli_aggregate(argc, argv);
    if (strcmp(argv[0], "windows") == 0)
        return compute_cli_windows(argc, argv);
    if (strcmp(argv[0], "defaults") == 0)
        return cmd_defaults(argc, argv);
    if (strcmp(argv[0], "synth") == 0)
        return cmd_synth(argc, argv);
    if (strcmp(argv[0], "trend") == 0)
        return cmd_trend(ctx, argc, argv);
    return KEEL_CLI_PASS;
}
