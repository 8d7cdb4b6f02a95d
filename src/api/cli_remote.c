/*
 * cli_remote.c — `keel <module> <method> --url http://host:port …`: the same
 * command line as a local call, run by a server over HTTP.
 *
 * For the rider on a laptop with last weekend's ride: the CSV goes gzipped
 * (level 6: a slow link is worth the CPU; a .csv.gz is sent as it is, as
 * application/gzip), with Content-Length known up front so the server's
 * limits answer before the body is sent, a progress line on stderr when it
 * is a terminal (none in scripts and pipes), and the exit status a local
 * call would give for the error code the server answered.  The token comes
 * from KEEL_TOKEN or --token-file FILE — never from a flag, which `ps` and
 * shell history would show.
 *
 * The input flags are read against the method's schema from this binary's
 * descriptors (no module starts, no database opens); a KEEL_RAW_IN method's
 * fields go as query parameters next to the raw body, as curl would send
 * them, anything else as the JSON body.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>

#include "api/cli-internal.h"
#include "api/http-internal.h"
#include "api/remote-internal.h"
#include "core/config-internal.h"
#include "core/trace-internal.h"

#define REMOTE_CONNECT_MS  10000
#define REMOTE_STALL_MS    60000    /* no byte could be sent for this long: give up */
#define REMOTE_REPLY_MS    600000   /* the server summarises an hour-long ride meanwhile */
#define REMOTE_CHUNK       (256 * 1024)

int keel__cli_remote_wanted(int argc, char **argv)
{
    int i;
    for (i = 2; i < argc; i++)
        if (strcmp(argv[i], "--url") == 0 || strncmp(argv[i], "--url=", 6) == 0)
            return 1;
    return 0;
}

int keel__cli_gunzip_file(keel_runtime *rt, char **blob, size_t *len)
{
    keel_config *cfg = keel__rt_config(rt);
    keel_gunzip_limits lim = { .max_out = keel__config_int(cfg, NULL, "max_upload"),
                               .max_out_name = "KEEL_MAX_UPLOAD",
                               .max_ratio = keel__config_int(cfg, NULL, "max_gzip_ratio") };
    char *out = NULL, msg[256] = "";
    size_t outlen = 0;
    int64_t reserved = 0;
    int rc;

    if (*len < 2 || (unsigned char)(*blob)[0] != 0x1f || (unsigned char)(*blob)[1] != 0x8b)
        return 0;
    rc = keel__gunzip(*blob, *len, &lim, &out, &outlen, &reserved, msg, sizeof msg);
    if (rc != 0) {
        fprintf(stderr, "keel: the gzip file: %s\n", msg[0] ? msg : keel_strerror(rc));
        return keel_exit_status(rc);
    }
    free(*blob);
    *blob = NULL;
    {
        /* NUL-terminated like every slurped file */
        char *t = realloc(out, outlen + 1);
        if (t == NULL) {
            free(out);
            return KEEL_EXIT_RUNTIME;
        }
        t[outlen] = '\0';
        *blob = t;
    }
    *len = outlen;
    return 0;
}

/* gzip (RFC 1952) of data, level 6, into *out (malloc'd). */
static int gzip_buf(const char *data, size_t len, unsigned char **out, size_t *outlen)
{
    z_stream zs;
    size_t cap;
    unsigned char *b;
    int zrc;

    memset(&zs, 0, sizeof zs);
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return KEEL_ENOMEM;
    cap = deflateBound(&zs, (uLong)len);
    if ((b = malloc(cap)) == NULL) {
        deflateEnd(&zs);
        return KEEL_ENOMEM;
    }
    zs.next_in = (Bytef *)(uintptr_t)data;
    zs.avail_in = (uInt)len;
    zs.next_out = b;
    zs.avail_out = (uInt)cap;
    zrc = deflate(&zs, Z_FINISH);  /* deflateBound: one call is enough */
    *outlen = zs.total_out;
    deflateEnd(&zs);
    if (zrc != Z_STREAM_END) {
        free(b);
        return KEEL_EINTERNAL;
    }
    *out = b;
    return 0;
}

