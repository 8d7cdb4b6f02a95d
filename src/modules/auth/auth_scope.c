/*
 * auth_scope.c — scope lists and the one grant rule.
 *
 * A scope is "admin" or "<module>:read" / "<module>:write".  "admin" grants
 * every scope; "<m>:write" implies "<m>:read"; AUTH_SCOPE_SELF ("auth:self",
 * the scope of whoami / create_token / revoke_token) is held by every valid
 * token.  Lists travel as JSON arrays and are stored comma-separated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-internal.h"

#define AUTH_SCOPE_MAX 64

static int name_char(char c, int first)
{
    if (c >= 'a' && c <= 'z') return 1;
    if (first) return 0;
    return (c >= '0' && c <= '9') || c == '_';
}

int auth_scope_valid(const char *s)
{
    const char *colon;
    size_t i, n;

    if (s == NULL || *s == '\0' || strlen(s) > AUTH_SCOPE_MAX)
        return 0;
    if (strcmp(s, "admin") == 0)
        return 1;
    colon = strchr(s, ':');
    if (colon == NULL || colon == s)
        return 0;
    n = (size_t)(colon - s);
    for (i = 0; i < n; i++)
        if (!name_char(s[i], i == 0))
            return 0;
    return strcmp(colon + 1, "read") == 0 || strcmp(colon + 1, "write") == 0;
}

/* 1 if held (one scope) grants needed. */
static int grants_one(const char *held, const char *needed)
{
    size_t hl, nl;

    if (strcmp(held, "admin") == 0 || strcmp(held, needed) == 0)
        return 1;
    /* "<m>:write" implies "<m>:read" */
    hl = strlen(held);
    nl = strlen(needed);
    if (hl > 6 && nl > 5 && strcmp(held + hl - 6, ":write") == 0
        && strcmp(needed + nl - 5, ":read") == 0 && hl - 6 == nl - 5
        && strncmp(held, needed, nl - 5) == 0)
        return 1;
    return 0;
}

int auth_scopes_grant(const json_t *scopes, const char *needed)
{
    size_t i;
    json_t *v;

    if (needed == NULL || *needed == '\0' || strcmp(needed, AUTH_SCOPE_SELF) == 0)
        return 1;
    if (!json_is_array(scopes))
        return 0;
    json_array_foreach(scopes, i, v) {
        const char *held = json_string_value(v);
        if (held != NULL && grants_one(held, needed))
            return 1;
    }
    return 0;
}

static int add_unique(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (strcmp(json_string_value(v), s) == 0)
            return 0;
    return json_array_append_new(arr, json_string(s)) == 0 ? 0 : KEEL_ENOMEM;
}

int auth_scopes_parse(const char *csv, json_t **out, char *err, size_t errlen)
{
    json_t *arr = json_array();
    const char *p = csv ? csv : "";
    int rc = 0;

    *out = NULL;
    if (arr == NULL)
        return KEEL_ENOMEM;
    while (*p != '\0') {
        char one[AUTH_SCOPE_MAX + 2];
        const char *end = strchr(p, ',');
        size_t n;
        if (end == NULL)
            end = p + strlen(p);
        while (p < end && (*p == ' ' || *p == '\t')) p++;
        n = (size_t)(end - p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
        if (n > 0) {
            if (n > AUTH_SCOPE_MAX) n = AUTH_SCOPE_MAX + 1;
            memcpy(one, p, n);
            one[n] = '\0';
            if (!auth_scope_valid(one)) {
                snprintf(err, errlen, "invalid scope '%s' (want admin or <module>:read|write)", one);
                rc = KEEL_EINVAL;
                goto out;
            }
            rc = add_unique(arr, one);
            if (rc != 0)
                goto out;
        }
        p = *end ? end + 1 : end;
    }
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    return rc;
}

int auth_scopes_from_json(const json_t *in, json_t **out, char *err, size_t errlen)
{
    json_t *arr = json_array();
    size_t i;
    json_t *v;
    int rc = 0;

    *out = NULL;
    if (arr == NULL)
        return KEEL_ENOMEM;
    if (!json_is_array(in)) {
        snprintf(err, errlen, "scopes: expected an array of strings");
        rc = KEEL_EINVAL;
        goto out;
    }
    json_array_foreach(in, i, v) {
        const char *s = json_string_value(v);
        if (!auth_scope_valid(s)) {
            snprintf(err, errlen, "invalid scope '%s' (want admin or <module>:read|write)",
                     s ? s : "(not a string)");
            rc = KEEL_EINVAL;
            goto out;
        }
        rc = add_unique(arr, s);
        if (rc != 0)
            goto out;
    }
    *out = arr;
    arr = NULL;
out:
    json_decref(arr);
    return rc;
}

char *auth_scopes_join(const json_t *arr)
{
    size_t i, cap = 1;
    json_t *v;
    char *s;

    json_array_foreach(arr, i, v)
        cap += strlen(json_string_value(v)) + 1;
    s = malloc(cap);
    if (s == NULL)
        return NULL;
    s[0] = '\0';
    json_array_foreach(arr, i, v) {
        if (i > 0) strcat(s, ",");
        strcat(s, json_string_value(v));
    }
    return s;
}
