/*
 * sbuf.c — the growing text buffer of sbuf-internal.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/sbuf-internal.h"

void keel__sbuf_put(keel_sbuf *b, const void *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *p;
        while (cap < b->len + n + 1)
            cap *= 2;
        if ((p = realloc(b->p, cap)) == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void keel__sbuf_puts(keel_sbuf *b, const char *s)
{
    keel__sbuf_put(b, s, strlen(s));
}

void keel__sbuf_json_escaped(keel_sbuf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)str, *end = p + n, *run;

    while (p < end) {
        char esc[6] = {'\\', 0, '0', '0', 0, 0};
        size_t k = 2;
        run = p;
        /* eight bytes at a time through the plain text (a 1 KiB event
         * payload was ~5 instructions a byte one at a time) */
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (keel__json_special8(x))
                break;
            p += 8;
        }
        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            keel__sbuf_put(b, run, (size_t)(p - run));
        if (p >= end)
            break;
        switch (*p) {
        case '"':  esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 15];
            k = 6;
            break;
        }
        keel__sbuf_put(b, esc, k);
        p++;
    }
}

char *keel__sbuf_take(keel_sbuf *b)
{
    char *p = b->p;

    if (b->oom) {
        free(p);
        p = NULL;
    }
    memset(b, 0, sizeof *b);
    return p;
}

void keel__sbuf_free(keel_sbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

size_t keel__strput(char *dst, size_t cap, size_t off, const char *s, size_t n)
{
    size_t k = strnlen(s, n);

    if (k > cap - 1 - off)
        k = cap - 1 - off;
    memcpy(dst + off, s, k);
    dst[off + k] = '\0';
    return off + k;
}
