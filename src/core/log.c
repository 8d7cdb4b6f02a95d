/*
 * log.c — one line per event: JSON when stderr is not a TTY, text when it is.
 *
 * Cost per line matters: the access log writes one per request.  Whether
 * stderr is a TTY is asked once, the date part of the timestamp is reused
 * within a second (per thread), and an event-loop thread may buffer its
 * lines (keel__log_buffer) and write them in one write(2) when the buffer is
 * full or the loop has nothing else to do (before it blocks).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <stdlib.h>

#include "core/ctx-internal.h"
#include "core/log-internal.h"
#include "keel/log.h"

static int keel_log_json = -1;
static pthread_mutex_t keel_log_lock = PTHREAD_MUTEX_INITIALIZER;
static int keel_log_tty = -1;  /* isatty(stderr), asked once */

/* A thread's line buffer (keel__log_buffer). */
#define KEEL_LOG_BUF 16384
typedef struct keel_log_buf {
    size_t len;
    void (*first)(void *arg);   /* called when the buffer stops being empty */
    void  *arg;
    char   data[KEEL_LOG_BUF];
} keel_log_buf;
static _Thread_local keel_log_buf *keel_log_tbuf;

void keel__log_set_format(int json)
{
    keel_log_json = json;
}

/* Appends s to buf as JSON string content (escaped). */
static size_t keel_json_escape(char *buf, size_t o, size_t cap, const char *s)
{
    while (*s != '\0' && o + 7 < cap) {
        unsigned char c = (unsigned char)*s;
        const char *r = s;
        size_t n;

        /* a run that needs no escape goes in one copy (a line per request) */
        while ((unsigned char)*r >= 0x20 && *r != '"' && *r != '\\')
            r++;
        if ((n = (size_t)(r - s)) > 0) {
            if (n > cap - 7 - o)
                n = cap - 7 - o;
            memcpy(buf + o, s, n);
            o += n;
            s += n;
            continue;
        }
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else {
            o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", c);
        }
        s++;
    }
    return o;
}

/* write(2) all of data to stderr, under the log lock (lines stay whole). */
static void keel_log_write(const char *data, size_t len)
{
    pthread_mutex_lock(&keel_log_lock);
    fflush(stderr); /* anything another path put through stdio goes first */
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;  /* nowhere to report a broken stderr */
        data += n;
        len -= (size_t)n;
    }
    pthread_mutex_unlock(&keel_log_lock);
}

void keel__log_flush(void)
{
    keel_log_buf *b = keel_log_tbuf;
    if (b != NULL && b->len > 0) {
        keel_log_write(b->data, b->len);
        b->len = 0;
    }
}

int keel__log_buffer(void (*first)(void *arg), void *arg)
{
    keel_log_buf *b;
    if (first == NULL) {
        keel__log_flush();
        free(keel_log_tbuf);
        keel_log_tbuf = NULL;
        return 0;
    }
    if (keel_log_tbuf == NULL && (keel_log_tbuf = malloc(sizeof(*b))) == NULL)
        return KEEL_ENOMEM;
    b = keel_log_tbuf;
    b->len = 0;
    b->first = first;
    b->arg = arg;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" into ts (>= 25 bytes); the part before the
 * milliseconds is formatted once per second per thread. */
static void keel_log_stamp(char *ts)
{
    static _Thread_local time_t last = (time_t)-1;
    static _Thread_local char head[40];
    struct timespec now;
    int ms;
    clock_gettime(CLOCK_REALTIME, &now);
    if (now.tv_sec != last) {
        struct tm tm;
        gmtime_r(&now.tv_sec, &tm);
        snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d", (tm.tm_year + 1900) % 10000,
                 (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
                 tm.tm_sec % 100);
        last = now.tv_sec;
    }
    ms = (int)(now.tv_nsec / 1000000) % 1000;
    memcpy(ts, head, 19);
    ts[19] = '.';
    ts[20] = (char)('0' + ms / 100);
    ts[21] = (char)('0' + ms / 10 % 10);
    ts[22] = (char)('0' + ms % 10);
    ts[23] = 'Z';
    ts[24] = '\0';
}

/* Appenders for the access line: snprintf's format parsing was most of
 * the line's cost, and the access log runs once per request. */
static size_t keel_put(char *buf, size_t o, size_t cap, const char *s)
{
    size_t n = strlen(s);   /* folded for the literals, after inlining */

    if (o + 1 >= cap)
        return o;
    if (n > cap - 1 - o)
        n = cap - 1 - o;
    memcpy(buf + o, s, n);
    buf[o + n] = '\0';     /* the line stays a string as it grows */
    return o + n;
}

static size_t keel_put_u(char *buf, size_t o, size_t cap, unsigned long long v)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0 && o + 1 < cap)
        buf[o++] = t[--n];
    return o;
}

