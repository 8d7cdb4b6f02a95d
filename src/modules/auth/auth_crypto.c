/*
 * auth_crypto.c — password hashing, token generation and SHA-256.
 *
 * Passwords: argon2id (libargon2, the reference implementation) with a
 * per-user 16-byte salt from RAND_bytes, stored in the PHC string format
 * "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>", which carries
 * its own parameters: raising the configured cost never locks anyone out.
 * Hashes written before argon2 ("pbkdf2_sha256$<iter>$<salt>$<hash>",
 * PBKDF2-HMAC-SHA256 on OpenSSL) still verify; login rehashes them.
 * Comparison is constant time (argon2id_verify, CRYPTO_memcmp).
 * Tokens: 256 random bits, base64url without padding, prefixed "kt_"; only
 * their SHA-256 is ever stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <argon2.h>

#include "auth-internal.h"

#define AUTH_HASH_SCHEME "pbkdf2_sha256"

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        out[2 * i]     = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes exactly 2*n hex digits of in into out; -1 on any other input. */
static int hex_decode(const char *in, size_t inlen, unsigned char *out, size_t n)
{
    size_t i;
    if (inlen != 2 * n) return -1;
    for (i = 0; i < n; i++) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0) return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static int derive(const char *password, const unsigned char *salt, long long iterations,
                  unsigned char *key)
{
    if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, AUTH_SALT_BYTES,
                          (int)iterations, EVP_sha256(), AUTH_HASH_BYTES, key) != 1)
        return KEEL_EINTERNAL;
    return 0;
}

int auth_password_hash(const char *password, long long iterations, char **out)
{
    unsigned char salt[AUTH_SALT_BYTES], key[AUTH_HASH_BYTES];
    char salt_hex[2 * AUTH_SALT_BYTES + 1], key_hex[2 * AUTH_HASH_BYTES + 1];
    size_t cap;
    int rc;

    *out = NULL;
    if (password == NULL || iterations < 1 || iterations > 100000000LL)
        return KEEL_EINVAL;
    if (RAND_bytes(salt, sizeof salt) != 1)
        return KEEL_EINTERNAL;
    rc = derive(password, salt, iterations, key);
    if (rc != 0)
        goto out;
    hex_encode(salt, sizeof salt, salt_hex);
    hex_encode(key, sizeof key, key_hex);
    cap = sizeof AUTH_HASH_SCHEME + 24 + sizeof salt_hex + sizeof key_hex;
    *out = malloc(cap);
    if (*out == NULL) {
        rc = KEEL_ENOMEM;
        goto out;
    }
    snprintf(*out, cap, "%s$%lld$%s$%s", AUTH_HASH_SCHEME, iterations, salt_hex, key_hex);
out:
    OPENSSL_cleanse(key, sizeof key);
    return rc;
}

int auth_argon2_hash(const char *password, const auth_argon2_params *ap, char **out)
{
    unsigned char salt[AUTH_SALT_BYTES];
    size_t len;
    int rc;

    *out = NULL;
    if (password == NULL || ap->m_kib < 8 * ap->lanes || ap->t_cost < 1 || ap->lanes < 1)
        return KEEL_EINVAL;
    if (RAND_bytes(salt, sizeof salt) != 1)
        return KEEL_EINTERNAL;
    len = argon2_encodedlen(ap->t_cost, ap->m_kib, ap->lanes, AUTH_SALT_BYTES, AUTH_HASH_BYTES,
                            Argon2_id);
    *out = malloc(len);
    if (*out == NULL)
        return KEEL_ENOMEM;
    rc = argon2id_hash_encoded(ap->t_cost, ap->m_kib, ap->lanes, password, strlen(password),
                               salt, sizeof salt, AUTH_HASH_BYTES, *out, len);
    if (rc != ARGON2_OK) {
        free(*out);
        *out = NULL;
        return rc == ARGON2_MEMORY_ALLOCATION_ERROR ? KEEL_ENOMEM : KEEL_EINTERNAL;
    }
    return 0;
}

int auth_password_current(const char *stored, const auth_argon2_params *ap)
{
    char prefix[96];

    snprintf(prefix, sizeof prefix, "$argon2id$v=%d$m=%u,t=%u,p=%u$", ARGON2_VERSION_NUMBER,
             ap->m_kib, ap->t_cost, ap->lanes);
    return stored != NULL && strncmp(stored, prefix, strlen(prefix)) == 0;
}

static int argon2_verify_stored(const char *password, const char *stored)
{
    int rc = argon2id_verify(stored, password, strlen(password));

    if (rc == ARGON2_OK)
        return 0;
    if (rc == ARGON2_VERIFY_MISMATCH)
        return KEEL_EUNAUTH;
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
        return KEEL_ENOMEM;
    return KEEL_EINVAL;  /* not a hash we can read */
}

int auth_password_verify(const char *password, const char *stored)
{
    unsigned char salt[AUTH_SALT_BYTES], want[AUTH_HASH_BYTES], got[AUTH_HASH_BYTES];
    const char *p, *d1, *d2;
    char *end = NULL;
    long long iterations;
    int rc;

    if (password == NULL || stored == NULL)
        return KEEL_EINVAL;
    if (strncmp(stored, "$argon2id$", 10) == 0)
        return argon2_verify_stored(password, stored);
    p = stored;
    if (strncmp(p, AUTH_HASH_SCHEME "$", sizeof AUTH_HASH_SCHEME) != 0)
        return KEEL_EINVAL;
    p += sizeof AUTH_HASH_SCHEME;
    iterations = strtoll(p, &end, 10);
    if (end == p || *end != '$' || iterations < 1 || iterations > 100000000LL)
        return KEEL_EINVAL;
    d1 = end + 1;
    d2 = strchr(d1, '$');
    if (d2 == NULL
        || hex_decode(d1, (size_t)(d2 - d1), salt, sizeof salt) != 0
        || hex_decode(d2 + 1, strlen(d2 + 1), want, sizeof want) != 0)
        return KEEL_EINVAL;
    rc = derive(password, salt, iterations, got);
    if (rc != 0)
        goto out;
    rc = CRYPTO_memcmp(got, want, sizeof got) == 0 ? 0 : KEEL_EUNAUTH;
out:
    OPENSSL_cleanse(got, sizeof got);
    return rc;
}

int auth_token_generate(char *buf, size_t len)
{
    static const char b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[AUTH_TOKEN_BYTES];
    size_t i, o = sizeof AUTH_TOKEN_PREFIX - 1;
    unsigned bits = 0, acc = 0;

    if (len < AUTH_TOKEN_MAXLEN)
        return KEEL_EINVAL;
    if (RAND_bytes(raw, sizeof raw) != 1)
        return KEEL_EINTERNAL;
    memcpy(buf, AUTH_TOKEN_PREFIX, o);
    for (i = 0; i < sizeof raw; i++) {
        acc = (acc << 8) | raw[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            buf[o++] = b64url[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0)
        buf[o++] = b64url[(acc << (6 - bits)) & 0x3f];
    buf[o] = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

void auth_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    hex_encode(md, sizeof md, out);
}
