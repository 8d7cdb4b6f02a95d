/*
 * sbuf-internal.h — a growing text buffer: append bytes, always
 * NUL-terminated, out of memory remembered (later appends do nothing) so a
 * writer checks once at the end.  The JSON writer, the OTLP span encoder,
 * the PostgreSQL dialect rewriter and the JSON reader's unescaped strings
 * build their text in one.
 */
#ifndef KEEL_SBUF_INTERNAL_H
#define KEEL_SBUF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct keel_sbuf {
    char  *p;      /* NULL until the first append; then NUL-terminated */
    size_t len;    /* bytes before the terminator */
    size_t cap;
    int    oom;    /* an append failed: p holds what came before it */
} keel_sbuf;

/* Appends s[0..n) (n may be 0: the buffer then exists, holding ""). */
void keel__sbuf_put(keel_sbuf *b, const void *s, size_t n);
void keel__sbuf_puts(keel_sbuf *b, const char *s);
/* Appends s[0..n) as the inside of a JSON string, escaped as jansson
 * escapes it: \" \\ \b \f \n \r \t, \u00XX (upper-case hex) for the other
 * control characters; every other byte as it is (the caller has checked
 * UTF-8 where it matters). */
void keel__sbuf_json_escaped(keel_sbuf *b, const char *s, size_t n);
/* Of the 8 bytes of w (any order), the high bit set for each that a JSON
 * string cannot hold as it is: a control byte (< 0x20), '"' or '\\' ("Bit
 * Twiddling Hacks" haszero/hasless, exact for these; bytes >= 0x80 never
 * match).  0: all eight stand for themselves.  The writer above and the
 * reader (json_parse.c) step through plain text with it. */
static inline uint64_t keel__json_special8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t q = w ^ (ones * '"'), s = w ^ (ones * '\\');
    uint64_t ctl = (w - ones * 0x20) & ~w;
    return (ctl | ((q - ones) & ~q) | ((s - ones) & ~s)) & high;
}
/* The text (caller frees), or NULL (and the buffer freed) if an append
 * failed.  The buffer is empty afterwards. */
char *keel__sbuf_take(keel_sbuf *b);
/* Frees the text; the buffer is empty afterwards. */
void keel__sbuf_free(keel_sbuf *b);

/* Appends at most n bytes of s (fewer if s ends sooner) to the fixed
 * buffer dst[0, cap) at off, cutting what does not fit as snprintf cuts,
 * and terminates it; returns the new length.  cap > 0 and off < cap.  For
 * the per-request paths, where snprintf's format machinery showed in the
 * profile: snprintf(dst, cap, "%s", s) is keel__strput(dst, cap, 0, s,
 * SIZE_MAX). */
size_t keel__strput(char *dst, size_t cap, size_t off, const char *s, size_t n);

#endif
