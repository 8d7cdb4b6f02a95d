/*
 * fuzz_json.c — keel's JSON reader and writer (src/core/json_parse.c,
 * json_dump.c) against jansson's, which is their specification.
 *
 * Input: byte 0 picks the flags (bit 0 JSON_REJECT_DUPLICATES, bit 1
 * JSON_DECODE_ANY, bit 2 JSON_COMPACT for the writer); the rest is the text.
 * Checked: no crash or sanitizer report; keel__json_parse accepts exactly
 * the texts json_loadb accepts (except that jansson 2.14 drops a NUL byte
 * that directly follows a number or literal, "[1\0]" → [1], where keel
 * refuses: RFC 8259 has no place for one), with an equal value (json_equal: same types,
 * same numbers, same strings, same keys); keel__json_dump writes exactly the
 * bytes json_dumps writes for that value; keel__utf8_valid agrees with
 * jansson on whether the text (as one string) is UTF-8.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json-internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t pf, df;
    const char *text;
    json_t *mine, *theirs, *s;
    json_error_t e1, e2;

    if (size < 1)
        return 0;
    pf = ((data[0] & 1) ? JSON_REJECT_DUPLICATES : 0) | ((data[0] & 2) ? JSON_DECODE_ANY : 0);
    df = JSON_ENCODE_ANY | ((data[0] & 4) ? JSON_COMPACT : 0);
    text = (const char *)data + 1;
    size--;
    mine = keel__json_parse(text, size, pf, &e1);
    theirs = json_loadb(text, size, pf, &e2);
    if ((mine == NULL) != (theirs == NULL) &&
        !(mine == NULL && memchr(text, '\0', size) != NULL))
        abort();
    if (mine != NULL && theirs != NULL) {
        char *a, *b;
        if (!json_equal(mine, theirs))
            abort();
        a = keel__json_dump(theirs, df);
        b = json_dumps(theirs, df);
        if ((a == NULL) != (b == NULL) || (a != NULL && strcmp(a, b) != 0))
            abort();
        free(a);
        free(b);
    } else if (e1.text[0] == '\0') {
        abort();   /* a refusal always says why */
    }
    json_decref(mine);
    json_decref(theirs);
    /* json_stringn refuses exactly the byte strings that are not UTF-8 */
    s = json_stringn(text, size);
    if ((s != NULL) != (keel__utf8_valid(text, size) != 0))
        abort();
    json_decref(s);
    return 0;
}
