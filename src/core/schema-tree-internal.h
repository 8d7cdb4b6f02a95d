/*
 * schema-tree-internal.h — the compiled form of a keel JSON Schema, shared by
 * schema.c (compile), schema_validate.c, schema_coerce.c and schema_text.c.
 * Nothing outside those files includes it: everyone else uses schema-internal.h.
 */
#ifndef KEEL_SCHEMA_TREE_INTERNAL_H
#define KEEL_SCHEMA_TREE_INTERNAL_H

#include <stddef.h>
#include <jansson.h>

#include "core/schema-internal.h"

/* Deepest schema nesting compile accepts, and deepest value nesting the
 * equality test (enum, const, uniqueItems) walks. */
#define KEEL_SCHEMA_MAX_DEPTH 64

/* keel_snode.types: bit per JSON Schema type name; 0 = any type. */
enum keel_stype {
    KEEL_ST_NULL    = 1u << 0,
    KEEL_ST_BOOLEAN = 1u << 1,
    KEEL_ST_OBJECT  = 1u << 2,
    KEEL_ST_ARRAY   = 1u << 3,
    KEEL_ST_NUMBER  = 1u << 4,
    KEEL_ST_INTEGER = 1u << 5,
    KEEL_ST_STRING  = 1u << 6
};

/* keel_snode.flags: which keywords are present. */
enum keel_sflag {
    KEEL_SF_FALSE     = 1u << 0,  /* boolean schema false: nothing validates */
    KEEL_SF_MINIMUM   = 1u << 1,
    KEEL_SF_MAXIMUM   = 1u << 2,
    KEEL_SF_XMINIMUM  = 1u << 3,
    KEEL_SF_XMAXIMUM  = 1u << 4,
    KEEL_SF_MINLENGTH = 1u << 5,
    KEEL_SF_MAXLENGTH = 1u << 6,
    KEEL_SF_MINITEMS  = 1u << 7,
    KEEL_SF_MAXITEMS  = 1u << 8,
    KEEL_SF_UNIQUE    = 1u << 9,
    KEEL_SF_CONST     = 1u << 10,
    KEEL_SF_ENUM      = 1u << 11,
    KEEL_SF_OBJECT    = 1u << 12, /* any of properties/required/additionalProperties */
    KEEL_SF_NUMERIC   = KEEL_SF_MINIMUM | KEEL_SF_MAXIMUM | KEEL_SF_XMINIMUM | KEEL_SF_XMAXIMUM,
    KEEL_SF_STRLEN    = KEEL_SF_MINLENGTH | KEEL_SF_MAXLENGTH
};

typedef struct keel_snode keel_snode;

typedef struct keel_sprop {
    const char *name;     /* borrowed from the schema JSON */
    keel_snode *schema;   /* owned */
    int         required; /* listed in the node's "required" */
} keel_sprop;

/* A string enum member, pre-measured (borrowed bytes). */
typedef struct keel_sstr {
    const char *s;
    size_t      len;
} keel_sstr;

struct keel_snode {
    unsigned      types;      /* keel_stype bits, 0 = any */
    unsigned      flags;      /* keel_sflag bits */
    double        minimum, maximum, xminimum, xmaximum;
    size_t        min_length, max_length;   /* code points */
    size_t        min_items, max_items;
    const json_t *konst;      /* borrowed from the schema JSON */
    const json_t *enumv;      /* borrowed; an array */
    keel_sstr    *enum_strs;  /* owned; set when every enum member is a string */
    size_t        nenum_strs;
    keel_sprop   *props;      /* sorted by name (strcmp), nprops entries, owned */
    size_t        nprops;
    const char  **required;   /* borrowed names, owned array */
    size_t        nrequired;
    size_t        nreq_props; /* required names that are also in props (marked there) */
    keel_snode   *addl;       /* additionalProperties; NULL = anything allowed */
    keel_snode   *items;      /* NULL = any item */
};

struct keel_schema {
    json_t     *json;  /* own reference */
    keel_snode *root;
};

/* One step of a JSON pointer, linked towards the root and kept on the C
 * stack, so no string is built unless an error is reported. */
typedef struct keel_spath {
    const struct keel_spath *up;
    const char              *key;   /* member name, or NULL for an array index */
    size_t                   idx;
} keel_spath;

/* Writes the RFC 6901 pointer of p into buf ("/" for the root); returns buf. */
char *keel__schema_path(const keel_spath *p, char *buf, size_t len);

/* The property schema called name in n, or NULL (binary search). */
const keel_sprop *keel__schema_find_prop(const keel_snode *n, const char *name);

/* JSON Schema equality: numbers by value (1 == 1.0), strings by bytes,
 * arrays in order, objects by member set.  1 equal, 0 not, -1 deeper than
 * KEEL_SCHEMA_MAX_DEPTH. */
int keel__schema_equal(const json_t *a, const json_t *b, int depth);

/* "integer", "number", "string", … for a value (integer for json integers). */
const char *keel__schema_type_name(const json_t *v);

/* Replaces every byte of s that does not start a complete UTF-8 sequence
 * with '?', in place: messages cut by a short buffer or quoting a user's
 * bytes stay valid JSON strings.  Returns s. */
char *keel__schema_utf8_fix(char *s);

/* The keel_stype bit for a type name ("integer"), 0 if unknown. */
unsigned keel__schema_type_bit(const char *name);

/* Writes "integer or null" for a keel_stype mask. */
void keel__schema_types_text(unsigned types, char *buf, size_t len);

#endif /* KEEL_SCHEMA_TREE_INTERNAL_H */
