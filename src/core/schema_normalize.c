/*
 * schema_normalize.c — after validation, integer-typed values become JSON
 * integers.
 *
 * JSON Schema calls 3.0 an integer, so {"session_id": 3.0} validates; a
 * handler reading it with json_integer_value would see 0.  Dispatch runs
 * this once, after the input schema passed, so every handler of an
 * "integer" property gets a json integer (or the call is refused when the
 * value does not fit in int64).  See schema-internal.h.
 */
#include <math.h>
#include <stdio.h>

#include "keel/error.h"
#include "core/schema-tree-internal.h"

/* Only where the schema says integer and not number: a "number" or untyped
 * value stays as the caller sent it. */
static int wants_integer(const keel_snode *n)
{
    return (n->types & KEEL_ST_INTEGER) && !(n->types & KEEL_ST_NUMBER);
}

/* Walks v along n.  apply = 0 counts the reals to convert; apply = 1
 * converts them in place (v is then a private copy).  Returns the count,
 * or KEEL_EINVAL (err set) for an integral real outside int64. */
static int norm(const keel_snode *n, json_t *v, const keel_spath *path, int depth, int apply,
                char *err, size_t errlen)
{
    int count = 0, r;

    if (n == NULL || depth > KEEL_SCHEMA_MAX_DEPTH)
        return 0;
    if (json_is_object(v) && (n->nprops > 0 || n->addl != NULL)) {
        void *it;
        for (it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
            const char *key = json_object_iter_key(it);
            json_t *m = json_object_iter_value(it);
            const keel_sprop *p = keel__schema_find_prop(n, key);
            const keel_snode *sub = p != NULL ? p->schema : n->addl;
            keel_spath step = {path, key, 0};
            if (sub == NULL)
                continue;
            if (json_is_real(m) && wants_integer(sub)) {
                double d = json_real_value(m);
                if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
                    char where[256];
                    snprintf(err, errlen, "%s: %g does not fit a 64-bit integer",
                             keel__schema_path(&step, where, sizeof where), d);
                    return KEEL_EINVAL;
                }
                if (apply && json_object_iter_set_new(v, it, json_integer((json_int_t)d)) != 0)
                    return KEEL_ENOMEM;
                count++;
                continue;
            }
            if ((r = norm(sub, m, &step, depth + 1, apply, err, errlen)) < 0)
                return r;
            count += r;
        }
    } else if (json_is_array(v) && n->items != NULL) {
        size_t i;
        for (i = 0; i < json_array_size(v); i++) {
            json_t *m = json_array_get(v, i);
            keel_spath step = {path, NULL, i};
            if (json_is_real(m) && wants_integer(n->items)) {
                double d = json_real_value(m);
                if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
                    char where[256];
                    snprintf(err, errlen, "%s: %g does not fit a 64-bit integer",
                             keel__schema_path(&step, where, sizeof where), d);
                    return KEEL_EINVAL;
                }
                if (apply && json_array_set_new(v, i, json_integer((json_int_t)d)) != 0)
                    return KEEL_ENOMEM;
                count++;
                continue;
            }
            if ((r = norm(n->items, m, &step, depth + 1, apply, err, errlen)) < 0)
                return r;
            count += r;
        }
    }
    return count;
}

int keel__schema_normalize(const keel_schema *s, const json_t *v, json_t **out,
                           char *err, size_t errlen)
{
    json_t *copy;
    int r;

    *out = NULL;
    if (s == NULL || v == NULL)
        return 0;
    if (json_is_real(v) && wants_integer(s->root)) {
        double d = json_real_value(v);
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
            snprintf(err, errlen, "/: %g does not fit a 64-bit integer", d);
            return KEEL_EINVAL;
        }
        return (*out = json_integer((json_int_t)d)) != NULL ? 0 : KEEL_ENOMEM;
    }
    /* the caller's value is borrowed: copy only when something changes */
    if ((r = norm(s->root, (json_t *)v, NULL, 0, 0, err, errlen)) <= 0)
        return r;
    if ((copy = json_deep_copy(v)) == NULL)
        return KEEL_ENOMEM;
    if ((r = norm(s->root, copy, NULL, 0, 1, err, errlen)) < 0) {
        json_decref(copy);
        return r;
    }
    *out = copy;
    return 0;
}
