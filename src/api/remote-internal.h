/*
 * remote-internal.h — calling a module placed in another keel process.
 *
 * Three layers, each testable alone:
 *   remote_url.c     URL parsing.
 *   remote_pool.c    a bounded keep-alive connection pool per host:port and
 *                    the deadline-bounded connect.
 *   remote_resolve.c name resolution bounded by the deadline.
 *   remote_http.c    one blocking HTTP/1.1 exchange bounded by an absolute
 *                    deadline (poll() on every socket operation).
 *   remote_breaker.c the circuit breaker state machine and the retry backoff
 *                    (pure functions over an explicit clock and random value).
 *   remote.c         the keel_remote_vt the core routes remote calls through:
 *                    skew check, headers, retries, breaker, error mapping;
 *                    remote_headers.c the caller's identity headers.
 * The public helpers for typed clients are in include/keel/client.h.
 */
#ifndef KEEL_REMOTE_INTERNAL_H
#define KEEL_REMOTE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "core/runtime-internal.h"

/* ---- URLs ------------------------------------------------------------------ */

typedef struct keel_remote_url {
    char host[256];  /* "127.0.0.1", "compute", "::1" (brackets removed) */
    char port[8];    /* "8081"; "80" when absent */
    char base[512];  /* path prefix without trailing slash, "" for none */
} keel_remote_url;

/* Parses "http://host[:port][/base]".  0 or KEEL_ECONFIG with a message in
 * err naming the url (https, user info, query and fragments are refused). */
int keel__remote_url_parse(const char *url, keel_remote_url *u, char *err, size_t errlen);

/* The query string ("k=v&k2=v2", "" for none; *out malloc'd) of a raw
 * call's parameters: each key of params (a JSON object or NULL) with a
 * string as its text, any other value as compact JSON text, null values
 * left out, both percent-encoded — what the gateway's query coercion reads
 * back (docs/placement.md "Raw bodies").  0 or KEEL_ENOMEM. */
int keel__remote_query(const json_t *params, char **out);

/* ---- HTTP client ------------------------------------------------------------ */

typedef struct keel_http_pool keel_http_pool;

/* A pool of at most max_idle idle keep-alive connections to u (copied).
 * *out new (keel__http_pool_free).  KEEL_ENOMEM. */
int  keel__http_pool_new(const keel_remote_url *u, int max_idle, keel_http_pool **out);
/* Closes every idle connection and frees the pool.  NULL is a no-op. */
void keel__http_pool_free(keel_http_pool *p);
/* Number of idle connections now, and of connect() calls made so far. */
int           keel__http_pool_idle(keel_http_pool *p);
unsigned long keel__http_pool_connects(keel_http_pool *p);

typedef struct keel_http_reply {
    int    status;   /* HTTP status, e.g. 200 */
    char  *body;     /* malloc'd, NUL-terminated (keel__http_reply_clear frees) */
    size_t len;
} keel_http_reply;

/* Largest reply body accepted (KEEL_ETOOBIG above it). */
#define KEEL_HTTP_MAX_REPLY (64u * 1024u * 1024u)

/* One request/reply over a pooled connection.  path is appended to the base
 * ("/v1/compute/aggregate").  headers: NULL-terminated "Name: value" lines,
 * borrowed.  body may be NULL.  Every socket operation is bounded by
 * deadline_ms (absolute CLOCK_MONOTONIC ms, must be > 0).  A pooled
 * connection found dead before any reply byte is replaced by a fresh one,
 * once — when the request could not be written, or when resend_ok (the
 * method is idempotent): once the whole request left, the server may have
 * run it, so a non-idempotent request is never sent twice.  On 0, *rep is filled (caller clears it); any HTTP status is a
 * success here.  Errors: KEEL_ETIMEDOUT (deadline), KEEL_EUNAVAIL (DNS,
 * refused, reset, closed early), KEEL_EIO (malformed reply), KEEL_ETOOBIG,
 * KEEL_ENOMEM; err says what happened. */
int  keel__http_request(keel_http_pool *p, const char *method, const char *path,
                        const char *const *headers, const char *body, size_t body_len,
                        int resend_ok, int64_t deadline_ms, keel_http_reply *rep,
                        char *err, size_t errlen);
void keel__http_reply_clear(keel_http_reply *rep);

/* Pool internals for remote_http.c.  take: an idle connection still quiet
 * (no EOF, no stray bytes) or -1; put: back to the pool, or closed when it
 * is full.  connect: a fresh non-blocking TCP_NODELAY socket, bounded by the
 * deadline (KEEL_ETIMEDOUT / KEEL_EUNAVAIL with err).  wait_fd: 0 when fd is
 * ready for events, KEEL_ETIMEDOUT when the deadline passed. */
int  keel__http_pool_take(keel_http_pool *p);
void keel__http_pool_put(keel_http_pool *p, int fd);
int  keel__http_connect(keel_http_pool *p, int64_t deadline_ms, int *fd, char *err, size_t errlen);
int  keel__http_wait_fd(int fd, short events, int64_t deadline_ms);
/* Reads one reply to method from fd (host:port hp for messages), bounded by
 * deadline_ms: Content-Length, chunked or close-delimited, at most
 * KEEL_HTTP_MAX_REPLY.  *keepalive: the connection may be reused; *got_any:
 * a byte arrived.  0 / KEEL_ETIMEDOUT / KEEL_EUNAVAIL / KEEL_ETOOBIG /
 * KEEL_ENOMEM with err.  (keel__http_request's reader; the CLI's --url
 * upload sends its own body, with progress, and reads with it.) */
