/*
 * schema_validate.c — checks a JSON value against a compiled keel schema.
 * Runs before every handler, so the success path builds no strings: the JSON
 * pointer of a failure is assembled from stack frames only when reported.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/error.h"
#include "core/schema-tree-internal.h"

typedef struct validator {
    char  *err;
    size_t errlen;
} validator;

static int check(validator *vd, const keel_snode *n, const json_t *v, const keel_spath *path);

/* Records "<pointer>: <what>" and returns KEEL_EINVAL. */
static int verr(validator *vd, const keel_spath *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int verr(validator *vd, const keel_spath *path, const char *fmt, ...)
{
    char what[256], ptr[512];
    va_list ap;

    if (vd->err == NULL || vd->errlen == 0)
        return KEEL_EINVAL;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(vd->err, vd->errlen, "%s: %s", keel__schema_path(path, ptr, sizeof ptr), what);
    keel__schema_utf8_fix(vd->err);
    return KEEL_EINVAL;
}

/* ---- equality ---------------------------------------------------------- */

static int equal_objects(const json_t *a, const json_t *b, int depth)
{
    const char *key;
    json_t *va;
    int r;

    if (json_object_size(a) != json_object_size(b))
        return 0;
    json_object_foreach((json_t *)a, key, va) {
        const json_t *vb = json_object_get(b, key);
        if (vb == NULL)
            return 0;
        if ((r = keel__schema_equal(va, vb, depth + 1)) != 1)
            return r;
    }
    return 1;
}

int keel__schema_equal(const json_t *a, const json_t *b, int depth)
{
    size_t i;
    int r;

    if (depth > KEEL_SCHEMA_MAX_DEPTH)
        return -1;
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (i = 0; i < json_array_size(a); i++)
            if ((r = keel__schema_equal(json_array_get(a, i), json_array_get(b, i), depth + 1)) != 1)
                return r;
        return 1;
    case JSON_OBJECT:
        return equal_objects(a, b, depth);
    default:
        return 1; /* true, false, null: same type is the same value */
    }
}

/* ---- keywords ---------------------------------------------------------- */

static int type_ok(unsigned types, const json_t *v)
{
    double d;

    switch (json_typeof(v)) {
    case JSON_OBJECT:  return (types & KEEL_ST_OBJECT) != 0;
    case JSON_ARRAY:   return (types & KEEL_ST_ARRAY) != 0;
    case JSON_STRING:  return (types & KEEL_ST_STRING) != 0;
    case JSON_INTEGER: return (types & (KEEL_ST_INTEGER | KEEL_ST_NUMBER)) != 0;
    case JSON_REAL:
        if (types & KEEL_ST_NUMBER)
            return 1;
        d = json_real_value(v);
        return (types & KEEL_ST_INTEGER) && isfinite(d) && d == floor(d);
    case JSON_TRUE:
    case JSON_FALSE:   return (types & KEEL_ST_BOOLEAN) != 0;
    case JSON_NULL:    return (types & KEEL_ST_NULL) != 0;
    }
    return 0;
}

static int check_number(validator *vd, const keel_snode *n, const json_t *v, const keel_spath *path)
{
    double d = json_number_value(v);

    if ((n->flags & KEEL_SF_MINIMUM) && !(d >= n->minimum))
        return verr(vd, path, "must be >= %.17g, got %.17g", n->minimum, d);
    if ((n->flags & KEEL_SF_XMINIMUM) && !(d > n->xminimum))
        return verr(vd, path, "must be > %.17g, got %.17g", n->xminimum, d);
    if ((n->flags & KEEL_SF_MAXIMUM) && !(d <= n->maximum))
        return verr(vd, path, "must be <= %.17g, got %.17g", n->maximum, d);
    if ((n->flags & KEEL_SF_XMAXIMUM) && !(d < n->xmaximum))
        return verr(vd, path, "must be < %.17g, got %.17g", n->xmaximum, d);
    return 0;
}

static int check_string(validator *vd, const keel_snode *n, const json_t *v, const keel_spath *path)
{
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t len = json_string_length(v), cps = 0;

    for (size_t i = 0; i < len; i++)
        cps += (s[i] & 0xC0) != 0x80; /* count lead bytes: jansson strings are valid UTF-8 */
    if ((n->flags & KEEL_SF_MINLENGTH) && cps < n->min_length)
        return verr(vd, path, "string shorter than %zu characters (%zu)", n->min_length, cps);
    if ((n->flags & KEEL_SF_MAXLENGTH) && cps > n->max_length)
        return verr(vd, path, "string longer than %zu characters (%zu)", n->max_length, cps);
    return 0;
}

/* Slow path, only after a failure: the first required name v lacks. */
static int missing_required(validator *vd, const keel_snode *n, const json_t *v,
                            const keel_spath *path)
{
    for (size_t i = 0; i < n->nrequired; i++)
        if (json_object_get(v, n->required[i]) == NULL)
            return verr(vd, path, "missing required property '%s'", n->required[i]);
    return 0;
}

static int check_object(validator *vd, const keel_snode *n, const json_t *v, const keel_spath *path)
{
    const char *key;
    json_t *member;
    size_t seen = 0;
    int rc;

    if (n->nrequired > n->nreq_props) /* required names without a property schema */
        for (size_t i = 0; i < n->nrequired; i++)
            if (json_object_get(v, n->required[i]) == NULL)
                return verr(vd, path, "missing required property '%s'", n->required[i]);
    if (n->nprops == 0 && n->addl == NULL)
        return 0;
    json_object_foreach((json_t *)v, key, member) {
        const keel_sprop *p = keel__schema_find_prop(n, key);
        keel_spath mp = {path, key, 0};
        if (p != NULL) {
            seen += (size_t)p->required;
            if ((rc = check(vd, p->schema, member, &mp)) != 0)
                return rc;
        } else if (n->addl != NULL) {
            if (n->addl->flags & KEEL_SF_FALSE)
                return verr(vd, path, "unknown property '%s'", key);
            if ((rc = check(vd, n->addl, member, &mp)) != 0)
                return rc;
        }
    }
    if (seen < n->nreq_props)
        return missing_required(vd, n, v, path);
    return 0;
}

