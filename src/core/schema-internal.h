/*
 * schema-internal.h — keel's JSON Schema subset (docs/schema.md).
 *
 * Supported keywords (draft 7 semantics): type (string or array), properties,
 * required, additionalProperties (boolean or schema), items (one schema),
 * enum, const, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
 * minLength, maxLength (in code points), minItems, maxItems, uniqueItems; pattern is NOT
 * supported.  Annotations accepted and ignored: title, description, default,
 * examples, $comment, $schema, $id.  Any other keyword makes compilation fail
 * with KEEL_EINVAL naming the keyword, so nobody believes `format` is enforced.
 */
#ifndef KEEL_SCHEMA_INTERNAL_H
#define KEEL_SCHEMA_INTERNAL_H

#include <stddef.h>
#include <jansson.h>

typedef struct keel_schema keel_schema;

/* Compiles schema text.  *out new (keel__schema_free).  KEEL_EINVAL with a
 * message in err ("unsupported keyword 'format' at /properties/x") on failure. */
int  keel__schema_compile(const char *text, keel_schema **out, char *err, size_t errlen);
/* Same from an already-parsed JSON value (borrowed; the schema keeps its own reference). */
int  keel__schema_compile_json(const json_t *schema, keel_schema **out, char *err, size_t errlen);
void keel__schema_free(keel_schema *s);

/* 0 if v conforms; KEEL_EINVAL with the first failure in err, as
 * "<json pointer>: <what>" ("/horse_id: expected integer, got string"). */
int  keel__schema_validate(const keel_schema *s, const json_t *v, char *err, size_t errlen);

/* After v validated against s: where the schema says "integer" (and not
 * "number"), a real such as 3.0 becomes the integer 3.  *out = NULL when
 * nothing changes (use v), else a new reference to a converted copy.
 * KEEL_EINVAL naming the path for an integral value outside int64. */
int  keel__schema_normalize(const keel_schema *s, const json_t *v, json_t **out,
                            char *err, size_t errlen);

/* The compiled JSON (borrowed) — used by the CLI for --help and flag mapping. */
const json_t *keel__schema_json(const keel_schema *s);

/* Converts a text value (CLI flag, URL query parameter) for property `name`
 * of an object schema to the JSON type the schema declares: integer, number,
 * boolean (true/false/1/0/yes/no), string, or JSON text for object/array.
 * *out new reference.  KEEL_EINVAL with err naming the property. */
int  keel__schema_coerce(const keel_schema *s, const char *name, const char *text,
                         json_t **out, char *err, size_t errlen);

#endif
