/*
 * schema.c — compiles keel's JSON Schema subset (docs/schema.md) into a tree
 * of C structs: type masks, numeric bounds as doubles, sorted property
 * tables, enum/const as borrowed JSON values.  Any keyword outside the subset
 * is refused by name and JSON pointer, so nobody believes it is enforced.
 * Validation lives in schema_validate.c, CLI/query coercion in schema_coerce.c,
 * message helpers (pointers, type names, UTF-8) in schema_text.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/error.h"
#include "core/json-internal.h"
#include "core/schema-tree-internal.h"

typedef struct compiler {
    char  *err;
    size_t errlen;
} compiler;

static int compile_node(compiler *c, const json_t *j, const keel_spath *path, int depth,
                        keel_snode **out);
static void node_free(keel_snode *n);

/* Records "<what> at <pointer>" and returns KEEL_EINVAL. */
static int cerr(compiler *c, const keel_spath *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int cerr(compiler *c, const keel_spath *path, const char *fmt, ...)
{
    char what[256], ptr[512];
    va_list ap;

    if (c->err == NULL || c->errlen == 0)
        return KEEL_EINVAL;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s at %s", what, keel__schema_path(path, ptr, sizeof ptr));
    keel__schema_utf8_fix(c->err);
    return KEEL_EINVAL;
}

/* ---- keyword values ---------------------------------------------------- */

static int type_bit(compiler *c, const json_t *v, const keel_spath *path, unsigned *bit)
{
    if (json_is_string(v)) {
        if ((*bit = keel__schema_type_bit(json_string_value(v))) != 0)
            return 0;
        return cerr(c, path, "unknown type '%s'", json_string_value(v));
    }
    return cerr(c, path, "'type' must be a type name or an array of them");
}

static int kw_type(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path, int depth)
{
    size_t i;
    json_t *e;
    unsigned bit = 0;
    int rc;

    if (!json_is_array(v))
        return type_bit(c, v, path, &n->types);
    if (json_array_size(v) == 0)
        return cerr(c, path, "'type' must not be an empty array");
    json_array_foreach(v, i, e) {
        if ((rc = type_bit(c, e, path, &bit)) != 0)
            return rc;
        if (n->types & bit)
            return cerr(c, path, "'type' lists '%s' twice", json_string_value(e));
        n->types |= bit;
    }
    return 0;
}

static int number_arg(compiler *c, const char *kw, const json_t *v, const keel_spath *path,
                      double *out)
{
    if (json_is_boolean(v) && kw[0] == 'e')
        return cerr(c, path, "'%s' must be a number (the draft-4 boolean form is not supported)",
                    kw);
    if (!json_is_number(v))
        return cerr(c, path, "'%s' must be a number", kw);
    *out = json_number_value(v);
    return 0;
}

static int count_arg(compiler *c, const char *kw, const json_t *v, const keel_spath *path,
                     size_t *out)
{
    double d;

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (size_t)json_integer_value(v);
        return 0;
    }
    /* draft 7 allows 2.0 where a non-negative integer is expected */
    if (json_is_real(v) && (d = json_real_value(v)) >= 0 && d == floor(d) && d < 1e18) {
        *out = (size_t)d;
        return 0;
    }
    return cerr(c, path, "'%s' must be a non-negative integer", kw);
}

#define NUM_KW(fn, field, flag, kwname)                                                   \
    static int fn(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path,  \
                  int depth)                                                              \
    {                                                                                     \
        n->flags |= (flag);                                                               \
        return number_arg(c, kwname, v, path, &n->field);                                 \
    }
NUM_KW(kw_minimum, minimum, KEEL_SF_MINIMUM, "minimum")
NUM_KW(kw_maximum, maximum, KEEL_SF_MAXIMUM, "maximum")
NUM_KW(kw_xminimum, xminimum, KEEL_SF_XMINIMUM, "exclusiveMinimum")
NUM_KW(kw_xmaximum, xmaximum, KEEL_SF_XMAXIMUM, "exclusiveMaximum")
#undef NUM_KW

#define COUNT_KW(fn, field, flag, kwname)                                                 \
    static int fn(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path,  \
                  int depth)                                                              \
    {                                                                                     \
        n->flags |= (flag);                                                               \
        return count_arg(c, kwname, v, path, &n->field);                                  \
    }
COUNT_KW(kw_minlength, min_length, KEEL_SF_MINLENGTH, "minLength")
COUNT_KW(kw_maxlength, max_length, KEEL_SF_MAXLENGTH, "maxLength")
COUNT_KW(kw_minitems, min_items, KEEL_SF_MINITEMS, "minItems")
COUNT_KW(kw_maxitems, max_items, KEEL_SF_MAXITEMS, "maxItems")
#undef COUNT_KW

