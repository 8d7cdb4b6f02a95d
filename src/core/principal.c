/*
 * principal.c — who is calling, on every path (docs/architecture.md, wave-2
 * decision 3): the service credential between keel processes, the shape of
 * a forwarded principal, and the client address behind trusted proxies.
 *
 * Between keel processes the caller sends `Authorization: Bearer
 * <KEEL_SERVICE_TOKEN>` plus `X-Keel-Principal: <json>`; the callee trusts
 * the principal only after a constant-time match of the service token.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx-internal.h"
#include "core/sbuf-internal.h"

#define KEEL_SERVICE_TOKEN_MIN 32

int keel__service_token_ok(const keel_runtime *rt, const char *token)
{
    const char *want = rt->service_token;
    size_t wl, tl, i;
    unsigned char diff;

    if (want == NULL || *want == '\0' || token == NULL)
        return 0;
    wl = strlen(want);
    tl = strlen(token);
    /* every byte of the expected token is compared whatever the input, so
     * the time depends on the configured length only */
    diff = (unsigned char)(wl != tl);
    for (i = 0; i < wl; i++)
        diff |= (unsigned char)(want[i] ^ (i < tl ? token[i] : 0));
    return diff == 0;
}

/* One scope string: a few safe characters only (it is logged and compared). */
static int scope_ok(const json_t *v)
{
    const char *s = json_string_value(v), *p;

    if (s == NULL || *s == '\0' || strlen(s) > 64)
        return 0;
    for (p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == ':'))
            return 0;
    return 1;
}

int keel__principal_parse(const char *text, json_t **principal)
{
    json_t *p, *scopes, *v;
    size_t i;

    *principal = NULL;
    if (text == NULL || *text == '\0')
        return 0;
    if (strlen(text) > KEEL_PRINCIPAL_MAX)
        return KEEL_EINVAL;
    p = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    scopes = json_object_get(p, "scopes");
    if (!json_is_object(p) || !json_is_array(scopes))
        goto bad;
    json_array_foreach(scopes, i, v)
        if (!scope_ok(v))
            goto bad;
    if (json_is_true(json_object_get(p, "operator"))) {
        if (json_object_get(p, "user_id") != NULL)
            goto bad;
    } else if (!json_is_integer(json_object_get(p, "user_id"))
               || json_integer_value(json_object_get(p, "user_id")) < 1) {
        goto bad;
    }
    *principal = p;
    return 0;
bad:
    json_decref(p);
    return KEEL_EINVAL;
}

/* ---- trusted proxies and the client address ------------------------------ */

struct keel_netmask {
    int           family;  /* AF_INET / AF_INET6 */
    unsigned char addr[16];
    int           bits;
};

static int parse_ip(const char *s, int *family, unsigned char out[16])
{
    if (inet_pton(AF_INET, s, out) == 1) {
        *family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, out) == 1) {
        *family = AF_INET6;
        return 0;
    }
    return -1;
}

int keel__proxies_parse(const char *text, keel_netmask **out, size_t *n, char *err,
                        size_t errlen)
{
    keel_netmask *v = NULL;
    size_t cap = 0, cnt = 0;
    const char *p = text ? text : "";
    char item[80];

    *out = NULL;
    *n = 0;

    while (*p != '\0') {
        char *slash;
        const char *end = strchr(p, ',');
        size_t len;
        keel_netmask m = {0};
        if (end == NULL)
            end = p + strlen(p);
        while (p < end && *p == ' ')
            p++;
        len = (size_t)(end - p);
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len > 0) {
            if (len >= sizeof item)
                goto bad_len;
            memcpy(item, p, len);
            item[len] = '\0';
            slash = strchr(item, '/');
            if (slash != NULL)
                *slash = '\0';
            if (parse_ip(item, &m.family, m.addr) != 0)
                goto bad;
            m.bits = m.family == AF_INET ? 32 : 128;
            if (slash != NULL) {
                char *e = NULL;
                long b = strtol(slash + 1, &e, 10);
                if (e == slash + 1 || *e != '\0' || b < 0 || b > m.bits) {
                    *slash = '/';
                    goto bad;
                }
                m.bits = (int)b;
            }
            if (cnt == cap) {
                keel_netmask *nv = realloc(v, (cap ? cap * 2 : 4) * sizeof *nv);
                if (nv == NULL) {
                    free(v);
                    return KEEL_ENOMEM;
                }
                v = nv;
                cap = cap ? cap * 2 : 4;
            }
            v[cnt++] = m;
        }
        p = *end ? end + 1 : end;
    }
    *out = v;
    *n = cnt;
    return 0;
