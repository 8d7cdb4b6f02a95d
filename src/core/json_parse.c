/*
 * json_parse.c — JSON text → jansson values, a run of bytes at a time.
 *
 * A recursive-descent reader over one buffer (no stream, no per-character
 * buffer): a string without escapes becomes a jansson string with one
 * allocation and one copy, after a scan that checks UTF-8 eight ASCII bytes
 * at a time.  It accepts exactly what json_loadb does for the flags in
 * KEEL__JSON_PARSE_FLAGS (jansson 2.14's load.c is the specification:
 * whitespace is space, tab, CR, LF; a value nests at most
 * JSON_PARSER_MAX_DEPTH deep counting itself; integers must fit json_int_t,
 * reals must not overflow; no \u0000 and no unpaired surrogate; a NUL byte
 * is never valid); tests/unit/test_json.c and the json fuzz target compare
 * the two.  Error texts are jansson's where the cause is the same.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json-internal.h"
#include "core/sbuf-internal.h"

#ifndef JSON_PARSER_MAX_DEPTH
#define JSON_PARSER_MAX_DEPTH 2048
#endif

typedef struct jp {
    const unsigned char *start, *p, *end;
    size_t        flags;
    int           depth;
    json_error_t *err;
    keel_sbuf     tmp;      /* decoded text of a string with escapes */
} jp;

static void jp_error(jp *s, const unsigned char *at, const char *msg)
{
    const unsigned char *q;
    int line = 1, col = 0;

    if (s->err == NULL || s->err->text[0] != '\0')
        return;   /* the first (innermost) cause wins, as in jansson */
    for (q = s->start; q < at && q < s->end; q++) {
        if (*q == '\n') {
            line++;
            col = 0;
        } else if ((*q & 0xC0) != 0x80) {
            col++;
        }
    }
    s->err->line = line;
    s->err->column = col;
    s->err->position = (int)(at - s->start);
    snprintf(s->err->text, sizeof s->err->text, "%s", msg);
}

/* Length of the well-formed UTF-8 sequence at p (lead byte ≥ 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n = (size_t)(end - p);

    if (c >= 0xC2 && c <= 0xDF)
        return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
               (p[3] & 0xC0) == 0x80 ? 4 : 0;
    }
    return 0;
}

int keel__utf8_valid(const char *str, size_t n)
{
    const unsigned char *p = (const unsigned char *)str, *end = p + n;

    while (p < end) {
        uint64_t w;
        size_t k;
        if ((size_t)(end - p) >= 8) {
            memcpy(&w, p, 8);
            if ((w & 0x8080808080808080ULL) == 0) {
                p += 8;
                continue;
            }
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        if ((k = utf8_seq(p, end)) == 0)
            return 0;
        p += k;
    }
    return 1;
}

static void jp_ws(jp *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static int hex4(const unsigned char *p, const unsigned char *end, unsigned *out)
{
    unsigned v = 0;
    int i;

    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static int jp_tmp_put(jp *s, const void *bytes, size_t n)
{
    keel__sbuf_put(&s->tmp, bytes, n);
    return s->tmp.oom ? -1 : 0;
}

/* The string whose opening quote s->p is at: on success *out and *len are its
 * decoded bytes (in the input when it had no escape, else in s->tmp) and
 * s->p is past the closing quote. */
