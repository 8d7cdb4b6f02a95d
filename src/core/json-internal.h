/*
 * json-internal.h — JSON text in and out for keel's hot paths, building and
 * reading jansson values.
 *
 * jansson's own reader and writer move one character at a time through a
 * stream and a growing buffer (and decode UTF-8 per character on output);
 * on a 1 KiB event payload that was a quarter of the event dispatcher's CPU
 * (docs/events.md).  These functions scan runs of ordinary bytes at once and
 * hand jansson finished strings, and accept and write exactly what
 * jansson's json_loadb / json_dumps do for the flags they take (the
 * differential test and fuzz target compare the two on every input).
 */
#ifndef KEEL_JSON_INTERNAL_H
#define KEEL_JSON_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

/* Flags keel__json_parse honours; any other flag is handed to jansson. */
#define KEEL__JSON_PARSE_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
/* Flags keel__json_dump honours; any other flag is handed to jansson. */
#define KEEL__JSON_DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

/* Parses len bytes of text as json_loadb(text, len, flags, err) would: an
 * object or array (any value with JSON_DECODE_ANY), strict RFC 8259 with
 * jansson's limits (nesting 2048, integers that fit json_int_t, no \u0000,
 * duplicate keys refused with JSON_REJECT_DUPLICATES, last one wins
 * without; a NUL byte is always refused, where jansson 2.14 drops one that
 * directly follows a number or literal).  New reference, or NULL with err (may be NULL) filled in. */
json_t *keel__json_parse(const char *text, size_t len, size_t flags, json_error_t *err);

/* json_dumps(v, flags): new malloc'd text (caller frees), NULL on failure
 * (out of memory, a string that is not UTF-8, nesting past 2048, a scalar
 * without JSON_ENCODE_ANY). */
char *keel__json_dump(const json_t *v, size_t flags);

/* 1 if s[0..n) is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing past U+10FFFF), else 0.  NUL bytes are allowed. */
int keel__utf8_valid(const char *s, size_t n);

#endif