bad_len:
    snprintf(err, errlen, "trusted_proxies: item too long");
    free(v);
    return KEEL_ECONFIG;
bad:
    snprintf(err, errlen, "trusted_proxies: '%s' is not an IP address or CIDR block", item);
    free(v);
    return KEEL_ECONFIG;
}

static int mask_match(const keel_netmask *m, int family, const unsigned char *a)
{
    int full = m->bits / 8, rest = m->bits % 8;

    if (m->family != family)
        return 0;
    if (memcmp(m->addr, a, (size_t)full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    return ((m->addr[full] ^ a[full]) & (0xff << (8 - rest))) == 0;
}

int keel__client_addr(const keel_runtime *rt, const char *peer, const char *xff, char *out,
                      size_t outlen)
{
    unsigned char a[16];
    int family, trusted = 0;
    size_t i;

    keel__strput(out, outlen, 0, peer ? peer : "", SIZE_MAX);
    if (peer == NULL || xff == NULL || rt->nproxies == 0 || parse_ip(peer, &family, a) != 0)
        return 0;
    for (i = 0; i < rt->nproxies && !trusted; i++)
        trusted = mask_match(&rt->proxies[i], family, a);
    if (trusted) {
        /* the last hop is the one our proxy added; earlier ones are the client's word */
        const char *last = strrchr(xff, ',');
        char hop[64];
        size_t len;
        last = last ? last + 1 : xff;
        while (*last == ' ' || *last == '\t')
            last++;
        len = strcspn(last, " \t");
        if (len > 0 && len < sizeof hop) {
            memcpy(hop, last, len);
            hop[len] = '\0';
            if (parse_ip(hop, &family, a) == 0) {
                keel__strput(out, outlen, 0, hop, SIZE_MAX);
                return 1;
            }
        }
    }
    return 0;
}

/* ---- the per-call context ------------------------------------------------ */

void keel__ctx_set_client(keel_ctx *ctx, const char *addr)
{
    keel__strput(ctx->client, sizeof ctx->client, 0, addr ? addr : "", SIZE_MAX);
}

const char *keel_ctx_client_addr(const keel_ctx *ctx)
{
    return ctx->client[0] ? ctx->client : NULL;
}

const char *keel__rt_service_token(const keel_runtime *rt)
{
    return rt->service_token;
}

int keel__rt_principal_config(keel_runtime *rt, char *err, size_t errlen)
{
    const char *tok = keel__config_get(rt->cfg, NULL, "service_token");
    int rc;

    rt->service_token = NULL;
    if (tok != NULL && *tok != '\0') {
        if (strlen(tok) < KEEL_SERVICE_TOKEN_MIN) {
            snprintf(err, errlen, "service_token: at least %d characters (e.g. `openssl rand "
                     "-hex 32`)", KEEL_SERVICE_TOKEN_MIN);
            return KEEL_ECONFIG;
        }
        rt->service_token = tok;
    }
    free(rt->proxies);
    rt->proxies = NULL;
    rt->nproxies = 0;
    rc = keel__proxies_parse(keel__config_get(rt->cfg, NULL, "trusted_proxies"), &rt->proxies,
                             &rt->nproxies, err, errlen);
    return rc;
}