static int check_array(validator *vd, const keel_snode *n, const json_t *v, const keel_spath *path)
{
    size_t size = json_array_size(v), i, j;
    int rc;

    if ((n->flags & KEEL_SF_MINITEMS) && size < n->min_items)
        return verr(vd, path, "array has fewer than %zu items (%zu)", n->min_items, size);
    if ((n->flags & KEEL_SF_MAXITEMS) && size > n->max_items)
        return verr(vd, path, "array has more than %zu items (%zu)", n->max_items, size);
    if (n->items != NULL) {
        for (i = 0; i < size; i++) {
            keel_spath ip = {path, NULL, i};
            if ((rc = check(vd, n->items, json_array_get(v, i), &ip)) != 0)
                return rc;
        }
    }
    if (n->flags & KEEL_SF_UNIQUE) {
        /* quadratic, bounded by the request body limit */
        for (i = 0; i < size; i++) {
            for (j = i + 1; j < size; j++) {
                int eq = keel__schema_equal(json_array_get(v, i), json_array_get(v, j), 0);
                if (eq < 0)
                    return verr(vd, path, "value nested deeper than %d levels",
                                KEEL_SCHEMA_MAX_DEPTH);
                if (eq)
                    return verr(vd, path, "items %zu and %zu are equal (uniqueItems)", i, j);
            }
        }
    }
    return 0;
}

/* Writes a compact rendering of v, truncated, for an error message. */
static const char *render(const json_t *v, char *buf, size_t len)
{
    size_t n = json_dumpb(v, buf, len - 1, JSON_COMPACT | JSON_ENCODE_ANY);

    if (n >= len - 1) {
        /* json_dumpb reports the full size when the buffer is short, but
         * skips any chunk that does not fit whole: the buffer past it was
         * never written.  Cut the full text instead (slow path, errors only). */
        char *full = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (full != NULL && len > 4)
            snprintf(buf, len, "%.*s...", (int)(len - 4), full);
        else
            buf[0] = '\0';
        free(full);
        return buf;
    }
    buf[n] = '\0';
    return buf;
}

static int check_values(validator *vd, const keel_snode *n, const json_t *v, const keel_spath *path)
{
    char shown[160];
    size_t i;
    int eq = 0;

    if (n->flags & KEEL_SF_CONST) {
        eq = keel__schema_equal(n->konst, v, 0);
        if (eq < 0)
            return verr(vd, path, "value nested deeper than %d levels", KEEL_SCHEMA_MAX_DEPTH);
        if (eq == 0)
            return verr(vd, path, "expected %s", render(n->konst, shown, sizeof shown));
    }
    if ((n->flags & KEEL_SF_ENUM) && n->enum_strs != NULL && json_is_string(v)) {
        const char *str = json_string_value(v);
        size_t len = json_string_length(v);
        for (i = 0; i < n->nenum_strs; i++)
            if (n->enum_strs[i].len == len && memcmp(n->enum_strs[i].s, str, len) == 0)
                return 0;
        return verr(vd, path, "expected one of %s", render(n->enumv, shown, sizeof shown));
    }
    if (n->flags & KEEL_SF_ENUM) {
        eq = 0;
        for (i = 0; i < json_array_size(n->enumv) && eq == 0; i++)
            eq = keel__schema_equal(json_array_get(n->enumv, i), v, 0);
        if (eq < 0)
            return verr(vd, path, "value nested deeper than %d levels", KEEL_SCHEMA_MAX_DEPTH);
        if (eq == 0)
            return verr(vd, path, "expected one of %s", render(n->enumv, shown, sizeof shown));
    }
    return 0;
}

static int check(validator *vd, const keel_snode *n, const json_t *v, const keel_spath *path)
{
    char want[96];
    int rc;

    if (n->flags & KEEL_SF_FALSE)
        return verr(vd, path, "value not allowed here");
    if (n->types != 0 && !type_ok(n->types, v)) {
        keel__schema_types_text(n->types, want, sizeof want);
        return verr(vd, path, "expected %s, got %s", want, keel__schema_type_name(v));
    }
    switch (json_typeof(v)) {
    case JSON_INTEGER:
    case JSON_REAL:
        if ((n->flags & KEEL_SF_NUMERIC) && (rc = check_number(vd, n, v, path)) != 0)
            return rc;
        break;
    case JSON_STRING:
        if ((n->flags & KEEL_SF_STRLEN) && (rc = check_string(vd, n, v, path)) != 0)
            return rc;
        break;
    case JSON_OBJECT:
        if ((n->flags & KEEL_SF_OBJECT) && (rc = check_object(vd, n, v, path)) != 0)
            return rc;
        break;
    case JSON_ARRAY:
        if ((rc = check_array(vd, n, v, path)) != 0)
            return rc;
        break;
    default:
        break;
    }
    if (n->flags & (KEEL_SF_CONST | KEEL_SF_ENUM))
        return check_values(vd, n, v, path);
    return 0;
}

int keel__schema_validate(const keel_schema *s, const json_t *v, char *err, size_t errlen)
{
    validator vd = {err, errlen};

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (v == NULL)
        return verr(&vd, NULL, "no value");
    if (s == NULL)
        return 0; /* no schema: the method takes any value */
    return check(&vd, s->root, v, NULL);
}
