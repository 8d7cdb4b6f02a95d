/*
 * store_codec.c — base64 for BLOB/BYTEA values (see store-internal.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/store-internal.h"

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *keel__base64(const void *data, size_t len)
{
    const unsigned char *in = data;
    char *out = malloc((len + 2) / 3 * 4 + 1), *o = out;
    size_t i;

    if (out == NULL)
        return NULL;
    for (i = 0; i + 2 < len; i += 3) {
        *o++ = B64[in[i] >> 2];
        *o++ = B64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        *o++ = B64[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
        *o++ = B64[in[i + 2] & 63];
    }
    if (i < len) {
        *o++ = B64[in[i] >> 2];
        if (i + 1 < len) {
            *o++ = B64[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
            *o++ = B64[(in[i + 1] & 15) << 2];
        } else {
            *o++ = B64[(in[i] & 3) << 4];
            *o++ = '=';
        }
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int b64val(char ch)
{
    const char *p = ch != '\0' ? strchr(B64, ch) : NULL;
    return p != NULL ? (int)(p - B64) : -1;
}

unsigned char *keel__unbase64(const char *text, size_t len, size_t *outlen)
{
    unsigned char *out;
    size_t i, n = 0, pad = 0;

    *outlen = 0;
    if (len % 4 != 0)
        return NULL;
    if (len > 0 && text[len - 1] == '=')
        pad++;
    if (len > 1 && text[len - 2] == '=')
        pad++;
    out = malloc(len / 4 * 3 + 1);
    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i += 4) {
        int v[4], k;
        for (k = 0; k < 4; k++) {
            int last = i + 4 == len;
            if (last && text[i + k] == '=' && k >= 4 - (int)pad)
                v[k] = 0;
            else if ((v[k] = b64val(text[i + k])) < 0) {
                free(out);
                return NULL;
            }
        }
        out[n++] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
        out[n++] = (unsigned char)(((v[1] & 15) << 4) | (v[2] >> 2));
        out[n++] = (unsigned char)(((v[2] & 3) << 6) | v[3]);
    }
    *outlen = n - pad;
    return out;
}
