/*
 * cli_remote_many.c — `keel riding upload_session --url … -j 4 -- rides/2026-*.csv`:
 * one call per file, a few at once, one NDJSON line per file.
 *
 * For the rider with a season of rides on a laptop: the shell's glob names
 * the files (after `--`, or as repeated --csv @FILE), every file becomes its
 * own call with the same other fields, and --from-name FIELD=FORMAT fills a
 * field per file from the date in its name (strptime FORMAT, e.g.
 * started_at=%Y-%m-%d_%H%M for ride_2026-05-01_0800.csv).  Lines come out
 * in input order as soon as a file and every one before it are done, so
 * `| jq` sees progress and a crash halfway leaves a usable prefix.  One bad
 * file does not stop the others (--keep-going semantics); the exit status
 * is that of the first file, in input order, that failed.
 *
 * Each worker reads its own file, so memory holds at most -j files (and
 * their gzip) at a time, not the whole batch.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "api/cli-internal.h"

#define MANY_MAX_JOBS 64

/* "-j" "4", "-j4", "--jobs" "4", "--jobs=4" → 1..64; 0 = not this flag,
 * -1 = this flag with a bad value (message printed). */
static int jobs_flag(size_t n, char **rest, size_t *i)
{
    const char *a = rest[*i], *v = NULL;
    char *end;
    long j;

    if (strcmp(a, "-j") == 0 || strcmp(a, "--jobs") == 0) {
        if (*i + 1 >= n) {
            fprintf(stderr, "keel: %s needs a value\n", a);
            return -1;
        }
        v = rest[++*i];
    } else if (strncmp(a, "--jobs=", 7) == 0)
        v = a + 7;
    else if (strncmp(a, "-j", 2) == 0)
        v = a + 2;
    else
        return 0;
    j = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || j < 1 || j > MANY_MAX_JOBS) {
        fprintf(stderr, "keel: -j: '%s' is not a number of calls from 1 to %d\n", v,
                MANY_MAX_JOBS);
        return -1;
    }
    return (int)j;
}

/* --<raw_field> @FILE or --<raw_field>=@FILE → the path; NULL otherwise. */
static const char *raw_flag(const keel_method *m, size_t n, char **rest, size_t *i)
{
    const char *a = rest[*i];
    size_t fl;

    if (!(m->flags & KEEL_RAW_IN) || m->raw_field == NULL || strncmp(a, "--", 2) != 0)
        return NULL;
    fl = strlen(m->raw_field);
    if (strncmp(a + 2, m->raw_field, fl) != 0)
        return NULL;
    if (a[2 + fl] == '=' && a[3 + fl] == '@')
        return a + 4 + fl;
    if (a[2 + fl] == '\0' && *i + 1 < n && rest[*i + 1][0] == '@') {
        ++*i;
        return rest[*i] + 1;
    }
    return NULL;
}