/* The access record's fields, after the common ones: JSON members, or
 * "key=value" words for the text format.  Only values we format ourselves
 * and the path (escaped) go in: nothing a client sends as a credential. */
static size_t keel_log_access_fields(char *line, size_t o, size_t cap, int json, keel_ctx *ctx,
                                     const keel__access *a)
{
    int64_t uid = ctx != NULL ? keel_ctx_user_id(ctx) : 0;
    const char *peer = ctx != NULL && ctx->client[0] ? ctx->client : NULL;

    if (!json) {
        o = keel_put(line, o, cap, " in=");
        o = keel_put_u(line, o, cap, a->bytes_in);
        o = keel_put(line, o, cap, " out=");
        o = keel_put_u(line, o, cap, a->bytes_out);
        if (uid > 0) {
            o = keel_put(line, o, cap, " user=");
            o = keel_put_u(line, o, cap, (unsigned long long)uid);
        }
        if (peer != NULL) {
            o = keel_put(line, o, cap, " from ");
            o = keel_put(line, o, cap, peer);
        }
        if (a->reason != NULL) {
            o = keel_put(line, o, cap, " reason=");
            o = keel_put(line, o, cap, a->reason);
        }
        return o;
    }
    o = keel_put(line, o, cap, ",\"method\":\"");
    o = keel_put(line, o, cap, a->method);
    o = keel_put(line, o, cap, "\",\"path\":\"");
    o = keel_json_escape(line, o, cap, a->path);
    o = keel_put(line, o, cap, "\",\"status\":");
    o = keel_put_u(line, o, cap, (unsigned)a->status);
    o = keel_put(line, o, cap, ",\"bytes_in\":");
    o = keel_put_u(line, o, cap, a->bytes_in);
    o = keel_put(line, o, cap, ",\"bytes_out\":");
    o = keel_put_u(line, o, cap, a->bytes_out);
    o = keel_put(line, o, cap, ",\"duration_us\":");
    o = keel_put_u(line, o, cap, a->duration_us > 0 ? (unsigned long long)a->duration_us : 0);
    if (uid > 0) {
        o = keel_put(line, o, cap, ",\"user_id\":");
        o = keel_put_u(line, o, cap, (unsigned long long)uid);
    }
    if (peer != NULL) {
        o = keel_put(line, o, cap, ",\"peer\":\"");
        o = keel_json_escape(line, o, cap, peer);
        o = keel_put(line, o, cap, "\"");
    }
    if (a->reason != NULL) {
        o = keel_put(line, o, cap, ",\"reason\":\"");
        o = keel_json_escape(line, o, cap, a->reason);
        o = keel_put(line, o, cap, "\"");
    }
    return o;
}

/* msg is the formatted message; a (may be NULL) adds an access record's fields. */
static void keel_log_emit(keel_ctx *ctx, const char *module, keel_log_level lvl, const char *msg,
                          const keel__access *a)
{
    char line[4096], ts[40];
    size_t o = 0;
    int json;
    const char *rid = NULL;
    char tid[33] = "", sid[17] = "";
    keel_log_buf *b;

    keel_log_stamp(ts);
    if (ctx != NULL) {
        rid = ctx->request_id[0] ? ctx->request_id : NULL;
        if (ctx->trace.valid) {
            static const uint8_t zero[8];
            keel__trace_hex(ctx->trace.trace_id, 16, tid);
            if (memcmp(ctx->trace.span_id, zero, sizeof zero) != 0)
                keel__trace_hex(ctx->trace.span_id, 8, sid);
        }
        if (module == NULL && ctx->mc != NULL)
            module = ctx->mc->desc->name;
    }
    if (keel_log_json < 0 && keel_log_tty < 0)
        keel_log_tty = isatty(STDERR_FILENO); /* a benign race: same answer */
    json = keel_log_json >= 0 ? keel_log_json : !keel_log_tty;
    if (json) {
        o = keel_put(line, o, sizeof(line), "{\"ts\":\"");
        o = keel_put(line, o, sizeof(line), ts);
        o = keel_put(line, o, sizeof(line), "\",\"level\":\"");
        o = keel_put(line, o, sizeof(line), keel__log_level_name(lvl));
        if (module != NULL) {
            o = keel_put(line, o, sizeof(line), "\",\"module\":\"");
            o = keel_put(line, o, sizeof(line), module);
        }
        if (rid != NULL) {
            o = keel_put(line, o, sizeof(line), "\",\"request_id\":\"");
            o = keel_put(line, o, sizeof(line), rid);
        }
        if (tid[0]) {
            o = keel_put(line, o, sizeof(line), "\",\"trace_id\":\"");
            o = keel_put(line, o, sizeof(line), tid);
        }
        if (sid[0]) {
            o = keel_put(line, o, sizeof(line), "\",\"span_id\":\"");
            o = keel_put(line, o, sizeof(line), sid);
        }
        o = keel_put(line, o, sizeof(line), "\",\"msg\":\"");
        o = keel_json_escape(line, o, sizeof(line) - 3, msg);
        o = keel_put(line, o, sizeof(line) - 3, "\"");
        if (a != NULL)
            o = keel_log_access_fields(line, o, sizeof(line) - 3, 1, ctx, a);
        o = keel_put(line, o, sizeof(line), "}\n");
    } else {
        o += (size_t)snprintf(line, sizeof(line), "%s %-5s %s%s%s", ts + 11,
                              keel__log_level_name(lvl), module ? module : "", module ? ": " : "", msg);
        if (a != NULL)
            o = keel_log_access_fields(line, o, sizeof(line) - 72, 0, ctx, a);
        if (o < sizeof(line))
            o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s%s\n", rid ? " [" : "",
                                  rid ? rid : "", rid ? "]" : "");
    }
    if (o >= sizeof(line))
        o = sizeof(line) - 1;
    line[o] = '\0';
    b = keel_log_tbuf;
    if (b == NULL || lvl >= KEEL_LOG_WARN) {
        keel__log_flush(); /* keep the order of this thread's lines */
        keel_log_write(line, o);
        return;
    }
    if (b->len + o > sizeof(b->data))
        keel__log_flush();
    memcpy(b->data + b->len, line, o);
    if (b->len == 0)
        b->first(b->arg);
    b->len += o;
}

