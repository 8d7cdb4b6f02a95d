/*
 * json_dump.c — jansson values → JSON text, into one growing buffer.
 *
 * jansson's json_dumps sets up a hash table of parents per call (to catch
 * cycles), writes through a callback per piece and decodes every string
 * character by character; this writer appends runs of bytes that need no
 * escape with one copy and bounds nesting instead of tracking parents (a
 * cycle ends at the depth limit; core/sbuf-internal.h holds the buffer and
 * the escaping).  The output is byte for byte json_dumps's
 * for the flags in KEEL__JSON_DUMP_FLAGS: insertion order, separators
 * "," ":" (", " ": " without JSON_COMPACT), jansson's escapes (\" \\ \b \f
 * \n \r \t, \u00XX upper-case for other control characters, nothing else
 * escaped), reals as jd_real says.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json-internal.h"
#include "core/sbuf-internal.h"

#define JD_MAX_DEPTH 2048

typedef struct jd {
    keel_sbuf b;
    int       fail;   /* not UTF-8, too deep, or a bad value (out of memory: b.oom) */
} jd;

static void jd_put(jd *d, const char *p, size_t n)
{
    keel__sbuf_put(&d->b, p, n);
}

static void jd_string(jd *d, const char *str, size_t n)
{
    if (!keel__utf8_valid(str, n)) {
        d->fail = 1;
        return;
    }
    jd_put(d, "\"", 1);
    keel__sbuf_json_escaped(&d->b, str, n);
    jd_put(d, "\"", 1);
}

/* A real as jansson 2.14 (Debian 12's build, without its optional dtoa)
 * writes it: "%.17g" in the C locale, ".0" appended when the text has
 * neither '.' nor 'e', and the exponent without '+' or leading zeros. */
static int jd_real(char *buf, size_t size, double x)
{
    int n = snprintf(buf, size, "%.17g", x);
    char *e, *from;

    if (n < 0 || (size_t)n + 3 >= size)
        return -1;
    if (strchr(buf, '.') == NULL && strchr(buf, 'e') == NULL) {
        memcpy(buf + n, ".0", 3);
        return n + 2;
    }
    if ((e = strchr(buf, 'e')) != NULL) {
        e++;
        from = e + 1;
        if (*e == '-')
            e++;
        while (*from == '0')
            from++;
        if (from != e) {
            memmove(e, from, (size_t)(buf + n - from) + 1);
            n -= (int)(from - e);
        }
    }
    return n;
}

static void jd_value(jd *d, const json_t *v, size_t flags, int depth)
{
    char num[64];
    int k;

    if (d->fail || d->b.oom)
        return;
    if (v == NULL || depth > JD_MAX_DEPTH) {
        d->fail = 1;
        return;
    }
    switch (json_typeof(v)) {
    case JSON_NULL:  jd_put(d, "null", 4); return;
    case JSON_TRUE:  jd_put(d, "true", 4); return;
    case JSON_FALSE: jd_put(d, "false", 5); return;
    case JSON_INTEGER:
        k = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        jd_put(d, num, (size_t)k);
        return;
    case JSON_REAL:
        if ((k = jd_real(num, sizeof num, json_real_value(v))) < 0)
            d->fail = 1;
        else
            jd_put(d, num, (size_t)k);
        return;
    case JSON_STRING:
        jd_string(d, json_string_value(v), json_string_length(v));
        return;
    case JSON_ARRAY: {
        size_t i, n = json_array_size(v);
        jd_put(d, "[", 1);
        for (i = 0; i < n && !d->fail && !d->b.oom; i++) {
            if (i > 0)
                jd_put(d, (flags & JSON_COMPACT) ? "," : ", ", (flags & JSON_COMPACT) ? 1 : 2);
            jd_value(d, json_array_get(v, i), flags, depth + 1);
        }
        jd_put(d, "]", 1);
        return;
    }
    case JSON_OBJECT: {
        const char *key;
        const json_t *val;
        size_t klen;
        int first = 1;
        jd_put(d, "{", 1);
        json_object_keylen_foreach((json_t *)v, key, klen, val) {
            if (d->fail || d->b.oom)
                break;
            if (!first)
                jd_put(d, (flags & JSON_COMPACT) ? "," : ", ", (flags & JSON_COMPACT) ? 1 : 2);
            first = 0;
            jd_string(d, key, klen);
            jd_put(d, (flags & JSON_COMPACT) ? ":" : ": ", (flags & JSON_COMPACT) ? 1 : 2);
            jd_value(d, val, flags, depth + 1);
        }
        jd_put(d, "}", 1);
        return;
    }
    default:
        d->fail = 1;
        return;
    }
}

char *keel__json_dump(const json_t *v, size_t flags)
{
    jd d;

    if (flags & ~(size_t)KEEL__JSON_DUMP_FLAGS)
        return json_dumps(v, flags);
    if (v == NULL || (!(flags & JSON_ENCODE_ANY) && !json_is_object(v) && !json_is_array(v)))
        return NULL;
    memset(&d, 0, sizeof d);
    jd_value(&d, v, flags, 1);
    if (d.fail) {
        keel__sbuf_free(&d.b);
        return NULL;
    }
    return keel__sbuf_take(&d.b);
}