int  keel__http_read_reply(int fd, const char *method, int64_t deadline_ms, keel_http_reply *rep,
                           int *keepalive, int *got_any, char *err, size_t errlen, const char *hp);
/* getaddrinfo(host, port) for a TCP connection, bounded by deadline_ms
 * (absolute CLOCK_MONOTONIC ms): numeric addresses at once, names on a
 * resolver thread the caller stops waiting for at the deadline.  *res new
 * (freeaddrinfo).  KEEL_ETIMEDOUT, KEEL_EUNAVAIL (no such name), KEEL_ENOMEM,
 * with err.  Worker threads only: it waits. */
struct addrinfo;
int  keel__remote_resolve(const char *host, const char *port, int64_t deadline_ms,
                          struct addrinfo **res, char *err, size_t errlen);
/* Test seam: the function names are resolved with (NULL = getaddrinfo). */
typedef int (*keel_getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
                                   struct addrinfo **);
void keel__remote_set_resolver(keel_getaddrinfo_fn fn);
/* "host:port" (for Host and messages) and the URL's path prefix; borrowed. */
const char *keel__http_pool_hostport(const keel_http_pool *p);
const char *keel__http_pool_base(const keel_http_pool *p);

/* ---- circuit breaker ------------------------------------------------------- */

typedef enum keel_breaker_state {
    KEEL_BREAKER_CLOSED    = 0,
    KEEL_BREAKER_OPEN      = 1,
    KEEL_BREAKER_HALF_OPEN = 2
} keel_breaker_state;

/* Not thread-safe by itself: the caller holds a lock around each function. */
typedef struct keel_breaker {
    keel_breaker_state state;
    int      failures;      /* consecutive failures */
    int      threshold;     /* failures that open it (>= 1) */
    int64_t  cooldown_ms;   /* open → half-open after this long */
    int64_t  opened_at_ms;
    int      probe_out;     /* half-open: the one probe is in flight */
} keel_breaker;

#define KEEL_BREAKER_THRESHOLD   5
#define KEEL_BREAKER_COOLDOWN_MS 2000

void keel__breaker_init(keel_breaker *b, int threshold, int64_t cooldown_ms);
/* 1 if a call may go out now, 0 if it must fail fast.  Open and cooled down
 * turns half-open and lets exactly one probe through until it is recorded. */
int  keel__breaker_allow(keel_breaker *b, int64_t now_ms);
/* Records the outcome of an allowed call.  Returns 1 when this opened it. */
int  keel__breaker_record(keel_breaker *b, int success, int64_t now_ms);
const char *keel__breaker_state_name(keel_breaker_state s);

/* ---- retry backoff ---------------------------------------------------------- */

#define KEEL_RETRY_ATTEMPTS  3
#define KEEL_RETRY_BASE_MS  25
#define KEEL_RETRY_CAP_MS  400

/* Full jitter: a delay uniform in [0, min(cap, base * 2^attempt)] drawn from
 * rnd (any 64-bit random value).  attempt counts from 0. */
int64_t keel__backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd);
/* A thread-local xorshift64* step (not for secrets). */
uint64_t keel__remote_rand(void);

/* Who the call is for (docs/architecture.md, wave-2 decision 3).  With
 * KEEL_SERVICE_TOKEN: the service credential, the caller's principal and
 * client address, which the peer trusts after matching the credential.
 * Without: the caller's own bearer token, which the peer checks again (and
 * nothing for the operator, who has none).  *auth / *principal new strings
 * or NULL; client "" when not sent.  0 or KEEL_ENOMEM / KEEL_EINVAL. */
int keel__remote_caller_headers(keel_runtime *rt, keel_ctx *ctx, char **auth, char **principal,
                                char *client, size_t clen);

/* ---- the remote vtable ------------------------------------------------------ */

typedef struct keel_remote keel_remote;

/* Builds client state for every module of rt placed KEEL_PLACE_REMOTE
 * (rt borrowed, must outlive *out).  *out new (keel__remote_free).
 * KEEL_ECONFIG naming module and url for a bad url; KEEL_ENOMEM. */
int  keel__remote_new(keel_runtime *rt, keel_remote **out, char *err, size_t errlen);
void keel__remote_free(keel_remote *r);
/* How many modules r serves (0 for NULL). */
size_t keel__remote_count(const keel_remote *r);
/* The vtable whose self is a keel_remote *. */
extern const keel_remote_vt keel__remote_vt;

/* keel__remote_new + keel__rt_set_remote.  Called by the CLI after
 * keel__rt_configure and before keel__rt_start; a no-op success when no
 * module is remote.  The state is released by keel__remote_uninstall. */
int  keel__remote_install(keel_runtime *rt, char *err, size_t errlen);
/* Detaches the vtable from rt and frees the state.  Idempotent. */
void keel__remote_uninstall(keel_runtime *rt);

#endif /* KEEL_REMOTE_INTERNAL_H */