int keel__cli_many_args(const keel_method *m, size_t *nrest, char **rest, keel_cli_many *many)
{
    size_t n = *nrest, i, kept = 0, nraw = 0, nfiles = 0;
    char **files = calloc(n + 1, sizeof *files), **orig = calloc(n + 1, sizeof *orig);
    int asked = 0;

    memset(many, 0, sizeof *many);
    many->jobs = 1;
    if (files == NULL || orig == NULL) {
        free(files);
        free(orig);
        return KEEL_EXIT_RUNTIME;
    }
    memcpy(orig, rest, n * sizeof *rest);
    for (i = 0; i < n; i++) {
        const char *a = rest[i], *p;
        int j;
        if ((j = jobs_flag(n, rest, &i)) != 0) {
            if (j < 0)
                goto usage;
            many->jobs = j;
            asked = 1;
        } else if (strcmp(a, "--from-name") == 0 || strncmp(a, "--from-name=", 12) == 0) {
            const char *v = a[11] == '=' ? a + 12 : i + 1 < n ? rest[++i] : NULL;
            const char *eq = v ? strchr(v, '=') : NULL;
            if (eq == NULL || eq == v || eq[1] == '\0' || (size_t)(eq - v) >= sizeof many->name_field) {
                fprintf(stderr, "keel: --from-name: expected FIELD=FORMAT, e.g. "
                                "started_at=%%Y-%%m-%%d_%%H%%M\n");
                goto usage;
            }
            memcpy(many->name_field, v, (size_t)(eq - v));
            many->name_field[eq - v] = '\0';
            many->name_format = eq + 1;
            asked = 1;
        } else if (strcmp(a, "--from-column") == 0 || strncmp(a, "--from-column=", 14) == 0) {
            const char *v = a[13] == '=' ? a + 14 : i + 1 < n ? rest[++i] : NULL;
            const char *eq = v ? strchr(v, '=') : NULL;
            if (eq == NULL || eq == v || eq[1] == '\0' || (size_t)(eq - v) >= sizeof many->col_field) {
                fprintf(stderr, "keel: --from-column: expected FIELD=COLUMN, e.g. started_at=time\n");
                goto usage;
            }
            memcpy(many->col_field, v, (size_t)(eq - v));
            many->col_field[eq - v] = '\0';
            many->col_name = eq + 1;
            asked = 1;
        } else if (strcmp(a, "--") == 0) {
            for (i++; i < n; i++)
                files[nfiles++] = rest[i][0] == '@' ? rest[i] + 1 : rest[i];
        } else if ((p = raw_flag(m, n, rest, &i)) != NULL) {
            nraw++;
            files[nfiles++] = (char *)(uintptr_t)p;
        } else
            rest[kept++] = rest[i];
    }
    if (many->name_format != NULL && many->col_name != NULL) {
        fprintf(stderr, "keel: --from-name and --from-column: one or the other\n");
        goto usage;
    }
    if ((asked || nfiles > 0) && !(m->flags & KEEL_RAW_IN)) {
        fprintf(stderr, "keel: -j, --from-name, --from-column and `-- FILE…` need a method that "
                        "takes a file\n");
        goto usage;
    }
    if (nfiles == 0 && asked) {
        fprintf(stderr, "keel: -j / --from-name / --from-column: no file given (--%s @FILE…, or -- FILE…)\n",
                m->raw_field ? m->raw_field : "body");
        goto usage;
    }
    if (nfiles == 1 && nraw == 1 && !asked) {
        /* the plain one-call form: rest as it came, for the flag parser */
        memcpy(rest, orig, n * sizeof *rest);
        free(files);
        free(orig);
        return 0;
    }
    for (i = 0; i < nfiles; i++)
        if (strcmp(files[i], "-") == 0) {
            fprintf(stderr, "keel: several files: stdin (-) cannot be one of them\n");
            goto usage;
        }
    *nrest = kept;
    rest[kept] = NULL;
    many->files = files;
    many->nfiles = nfiles;
    free(orig);
    return 0;
usage:
    free(files);
    free(orig);
    return KEEL_EXIT_USAGE;
}

void keel__cli_many_clear(keel_cli_many *many)
{
    free(many->files);
    many->files = NULL;
    many->nfiles = 0;
}

/* The first place in path's base name where format matches, as ISO 8601
 * UTC.  Years before 1970 are taken for digits of something else. */
static int time_from_name(const char *path, const char *format, char *out, size_t outlen)
{
    const char *base = strrchr(path, '/'), *p;

    base = base ? base + 1 : path;
    for (p = base; *p; p++) {
        struct tm tm, back;
        const char *end;
        time_t t;
        memset(&tm, 0, sizeof tm);
        tm.tm_mday = 1;
        end = strptime(p, format, &tm);
        if (end == NULL || end == p || tm.tm_year < 70)
            continue;
        if ((t = timegm(&tm)) == (time_t)-1 || gmtime_r(&t, &back) == NULL)
            continue;
        if (strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &back) == 0)
            return -1;
        return 0;
    }
    return -1;
}

/* The text at the start of blob[0..len): the first CLI_HEAD_BYTES of it, or
 * of what it decodes to when it is gzip (a .csv.gz goes as it is).  *out
 * malloc'd, NUL-terminated; 0 or -1. */
#define CLI_HEAD_BYTES (64 * 1024)
static int csv_head(const char *blob, size_t len, char **out)
{
    char *h = malloc(CLI_HEAD_BYTES + 1);
    size_t n;

    *out = NULL;
    if (h == NULL)
        return -1;
    if (len >= 2 && (unsigned char)blob[0] == 0x1f && (unsigned char)blob[1] == 0x8b) {
        z_stream zs;
        int zrc;
        memset(&zs, 0, sizeof zs);
        if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
            free(h);
            return -1;
        }
        zs.next_in = (Bytef *)(uintptr_t)blob;
        zs.avail_in = (uInt)(len > (1u << 30) ? (1u << 30) : len);
        zs.next_out = (Bytef *)h;
        zs.avail_out = CLI_HEAD_BYTES;
        zrc = inflate(&zs, Z_SYNC_FLUSH);
        n = zs.total_out;
        inflateEnd(&zs);
        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            free(h);
            return -1;
        }
    } else {
        n = len < CLI_HEAD_BYTES ? len : CLI_HEAD_BYTES;
        memcpy(h, blob, n);
    }
    h[n] = '\0';
    *out = h;
    return 0;
}

