/*
 * fake_http_server.h — an HTTP/1.1 server thread on a loopback port 0 for
 * the remote client's tests (test_remote, test_remote_call): it answers
 * POSTs with a fixed reply, GET /v1/modules with a set body, and misbehaves
 * on purpose by mode (silent, closing, chunked, dying mid-request, raw).
 * Counters and the last request head are read under mu.
 */
#ifndef KEEL_TESTS_FAKE_HTTP_SERVER_H
#define KEEL_TESTS_FAKE_HTTP_SERVER_H

#include <pthread.h>

/* FS_DROP_SECOND: answers a connection's first request, reads its second in
 * full and closes without a reply (a server that died mid-request). */
/* FS_RAW: sends reply as it is (a whole HTTP response) and closes. */
enum { FS_REPLY = 0, FS_SILENT, FS_CLOSE_AFTER, FS_CHUNKED, FS_DROP_SECOND, FS_RAW };

typedef struct fake_srv {
    int             lfd, port;
    pthread_t       th;
    pthread_mutex_t mu;
    int             mode;
    int             accepts, requests, active, stop;
    int             fail_first;        /* POSTs answered 503 before normal replies */
    int             status;            /* fixed POST reply when non-zero */
    char            reply[1024];
    char            modules[1024];     /* GET /v1/modules body */
    char            last_head[4096];
    unsigned char   last_body[4096];   /* the last request's body, its first bytes */
    size_t          last_body_len;     /* its whole length */
} fake_srv;

/* Starts the server thread on 127.0.0.1:0 (s->port); aborts if it cannot. */
fake_srv *fake_srv_start(int mode);
/* Stops the thread, waits for its connections to end, frees s. */
void      fake_srv_stop(fake_srv *s);

#endif
