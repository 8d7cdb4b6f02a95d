/*
 * error.c — the KEEL_ERRNO_MAP table turned into lookups.
 */
#include <errno.h>
#include <string.h>

#include "keel/error.h"

typedef struct keel_errrow {
    int         code;
    const char *name;
    const char *msg;
    int         http;
    int         exitc;
} keel_errrow;

static const keel_errrow keel_errrows[] = {
#define KEEL_XX_ROW(n, val, code, msg, http, exitc) {val, code, msg, http, exitc},
    KEEL_ERRNO_MAP(KEEL_XX_ROW)
#undef KEEL_XX_ROW
    {0, NULL, NULL, 0, 0}
};

static const keel_errrow *keel_errrow_of(int err)
{
    /* Codes are dense from -1 down: index directly, then confirm. */
    if (err < 0 && err >= KEEL_ERRNO_MIN) {
        const keel_errrow *r = &keel_errrows[-err - 1];
        if (r->code == err)
            return r;
    }
    return NULL;
}

const char *keel_strerror(int err)
{
    const keel_errrow *r;
    if (err == 0)
        return "ok";
    r = keel_errrow_of(err);
    return r ? r->msg : "unknown error";
}

const char *keel_errname(int err)
{
    const keel_errrow *r;
    if (err == 0)
        return "ok";
    r = keel_errrow_of(err);
    return r ? r->name : "unknown";
}

int keel_errcode(const char *name)
{
    const keel_errrow *r;
    if (name == NULL)
        return KEEL_EINTERNAL;
    for (r = keel_errrows; r->name != NULL; r++)
        if (strcmp(r->name, name) == 0)
            return r->code;
    return KEEL_EINTERNAL;
}

int keel_http_status(int err)
{
    const keel_errrow *r;
    if (err == 0)
        return 200;
    r = keel_errrow_of(err);
    return r ? r->http : 500;
}

int keel_exit_status(int err)
{
    const keel_errrow *r;
    if (err == 0)
        return 0;
    r = keel_errrow_of(err);
    return r ? r->exitc : 1;
}

int keel_from_errno(int e)
{
    switch (e) {
    case 0:            return 0;
    case ENOMEM:       return KEEL_ENOMEM;
    case ENOENT:       return KEEL_ENOTFOUND;
    case EEXIST:       return KEEL_EEXIST;
    case EINVAL:       return KEEL_EINVAL;
    case EACCES:
    case EPERM:        return KEEL_EFORBIDDEN;
    case ETIMEDOUT:    return KEEL_ETIMEDOUT;
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EPIPE:
    case EAGAIN:       return KEEL_EUNAVAIL;
    case EFBIG:
    case E2BIG:        return KEEL_ETOOBIG;
    default:           return KEEL_EIO;
    }
}