/* column's value in the first data row of the CSV text head, read as a Unix
 * time — seconds, or milliseconds from 10^11 on (loggers write both) — as
 * ISO 8601 UTC.  A value before 1973 (10^8 s) is a clock relative to the
 * ride's start, not a date.  0, or -1 with why in msg. */
static int time_from_column(const char *head, const char *column, char *out, size_t outlen,
                            char *msg, size_t msglen)
{
    const char *p = head, *line;
    size_t clen = strlen(column);
    int idx = -1, k = 0;
    double v;
    char *end;
    time_t t;
    struct tm tm;

    /* the header: the first line; names are compared without spaces or quotes */
    for (;;) {
        const char *e = p;
        while (*e != '\0' && *e != ',' && *e != '\n' && *e != '\r')
            e++;
        {
            const char *b = p, *f = e;
            while (b < f && (*b == ' ' || *b == '"'))
                b++;
            while (f > b && (f[-1] == ' ' || f[-1] == '"'))
                f--;
            if ((size_t)(f - b) == clen && strncmp(b, column, clen) == 0 && idx < 0)
                idx = k;
        }
        k++;
        p = e;
        if (*p != ',')
            break;
        p++;
    }
    if (idx < 0) {
        snprintf(msg, msglen, "--from-column: no column '%s' in the header", column);
        return -1;
    }
    while (*p == '\r' || *p == '\n')
        p++;
    line = p;
    for (k = 0; k < idx && *p != '\0' && *p != '\n'; p++)
        if (*p == ',')
            k++;
    if (*line == '\0' || k < idx) {
        snprintf(msg, msglen, "--from-column: no data row with a '%s' value", column);
        return -1;
    }
    v = strtod(p, &end);
    if (end == p || (*end != ',' && *end != '\n' && *end != '\r' && *end != '\0' && *end != ' ')) {
        snprintf(msg, msglen, "--from-column: '%s' of the first row is not a number", column);
        return -1;
    }
    if (v >= 1e11)
        v /= 1000;
    if (!(v >= 1e8) || v > 253402300799.0) {   /* 1973 … 9999-12-31 */
        snprintf(msg, msglen, "--from-column: '%s' starts at %g, not a Unix time "
                 "(a clock relative to the ride?)", column, v);
        return -1;
    }
    t = (time_t)v;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        snprintf(msg, msglen, "--from-column: '%s' is out of range", column);
        return -1;
    }
    return 0;
}

typedef struct many_slot {
    char *line;  /* the NDJSON line (malloc'd), NULL until done */
    int   rc;    /* the file's exit status */
    int   done;
} many_slot;

typedef struct many_run {
    const keel_cli_remote *t;
    const json_t          *in;
    const keel_cli_many   *many;
    many_slot             *slots;
    size_t                 next;
    pthread_mutex_t        mu;
    pthread_cond_t         cv;
} many_run;