/* Is lvl on for a line of ctx (may be NULL) or of module (may be NULL)?
 * The line's module decides: the callee of ctx, or the name given. */
static inline int keel_log_on(const keel_ctx *ctx, const char *module, keel_log_level lvl)
{
    keel_log_level min = ctx != NULL && ctx->mc != NULL ? keel__log_level_of(ctx->mc->log_slot)
                       : module != NULL ? keel__log_level_named(module)
                       : keel__log_default_level();
    return lvl >= min && lvl < KEEL_LOG_OFF;
}

/* Formats and writes; the caller asked keel_log_on (its 2 KB buffer is
 * only set up for a line that is written). */
static void keel_vlog(keel_ctx *ctx, const char *module, keel_log_level lvl,
                      const char *fmt, va_list ap)
{
    char msg[2048];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    keel_log_emit(ctx, module, lvl, msg, NULL);
}

void keel__log_access(keel_ctx *ctx, const keel__access *a)
{
    char msg[320];
    size_t o;
    unsigned long long us = a->duration_us > 0 ? (unsigned long long)a->duration_us : 0;

    /* the server's line, at the default level whatever module answered */
    if (KEEL_LOG_INFO < keel__log_default_level())
        return;
    /* the summary a human scans ("http POST /v1/echo/echo 200 0.05ms");
     * the fields after it are for machines */
    o = keel_put(msg, 0, sizeof msg, "http ");
    o = keel_put(msg, o, sizeof msg, a->method);
    o = keel_put(msg, o, sizeof msg, " ");
    o = keel_put(msg, o, 5 + 8 + 1 + 200, a->path);
    o = keel_put(msg, o, sizeof msg, " ");
    o = keel_put_u(msg, o, sizeof msg, (unsigned)a->status);
    o = keel_put(msg, o, sizeof msg, " ");
    o = keel_put_u(msg, o, sizeof msg, us / 1000);
    o = keel_put(msg, o, sizeof msg, ".");
    o = keel_put_u(msg, o, sizeof msg, us % 1000 / 100);
    o = keel_put_u(msg, o, sizeof msg, us % 100 / 10);
    o = keel_put(msg, o, sizeof msg, "ms");
    if (a->note != NULL) {
        o = keel_put(msg, o, sizeof msg, " (");
        o = keel_put(msg, o, sizeof msg - 1, a->note);
        o = keel_put(msg, o, sizeof msg, ")");
    }
    msg[o] = '\0';
    keel_log_emit(ctx, NULL, KEEL_LOG_INFO, msg, a);
}

void keel_log(keel_ctx *ctx, keel_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    if (!keel_log_on(ctx, NULL, lvl))
        return;
    va_start(ap, fmt);
    keel_vlog(ctx, NULL, lvl, fmt, ap);
    va_end(ap);
}

void keel_log_module(const char *module, keel_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    if (!keel_log_on(NULL, module, lvl))
        return;
    va_start(ap, fmt);
    keel_vlog(NULL, module, lvl, fmt, ap);
    va_end(ap);
}
