/*
 * keel/client.h — helpers for a module's typed client.
 *
 * A module's descriptor may point `client` at a second implementation of its
 * typed iface that marshals each member to JSON and goes through keel_call().
 * When the module is placed in another process (KEEL_REMOTE_<MODULE>=url),
 * keel_iface() hands that client to callers, and keel_call() carries the call
 * over HTTP with deadline, retries (KEEL_IDEMPOTENT methods only), circuit
 * breaker and trace propagation.  These helpers make a member a few lines:
 *
 *   static int compute_client_aggregate(keel_module_ctx *self, keel_ctx *ctx,
 *                                       const char *csv, json_t **out)
 *   {
 *       return keel_client_callf(ctx, "compute", "aggregate", out, "{s:s}", "csv", csv);
 *   }
 *
 * (self, the module as placed remotely, comes first in every typed member:
 * docs/architecture.md decision 5; the call goes by name, so it is unused)
 * or, with the one-line macro (parameters named ctx and out):
 *
 *   KEEL_CLIENT_FN(compute_client_aggregate, "compute", "aggregate",
 *                  (keel_module_ctx *self, keel_ctx *ctx, const char *csv, json_t **out),
 *                  "{s:s}", "csv", csv)
 *
 * Formats are jansson's json_pack / json_unpack formats ("s?" packs NULL as
 * null; "o" steals a json_t *, "O" takes a new reference).  See docs/placement.md.
 */
#ifndef KEEL_CLIENT_H
#define KEEL_CLIENT_H

#include <jansson.h>

#include "keel/module.h"

/* keel_call with an input the caller hands over: in is stolen (NULL = {}),
 * freed whatever happens.  out: NULL to discard the reply, else *out is a new
 * reference on success (caller frees) and NULL on error.  Returns 0 or the
 * KEEL_E* code of the call, with the detail (the remote's message and fields
 * when the module is remote) on ctx. */
int keel_client_call(keel_ctx *ctx, const char *module, const char *method,
                     json_t *in, json_t **out);

/* keel_call for a KEEL_RAW_IN method with a raw body instead of a JSON
 * string field: what POST /v1/<module>/<method>?<params> with that body
 * does over HTTP, in every placement.  content_type: one of the method's
 * raw_types (parameters such as ";charset=utf-8" allowed); content_encoding:
 * NULL (or "identity") or "gzip" — the body is then gzip (one or more
 * members) and is decoded before the method sees it, under the caps and
 * with the errors of an HTTP gzip body (KEEL_EBADDATA: empty, corrupt, cut
 * short or followed by other bytes; KEEL_ETOOBIG with a "limit" field:
 * past the method's body limit or KEEL_MAX_GZIP_RATIO).  body, len: the
 * bytes, borrowed, never copied into JSON: placed remotely they are the
 * request body as they are (Content-Type, Content-Encoding); placed here
 * the method reads them with keel_ctx_input_text.  params: borrowed JSON
 * object or NULL, the method's other input — sent remotely as the query
 * string (a string as its text, any other value as JSON text, null values
 * left out), which the callee coerces by the method's input schema as it
 * does any query; a KEEL_BODY_ONLY method takes none (KEEL_EINVAL).
 * Deadline, retries (KEEL_IDEMPOTENT methods only: the body is sent again
 * from the caller's buffer), breaker, trace and error mapping are
 * keel_call's.  KEEL_EMEDIA: not a raw-input method, a type it does not
 * list, an encoding other than gzip.  out: NULL to discard, else *out new
 * reference on success, NULL on error. */
int keel_client_call_raw(keel_ctx *ctx, const char *module, const char *method,
                         const char *content_type, const char *content_encoding,
                         const void *body, size_t len, const json_t *params, json_t **out);

/* Builds the input with json_pack(fmt, …) and calls keel_client_call.  A
 * format/argument mismatch (e.g. NULL for "s") gives KEEL_EINVAL with a
 * message naming module.method and jansson's reason; nothing is sent. */
int keel_client_callf(keel_ctx *ctx, const char *module, const char *method,
                      json_t **out, const char *fmt, ...);

/* json_unpack(reply, fmt, …) for typed results: strings and json_t * you get
 * are borrowed from reply.  A reply that does not match gives KEEL_EIO with a
 * message naming what (e.g. "compute.aggregate") and jansson's reason.
 * reply borrowed. */
int keel_client_unpack(keel_ctx *ctx, const char *what, const json_t *reply,
                       const char *fmt, ...);

/* Defines `static int fn params` whose body is one keel_client_callf; params
 * must name the call context `ctx` and the reply out-parameter `out`
 * (json_t **).  The remaining arguments are the pack format and its values. */
#define KEEL_CLIENT_FN(fn, module, method, params, ...)                      \
    static int fn params                                                     \
    {                                                                        \
        return keel_client_callf(ctx, (module), (method), out, __VA_ARGS__); \
    }

/* Defines `static int fn(keel_ctx *ctx, const json_t *in, json_t **out)`
 * forwarding a JSON input unchanged (in borrowed). */
#define KEEL_CLIENT_PASS(fn, module, method)                                 \
    static int fn(keel_ctx *ctx, const json_t *in, json_t **out)             \
    {                                                                        \
        return keel_call(ctx, (module), (method), in, out);                  \
    }

/* Defines `static int fn(keel_module_ctx *self, keel_ctx *ctx, const json_t *in,
 * json_t **out)`: a typed member whose C types are JSON (the scaffold's
 * default), forwarded unchanged to keel_call (in borrowed, *out new ref). */
#define KEEL_CLIENT_JSON(fn, module, method)                                 \
    static int fn(keel_module_ctx *self, keel_ctx *ctx, const json_t *in,    \
                  json_t **out)                                              \
    {                                                                        \
        (void)self;                                                          \
        return keel_call(ctx, (module), (method), in, out);                  \
    }

#endif /* KEEL_CLIENT_H */
