/*
 * remote_url.c — parsing the base URL of a remote keel process
 * ("http://host[:port][/prefix]", KEEL_REMOTE_<MODULE>), and the query
 * string that carries a raw call's parameters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "api/evmem-internal.h"
#include "api/remote-internal.h"

int keel__remote_url_parse(const char *url, keel_remote_url *u, char *err, size_t errlen)
{
    const char *p, *host, *host_end, *port = NULL, *port_end = NULL, *path;
    size_t n;
    int rc = KEEL_ECONFIG;

    memset(u, 0, sizeof(*u));
    if (!url || strncmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "remote url '%s': must start with http://", url ? url : "(null)");
        goto out;
    }
    p = url + 7;
    path = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(path - p))) {
        snprintf(err, errlen, "remote url '%s': user info is not supported", url);
        goto out;
    }
    if (*p == '[') {
        host = p + 1;
        host_end = memchr(host, ']', (size_t)(path - host));
        if (!host_end) {
            snprintf(err, errlen, "remote url '%s': unterminated [ipv6] host", url);
            goto out;
        }
        p = host_end + 1;
    } else {
        host = p;
        host_end = memchr(host, ':', (size_t)(path - host));
        if (!host_end)
            host_end = path;
        p = host_end;
    }
    if (*p == ':') {
        port = p + 1;
        port_end = path;
    } else if (p != path) {
        snprintf(err, errlen, "remote url '%s': junk after host", url);
        goto out;
    }
    n = (size_t)(host_end - host);
    if (n == 0 || n >= sizeof(u->host)) {
        snprintf(err, errlen, "remote url '%s': missing or too long host", url);
        goto out;
    }
    memcpy(u->host, host, n);
    if (u->host[strspn(u->host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%")]) {
        snprintf(err, errlen, "remote url '%s': bad character in host", url);
        goto out;
    }
    if (port) {
        long v = 0;
        const char *q;
        n = (size_t)(port_end - port);
        if (n == 0 || n > 5) {
            snprintf(err, errlen, "remote url '%s': bad port", url);
            goto out;
        }
        for (q = port; q < port_end; q++) {
            if (*q < '0' || *q > '9') {
                snprintf(err, errlen, "remote url '%s': bad port", url);
                goto out;
            }
            v = v * 10 + (*q - '0');
        }
        if (v < 1 || v > 65535) {
            snprintf(err, errlen, "remote url '%s': port out of range", url);
            goto out;
        }
        snprintf(u->port, sizeof(u->port), "%ld", v);
    } else {
        strcpy(u->port, "80");
    }
    if (*path == '?' || *path == '#' || strpbrk(path, "?#")) {
        snprintf(err, errlen, "remote url '%s': query and fragment are not allowed", url);
        goto out;
    }
    n = strlen(path);
    while (n > 0 && path[n - 1] == '/')
        n--;
    if (n >= sizeof(u->base)) {
        snprintf(err, errlen, "remote url '%s': path too long", url);
        goto out;
    }
    memcpy(u->base, path, n);
    rc = 0;
out:
    return rc;
}

int keel__remote_query(const json_t *params, char **out)
{
    const char *key;
    json_t *v;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    int rc = 0;

    *out = NULL;
    f = open_memstream(&buf, &len);
    if (f == NULL)
        return KEEL_ENOMEM;
    json_object_foreach((json_t *)params, key, v) {
        char *text = NULL, *ek = NULL, *ev = NULL;
        const char *t;

        if (json_is_null(v))
            continue;
        t = json_is_string(v) ? json_string_value(v)
                              : (text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY));
        ek = evhttp_uriencode(key, -1, 0);
        ev = t != NULL ? evhttp_uriencode(t, json_is_string(v) ? (ev_ssize_t)json_string_length(v)
                                                                : -1, 0)
                       : NULL;
        if (ek == NULL || ev == NULL)
            rc = KEEL_ENOMEM;
        else
            fprintf(f, "%s%s=%s", ftell(f) > 0 ? "&" : "", ek, ev);
        free(text);
        keel__ev_free(ek);   /* libevent's allocation (evmem.c) */
        keel__ev_free(ev);
        if (rc)
            break;
    }
    if (fclose(f) != 0 && rc == 0)
        rc = KEEL_ENOMEM;
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    return 0;
}
