/*
 * http_expose.c — parses KEEL_EXPOSE ("compute:8081,auth:8082"): extra
 * listeners that each serve one module's routes (http-internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/http-internal.h"

/* [a-z][a-z0-9_]* of length 1..len-1 */
static int module_name_ok(const char *s, size_t n, size_t cap)
{
    size_t i;
    if (n == 0 || n >= cap || !(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    for (i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

int keel__http_expose_parse(const char *text, keel_http_expose *out, size_t *n,
                            char *err, size_t errlen)
{
    const char *p = text ? text : "";
    size_t count = 0, i;
    int rc = 0;

    while (*p) {
        const char *item, *end, *colon;
        char portbuf[16], *pend;
        size_t ilen, plen;
        long port;

        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        item = p;
        end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        p = end;
        while (end > item && end[-1] == ' ')
            end--;
        ilen = (size_t)(end - item);
        colon = memchr(item, ':', ilen);
        if (!colon) {
            snprintf(err, errlen, "KEEL_EXPOSE item '%.*s': expected <module>:<port>", (int)ilen, item);
            rc = KEEL_ECONFIG;
            goto out;
        }
        if (count == KEEL_HTTP_MAX_EXPOSE) {
            snprintf(err, errlen, "KEEL_EXPOSE: more than %d items", KEEL_HTTP_MAX_EXPOSE);
            rc = KEEL_ECONFIG;
            goto out;
        }
        if (!module_name_ok(item, (size_t)(colon - item), sizeof out[0].module)) {
            snprintf(err, errlen, "KEEL_EXPOSE item '%.*s': bad module name", (int)ilen, item);
            rc = KEEL_ECONFIG;
            goto out;
        }
        plen = (size_t)(end - colon - 1);
        port = -1;
        if (plen > 0 && plen < sizeof portbuf && colon[1] >= '0' && colon[1] <= '9') {
            memcpy(portbuf, colon + 1, plen);
            portbuf[plen] = '\0';
            port = strtol(portbuf, &pend, 10);
            if (*pend)
                port = -1;
        }
        if (port < 0 || port > 65535) {
            snprintf(err, errlen, "KEEL_EXPOSE item '%.*s': port must be 0..65535", (int)ilen, item);
            rc = KEEL_ECONFIG;
            goto out;
        }
        memcpy(out[count].module, item, (size_t)(colon - item));
        out[count].module[colon - item] = '\0';
        out[count].port = (int)port;
        for (i = 0; i < count; i++) {
            if (strcmp(out[i].module, out[count].module) == 0
                || (port != 0 && out[i].port == port)) {
                snprintf(err, errlen, "KEEL_EXPOSE item '%.*s': duplicate %s", (int)ilen, item,
                         strcmp(out[i].module, out[count].module) == 0 ? "module" : "port");
                rc = KEEL_ECONFIG;
                goto out;
            }
        }
        count++;
    }
out:
    *n = rc == 0 ? count : 0;
    return rc;
}