static int kw_unique(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path, int depth)
{
    if (!json_is_boolean(v))
        return cerr(c, path, "'uniqueItems' must be a boolean");
    if (json_is_true(v))
        n->flags |= KEEL_SF_UNIQUE;
    return 0;
}

static int kw_const(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path, int depth)
{
    n->flags |= KEEL_SF_CONST;
    n->konst = v;
    return 0;
}

static int kw_enum(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path, int depth)
{
    size_t i, size;

    if (!json_is_array(v))
        return cerr(c, path, "'enum' must be an array");
    n->flags |= KEEL_SF_ENUM;
    n->enumv = v;
    size = json_array_size(v);
    for (i = 0; i < size; i++)
        if (!json_is_string(json_array_get(v, i)))
            return 0; /* mixed members: compared as JSON values */
    if (size == 0 || (n->enum_strs = calloc(size, sizeof *n->enum_strs)) == NULL)
        return size == 0 ? 0 : KEEL_ENOMEM;
    for (i = 0; i < size; i++) {
        n->enum_strs[i].s = json_string_value(json_array_get(v, i));
        n->enum_strs[i].len = json_string_length(json_array_get(v, i));
    }
    n->nenum_strs = size;
    return 0;
}

static int kw_required(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path,
                       int depth)
{
    size_t i;
    json_t *e;

    if (!json_is_array(v))
        return cerr(c, path, "'required' must be an array of strings");
    n->flags |= KEEL_SF_OBJECT;
    if (json_array_size(v) == 0)
        return 0;
    n->required = calloc(json_array_size(v), sizeof *n->required);
    if (n->required == NULL)
        return KEEL_ENOMEM;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e))
            return cerr(c, path, "'required' must be an array of strings");
        n->required[n->nrequired++] = json_string_value(e);
    }
    return 0;
}

static int prop_cmp(const void *a, const void *b)
{
    return strcmp(((const keel_sprop *)a)->name, ((const keel_sprop *)b)->name);
}

static int kw_properties(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path,
                         int depth)
{
    const char *key;
    json_t *sub;
    keel_spath kp = {path, "properties", 0};
    int rc;

    if (!json_is_object(v))
        return cerr(c, path, "'properties' must be an object");
    n->flags |= KEEL_SF_OBJECT;
    if (json_object_size(v) == 0)
        return 0;
    n->props = calloc(json_object_size(v), sizeof *n->props);
    if (n->props == NULL)
        return KEEL_ENOMEM;
    json_object_foreach((json_t *)v, key, sub) {
        keel_spath pp = {&kp, key, 0};
        keel_sprop *p = &n->props[n->nprops++];
        p->name = key;
        if ((rc = compile_node(c, sub, &pp, depth + 1, &p->schema)) != 0)
            return rc;
    }
    qsort(n->props, n->nprops, sizeof *n->props, prop_cmp);
    return 0;
}

static int kw_addl(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path, int depth)
{
    keel_spath kp = {path, "additionalProperties", 0};

    n->flags |= KEEL_SF_OBJECT;
    if (json_is_true(v))
        return 0;
    return compile_node(c, v, &kp, depth + 1, &n->addl);
}

static int kw_items(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path, int depth)
{
    keel_spath kp = {path, "items", 0};

    if (json_is_array(v))
        return cerr(c, path, "unsupported keyword 'items' (array form)");
    if (json_is_true(v))
        return 0;
    return compile_node(c, v, &kp, depth + 1, &n->items);
}

typedef int (*kw_fn)(compiler *c, keel_snode *n, const json_t *v, const keel_spath *path,
                     int depth);

/* The subset.  fn NULL = an annotation: accepted and ignored. */
static const struct {
    const char *name;
    kw_fn       fn;
} keywords[] = {
    {"type", kw_type},
    {"properties", kw_properties},
    {"required", kw_required},
    {"additionalProperties", kw_addl},
    {"items", kw_items},
    {"enum", kw_enum},
    {"const", kw_const},
    {"minimum", kw_minimum},
    {"maximum", kw_maximum},
    {"exclusiveMinimum", kw_xminimum},
    {"exclusiveMaximum", kw_xmaximum},
    {"minLength", kw_minlength},
    {"maxLength", kw_maxlength},
    {"minItems", kw_minitems},
    {"maxItems", kw_maxitems},
    {"uniqueItems", kw_unique},
    {"title", NULL},
    {"description", NULL},
    {"default", NULL},
    {"examples", NULL},
    {"$comment", NULL},
    {"$schema", NULL},
    {"$id", NULL},
    {0}
};

