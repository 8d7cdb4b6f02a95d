/*
 * log.c — one line per event: JSON when stderr is not a TTY, text when it is.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

#include "core/ctx-internal.h"
#include "keel/log.h"

static keel_log_level keel_log_min = KEEL_LOG_INFO;
static int keel_log_json = -1;
static pthread_mutex_t keel_log_lock = PTHREAD_MUTEX_INITIALIZER;

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

static void keel_vlog(keel_ctx *ctx, const char *module, keel_log_level lvl,
                      const char *fmt, va_list ap)
{
    char msg[2048], line[4096], ts[40];
    struct timespec now;
    struct tm tm;
    size_t o = 0;
    int json;
    const char *rid = NULL, *tp = NULL;

    if (lvl < keel_log_min || lvl >= KEEL_LOG_OFF)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
             tm.tm_sec % 100, (int)(now.tv_nsec / 1000000) % 1000);
    if (ctx != NULL) {
        rid = ctx->request_id[0] ? ctx->request_id : NULL;
        tp = ctx->traceparent[0] ? ctx->traceparent : NULL;
        if (module == NULL && ctx->mc != NULL)
            module = ctx->mc->desc->name;
    }
    json = keel_log_json >= 0 ? keel_log_json : !isatty(STDERR_FILENO);
    if (json) {
        o += (size_t)snprintf(line + o, sizeof(line) - o, "{\"ts\":\"%s\",\"level\":\"%s\"",
                              ts, keel_level_names[lvl]);
        if (module != NULL)
            o += (size_t)snprintf(line + o, sizeof(line) - o, ",\"module\":\"%s\"", module);
        if (rid != NULL)
            o += (size_t)snprintf(line + o, sizeof(line) - o, ",\"request_id\":\"%s\"", rid);
        if (tp != NULL && strlen(tp) >= 35)
            o += (size_t)snprintf(line + o, sizeof(line) - o, ",\"trace_id\":\"%.32s\"", tp + 3);
        o += (size_t)snprintf(line + o, sizeof(line) - o, ",\"msg\":\"");
        o = keel_json_escape(line, o, sizeof(line), msg);
        o += (size_t)snprintf(line + o, sizeof(line) - o, "\"}\n");
    } else {
        o += (size_t)snprintf(line, sizeof(line), "%s %-5s %s%s%s%s%s%s\n", ts + 11,
                              keel_level_names[lvl], module ? module : "", module ? ": " : "",
                              msg, rid ? " [" : "", rid ? rid : "", rid ? "]" : "");
    }
    if (o >= sizeof(line))
        o = sizeof(line) - 1;
    pthread_mutex_lock(&keel_log_lock);
    fwrite(line, 1, strlen(line), stderr);
    fflush(stderr);
    pthread_mutex_unlock(&keel_log_lock);
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
