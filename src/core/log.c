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
#include "keel/log.h"

static keel_log_level keel_log_min = KEEL_LOG_INFO;
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

static const char *const keel_level_names[] = {"debug", "info", "warn", "error", "off"};

void keel__log_set_level(keel_log_level lvl)
{
    keel_log_min = lvl;
}

void keel__log_set_format(int json)
{
    keel_log_json = json;
}

int keel__log_parse_level(const char *s, keel_log_level *out)
{
    int i;
    for (i = 0; i <= KEEL_LOG_OFF; i++)
        if (s != NULL && strcasecmp(s, keel_level_names[i]) == 0) {
            *out = (keel_log_level)i;
            return 0;
        }
    return -1;
}

/* Appends s to buf as JSON string content (escaped). */
static size_t keel_json_escape(char *buf, size_t o, size_t cap, const char *s)
{
    for (; *s != '\0' && o + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[o++] = '\\';
            buf[o++] = (char)c;
        } else if (c == '\n') {
            buf[o++] = '\\';
            buf[o++] = 'n';
        } else if (c < 0x20) {
            o += (size_t)snprintf(buf + o, cap - o, "\\u%04x", c);
        } else {
            buf[o++] = (char)c;
        }
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

/* The access record's fields, after the common ones: JSON members, or
 * "key=value" words for the text format.  Only values we format ourselves
 * and the path (escaped) go in: nothing a client sends as a credential. */
static size_t keel_log_access_fields(char *line, size_t o, size_t cap, int json, keel_ctx *ctx,
                                     const keel__access *a)
{
    int64_t uid = ctx != NULL ? keel_ctx_user_id(ctx) : 0;
    const char *peer = ctx != NULL && ctx->client[0] ? ctx->client : NULL;

    if (o >= cap)
        return o;
    if (!json) {
        o += (size_t)snprintf(line + o, cap - o, " in=%zu out=%zu", a->bytes_in, a->bytes_out);
        if (o < cap && uid > 0)
            o += (size_t)snprintf(line + o, cap - o, " user=%lld", (long long)uid);
        if (o < cap && peer != NULL)
            o += (size_t)snprintf(line + o, cap - o, " from %s", peer);
        return o;
    }
    o += (size_t)snprintf(line + o, cap - o, ",\"method\":\"%s\",\"path\":\"", a->method);
    if (o < cap)
        o = keel_json_escape(line, o, cap, a->path);
    if (o < cap)
        o += (size_t)snprintf(line + o, cap - o,
                              "\",\"status\":%d,\"bytes_in\":%zu,\"bytes_out\":%zu,\"duration_us\":%lld",
                              a->status, a->bytes_in, a->bytes_out, (long long)a->duration_us);
    if (o < cap && uid > 0)
        o += (size_t)snprintf(line + o, cap - o, ",\"user_id\":%lld", (long long)uid);
    if (o < cap && peer != NULL) {
        o += (size_t)snprintf(line + o, cap - o, ",\"peer\":\"");
        if (o < cap)
            o = keel_json_escape(line, o, cap, peer);
        if (o < cap)
            line[o++] = '"';
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
        o += (size_t)snprintf(line + o, sizeof(line) - o, "{\"ts\":\"%s\",\"level\":\"%s\"",
                              ts, keel_level_names[lvl]);
        if (module != NULL)
            o += (size_t)snprintf(line + o, sizeof(line) - o, ",\"module\":\"%s\"", module);
        if (rid != NULL)
            o += (size_t)snprintf(line + o, sizeof(line) - o, ",\"request_id\":\"%s\"", rid);
        if (tid[0])
            o += (size_t)snprintf(line + o, sizeof(line) - o, ",\"trace_id\":\"%s\"", tid);
        if (sid[0])
            o += (size_t)snprintf(line + o, sizeof(line) - o, ",\"span_id\":\"%s\"", sid);
        o += (size_t)snprintf(line + o, sizeof(line) - o, ",\"msg\":\"");
        o = keel_json_escape(line, o, sizeof(line), msg);
        if (o < sizeof(line))
            line[o++] = '"';
        if (a != NULL)
            o = keel_log_access_fields(line, o, sizeof(line) - 3, 1, ctx, a);
        if (o < sizeof(line))
            o += (size_t)snprintf(line + o, sizeof(line) - o, "}\n");
    } else {
        o += (size_t)snprintf(line, sizeof(line), "%s %-5s %s%s%s", ts + 11,
                              keel_level_names[lvl], module ? module : "", module ? ": " : "", msg);
        if (a != NULL)
            o = keel_log_access_fields(line, o, sizeof(line) - 72, 0, ctx, a);
        if (o < sizeof(line))
            o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s%s\n", rid ? " [" : "",
                                  rid ? rid : "", rid ? "]" : "");
    }
    if (o >= sizeof(line))
        o = sizeof(line) - 1;
    line[o] = '\0';
    o = strlen(line);
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

static void keel_vlog(keel_ctx *ctx, const char *module, keel_log_level lvl,
                      const char *fmt, va_list ap)
{
    char msg[2048];

    if (lvl < keel_log_min || lvl >= KEEL_LOG_OFF)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    keel_log_emit(ctx, module, lvl, msg, NULL);
}

void keel__log_access(keel_ctx *ctx, const keel__access *a)
{
    char msg[320];

    if (KEEL_LOG_INFO < keel_log_min)
        return;
    /* the summary a human scans; the fields after it are for machines */
    if (a->note != NULL)
        snprintf(msg, sizeof msg, "http %s %.200s %d %.2fms (%s)", a->method, a->path, a->status,
                 (double)a->duration_us / 1e3, a->note);
    else
        snprintf(msg, sizeof msg, "http %s %.200s %d %.2fms", a->method, a->path, a->status,
                 (double)a->duration_us / 1e3);
    keel_log_emit(ctx, NULL, KEEL_LOG_INFO, msg, a);
}

void keel_log(keel_ctx *ctx, keel_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    keel_vlog(ctx, NULL, lvl, fmt, ap);
    va_end(ap);
}

void keel_log_module(const char *module, keel_log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    keel_vlog(NULL, module, lvl, fmt, ap);
    va_end(ap);
}
