/*
 * remote_headers.c — who a remote call is for: the Authorization,
 * X-Keel-Principal and X-Keel-Client lines of every call remote.c sends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/remote-internal.h"

int keel__remote_caller_headers(keel_runtime *rt, keel_ctx *ctx, char **auth, char **principal,
                                char *client, size_t clen)
{
    const char *svc = keel__rt_service_token(rt), *tok = keel__ctx_token(ctx);
    const json_t *p = keel_ctx_principal(ctx);
    char *text = NULL;
    int n;

    *auth = *principal = NULL;
    client[0] = '\0';
    if (svc == NULL) {
        if (tok == NULL)
            return 0;
        n = asprintf(auth, "Authorization: Bearer %s", tok);
        return n < 0 ? (*auth = NULL, KEEL_ENOMEM) : 0;
    }
    if (asprintf(auth, "Authorization: Bearer %s", svc) < 0) {
        *auth = NULL;
        return KEEL_ENOMEM;
    }
    if (p != NULL) {
        text = json_dumps(p, JSON_COMPACT);
        if (text == NULL)
            return KEEL_ENOMEM;
        if (strlen(text) > KEEL_PRINCIPAL_MAX || strpbrk(text, "\r\n") != NULL) {
            free(text);
            return KEEL_EINVAL;
        }
        n = asprintf(principal, "X-Keel-Principal: %s", text);
        free(text);
        if (n < 0) {
            *principal = NULL;
            return KEEL_ENOMEM;
        }
    }
    if (keel_ctx_client_addr(ctx) != NULL)
        snprintf(client, clen, "X-Keel-Client: %s", keel_ctx_client_addr(ctx));
    return 0;
}