static char *error_line(const char *file, int status, const char *code, const char *msg)
{
    json_t *o = json_pack("{s:s, s:i, s:{s:s, s:s}}", "file", file, "status", status, "error",
                          "code", code, "message", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* One file: read it, call, make its line. */
static void one_file(many_run *r, size_t idx)
{
    const char *file = r->many->files[idx];
    many_slot *sl = &r->slots[idx];
    keel_http_reply rep = {0};
    char err[512] = "", when[32];
    size_t len = 0;
    char *blob = keel__cli_slurp(file, &len);
    json_t *in = NULL, *j = NULL;
    int rc;

    if (blob == NULL) {
        sl->line = error_line(file, 0, "invalid_input", "cannot read the file");
        sl->rc = KEEL_EXIT_DATA;
        return;
    }
    in = json_deep_copy(r->in);
    if (in == NULL) {
        sl->rc = KEEL_EXIT_RUNTIME;
        goto out;
    }
    if (r->many->name_format != NULL) {
        if (time_from_name(file, r->many->name_format, when, sizeof when) != 0) {
            char msg[300];
            snprintf(msg, sizeof msg, "--from-name: no date matching '%s' in the file name",
                     r->many->name_format);
            sl->line = error_line(file, 0, "invalid_input", msg);
            sl->rc = KEEL_EXIT_DATA;
            goto out;
        }
        json_object_set_new(in, r->many->name_field, json_string(when));
    }
    if (r->many->col_name != NULL) {
        char *head = NULL, msg[300];
        if (csv_head(blob, len, &head) != 0) {
            snprintf(msg, sizeof msg, "--from-column: cannot read the start of the file");
        } else if (time_from_column(head, r->many->col_name, when, sizeof when, msg,
                                    sizeof msg) == 0) {
            msg[0] = '\0';
            json_object_set_new(in, r->many->col_field, json_string(when));
        }
        free(head);
        if (msg[0] != '\0') {
            sl->line = error_line(file, 0, "invalid_input", msg);
            sl->rc = KEEL_EXIT_DATA;
            goto out;
        }
    }
    rc = keel__cli_remote_send(r->t, in, blob, len, 0, &rep, err, sizeof err);
    free(blob);
    blob = NULL;
    if (rc != 0) {
        sl->line = error_line(file, 0, "unavailable", err[0] ? err : keel_strerror(rc));
        sl->rc = rc == KEEL_ENOMEM ? KEEL_EXIT_RUNTIME : KEEL_EXIT_UNAVAILABLE;
        goto out;
    }
    j = rep.len ? json_loadb(rep.body, rep.len, 0, NULL) : NULL;
    if (rep.status >= 200 && rep.status < 300) {
        json_t *o = json_pack("{s:s, s:i, s:O}", "file", file, "status", rep.status, "result",
                              j ? j : json_null());
        sl->line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        sl->rc = 0;
    } else {
        json_t *e = json_object_get(j, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        sl->line = error_line(file, rep.status, code ? code : "?", msg ? msg : "no error detail");
        sl->rc = keel__cli_remote_exit(rep.status, code);
    }
out:
    if (sl->line == NULL && sl->rc == 0)
        sl->rc = KEEL_EXIT_RUNTIME;
    json_decref(j);
    json_decref(in);
    keel__http_reply_clear(&rep);
    free(blob);
}

static void *worker(void *arg)
{
    many_run *r = arg;

    for (;;) {
        size_t idx;
        pthread_mutex_lock(&r->mu);
        idx = r->next < r->many->nfiles ? r->next++ : (size_t)-1;
        pthread_mutex_unlock(&r->mu);
        if (idx == (size_t)-1)
            return NULL;
        one_file(r, idx);
        pthread_mutex_lock(&r->mu);
        r->slots[idx].done = 1;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
}

int keel__cli_many_run(const keel_cli_remote *t, const json_t *in, const keel_cli_many *many)
{
    many_run r;
    pthread_t th[MANY_MAX_JOBS];
    size_t i, nth = (size_t)many->jobs < many->nfiles ? (size_t)many->jobs : many->nfiles, started = 0;
    int rc = 0, tty = isatty(STDERR_FILENO);

    memset(&r, 0, sizeof r);
    r.t = t;
    r.in = in;
    r.many = many;
    if ((r.slots = calloc(many->nfiles, sizeof *r.slots)) == NULL)
        return KEEL_EXIT_RUNTIME;
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    for (i = 0; i < nth; i++)
        if (pthread_create(&th[started], NULL, worker, &r) == 0)
            started++;
    if (started == 0)
        worker(&r);  /* no thread to be had: do it here, one at a time */
    for (i = 0; i < many->nfiles; i++) {
        many_slot *sl = &r.slots[i];
        pthread_mutex_lock(&r.mu);
        while (!sl->done)
            pthread_cond_wait(&r.cv, &r.mu);
        pthread_mutex_unlock(&r.mu);
        if (sl->line != NULL) {
            puts(sl->line);
            fflush(stdout);
        }
        if (sl->rc != 0) {
            fprintf(stderr, "keel: %s: failed (exit %d)\n", many->files[i], sl->rc);
            if (rc == 0)
                rc = sl->rc;
        } else if (tty)
            fprintf(stderr, "keel: %zu/%zu %s\n", i + 1, many->nfiles, many->files[i]);
        free(sl->line);
        sl->line = NULL;
    }
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    free(r.slots);
    return rc;
}
