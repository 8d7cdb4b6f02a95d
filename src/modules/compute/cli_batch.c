/*
 * cli_batch.c — the batch side of `keel compute aggregate`: the file list
 * (arguments, `--files-from FILE|-`), ids per file (`--meta k=v,…`,
 * `--name-pattern '{horse_id}_{date}.csv'`), and a pool of -j threads whose
 * results are handed back strictly in input order as each one is ready, so
 * output streams while later files are still running.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli-internal.h"

/* ---- file list -------------------------------------------------------------- */

int compute_batch_add(compute_batch *b, const char *path, int owned)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        compute_batch_file *nf = realloc(b->files, cap * sizeof *nf);
        if (!nf)
            return KEEL_ENOMEM;
        b->files = nf;
        b->cap = cap;
    }
    compute_batch_file *f = &b->files[b->n++];
    memset(f, 0, sizeof *f);
    f->path = path;
    f->owned = owned;
    return 0;
}

int compute_batch_files_from(compute_batch *b, FILE *in, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long long ln = 0;
    while ((n = getline(&line, &cap, in)) >= 0) {
        ln++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = 0;
        if (n == 0)
            continue;
        if (memchr(line, 0, (size_t)n)) {
            snprintf(err, errlen, "--files-from line %lld: a NUL byte in a path", ln);
            free(line);
            return KEEL_EBADDATA;
        }
        char *p = strdup(line);
        if (!p || compute_batch_add(b, p, 1) < 0) {
            free(p);
            free(line);
            snprintf(err, errlen, "out of memory");
            return KEEL_ENOMEM;
        }
    }
    free(line);
    if (ferror(in)) {
        snprintf(err, errlen, "--files-from: read: %s", strerror(errno));
        return KEEL_EBADDATA;
    }
    return 0;
}

void compute_batch_free(compute_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->files[i].owned)
            free((char *)b->files[i].path);
        free(b->files[i].sum);
        json_decref(b->files[i].meta);
    }
    free(b->files);
    json_decref(b->meta);
    memset(b, 0, sizeof *b);
}

/* ---- ids ------------------------------------------------------------------------ */

static const char *const reserved[] = {
    "file", "error", "duration_s", "samples", "rate_hz", "quality", "assumed", "gaits", "rein",
    "trot_symmetry_pct", "trot_reins", "rising_trot", "sitting_trot", "canter_lead", "jumps", "jump_count", "intensity", NULL
};

static int key_ok(const char *k, size_t n)
{
    if (n == 0 || n > 64 || !(islower((unsigned char)k[0]) || k[0] == '_'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)k[i]) || isdigit((unsigned char)k[i]) || k[i] == '_'))
            return 0;
    for (int i = 0; reserved[i]; i++)
        if (strlen(reserved[i]) == n && memcmp(reserved[i], k, n) == 0)
            return 0;
    return 1;
}

/* "42" → 42 (an id column in a database), anything else a string */
static json_t *meta_value(const char *v, size_t n)
{
    int digits = n > 0 && n <= 15 && (v[0] != '0' || n == 1);
    for (size_t i = 0; digits && i < n; i++)
        digits = isdigit((unsigned char)v[i]) != 0;
    if (digits)
        return json_integer(strtoll(v, NULL, 10));
    return json_stringn(v, n);
}

int compute_batch_meta(compute_batch *b, const char *spec, char *err, size_t errlen)
{
    if (!b->meta && !(b->meta = json_object()))
        return KEEL_ENOMEM;
    for (const char *p = spec; *p;) {
        const char *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq || !key_ok(p, (size_t)(eq - p))) {
            snprintf(err, errlen, "--meta wants key=value[,key=value…] with keys of a-z, 0-9, _ "
                     "that are not summary fields, got '%.*s'", (int)(end - p), p);
            return KEEL_EINVAL;
        }
        char key[65];
        snprintf(key, sizeof key, "%.*s", (int)(eq - p), p);
        json_t *v = meta_value(eq + 1, (size_t)(end - eq - 1));
        if (!v) {
            snprintf(err, errlen, "--meta %s: the value is not valid UTF-8", key);
            return KEEL_EINVAL;
        }
        json_object_set_new(b->meta, key, v);
        p = *end ? end + 1 : end;
    }
    return 0;
}

int compute_batch_pattern(compute_batch *b, const char *pat, char *err, size_t errlen)
{
    int fields = 0;
    for (const char *p = pat; *p; p++) {
        if (*p == '}') {
            snprintf(err, errlen, "--name-pattern: '}' without '{' in '%s'", pat);
            return KEEL_EINVAL;
        }
        if (*p != '{')
            continue;
        const char *e = strchr(p, '}');
        if (!e || !key_ok(p + 1, (size_t)(e - p - 1))) {
            snprintf(err, errlen, "--name-pattern: '{name}' with a name of a-z, 0-9, _ that is not a "
                     "summary field, in '%s'", pat);
            return KEEL_EINVAL;
        }
        if (e[1] == '{') {
            snprintf(err, errlen, "--name-pattern: two fields need a literal between them, in '%s'", pat);
            return KEEL_EINVAL;
        }
        fields++;
        p = e;
    }
    if (!fields) {
        snprintf(err, errlen, "--name-pattern: no {field} in '%s'", pat);
        return KEEL_EINVAL;
    }
    b->pattern = pat;
    return 0;
}

