/*
 * store_pg_sql.c — SQL text rules of the PostgreSQL backend: which
 * statements a module's connection may send, and the dialect rewrite that
 * lets one portable migration file serve both backends.  See
 * store_pg-internal.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "keel/error.h"
#include "core/sbuf-internal.h"
#include "core/store_pg-internal.h"

static int is_word_start(char ch) { return isalpha((unsigned char)ch) || ch == '_'; }
static int is_word_char(char ch)  { return isalnum((unsigned char)ch) || ch == '_' || ch == '$'; }

/* Length of the span at p that is not SQL words to look at: a string
 * literal, a quoted name, a comment or a dollar-quoted body (copied as is);
 * 1 for any other single non-word character; 0 when p starts a word. */
static size_t opaque_len(const char *p)
{
    const char *q;

    if (is_word_start(*p))
        return 0;
    if (*p == '\'' || *p == '"') {
        char quote = *p;
        for (q = p + 1; *q != '\0'; q++) {
            if (*q == quote) {
                if (q[1] == quote) {
                    q++;
                    continue;
                }
                return (size_t)(q - p) + 1;
            }
        }
        return (size_t)(q - p);
    }
    if (p[0] == '-' && p[1] == '-') {
        q = strchr(p, '\n');
        return q != NULL ? (size_t)(q - p) + 1 : strlen(p);
    }
    if (p[0] == '/' && p[1] == '*') {
        q = strstr(p + 2, "*/");
        return q != NULL ? (size_t)(q - p) + 2 : strlen(p);
    }
    if (p[0] == '$' && !isdigit((unsigned char)p[1])) {
        /* $tag$ … $tag$ (tag may be empty) */
        size_t tl;
        for (q = p + 1; is_word_char(*q) && *q != '$'; q++)
            ;
        if (*q == '$') {
            tl = (size_t)(q - p) + 1;
            char tag[72];
            if (tl < sizeof tag) {
                const char *end;
                memcpy(tag, p, tl);
                tag[tl] = '\0';
                end = strstr(p + tl, tag);
                return end != NULL ? (size_t)(end - p) + tl : strlen(p);
            }
        }
    }
    return 1;
}

static size_t word_len(const char *p)
{
    size_t n = 0;
    while (is_word_char(p[n]))
        n++;
    return n;
}

static int word_is(const char *p, size_t n, const char *w)
{
    return strlen(w) == n && strncasecmp(p, w, n) == 0;
}

/* The next word after p (skipping blanks and comments), its length in *n. */
static const char *next_word(const char *p, size_t *n)
{
    size_t k;
    while (*p != '\0') {
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*')) {
            p += opaque_len(p);
            continue;
        }
        break;
    }
    k = word_len(p);
    *n = is_word_start(*p) ? k : 0;
    return p;
}

int keel__pg_check_sql(const char *ns, const char *sql, char *err, size_t errlen)
{
    static const char *const first_ok[] = {
        "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES", "TABLE", "CREATE", "DROP",
        "ALTER", "TRUNCATE", "EXPLAIN", "COMMENT", "MERGE", NULL
    };
    const char *p = sql, *w;
    size_t n, skip;
    int i;

    while (*p == '(' || isspace((unsigned char)*p))
        p++;
    w = next_word(p, &n);
    while (*w == '(') {
        w = next_word(w + 1, &n);
    }
    for (i = 0; first_ok[i] != NULL; i++)
        if (word_is(w, n, first_ok[i]))
            break;
    if (first_ok[i] == NULL) {
        snprintf(err, errlen, "%s%s%s may not run '%.*s' statements: sessions and "
                 "transactions belong to the store (use keel_store_tx)",
                 ns ? "module '" : "the core", ns ? ns : "", ns ? "'" : "",
                 (int)(n > 0 ? (n < 32 ? n : 32) : 1), n > 0 ? w : "?");
        return KEEL_EDENIED;
    }
    for (p = sql; *p != '\0'; p += skip) {
        skip = opaque_len(p);
        if (skip > 0)
            continue;
        skip = word_len(p);
        if (word_is(p, skip, "set_config")) {
            snprintf(err, errlen, "%s%s%s may not call set_config()",
                     ns ? "module '" : "the core", ns ? ns : "", ns ? "'" : "");
            return KEEL_EDENIED;
        }
    }
    return 0;
}

static void put(keel_sbuf *b, const char *p, size_t n) { keel__sbuf_put(b, p, n); }
static void puts_(keel_sbuf *b, const char *s) { keel__sbuf_puts(b, s); }

char *keel__pg_dialect(const char *sql)
{
    keel_sbuf b = {0};
    const char *p = sql;
    size_t n;

    put(&b, "", 0);
    while (*p != '\0') {
        n = opaque_len(p);
        if (n > 0) {
            put(&b, p, n);
            p += n;
            continue;
        }
        n = word_len(p);
        if (word_is(p, n, "INTEGER")) {
            size_t n1, n2, n3;
            const char *w1 = next_word(p + n, &n1), *w2, *w3;
            if (word_is(w1, n1, "PRIMARY")) {
                w2 = next_word(w1 + n1, &n2);
                if (word_is(w2, n2, "KEY")) {
                    puts_(&b, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY");
                    p = w2 + n2;
                    w3 = next_word(p, &n3);
                    if (word_is(w3, n3, "AUTOINCREMENT"))
                        p = w3 + n3;
                    continue;
                }
            }
            puts_(&b, "BIGINT");
        } else if (word_is(p, n, "REAL")) {
            puts_(&b, "DOUBLE PRECISION");
        } else if (word_is(p, n, "BLOB")) {
            puts_(&b, "BYTEA");
        } else if (word_is(p, n, "DATETIME")) {
            puts_(&b, "TIMESTAMPTZ");
        } else {
            put(&b, p, n);
        }
        p += n;
    }
    return keel__sbuf_take(&b);
}
