/*
 * schema_text.c — the words of schema messages: JSON pointers, type names,
 * and keeping messages valid UTF-8 (they travel in JSON error bodies).
 */
#include <stdio.h>
#include <string.h>

#include "core/schema-tree-internal.h"

static const struct {
    const char *name;
    unsigned    bit;
} type_names[] = {
    {"null", KEEL_ST_NULL},     {"boolean", KEEL_ST_BOOLEAN}, {"object", KEEL_ST_OBJECT},
    {"array", KEEL_ST_ARRAY},   {"number", KEEL_ST_NUMBER},   {"integer", KEEL_ST_INTEGER},
    {"string", KEEL_ST_STRING}, {0}
};

void keel__schema_types_text(unsigned types, char *buf, size_t len)
{
    size_t pos = 0;
    int first = 1;

    if (len == 0)
        return;
    buf[0] = '\0';
    for (int i = 0; type_names[i].name != NULL; i++) {
        if (!(types & type_names[i].bit))
            continue;
        int n = snprintf(buf + pos, len - pos, "%s%s", first ? "" : " or ", type_names[i].name);
        if (n < 0 || (size_t)n >= len - pos)
            return;
        pos += (size_t)n;
        first = 0;
    }
}

unsigned keel__schema_type_bit(const char *name)
{
    for (int i = 0; type_names[i].name != NULL; i++)
        if (strcmp(name, type_names[i].name) == 0)
            return type_names[i].bit;
    return 0;
}

const char *keel__schema_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:  return "object";
    case JSON_ARRAY:   return "array";
    case JSON_STRING:  return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL:    return "number";
    case JSON_TRUE:
    case JSON_FALSE:   return "boolean";
    case JSON_NULL:    return "null";
    }
    return "unknown";
}

static size_t path_put(const keel_spath *p, char *buf, size_t len, size_t pos)
{
    char idx[32];
    const char *s;

    if (p == NULL)
        return pos;
    pos = path_put(p->up, buf, len, pos);
    if (pos + 1 < len)
        buf[pos++] = '/';
    if (p->key == NULL) {
        snprintf(idx, sizeof idx, "%zu", p->idx);
        s = idx;
    } else {
        s = p->key;
    }
    for (; *s != '\0'; s++) {
        const char *rep = *s == '~' ? "~0" : *s == '/' ? "~1" : NULL;
        if (rep == NULL) {
            if (pos + 1 < len)
                buf[pos++] = *s;
        } else if (pos + 2 < len) {
            buf[pos++] = rep[0];
            buf[pos++] = rep[1];
        }
    }
    return pos;
}

char *keel__schema_path(const keel_spath *p, char *buf, size_t len)
{
    size_t pos;

    if (len == 0)
        return buf;
    pos = path_put(p, buf, len, 0);
    if (pos == 0 && len > 1)
        buf[pos++] = '/';
    buf[pos < len ? pos : len - 1] = '\0';
    return buf;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), 0 if there is none. */
static size_t utf8_seq(const unsigned char *p)
{
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF)
        need = 1;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF)
        need = 2;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4)
        need = 3;
    else
        return 0;
    if (p[0] == 0xE0)
        lo = 0xA0;
    else if (p[0] == 0xED)
        hi = 0x9F;
    else if (p[0] == 0xF0)
        lo = 0x90;
    else if (p[0] == 0xF4)
        hi = 0x8F;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k <= need; k++)
        if ((p[k] & 0xC0) != 0x80)
            return 0;
    return need + 1;
}

char *keel__schema_utf8_fix(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p != '\0') {
        size_t n = utf8_seq(p);
        if (n == 0)
            *p++ = '?';
        else
            p += n;
    }
    return s;
}