/* Matches the base name against the pattern: a literal must match exactly, a
 * {field} takes the shortest non-empty run up to the next literal (or the
 * rest).  New object of the fields, or NULL with err when it does not match. */
static json_t *pattern_match(const char *pat, const char *path, char *err, size_t errlen)
{
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    const char *base = s;
    json_t *o = json_object();
    for (const char *p = pat; o && *p;) {
        if (*p != '{') {
            if (*s != *p)
                goto nomatch;
            s++;
            p++;
            continue;
        }
        const char *e = strchr(p, '}');
        const char *lit = e + 1;
        size_t litn = strcspn(lit, "{");
        const char *v = s, *ve;
        if (litn == 0) {
            ve = s + strlen(s);
        } else {
            ve = s + 1;
            while (*ve && strncmp(ve, lit, litn) != 0)
                ve++;
            if (!*ve)
                goto nomatch;
        }
        if (ve == v)
            goto nomatch;
        char key[65];
        snprintf(key, sizeof key, "%.*s", (int)(e - p - 1), p + 1);
        json_t *jv = meta_value(v, (size_t)(ve - v));
        if (!jv)
            goto nomatch;
        json_object_set_new(o, key, jv);
        s = ve;
        p = lit;
    }
    if (o && *s == 0)
        return o;
nomatch:
    snprintf(err, errlen, "the file name '%s' does not match --name-pattern '%s'", base, pat);
    json_decref(o);
    return NULL;
}

int compute_batch_ids(compute_batch *b, compute_batch_file *f)
{
    if (!b->meta && !b->pattern)
        return 0;
    json_t *m = json_object();
    if (!m)
        return KEEL_ENOMEM;
    if (b->meta)
        json_object_update(m, b->meta);
    if (b->pattern) {
        json_t *pm = pattern_match(b->pattern, f->path, f->err, sizeof f->err);
        if (!pm) {
            json_decref(m);
            return KEEL_EBADDATA;
        }
        json_object_update(m, pm); /* the name is more specific than --meta */
        json_decref(pm);
    }
    f->meta = m;
    return 0;
}

/* The id columns in output order: --meta keys, then the pattern's. */
json_t *compute_batch_id_keys(const compute_batch *b)
{
    json_t *keys = json_array();
    if (!keys)
        return NULL;
    const char *k;
    const json_t *v;
    json_object_foreach(b->meta, k, v)
        json_array_append_new(keys, json_string(k));
    for (const char *p = b->pattern; p && (p = strchr(p, '{'));) {
        const char *e = strchr(p, '}');
        if (!e)
            break; /* cannot happen: compute_batch_pattern checked the braces */
        json_t *s = json_stringn(p + 1, (size_t)(e - p - 1));
        int dup = 0;
        size_t i;
        json_t *x;
        json_array_foreach(keys, i, x)
            dup |= json_equal(x, s);
        if (dup)
            json_decref(s);
        else
            json_array_append_new(keys, s);
        p = e;
    }
    return keys;
}

/* ---- the pool ----------------------------------------------------------------- */

static void *worker(void *arg)
{
    compute_batch *b = arg;
    for (;;) {
        pthread_mutex_lock(&b->mu);
        size_t i = b->next < b->n ? b->next++ : b->n;
        pthread_mutex_unlock(&b->mu);
        if (i >= b->n)
            break;
        compute_batch_file *f = &b->files[i];
        f->rc = compute_batch_ids(b, f);
        if (f->rc == 0)
            b->run(b, f);
        pthread_mutex_lock(&b->mu);
        f->done = 1;
        b->ndone++;
        if (b->progress)
            fprintf(stderr, "\rkeel compute: %zu/%zu files", b->ndone, b->n);
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
    return NULL;
}

int compute_batch_run(compute_batch *b, int jobs, void (*emit)(compute_batch *, compute_batch_file *))
{
    pthread_t *th = calloc((size_t)(jobs > 0 ? jobs : 1), sizeof *th);
    int started = 0;
    if (!th)
        return KEEL_ENOMEM;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    if ((size_t)jobs > b->n)
        jobs = (int)b->n;
    for (int i = 0; i < jobs; i++)
        if (pthread_create(&th[started], NULL, worker, b) == 0)
            started++;
    if (started == 0) /* no thread at all: do the work here, in order */
        worker(b);
    for (size_t i = 0; i < b->n; i++) {
        pthread_mutex_lock(&b->mu);
        while (!b->files[i].done)
            pthread_cond_wait(&b->cv, &b->mu);
        pthread_mutex_unlock(&b->mu);
        emit(b, &b->files[i]);
        free(b->files[i].sum);
        b->files[i].sum = NULL;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    free(th);
    return 0;
}
