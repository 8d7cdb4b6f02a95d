/*
 * schema_coerce.c — turns the text of a CLI flag or URL query parameter into
 * the JSON value its property declares (docs/schema.md, "Coercion").
 * Locale-independent: numbers are checked against the JSON grammar here and
 * converted by jansson, whose number reader ignores LC_NUMERIC.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keel/error.h"
#include "core/schema-tree-internal.h"

/* 1 if s is a JSON number ("-12", "3.5e-2"); *is_int = no fraction/exponent. */
static int json_number_text(const char *s, int *is_int)
{
    *is_int = 1;
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return 0;
    if (*s == '.') {
        *is_int = 0;
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        *is_int = 0;
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

/* Strict decimal integer: optional sign, digits only, in json_int_t range.
 * KEEL_EINVAL / KEEL_ELIMIT (out of range). */
static int parse_integer(const char *text, json_t **out)
{
    const char *p = text;
    char *end = NULL;
    long long v;

    if (*p == '-' || *p == '+')
        p++;
    if (*p < '0' || *p > '9')
        return KEEL_EINVAL;
    for (; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return KEEL_EINVAL;
    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno == ERANGE || *end != '\0')
        return KEEL_ELIMIT;
    *out = json_integer((json_int_t)v);
    return *out != NULL ? 0 : KEEL_ENOMEM;
}

static int parse_number(const char *text, json_t **out)
{
    const char *p = *text == '+' ? text + 1 : text;
    json_error_t jerr;
    int is_int;

    if (!json_number_text(p, &is_int))
        return KEEL_EINVAL;
    *out = json_loads(p, JSON_DECODE_ANY, &jerr);
    if (*out == NULL && is_int) /* beyond json_int_t: keep it as a real */
        *out = json_loads(p, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &jerr);
    return *out != NULL ? 0 : KEEL_ELIMIT;
}

static int parse_boolean(const char *text, json_t **out)
{
    static const char *const yes[] = {"true", "1", "yes", NULL};
    static const char *const no[] = {"false", "0", "no", NULL};

    for (int i = 0; yes[i] != NULL; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = json_true();
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = json_false();
            return 0;
        }
    }
    return KEEL_EINVAL;
}

static int parse_json(const char *text, json_type want, json_t **out)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

    if (j == NULL)
        return KEEL_EINVAL;
    if (json_typeof(j) != want) {
        json_decref(j);
        return KEEL_EINVAL;
    }
    *out = j;
    return 0;
}

/* Tries each declared type in the documented order; first success wins.
 * Returns the last failure code when none fits. */
static int convert(unsigned types, const char *text, json_t **out)
{
    int rc = KEEL_EINVAL, r;

    if (types == 0) /* untyped: the text as is */
        types = KEEL_ST_STRING;
    if ((types & KEEL_ST_NUMBER) && (r = parse_number(text, out)) != KEEL_EINVAL) {
        if (r == 0)
            return 0;
        rc = r;
    }
    if ((types & KEEL_ST_INTEGER) && (r = parse_integer(text, out)) != KEEL_EINVAL) {
        if (r == 0)
            return 0;
        rc = r;
    }
    if ((types & KEEL_ST_BOOLEAN) && parse_boolean(text, out) == 0)
        return 0;
    if ((types & KEEL_ST_NULL) && strcmp(text, "null") == 0) {
        *out = json_null();
        return 0;
    }
    if (types & KEEL_ST_STRING) {
        *out = json_string(text);  /* json_string refuses invalid UTF-8 */
        if (*out != NULL)
            return 0;
    }
    if ((types & KEEL_ST_OBJECT) && parse_json(text, JSON_OBJECT, out) == 0)
        return 0;
    if ((types & KEEL_ST_ARRAY) && parse_json(text, JSON_ARRAY, out) == 0)
        return 0;
    return rc;
}

/* Types an untyped property can take, read from its enum or const values
 * ({"enum":[1,2,3]} → integer), so `--level 2` is not sent as "2". */
static unsigned implied_types(const keel_snode *n)
{
    static const struct { json_type t; unsigned bit; } map[] = {
        {JSON_OBJECT, KEEL_ST_OBJECT}, {JSON_ARRAY, KEEL_ST_ARRAY},
        {JSON_STRING, KEEL_ST_STRING}, {JSON_INTEGER, KEEL_ST_INTEGER},
        {JSON_REAL, KEEL_ST_NUMBER},   {JSON_TRUE, KEEL_ST_BOOLEAN},
        {JSON_FALSE, KEEL_ST_BOOLEAN}, {JSON_NULL, KEEL_ST_NULL},
    };
    unsigned types = 0;
    size_t i, k;

    for (i = 0; (n->flags & KEEL_SF_ENUM) && i < json_array_size(n->enumv); i++)
        for (k = 0; k < sizeof map / sizeof map[0]; k++)
            if (json_typeof(json_array_get(n->enumv, i)) == map[k].t)
                types |= map[k].bit;
    for (k = 0; (n->flags & KEEL_SF_CONST) && k < sizeof map / sizeof map[0]; k++)
        if (json_typeof(n->konst) == map[k].t)
            types |= map[k].bit;
    return types;
}

/* Quotes at most 60 bytes of user text for a message ("abc…"). */
static const char *shorten(const char *text, char *buf, size_t len)
{
    size_t n = strlen(text);

    if (n < len && n <= 60)
        return text;
    snprintf(buf, len, "%.*s...", 57, text);
    return buf;
}

int keel__schema_coerce(const keel_schema *s, const char *name, const char *text,
                        json_t **out, char *err, size_t errlen)
{
    const keel_snode *root, *prop = NULL;
    const keel_sprop *p;
    char want[96], shown[64], sname[64];
    unsigned types;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL)
        return KEEL_EINVAL;
    *out = NULL;
    if (name == NULL || text == NULL) {
        rc = KEEL_EINVAL;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "option without a name or value");
        goto out;
    }
    root = s != NULL ? s->root : NULL;
    if (root != NULL && (p = keel__schema_find_prop(root, name)) != NULL)
        prop = p->schema;
    else if (root != NULL && root->addl != NULL)
        prop = root->addl;
    if (root != NULL && ((root->flags & KEEL_SF_FALSE) ||
                         (prop != NULL && (prop->flags & KEEL_SF_FALSE)))) {
        rc = KEEL_EINVAL;
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "unknown option --%s", shorten(name, sname, sizeof sname));
        goto out;
    }
    types = 0; /* no schema / open object: a string */
    if (prop != NULL)
        types = prop->types != 0 ? prop->types : implied_types(prop);
    rc = convert(types, text, out);
    if (rc != 0 && err != NULL && errlen > 0) {
        keel__schema_types_text(types != 0 ? types : KEEL_ST_STRING, want, sizeof want);
        if (rc == KEEL_ELIMIT)
            snprintf(err, errlen, "option --%s: '%s' is out of range for %s",
                     shorten(name, sname, sizeof sname), shorten(text, shown, sizeof shown), want);
        else
            snprintf(err, errlen, "option --%s: expected %s, got '%s'",
                     shorten(name, sname, sizeof sname), want, shorten(text, shown, sizeof shown));
    }
    if (rc == KEEL_ELIMIT)
        rc = KEEL_EINVAL;
out:
    if (err != NULL && errlen > 0)
        keel__schema_utf8_fix(err);
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
