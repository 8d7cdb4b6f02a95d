/*
 * fuzz_remote_reply.c — the remote client's reply parser (keel__http_read_reply and
 * dechunk in src/api/remote_http.c): what a keel peer, or anything that
 * answers on its address, sends back to a keel-to-keel call.
 *
 * The file is included so its parser can be driven without a
 * socket: recv() reads from the fuzz input instead, in pieces whose sizes
 * the input picks, then reports end of stream.  Input: byte 0 picks the
 * request method (GET, POST, HEAD) and seeds the piece sizes; the rest is
 * the bytes the server sends.
 * Checked: no crash or sanitizer report; the answer (status, body, error
 * code and message) is the same whether the bytes arrive at once or one
 * piece at a time; a body is NUL-terminated and no longer than the input;
 * a reply with Content-Length has exactly that body; an error leaves no
 * body and a keep-alive flag of 0.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <stdint.h>
#include <string.h>

static const uint8_t *feed;
static size_t feed_len, feed_off;
static uint32_t feed_rng;   /* 0: as much as fits in one recv */

static ssize_t fuzz_recv(int fd, void *buf, size_t len, int flags)
{
    size_t n = feed_len - feed_off;
    (void)fd;
    (void)flags;
    if (feed_rng != 0) {
        size_t piece;
        feed_rng ^= feed_rng << 13;
        feed_rng ^= feed_rng >> 17;
        feed_rng ^= feed_rng << 5;
        piece = feed_rng % 97 + 1;
        if (n > piece)
            n = piece;
    }
    if (n > len)
        n = len;
    memcpy(buf, feed + feed_off, n);
    feed_off += n;
    return (ssize_t)n;
}

#define recv fuzz_recv
#include "../../src/api/remote_http.c"
#undef recv

/* ---- the pool and socket helpers are never reached from read_reply ------- */
int keel__http_wait_fd(int fd, short events, int64_t deadline_ms)
{
    (void)fd; (void)events; (void)deadline_ms;
    abort();  /* fuzz_recv never says EAGAIN */
}
int keel__http_pool_take(keel_http_pool *p) { (void)p; abort(); }
void keel__http_pool_put(keel_http_pool *p, int fd) { (void)p; (void)fd; abort(); }
int keel__http_connect(keel_http_pool *p, int64_t deadline_ms, int *fd, char *err, size_t errlen)
{
    (void)p; (void)deadline_ms; (void)fd; (void)err; (void)errlen;
    abort();
}
const char *keel__http_pool_hostport(const keel_http_pool *p) { (void)p; return "peer:1"; }
const char *keel__http_pool_base(const keel_http_pool *p) { (void)p; return ""; }

typedef struct outcome {
    int rc, keepalive, got_any;
    keel_http_reply rep;
    char err[256];
} outcome;

static void run(const char *method, const uint8_t *d, size_t n, uint32_t rng, outcome *o)
{
    feed = d;
    feed_len = n;
    feed_off = 0;
    feed_rng = rng;
    memset(o, 0, sizeof *o);
    o->rc = keel__http_read_reply(-1, method, 0, &o->rep, &o->keepalive, &o->got_any, o->err,
                                  sizeof o->err, "peer:1");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const methods[] = { "GET", "POST", "HEAD" };
    const char *method;
    outcome a, b;

    /* the 64 KiB header cap is checked per read: keep inputs where the
     * piece boundaries cannot decide whether the head fits */
    if (size < 1 || size > 60000)
        return 0;
    method = methods[data[0] % 3];
    run(method, data + 1, size - 1, 0, &a);
    run(method, data + 1, size - 1, (uint32_t)data[0] * 2654435761u | 1u, &b);
    if (a.rc != b.rc || strcmp(a.err, b.err) != 0 || a.got_any != b.got_any) {
        fprintf(stderr, "whole: rc %d '%s'; pieces: rc %d '%s'\n", a.rc, a.err, b.rc, b.err);
        abort();
    }
    if (a.got_any != (size > 1))
        abort();
    if (a.rc == 0) {
        const char *v, *hend;
        size_t vlen;
        if (a.rep.status != b.rep.status || a.rep.len != b.rep.len ||
            memcmp(a.rep.body, b.rep.body, a.rep.len) != 0) {
            fprintf(stderr, "whole: %d, %zu bytes; pieces: %d, %zu bytes\n", a.rep.status,
                    a.rep.len, b.rep.status, b.rep.len);
            abort();
        }
        if (a.rep.body == NULL || a.rep.body[a.rep.len] != '\0' || a.rep.len > size - 1)
            abort();
        /* Content-Length without chunked: the body is exactly those bytes
         * after the head, for a method and status that have a body */
        hend = memmem(data + 1, size - 1, "\r\n\r\n", 4);
        if (hend == NULL)
            abort();                   /* success without a complete head */
        hend += 4;
        v = find_header((const char *)data + 1, hend, "Content-Length", &vlen);
        if (v != NULL && !find_header((const char *)data + 1, hend, "Transfer-Encoding", &vlen) &&
            strcmp(method, "HEAD") != 0 && a.rep.status >= 200 && a.rep.status != 204 &&
            a.rep.status != 304) {
            long long cl = 0;
            size_t i;
            for (i = 0; i < vlen; i++)
                cl = cl * 10 + (v[i] - '0');   /* accepted: so digits only */
            if ((long long)a.rep.len != cl ||
                memcmp(a.rep.body, hend, a.rep.len) != 0)
                abort();
        }
    } else {
        if (a.rep.body != NULL || b.rep.body != NULL || a.keepalive || b.keepalive || a.err[0] == '\0')
            abort();
    }
    keel__http_reply_clear(&a.rep);
    keel__http_reply_clear(&b.rep);
    return 0;
}