/* noinline: its locals stay out of the recursive frames (see jp_value) */
__attribute__((noinline)) static int jp_string(jp *s, const char **out, size_t *len)
{
    const unsigned char *q = ++s->p, *end = s->end, *run;
    int esc = 0;

    for (;;) {
        run = q;
        for (;;) {   /* a run of bytes that stand for themselves */
            uint64_t w;
            if ((size_t)(end - q) >= 8) {
                memcpy(&w, q, 8);
                /* any byte ≥ 0x80 (UTF-8 to check), < 0x20, '"' or '\\'
                 * ends the fast step */
                if (((w & 0x8080808080808080ULL) | keel__json_special8(w)) == 0) {
                    q += 8;
                    continue;
                }
            }
            if (q >= end) {
                jp_error(s, q, "premature end of input");
                return -1;
            }
            if (*q >= 0x80) {
                size_t k = utf8_seq(q, end);
                if (k == 0) {
                    jp_error(s, q, "unable to decode byte");
                    return -1;
                }
                q += k;
                continue;
            }
            if (*q < 0x20) {
                jp_error(s, q, "control character in string");
                return -1;
            }
            if (*q == '"' || *q == '\\')
                break;
            q++;
        }
        if (*q == '"' && !esc) {
            *out = (const char *)run;
            *len = (size_t)(q - run);
            s->p = q + 1;
            return 0;
        }
        if (!esc)
            s->tmp.len = 0;   /* the first escape of this string: start over */
        if (jp_tmp_put(s, run, (size_t)(q - run)) != 0)
            return -1;
        esc = 1;
        if (*q == '"') {
            *out = s->tmp.p;
            *len = s->tmp.len;
            s->p = q + 1;
            return 0;
        }
        /* an escape */
        if (end - q < 2) {
            jp_error(s, q, "premature end of input");
            return -1;
        }
        q++;
        if (*q == 'u') {
            unsigned cp, lo;
            unsigned char u[4];
            size_t n;
            if (hex4(q + 1, end, &cp) != 0) {
                jp_error(s, q, "invalid escape");
                return -1;
            }
            q += 5;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (end - q >= 6 && q[0] == '\\' && q[1] == 'u' && hex4(q + 2, end, &lo) == 0 &&
                    lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = ((cp - 0xD800) << 10) + (lo - 0xDC00) + 0x10000;
                    q += 6;
                } else {
                    jp_error(s, q, "invalid Unicode escape (unpaired surrogate)");
                    return -1;
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                jp_error(s, q, "invalid Unicode escape (unpaired surrogate)");
                return -1;
            }
            if (cp < 0x80) {
                u[0] = (unsigned char)cp;
                n = 1;
            } else if (cp < 0x800) {
                u[0] = (unsigned char)(0xC0 | (cp >> 6));
                u[1] = (unsigned char)(0x80 | (cp & 0x3F));
                n = 2;
            } else if (cp < 0x10000) {
                u[0] = (unsigned char)(0xE0 | (cp >> 12));
                u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                u[2] = (unsigned char)(0x80 | (cp & 0x3F));
                n = 3;
            } else {
                u[0] = (unsigned char)(0xF0 | (cp >> 18));
                u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
                u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
                u[3] = (unsigned char)(0x80 | (cp & 0x3F));
                n = 4;
            }
            if (jp_tmp_put(s, u, n) != 0)
                return -1;
            continue;
        }
        {
            char c;
            switch (*q) {
            case '"': case '\\': case '/': c = (char)*q; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            default:
                jp_error(s, q, "invalid escape");
                return -1;
            }
            if (jp_tmp_put(s, &c, 1) != 0)
                return -1;
            q++;
        }
    }
}

static int is_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

__attribute__((noinline)) static json_t *jp_number(jp *s)
{
    const unsigned char *b = s->p, *q = s->p, *end = s->end;
    char buf[64], *txt = buf, *e;
    size_t n;
    int real = 0;
    json_t *v = NULL;

    if (q < end && *q == '-')
        q++;
    if (q < end && *q == '0') {
        q++;
        if (q < end && is_digit(*q))
            goto bad;
    } else if (q < end && is_digit(*q)) {
        while (q < end && is_digit(*q))
            q++;
    } else {
        goto bad;
    }
    if (q < end && *q == '.') {
        real = 1;
        q++;
        if (q >= end || !is_digit(*q))
            goto bad;
        while (q < end && is_digit(*q))
            q++;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        real = 1;
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || !is_digit(*q))
            goto bad;
        while (q < end && is_digit(*q))
            q++;
    }
    n = (size_t)(q - b);
    if (n >= sizeof buf && (txt = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(txt, b, n);
    txt[n] = '\0';
    errno = 0;
    if (!real) {
        long long iv = strtoll(txt, &e, 10);
        if (errno == ERANGE)
            jp_error(s, b, iv < 0 ? "too big negative integer" : "too big integer");
        else
            v = json_integer((json_int_t)iv);
    } else {
        double d = strtod(txt, &e);
        if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
            jp_error(s, b, "real number overflow");
        else
            v = json_real(d);
    }
    if (txt != buf)
        free(txt);
    s->p = q;
    return v;
bad:
    jp_error(s, b, "invalid token");
    return NULL;
}

static json_t *jp_value(jp *s);

/* After a member of an array or object: 1 = a ',' (read, with the space
 * after it: another member follows), 0 = the closing character (read),
 * -1 = neither (an error set). */
static int jp_more(jp *s, unsigned char close, const char *expected)
{
    jp_ws(s);
    if (s->p < s->end && *s->p == ',') {
        s->p++;
        jp_ws(s);
        return 1;
    }
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    jp_error(s, s->p, expected);
    return -1;
}

static json_t *jp_array(jp *s)
{
    json_t *a = json_array(), *v;

    s->p++;
    jp_ws(s);
    if (a == NULL)
        return NULL;
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return a;
    }
    for (;;) {
        int more;
        if ((v = jp_value(s)) == NULL || json_array_append_new(a, v) != 0)
            goto fail;
        if ((more = jp_more(s, ']', "']' expected")) <= 0) {
            if (more == 0)
                return a;
            goto fail;
        }
    }
fail:
    json_decref(a);
    return NULL;
}