/* Appends the query parameter k=v (RFC 3986 unreserved kept, the rest %XX). */
static void query_add(FILE *f, int *first, const char *k, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p;

    fputc(*first ? '?' : '&', f);
    *first = 0;
    for (p = (const unsigned char *)k; *p; p++)
        fputc(*p, f);
    fputc('=', f);
    for (p = (const unsigned char *)v; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
            || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            fputc(*p, f);
        else
            fprintf(f, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

static void progress(size_t done, size_t total, int64_t t0_ms, int final)
{
    double s = (double)(keel__now_ms() - t0_ms) / 1000.0;
    fprintf(stderr, "\rupload %6.1f / %.1f MB  %3d%%  %5.1f MB/s%s", (double)done / 1e6,
            (double)total / 1e6, total ? (int)(done * 100 / total) : 100,
            s > 0 ? (double)done / 1e6 / s : 0.0, final ? "\n" : "");
}

/* Sends head then body; a progress line while the body goes when tty. */
static int send_request(int fd, const char *head, size_t hlen, const unsigned char *body,
                        size_t blen, int tty, char *err, size_t errlen)
{
    size_t off = 0, total = hlen + blen, shown = 0;
    int64_t t0 = keel__now_ms();

    while (off < total) {
        const char *p = off < hlen ? head + off : (const char *)body + (off - hlen);
        size_t n = off < hlen ? hlen - off : total - off;
        ssize_t w;
        if (n > REMOTE_CHUNK)
            n = REMOTE_CHUNK;
        w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (keel__http_wait_fd(fd, POLLOUT, keel__now_ms() + REMOTE_STALL_MS) != 0) {
                    snprintf(err, errlen, "sending stalled for %d s", REMOTE_STALL_MS / 1000);
                    return KEEL_ETIMEDOUT;
                }
                continue;
            }
            /* the server may have answered early (413, 503) and closed:
             * its answer is still there to read */
            return errno == EPIPE || errno == ECONNRESET ? 0 : KEEL_EUNAVAIL;
        }
        off += (size_t)w;
        if (tty && blen > 0 && off > hlen && (off - hlen - shown >= (1u << 20) || off == total)) {
            shown = off - hlen;
            progress(shown, blen, t0, off == total);
        }
    }
    return 0;
}

int keel__cli_remote_exit(int status, const char *code)
{
    int err = code ? keel_errcode(code) : 0, rc;
    if (status >= 200 && status < 300)
        return 0;
    rc = err != 0 ? keel_exit_status(err) : status >= 500 ? KEEL_EXIT_UNAVAILABLE : KEEL_EXIT_RUNTIME;
    return rc == 0 ? KEEL_EXIT_RUNTIME : rc;
}

/* The server's answer → stdout / stderr and the exit status. */
static int answer(const char *what, const keel_http_reply *rep)
{
    json_error_t jerr;
    json_t *j = rep->len ? json_loadb(rep->body, rep->len, 0, &jerr) : NULL;
    int rc = 0;

    if (rep->status >= 200 && rep->status < 300) {
        if (j != NULL)
            keel__cli_print_json(j);
        else if (fwrite(rep->body, 1, rep->len, stdout) != rep->len)
            rc = KEEL_EXIT_RUNTIME;
    } else {
        json_t *e = json_object_get(j, "error");
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        fprintf(stderr, "keel: %s: %s (%s, HTTP %d)\n", what, msg ? msg : "no error detail",
                code ? code : "?", rep->status);
        rc = keel__cli_remote_exit(rep->status, code);
    }
    json_decref(j);
    return rc;
}

/* The error code a reply stands for, for the command's span: 0 for 2xx,
 * else the answer's error code (KEEL_EINTERNAL when it names none). */
static int reply_code(const keel_http_reply *rep)
{
    json_t *j;
    int rc;

    if (rep->status >= 200 && rep->status < 300)
        return 0;
    j = rep->len ? json_loadb(rep->body, rep->len, 0, NULL) : NULL;
    rc = keel_errcode(json_string_value(json_object_get(json_object_get(j, "error"), "code")));
    json_decref(j);
    return rc != 0 ? rc : KEEL_EINTERNAL;
}

/* KEEL_TOKEN, else the first line of --token-file; NULL = none (malloc'd). */
static char *token_of(const char *file, int *rc)
{
    const char *env = getenv("KEEL_TOKEN");
    char *t;
    size_t n = 0;

    *rc = 0;
    if (file == NULL)
        return env && *env ? strdup(env) : NULL;
    if ((t = keel__cli_slurp(file, &n)) == NULL) {
        fprintf(stderr, "keel: --token-file: cannot read %s\n", file);
        *rc = KEEL_EXIT_USAGE;
        return NULL;
    }
    t[strcspn(t, "\r\n")] = '\0';
    return t;
}

int keel__cli_remote_send(const keel_cli_remote *t, const json_t *in, const char *blob,
                          size_t blob_len, int tty, keel_http_reply *rep, char *err, size_t errlen)
{
    char *head = NULL, *path = NULL, *json_body = NULL;
    size_t hlen = 0, plen = 0, body_len = 0;
    unsigned char *gz = NULL;
    const unsigned char *body;
    keel_http_pool *pool = NULL;
    FILE *f;
    int rc, fd = -1, keep = 0, got = 0, first = 1;

    err[0] = '\0';
    if ((f = open_memstream(&path, &plen)) == NULL)
        return KEEL_ENOMEM;
    fprintf(f, "%s/v1/%s/%s", t->u.base, t->module, t->method);
    if (blob != NULL) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)(uintptr_t)in, k, v) {
            char *s = json_is_string(v) ? strdup(json_string_value(v))
                                        : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            if (s != NULL)
                query_add(f, &first, k, s);
            free(s);
        }
    }
    fclose(f);
    if ((f = open_memstream(&head, &hlen)) == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    if (blob != NULL) {
        int is_gz = blob_len >= 2 && (unsigned char)blob[0] == 0x1f && (unsigned char)blob[1] == 0x8b;
        if (!is_gz && (rc = gzip_buf(blob, blob_len, &gz, &body_len)) != 0) {
            fclose(f);
            goto out;
        }
        body = is_gz ? (const unsigned char *)blob : gz;
        body_len = is_gz ? blob_len : body_len;
        /* the method's first raw type: "text/csv" */
        fprintf(f, "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: %s\r\n", path, t->u.host,
                t->u.port, is_gz ? "application/gzip" : "text/csv");
        if (!is_gz)
            fputs("Content-Encoding: gzip\r\n", f);
    } else {
        json_body = json_dumps(in, JSON_COMPACT);
        body = (const unsigned char *)(json_body ? json_body : "{}");
        body_len = strlen((const char *)body);
        fprintf(f, "POST %s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\n", path,
                t->u.host, t->u.port);
    }
    fprintf(f, "Content-Length: %zu\r\nAccept-Encoding: identity\r\nConnection: close\r\n", body_len);
    if (t->token != NULL)
        fprintf(f, "Authorization: Bearer %s\r\n", t->token);
    /* the server's span becomes a child of the command's */
    if (t->traceparent != NULL)
        fprintf(f, "traceparent: %s\r\n", t->traceparent);
    if (t->traceparent != NULL && t->tracestate != NULL)
        fprintf(f, "tracestate: %s\r\n", t->tracestate);
    fputs("\r\n", f);
    fclose(f);

    if (keel__http_pool_new(&t->u, 0, &pool) != 0
        || keel__http_connect(pool, keel__now_ms() + REMOTE_CONNECT_MS, &fd, err, errlen) != 0) {
        if (err[0] == '\0')
            snprintf(err, errlen, "cannot connect");
        rc = KEEL_EUNAVAIL;
        goto out;
    }
    rc = send_request(fd, head, hlen, body, body_len, tty, err, errlen);
    if (rc == 0)
        rc = keel__http_read_reply(fd, "POST", keel__now_ms() + REMOTE_REPLY_MS, rep, &keep, &got,
                                   err, errlen, keel__http_pool_hostport(pool));
out:
    if (fd >= 0)
        close(fd);
    keel__http_pool_free(pool);
    free(json_body);
    free(gz);
    if (head != NULL) {
        explicit_bzero(head, hlen);  /* it carries the token */
        free(head);
    }
    free(path);
    return rc;
}

