/*
 * auth_throttle.c — failed-login lockout, kept in the kv module.
 *
 * This is keel's "typed interface used in-process by another module": auth
 * reaches kv through keel_iface(ctx, "kv", KV_IFACE_V2, &kvm) — kv's local vtable
 * (plain C calls, no JSON) when kv runs here, its client when it is placed in
 * another process.  Key "auth:fail:<email>" holds the failure count as text,
 * with a ttl of lockout_s that every new failure renews; lockout_failures
 * failures inside that window lock the email out until the key expires.  A
 * successful login deletes the key.  When kv is unreachable the throttle
 * fails open (login still works) and says so in the log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth-internal.h"
#include "kv/kv.h"

static void fail_key(const char *email, char *key, size_t len)
{
    if (strlen(email) + sizeof "auth:fail:" <= KV_KEY_MAX) {
        snprintf(key, len, "auth:fail:%s", email);
    } else {
        char hex[65];
        auth_sha256_hex(email, strlen(email), hex);
        snprintf(key, len, "auth:fail:sha256:%s", hex);
    }
}

/* kv's vtable and *kvm its module ctx (the first argument of every call). */
static const kv_iface *kv_of(keel_ctx *ctx, keel_module_ctx **kvm)
{
    const kv_iface *kv = keel_iface(ctx, "kv", KV_IFACE_V2, kvm);
    if (kv == NULL || kv->get == NULL || kv->del == NULL || kv->put_ttl == NULL)
        return NULL;
    return kv;
}

/* Current failure count (0 when none or kv is unreachable). */
static long long failures(keel_ctx *ctx, const kv_iface *kv, keel_module_ctx *kvm,
                          const char *key)
{
    char *val = NULL;
    size_t len = 0;
    long long n = 0;
    int rc = kv->get(kvm, ctx, key, &val, &len);

    if (rc == 0)
        n = strtoll(val, NULL, 10);
    else if (rc != KEEL_ENOTFOUND)
        keel_warn(ctx, "auth: login throttle unavailable (kv get: %s)", keel_strerror(rc));
    free(val);
    return n < 0 ? 0 : n;
}

int auth_throttle_check(keel_ctx *ctx, keel_module_ctx *mc, const char *email)
{
    keel_module_ctx *kvm;
    const kv_iface *kv = kv_of(ctx, &kvm);
    char key[KV_KEY_MAX + 1];

    if (kv == NULL) {
        keel_warn(ctx, "auth: login throttle unavailable (kv not reachable)");
        return 0;
    }
    fail_key(email, key, sizeof key);
    return failures(ctx, kv, kvm, key) >= keel_config_int(mc, "lockout_failures") ? KEEL_ELIMIT : 0;
}

void auth_throttle_fail(keel_ctx *ctx, keel_module_ctx *mc, const char *email)
{
    keel_module_ctx *kvm;
    const kv_iface *kv = kv_of(ctx, &kvm);
    char key[KV_KEY_MAX + 1], val[32];
    long long n;
    int rc;

    if (kv == NULL)
        return;
    fail_key(email, key, sizeof key);
    n = failures(ctx, kv, kvm, key) + 1;
    snprintf(val, sizeof val, "%lld", n);
    rc = kv->put_ttl(kvm, ctx, key, val, strlen(val), keel_config_int(mc, "lockout_s"));
    if (rc != 0)
        keel_warn(ctx, "auth: could not count a failed login (kv put: %s)", keel_strerror(rc));
    else if (n == keel_config_int(mc, "lockout_failures"))
        keel_warn(ctx, "auth: %s locked out for %llds after %lld failed logins", email,
                  keel_config_int(mc, "lockout_s"), n);
}

void auth_throttle_reset(keel_ctx *ctx, const char *email)
{
    keel_module_ctx *kvm;
    const kv_iface *kv = kv_of(ctx, &kvm);
    char key[KV_KEY_MAX + 1];

    if (kv == NULL)
        return;
    fail_key(email, key, sizeof key);
    (void)kv->del(kvm, ctx, key, NULL);
}