static json_t *jp_object(jp *s)
{
    json_t *o = json_object(), *v;

    s->p++;
    jp_ws(s);
    if (o == NULL)
        return NULL;
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return o;
    }
    for (;;) {
        const char *k;
        char *key;
        size_t klen;
        int more;
        if (s->p >= s->end || *s->p != '"') {
            jp_error(s, s->p, "string or '}' expected");
            goto fail;
        }
        if (jp_string(s, &k, &klen) != 0)
            goto fail;
        if (memchr(k, '\0', klen) != NULL) {
            jp_error(s, s->p, "NUL byte in object key not supported");
            goto fail;
        }
        /* a key with escapes sits in s->tmp, which the value's strings
         * reuse: it gets its own copy; any other key is read in place */
        key = NULL;
        if (k == s->tmp.p) {
            if ((key = malloc(klen + 1)) == NULL)
                goto fail;
            memcpy(key, k, klen);
            k = key;
        }
        if ((s->flags & JSON_REJECT_DUPLICATES) && json_object_getn(o, k, klen) != NULL) {
            free(key);
            jp_error(s, s->p, "duplicate object key");
            goto fail;
        }
        jp_ws(s);
        if (s->p >= s->end || *s->p != ':') {
            free(key);
            jp_error(s, s->p, "':' expected");
            goto fail;
        }
        s->p++;
        jp_ws(s);
        if ((v = jp_value(s)) == NULL) {
            free(key);
            goto fail;
        }
        if (json_object_setn_new_nocheck(o, k, klen, v) != 0) {
            free(key);
            goto fail;
        }
        free(key);
        if ((more = jp_more(s, '}', "'}' expected")) <= 0) {
            if (more == 0)
                return o;
            goto fail;
        }
    }
fail:
    json_decref(o);
    return NULL;
}

static int jp_word(jp *s, const char *w, size_t n)
{
    const unsigned char *q = s->p + n;

    if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
        return 0;
    /* "truex" is one invalid token, as jansson reads identifiers whole */
    if (q < s->end && (((*q | 0x20) >= 'a' && (*q | 0x20) <= 'z')))
        return 0;
    s->p = q;
    return 1;
}

/* Recursion: jp_value → jp_array / jp_object → jp_value, at most
 * JSON_PARSER_MAX_DEPTH deep; the string and number scanners are kept out
 * of line so each level costs only these three small frames (a 2047-deep
 * text fits a 1 MB handler-worker stack even under ASan: test_json). */
static json_t *jp_value(jp *s)
{
    json_t *v;

    if (++s->depth > JSON_PARSER_MAX_DEPTH) {
        jp_error(s, s->p, "maximum parsing depth reached");
        return NULL;
    }
    if (s->p >= s->end) {
        jp_error(s, s->p, "unexpected token");
        return NULL;
    }
    switch (*s->p) {
    case '{': v = jp_object(s); break;
    case '[': v = jp_array(s); break;
    case '"': {
        const char *t;
        size_t n;
        if (jp_string(s, &t, &n) != 0)
            return NULL;
        if (memchr(t, '\0', n) != NULL) {
            jp_error(s, s->p, "\\u0000 is not allowed without JSON_ALLOW_NUL");
            return NULL;
        }
        v = json_stringn_nocheck(t, n);
        break;
    }
    case 't': v = jp_word(s, "true", 4) ? json_true() : NULL; goto word;
    case 'f': v = jp_word(s, "false", 5) ? json_false() : NULL; goto word;
    case 'n': v = jp_word(s, "null", 4) ? json_null() : NULL; goto word;
    default:
        if (*s->p == '-' || is_digit(*s->p)) {
            v = jp_number(s);
            break;
        }
        jp_error(s, s->p, *s->p == ']' || *s->p == '}' || *s->p == ',' || *s->p == ':'
                 ? "unexpected token" : "invalid token");
        return NULL;
    }
    if (v != NULL)
        s->depth--;
    return v;
word:
    if (v == NULL) {
        jp_error(s, s->p, "invalid token");
        return NULL;
    }
    s->depth--;
    return v;
}

json_t *keel__json_parse(const char *text, size_t len, size_t flags, json_error_t *err)
{
    jp s;
    json_t *v;

    if (flags & ~(size_t)KEEL__JSON_PARSE_FLAGS)
        return json_loadb(text, len, flags, err);
    if (err != NULL) {
        memset(err, 0, sizeof *err);
        snprintf(err->source, sizeof err->source, "<string>");
        err->line = err->column = -1;
    }
    if (text == NULL) {
        if (err != NULL)
            snprintf(err->text, sizeof err->text, "wrong arguments");
        return NULL;
    }
    memset(&s, 0, sizeof s);
    s.start = s.p = (const unsigned char *)text;
    s.end = s.p + len;
    s.flags = flags;
    s.err = err;
    jp_ws(&s);
    if (!(flags & JSON_DECODE_ANY) && (s.p >= s.end || (*s.p != '[' && *s.p != '{'))) {
        jp_error(&s, s.p, "'[' or '{' expected");
        return NULL;
    }
    v = jp_value(&s);
    keel__sbuf_free(&s.tmp);
    if (v == NULL) {
        jp_error(&s, s.p, "out of memory");
        return NULL;
    }
    jp_ws(&s);
    if (s.p != s.end) {
        jp_error(&s, s.p, "end of file expected");
        json_decref(v);
        return NULL;
    }
    if (err != NULL)
        err->position = (int)len;
    return v;
}