int keel__cli_remote(const keel_cli_opts *o, int argc, char **argv)
{
    const char *token_file = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    char *token = NULL, *blob = NULL, err[512] = "", what[256];
    size_t blob_len = 0, nrest = 0;
    keel_runtime *rt = NULL;
    keel_module_ctx *mc;
    const keel_method *m;
    keel_cli_remote t;
    keel_cli_many many;
    keel_http_reply rep = {0};
    json_t *in = NULL;
    keel_ctx *ctx = NULL;
    keel_span_live span = {0};
    char tp[KEEL_TRACEPARENT_LEN];
    int i, rc = KEEL_EXIT_USAGE, missing = 0, have_url = 0, span_rc = 0;

    if (rest == NULL)
        return KEEL_EXIT_RUNTIME;
    memset(&t, 0, sizeof t);
    memset(&many, 0, sizeof many);
    for (i = 2; i < argc; i++) {
        const char *v;
        missing = 0;
        if ((v = keel_cli_opt(argc, argv, &i, "--url", &missing)) != NULL) {
            if (keel__remote_url_parse(v, &t.u, err, sizeof err) != 0) {
                fprintf(stderr, "keel: --url: %s\n", err);
                goto out;
            }
            have_url = 1;
        } else if ((v = keel_cli_opt(argc, argv, &i, "--token-file", &missing)) != NULL)
            token_file = v;
        else if (missing) {
            fprintf(stderr, "keel: %s needs a value\n", argv[i]);
            goto out;
        } else
            rest[nrest++] = argv[i];
    }
    snprintf(what, sizeof what, "%s.%s", argv[0], argc > 1 ? argv[1] : "?");
    if (!have_url) {
        fprintf(stderr, "keel: --url: missing\n");
        goto out;
    }
    if ((rc = keel__cli_runtime(o, NULL, 0, &rt)) != 0)
        goto out;
    rc = KEEL_EXIT_USAGE;
    mc = keel__rt_find(rt, argv[0]);
    m = mc != NULL && argc > 1 ? keel__mc_method(mc, argv[1]) : NULL;
    if (m == NULL || (m->flags & KEEL_INTERNAL)) {
        fprintf(stderr, "keel: unknown method '%s' (keel %s --help)\n", what, argv[0]);
        goto out;
    }
    t.module = argv[0];
    t.method = argv[1];
    /* several files, -j, --from-name: taken out of rest before the fields */
    if ((rc = keel__cli_many_args(m, &nrest, rest, &many)) != 0)
        goto out;
    if ((rc = keel__cli_flags_to_input(mc, m, (int)nrest, rest, &in, &blob, &blob_len)) != 0)
        goto out;
    token = token_of(token_file, &rc);
    if (rc != 0)
        goto out;
    t.token = token;
    /* the command's span (CLIENT: the call runs in another process); every
     * request carries it as the server span's parent */
    keel__cli_trace_start(rt);
    if ((ctx = keel__cli_trace_ctx(rt)) != NULL) {
        keel__trace_begin(ctx, &span);
        if (keel__ctx_traceparent(ctx, tp, sizeof tp) == 0) {
            t.traceparent = tp;
            t.tracestate = keel__ctx_tracestate(ctx);
        }
    }
    if (many.nfiles > 0) {
        rc = keel__cli_many_run(&t, in, &many);
        span_rc = rc == 0 ? 0 : KEEL_EINTERNAL;   /* some file failed: each line says why */
        goto out;
    }
    span_rc = keel__cli_remote_send(&t, in, blob, blob_len, isatty(STDERR_FILENO), &rep, err,
                                    sizeof err);
    if ((rc = span_rc) != 0) {
        fprintf(stderr, "keel: %s: %s\n", what, err[0] ? err : keel_strerror(rc));
        rc = rc == KEEL_ENOMEM || rc == KEEL_EINTERNAL ? KEEL_EXIT_RUNTIME : KEEL_EXIT_UNAVAILABLE;
        goto out;
    }
    span_rc = reply_code(&rep);
    rc = answer(what, &rep);
out:
    if (ctx != NULL) {
        keel__trace_end(ctx, &span, t.module, t.method, KEEL_SPAN_CLIENT, span_rc);
        keel__ctx_free(ctx);
    }
    keel__cli_trace_stop();
    keel__http_reply_clear(&rep);
    keel__cli_many_clear(&many);
    if (rt != NULL) {
        keel__remote_uninstall(rt);
        keel__rt_free(rt);
    }
    json_decref(in);
    free(blob);
    if (token != NULL) {
        explicit_bzero(token, strlen(token));
        free(token);
    }
    free(rest);
    return rc;
}
