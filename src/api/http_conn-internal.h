/*
 * http_conn-internal.h — the connection hook's state, shared by its files:
 * http_conn.c (the hook: the input filter's state machine, the output side),
 * http_conn_head.c (the request-head parser), http_conn_refuse.c (the
 * JSON refusal, the timers and the lingering close), http_conn_backlog.c
 * (pipelined requests) and http_conn_fast.c (the liveness probe).  See
 * http_conn.c.
 */
#ifndef KEEL_HTTP_CONN_INTERNAL_H
#define KEEL_HTTP_CONN_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "api/http-internal.h"

#define CONN_MAX_HEADERS   100      /* header lines per request */
#define CONN_LINGER_MS     1000     /* after a refusal: close after this long without input */
#define CONN_LINGER_MAX_MS 10000    /* ... or after this long in all (nginx's lingering_time) */
#define CONN_FLUSH_MS      5000     /* a client that does not read its refusal */
#define CONN_OVERCAP_MS    1000     /* an excess connection's time to ask for a probe */
#define CONN_RETRY_MS      10       /* refusal waiting for evhttp's previous answer */
#define CONN_CHUNK_LINE    256      /* chunk size line with extensions */
#define CONN_BACKLOG       (64 * 1024) /* unread request bytes in evhttp's input above
                                        * which no further head is passed on */
/* A Content-Length body goes to evhttp in pieces of this size (http_conn.c) */
#define CONN_PASS_BYTES    ((size_t)64 * 1024 - 256)

enum conn_state {
    ST_HEAD = 0,      /* reading a request line and headers */
    ST_BODY,          /* Content-Length body: body_left bytes to pass */
    ST_CHUNK_SIZE,    /* chunked: a size line */
    ST_CHUNK_DATA,    /* chunked: chunk_left data bytes */
    ST_CHUNK_CRLF,    /* chunked: CRLF after the data */
    ST_TRAILER,       /* chunked: trailer lines up to an empty one */
    ST_REFUSING,      /* answer queued: drop input, wait to write it */
    ST_FLUSHING,      /* answer written to the socket bufferevent */
    ST_LINGER         /* write side shut: drop input, then close */
};

typedef struct http_conn {
    const keel_http_scope *sc;
    struct bufferevent    *bev;       /* the filter (evhttp's) */
    struct bufferevent    *under;     /* the socket bufferevent */
    struct event          *timer;
    struct event          *flush_ev;  /* moves evhttp's output down (see conn_out_cb) */
    int                    flush_armed; /* flush_ev is active and has not run yet */
    struct event          *wr_ev;     /* the socket is writable again (conn_out) */
    struct event          *rd_keep;   /* a second read interest in the socket (conn_keep_read) */
    int                    rd_keep_off; /* rd_keep taken out while the socket side is not reading */
    int                    rd_keep_fires; /* rd_keep fired since the input filter last ran */
    struct evbuffer_cb_entry *out_cb;
    struct evbuffer_cb_entry *in_cb;  /* evhttp read its input (http_conn_backlog.c) */
    int                    held;      /* a head waits for evhttp to read its backlog */
    enum conn_state        st;
    int                    over_cap;  /* beyond KEEL_MAX_CONNECTIONS when accepted */
    int                    requests;  /* heads passed to evhttp */
    int64_t                started_ms;/* first byte of the current request, 0 = between */
    int64_t                body_left; /* ST_BODY */
    int64_t                chunk_left;
    int64_t                body_seen; /* chunked: data bytes so far */
    int64_t                body_limit;
    int64_t                reserved;  /* in-flight bytes this connection holds */
    int64_t                factor;    /* in-flight bytes per body byte of the current request */
    int                    reserved_req; /* the request (1 = first) they are for, 0 = none */
    int                    answered;  /* answers keel__http_send has sent (a lower bound) */
    evutil_socket_t        fd;        /* registered under (keel__http_conn_answered), -1 = not */
    int64_t                until_ms;  /* ST_FLUSHING end / ST_LINGER end without input */
    int64_t                linger_end;/* ST_LINGER end however much input arrives */
    int                    midbody;   /* refused after its head went to evhttp */
    size_t                 last_in;   /* ST_REFUSING: evhttp's unread input at the last try */
    char                  *answer;    /* ST_REFUSING: the whole response */
    size_t                 answer_len;
    char                   peer[64];
    char                   what[300]; /* "POST /v1/kv/put" of the current request */
} http_conn;