/* Marks required properties so validation counts them while it walks the
 * members instead of looking each one up. */
static void mark_required(keel_snode *n)
{
    for (size_t i = 0; i < n->nrequired; i++) {
        keel_sprop *p = (keel_sprop *)keel__schema_find_prop(n, n->required[i]);
        if (p != NULL && !p->required) {
            p->required = 1;
            n->nreq_props++;
        }
    }
}

static int compile_node(compiler *c, const json_t *j, const keel_spath *path, int depth,
                        keel_snode **out)
{
    keel_snode *n = NULL;
    const char *key;
    json_t *val;
    int rc = 0, i;

    *out = NULL;
    if (depth > KEEL_SCHEMA_MAX_DEPTH) {
        rc = cerr(c, path, "schema nested deeper than %d levels", KEEL_SCHEMA_MAX_DEPTH);
        goto out;
    }
    if (!json_is_object(j) && !json_is_boolean(j)) {
        rc = cerr(c, path, "a schema must be an object or a boolean, not %s",
                  keel__schema_type_name(j));
        goto out;
    }
    if ((n = calloc(1, sizeof *n)) == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    if (json_is_false(j))
        n->flags |= KEEL_SF_FALSE;
    if (!json_is_object(j))
        goto out;
    json_object_foreach((json_t *)j, key, val) {
        for (i = 0; keywords[i].name != NULL; i++)
            if (strcmp(keywords[i].name, key) == 0)
                break;
        if (keywords[i].name == NULL) {
            rc = cerr(c, path, "unsupported keyword '%s'", key);
            goto out;
        }
        if (keywords[i].fn != NULL && (rc = keywords[i].fn(c, n, val, path, depth)) != 0)
            goto out;
    }
    mark_required(n);
out:
    if (rc != 0) {
        node_free(n);
        n = NULL;
    }
    *out = n;
    return rc;
}

static void node_free(keel_snode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nprops; i++)
        node_free(n->props[i].schema);
    free(n->props);
    free(n->required);
    free(n->enum_strs);
    node_free(n->addl);
    node_free(n->items);
    free(n);
}

const keel_sprop *keel__schema_find_prop(const keel_snode *n, const char *name)
{
    size_t lo = 0, hi = n->nprops;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(name, n->props[mid].name);
        if (d == 0)
            return &n->props[mid];
        if (d < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* ---- public entry points ----------------------------------------------- */

int keel__schema_compile_json(const json_t *schema, keel_schema **out, char *err, size_t errlen)
{
    compiler c = {err, errlen};
    keel_schema *s = NULL;
    int rc;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (out == NULL)
        return KEEL_EINVAL;
    *out = NULL;
    if (schema == NULL) {
        rc = cerr(&c, NULL, "no schema");
        goto out;
    }
    if ((s = calloc(1, sizeof *s)) == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    if ((rc = compile_node(&c, schema, NULL, 0, &s->root)) != 0)
        goto out;
    s->json = json_incref((json_t *)schema);
out:
    if (rc != 0) {
        if (rc == KEEL_ENOMEM && err != NULL && errlen > 0)
            snprintf(err, errlen, "out of memory compiling schema");
        keel__schema_free(s);
        s = NULL;
    }
    *out = s;
    return rc;
}

int keel__schema_compile(const char *text, keel_schema **out, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *j = NULL;
    int rc;

    if (out == NULL)
        return KEEL_EINVAL;
    *out = NULL;
    if (text == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "no schema text");
        rc = KEEL_EINVAL;
        goto out;
    }
    /* keel's parser, not json_loads: start-up compiles every method's
     * schemas, and this was most of that (same strict RFC 8259 reading) */
    j = keel__json_parse(text, strlen(text), JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (j == NULL) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "schema is not valid JSON: %s (line %d, column %d)",
                     jerr.text, jerr.line, jerr.column);
        rc = KEEL_EINVAL;
        goto out;
    }
    rc = keel__schema_compile_json(j, out, err, errlen);
out:
    json_decref(j);
    return rc;
}

void keel__schema_free(keel_schema *s)
{
    if (s == NULL)
        return;
    node_free(s->root);
    json_decref(s->json);
    free(s);
}

const json_t *keel__schema_json(const keel_schema *s)
{
    return s != NULL ? s->json : NULL;
}
