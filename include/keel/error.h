/*
 * keel/error.h — one table of error codes.
 *
 * Every core function returns int: 0 on success, a negative KEEL_E* code on
 * failure.  One X-macro row per code gives its JSON name, its static message,
 * the HTTP status and the CLI exit status (0 ok, 1 runtime failure, 2 usage,
 * 3 bad input data, 4 unavailable).  Codes are never renumbered; new rows are
 * appended.  Detail for one failure travels as a message on the call context
 * (keel_ctx_error), never as a new code.
 */
#ifndef KEEL_ERROR_H
#define KEEL_ERROR_H

/*  XX(NAME,      value, "json code",          "static message",                      http, exit) */
#define KEEL_ERRNO_MAP(XX)                                                                        \
    XX(EINVAL,      -1, "invalid_input",         "invalid input",                        400, 3) \
    XX(ENOMEM,      -2, "out_of_memory",         "out of memory",                        500, 1) \
    XX(ENOTFOUND,   -3, "not_found",             "not found",                            404, 1) \
    XX(ENOMODULE,   -4, "unknown_module",        "unknown module",                       404, 2) \
    XX(ENOMETHOD,   -5, "unknown_method",        "unknown method",                       404, 2) \
    XX(EUNAVAIL,    -6, "unavailable",           "service unavailable",                  503, 4) \
    XX(ETIMEDOUT,   -7, "timeout",               "deadline exceeded",                    504, 4) \
    XX(EIO,         -8, "io_error",              "input/output error",                   500, 1) \
    XX(ESTORE,      -9, "store_error",           "storage error",                        500, 1) \
    XX(ECONFLICT,  -10, "conflict",              "conflict",                             409, 1) \
    XX(EUNAUTH,    -11, "unauthorized",          "authentication required",              401, 1) \
    XX(EFORBIDDEN, -12, "forbidden",             "permission denied",                    403, 1) \
    XX(ETOOBIG,    -13, "too_large",             "payload too large",                    413, 3) \
    XX(EMEDIA,     -14, "unsupported_media_type","unsupported media type",               415, 3) \
    XX(EUSAGE,     -15, "usage",                 "usage error",                          400, 2) \
    XX(EVERSION,   -16, "version_mismatch",      "interface version mismatch",           502, 1) \
    XX(EINTERNAL,  -17, "internal",              "internal error",                       500, 1) \
    XX(EDENIED,    -18, "access_denied",         "access to another module's data denied", 500, 1) \
    XX(ENOTALLOWED,-19, "method_not_allowed",    "method not allowed",                   405, 2) \
    XX(ECONFIG,    -20, "bad_config",            "invalid configuration",                500, 2) \
    XX(EDEP,       -21, "dependency_error",      "module dependency error",              500, 1) \
    XX(EBADDATA,   -22, "bad_data",              "malformed data",                       400, 3) \
    XX(EEXIST,     -23, "already_exists",        "already exists",                       409, 1) \
    XX(ELIMIT,     -24, "limit_exceeded",        "limit exceeded",                       429, 1)

enum keel_errno {
    KEEL_OK = 0,
#define KEEL_XX_ENUM(name, val, code, msg, http, exitc) KEEL_##name = (val),
    KEEL_ERRNO_MAP(KEEL_XX_ENUM)
#undef KEEL_XX_ENUM
    KEEL_ERRNO_MIN = -24 /* the most negative code in use; a test pins it */
};

/* Static text for a code ("service unavailable"); never allocates, never NULL.
 * Unknown codes give "unknown error". */
const char *keel_strerror(int err);

/* JSON error code ("unavailable"); never NULL; "ok" for 0, "unknown" for unknown. */
const char *keel_errname(int err);

/* Reverse of keel_errname: the code for a JSON name, or KEEL_EINTERNAL if unknown. */
int keel_errcode(const char *name);

/* HTTP status for a code (200 for 0, 500 for an unknown code). */
int keel_http_status(int err);

/* CLI exit status for a code (0 for 0, 1 for an unknown code). */
int keel_exit_status(int err);

/* The one bridge from errno: ENOMEM → KEEL_ENOMEM, ENOENT → KEEL_ENOTFOUND,
 * ETIMEDOUT → KEEL_ETIMEDOUT, ECONNREFUSED/… → KEEL_EUNAVAIL, else KEEL_EIO. */
int keel_from_errno(int sys_errno);

#endif /* KEEL_ERROR_H */