/* A request's line and headers as the hook reads them (http_conn_head.c). */
typedef struct conn_head {
    char    method[16];
    char    path[256];      /* up to '?', truncated */
    int     path_long;      /* path did not fit */
    int64_t clen;           /* -1 = none */
    int     chunked;
    int     expect_other;   /* Expect: something other than 100-continue */
    int     not_path;       /* the target is not /… or * (checked after the method) */
    char    rid[65];
    int     http10;         /* HTTP/1.0 (else 1.1) */
    int     close;          /* Connection: close */
    int     query;          /* the target has a query string */
    int     routed;         /* a header the router reads beyond these: X-Forwarded-For,
                             * traceparent, tracestate, X-Keel-Deadline-Ms, X-Keel-Caller */
    const char *bad;        /* why it is malformed, NULL = fine */
} conn_head;

/* ---- the request head (http_conn_head.c) ---------------------------------- */

/* Parses one request head at the start of buf[0..n): the length of the head
 * (through its empty line) with *h filled, 0 when incomplete, -1 when
 * malformed (h->bad says why), -2 over CONN_MAX_HEADERS lines. */
ssize_t keel__http_head_parse(conn_head *h, const char *buf, size_t n);
/* 1 for a method keel serves (GET HEAD POST PUT DELETE PATCH OPTIONS). */
int keel__http_method_known(const char *m);

/* ---- the pipelining backlog (http_conn_backlog.c) ------------------------- */

/* Sets the socket side's read high-water mark and watches evhttp's input.
 * 0, or -1 out of memory. */
int keel__http_conn_backlog_init(http_conn *c);
void keel__http_conn_backlog_free(http_conn *c);
/* 1 (and c held) when evhttp has CONN_BACKLOG or more bytes unread in dst:
 * no further head goes to it now. */
int keel__http_conn_backlog_full(http_conn *c, struct evbuffer *dst);
/* Keeps a second read interest in c's socket through evhttp's pauses
 * (http_conn_keep.c): made at the first input, back after it was taken out. */
void keel__http_conn_keep_read(http_conn *c);

/* ---- the liveness probe (http_conn_fast.c) -------------------------------- */

/* A complete, acceptable head h of head_len bytes at the start of src: when
 * it is a plain GET/HEAD /healthz on an idle keep-alive connection, answers
 * it on the socket, logs and counts it like evhttp's answer, drops its bytes
 * and returns 1; else 0 and nothing changed. */
int keel__http_conn_fast(http_conn *c, const conn_head *h, size_t head_len, struct evbuffer *src);

/* ---- refusing, timers, closing (http_conn_refuse.c) ----------------------- */

/* Fills c->peer with the client's address (once a connection). */
void keel__http_conn_peer_addr(http_conn *c);

/* (Re)arms c's timer ms from now. */
void keel__http_conn_arm(http_conn *c, int64_t ms);
/* Replaces every byte of s outside printable ASCII with '?', in place. */
void keel__http_ascii_only(char *s);
/* Gives back the in-flight bytes c reserved. */
void keel__http_conn_release_inflight(http_conn *c);
/* Makes c findable by its socket for keel__http_conn_answered (once), and
 * forgets it (when it is freed). */
void keel__http_conn_register(http_conn *c);
void keel__http_conn_unregister(http_conn *c);
/* Closes the connection through evhttp: it frees the evcon, the filter and
 * c.  c is gone when this returns. */
void keel__http_conn_close(http_conn *c);
/* Queues the JSON answer for the current request and stops passing bytes.
 * rid: the request's X-Request-Id when it had a valid one, else NULL. */
void keel__http_conn_refuse(http_conn *c, int reason, int status, const char *code, const char *rid,
                            const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* c's timer: a refusal's steps (answer, flush, linger, close), or the
 * request deadline and the excess connection's wait, which refuse. */
void keel__http_conn_timer_cb(evutil_socket_t fd, short what, void *arg);

#endif
