/*
 * remote_http.c — one HTTP/1.1 exchange for keel-to-keel calls.
 *
 * Non-blocking sockets driven by poll() so that every operation (connect,
 * send, each read) is bounded by the caller's absolute deadline; connections
 * come from and go back to a keel_http_pool (remote_pool.c).  Replies may be
 * Content-Length, chunked, or close-delimited.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "api/remote-internal.h"

#define HTTP_MAX_HEADER (64 * 1024)

/* ---- socket operations bounded by a deadline --------------------------------- */

static int send_all(int fd, const char *a, size_t alen, const char *b, size_t blen,
                    int64_t deadline_ms)
{
    struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
    struct msghdr msg;
    int rc;

    while (iov[0].iov_len + iov[1].iov_len > 0) {
        ssize_t n;

        memset(&msg, 0, sizeof(msg));
        msg.msg_iov = iov[0].iov_len ? iov : iov + 1;
        msg.msg_iovlen = iov[0].iov_len ? 2 : 1;
        n = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                rc = keel__http_wait_fd(fd, POLLOUT, deadline_ms);
                if (rc)
                    return rc;
                continue;
            }
            return KEEL_EUNAVAIL;
        }
        if ((size_t)n >= iov[0].iov_len) {
            n -= (ssize_t)iov[0].iov_len;
            iov[0].iov_len = 0;
            iov[1].iov_base = (char *)iov[1].iov_base + n;
            iov[1].iov_len -= (size_t)n;
        } else {
            iov[0].iov_base = (char *)iov[0].iov_base + n;
            iov[0].iov_len -= (size_t)n;
        }
    }
    return 0;
}

/* A growing receive buffer. */
typedef struct rbuf {
    char  *d;
    size_t len, cap;
    int    eof;
} rbuf;

/* Reads more bytes (at least one, or eof).  0 / KEEL_ETIMEDOUT / KEEL_EUNAVAIL /
 * KEEL_ENOMEM / KEEL_ETOOBIG. */
static int rbuf_fill(rbuf *b, int fd, int64_t deadline_ms)
{
    for (;;) {
        ssize_t n;
        int rc;

        if (b->cap - b->len < 4096 + 1) {
            size_t ncap = b->cap ? b->cap * 2 : 16384;
            char *nd;
            if (ncap > KEEL_HTTP_MAX_REPLY + HTTP_MAX_HEADER + 4096)
                return KEEL_ETOOBIG;
            nd = realloc(b->d, ncap);
            if (!nd)
                return KEEL_ENOMEM;
            b->d = nd;
            b->cap = ncap;
        }
        n = recv(fd, b->d + b->len, b->cap - b->len - 1, 0);
        if (n > 0) {
            b->len += (size_t)n;
            return 0;
        }
        if (n == 0) {
            b->eof = 1;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return KEEL_EUNAVAIL;
        rc = keel__http_wait_fd(fd, POLLIN, deadline_ms);
        if (rc)
            return rc;
    }
}

/* Value of header name in the header block [h, end), or NULL; *vlen set. */
static const char *find_header(const char *h, const char *end, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);

    while (h < end) {
        const char *eol = memchr(h, '\n', (size_t)(end - h));
        if (!eol)
            eol = end;
        if ((size_t)(eol - h) > nl && h[nl] == ':' && strncasecmp(h, name, nl) == 0) {
            const char *v = h + nl + 1, *ve = eol;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        h = eol + 1;
    }
    return NULL;
}

static int has_token(const char *v, size_t vlen, const char *tok)
{
    size_t tl = strlen(tok), i;

    for (i = 0; v && i + tl <= vlen; i++)
        if (strncasecmp(v + i, tok, tl) == 0)
            return 1;
    return 0;
}

/* Decodes a chunked body in place: raw bytes from *rpos, decoded written at
 * *wpos.  1 when complete, 0 when more input is needed, KEEL_EIO on junk. */
enum { CH_SIZE, CH_DATA, CH_DATA_CRLF, CH_TRAILER };
typedef struct chunk_state {
    int    st;
    size_t rpos, wpos, left;
} chunk_state;

static int dechunk(rbuf *b, chunk_state *c)
{
    for (;;) {
        char *eol;
        size_t n;

        switch (c->st) {
        case CH_SIZE:
        case CH_TRAILER:
            eol = memmem(b->d + c->rpos, b->len - c->rpos, "\r\n", 2);
            if (!eol)
                return 0;
            if (c->st == CH_TRAILER) {
                if (eol == b->d + c->rpos)
                    return 1;
                c->rpos = (size_t)(eol - b->d) + 2;
                break;
            } else {
                char *q = b->d + c->rpos;
                unsigned long long sz = 0;
                int digits = 0;
                for (; q < eol; q++, digits++) {
                    int d;
                    if (*q >= '0' && *q <= '9') d = *q - '0';
                    else if (*q >= 'a' && *q <= 'f') d = *q - 'a' + 10;
                    else if (*q >= 'A' && *q <= 'F') d = *q - 'A' + 10;
                    else break;
                    sz = sz * 16 + (unsigned)d;
                    if (sz > KEEL_HTTP_MAX_REPLY)
                        return KEEL_ETOOBIG;
                }
                if (digits == 0 || (q < eol && *q != ';' && *q != ' '))
                    return KEEL_EIO;
                c->rpos = (size_t)(eol - b->d) + 2;
                c->left = (size_t)sz;
                c->st = sz ? CH_DATA : CH_TRAILER;
            }
            break;
        case CH_DATA:
            n = b->len - c->rpos;
            if (n > c->left)
                n = c->left;
            if (n == 0)
                return 0;
            memmove(b->d + c->wpos, b->d + c->rpos, n);
            c->wpos += n;
            c->rpos += n;
            c->left -= n;
            if (c->left == 0)
                c->st = CH_DATA_CRLF;
            break;
        case CH_DATA_CRLF:
            if (b->len - c->rpos < 2)
                return 0;
            if (b->d[c->rpos] != '\r' || b->d[c->rpos + 1] != '\n')
                return KEEL_EIO;
            c->rpos += 2;
            c->st = CH_SIZE;
            break;
        }
    }
}

/* "HTTP/1.<d> <ddd>" then a space or the end of the line, within the first
 * line of the head [p, p+len): no sign, no leading space, nothing read past
 * the line (sscanf's %d would skip the CRLF and take a status from the body). */
static int parse_status_line(const char *p, size_t len, int *minor, int *status)
{
    int i;

    if (len < 13 || memcmp(p, "HTTP/1.", 7) != 0 || p[7] < '0' || p[7] > '9' || p[8] != ' ')
        return -1;
    for (i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    if (p[12] != ' ' && p[12] != '\r')
        return -1;
    *minor = p[7] - '0';
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    return *status >= 100 ? 0 : -1;
}

/* Reads one reply.  *got_any tells whether any byte arrived (a reused
 * connection that fails with none is stale, not a server failure). */
int keel__http_read_reply(int fd, const char *method, int64_t deadline_ms, keel_http_reply *rep,
                          int *keepalive, int *got_any, char *err, size_t errlen, const char *hp)
{
    rbuf b = { 0 };
    size_t hlen = 0, vlen, body_start;
    const char *v, *hend;
    int rc, minor = 1, status = 0, chunked = 0;
    long long clen = -1;

    *keepalive = 0;
    *got_any = 0;
    for (;;) {
        char *e;
        rc = rbuf_fill(&b, fd, deadline_ms);
        if (rc)
            goto fail;
        if (b.len > 0)
            *got_any = 1;
        b.d[b.len] = '\0';
        e = b.len >= 4 ? memmem(b.d, b.len, "\r\n\r\n", 4) : NULL;
        if (e) {
            hlen = (size_t)(e - b.d) + 4;
            break;
        }
        if (b.len > HTTP_MAX_HEADER) {
            rc = KEEL_EIO;
            snprintf(err, errlen, "reply from %s: header too large", hp);
            goto out;
        }
        if (b.eof) {
            rc = KEEL_EUNAVAIL;
            snprintf(err, errlen, "%s closed the connection %s", hp,
                     b.len ? "in the middle of a reply" : "before replying");
            goto out;
        }
    }
    if (parse_status_line(b.d, hlen, &minor, &status) != 0) {
        rc = KEEL_EIO;
        snprintf(err, errlen, "reply from %s: not an HTTP/1.x status line", hp);
        goto out;
    }
    hend = b.d + hlen;
    v = find_header(b.d, hend, "Connection", &vlen);
    *keepalive = minor >= 1 ? !(v && has_token(v, vlen, "close"))
                            : (v && has_token(v, vlen, "keep-alive"));
    v = find_header(b.d, hend, "Transfer-Encoding", &vlen);
    chunked = v && has_token(v, vlen, "chunked");
    v = find_header(b.d, hend, "Content-Length", &vlen);
    if (v && !chunked) {
        /* digits only, within the header's value (strtoll would skip the
         * line end of an empty value and read a length from the body) */
        size_t i;
        clen = vlen > 0 ? 0 : -1;
        for (i = 0; i < vlen && clen >= 0; i++)
            clen = v[i] >= '0' && v[i] <= '9' && clen <= (long long)KEEL_HTTP_MAX_REPLY
                       ? clen * 10 + (v[i] - '0') : -1;
        if (clen < 0) {
            rc = KEEL_EIO;
            snprintf(err, errlen, "reply from %s: bad Content-Length", hp);
            goto out;
        }
        if (clen > (long long)KEEL_HTTP_MAX_REPLY) {
            rc = KEEL_ETOOBIG;
            snprintf(err, errlen, "reply from %s: %lld bytes is over the limit", hp, clen);
            goto out;
        }
    }
    body_start = hlen;
    if (strcmp(method, "HEAD") == 0 || status == 204 || status == 304 || status < 200) {
        b.len = body_start;
    } else if (chunked) {
        chunk_state c = { CH_SIZE, body_start, body_start, 0 };
        while ((rc = dechunk(&b, &c)) == 0) {
            if (b.eof) {
                rc = KEEL_EUNAVAIL;
                snprintf(err, errlen, "%s closed the connection in the middle of a reply", hp);
                goto out;
            }
            rc = rbuf_fill(&b, fd, deadline_ms);
            if (rc)
                goto fail;
        }
        if (rc < 0) {
            snprintf(err, errlen, "reply from %s: bad chunked encoding", hp);
            goto out;
        }
        if (c.rpos + 2 != b.len)
            *keepalive = 0;  /* trailing bytes we do not understand */
        b.len = c.wpos;
    } else if (clen >= 0) {
        while (b.len - body_start < (size_t)clen) {
            if (b.eof) {
                rc = KEEL_EUNAVAIL;
                snprintf(err, errlen, "%s closed the connection in the middle of a reply", hp);
                goto out;
            }
            rc = rbuf_fill(&b, fd, deadline_ms);
            if (rc)
                goto fail;
        }
        if (b.len - body_start != (size_t)clen)
            *keepalive = 0;
        b.len = body_start + (size_t)clen;
    } else {
        *keepalive = 0;
        while (!b.eof) {
            rc = rbuf_fill(&b, fd, deadline_ms);
            if (rc)
                goto fail;
        }
    }
    rep->status = status;
    rep->len = b.len - body_start;
    memmove(b.d, b.d + body_start, rep->len);
    b.d[rep->len] = '\0';
    rep->body = b.d;
    b.d = NULL;
    rc = 0;
    goto out;
fail:
    if (rc == KEEL_ETIMEDOUT)
        snprintf(err, errlen, "no reply from %s before the deadline", hp);
    else if (rc == KEEL_ETOOBIG)
        snprintf(err, errlen, "reply from %s is over the %u byte limit", hp, KEEL_HTTP_MAX_REPLY);
    else if (rc == KEEL_ENOMEM)
        snprintf(err, errlen, "out of memory reading the reply from %s", hp);
    else
        snprintf(err, errlen, "connection to %s failed while reading: %s", hp, strerror(errno));
out:
    if (rc)
        *keepalive = 0;
    free(b.d);
    return rc;
}

int keel__http_request(keel_http_pool *p, const char *method, const char *path,
                       const char *const *headers, const char *body, size_t body_len,
                       int resend_ok, int64_t deadline_ms, keel_http_reply *rep,
                       char *err, size_t errlen)
{
    char *head = NULL;
    size_t hlen = 0;
    FILE *f = NULL;
    int rc = KEEL_ENOMEM, attempt, fd = -1;

    memset(rep, 0, sizeof(*rep));
    if (err && errlen)
        err[0] = '\0';
    f = open_memstream(&head, &hlen);
    if (!f)
        goto out;
    fprintf(f, "%s %s%s HTTP/1.1\r\nHost: %s\r\n", method, keel__http_pool_base(p), path, keel__http_pool_hostport(p));
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0)
        fprintf(f, "Content-Length: %zu\r\n", body_len);
    for (; headers && *headers; headers++)
        fprintf(f, "%s\r\n", *headers);
    fputs("\r\n", f);
    if (fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = NULL;

    for (attempt = 0; attempt < 2; attempt++) {
        int reused = 0, keepalive = 0, got_any = 0, written = 0;

        fd = attempt == 0 ? keel__http_pool_take(p) : -1;
        if (fd >= 0) {
            reused = 1;
        } else {
            rc = keel__http_connect(p, deadline_ms, &fd, err, errlen);
            if (rc)
                goto out;
        }
        rc = send_all(fd, head, hlen, body ? body : "", body ? body_len : 0, deadline_ms);
        if (rc == 0) {
            written = 1;
            rc = keel__http_read_reply(fd, method, deadline_ms, rep, &keepalive, &got_any, err,
                                       errlen, keel__http_pool_hostport(p));
        } else if (rc == KEEL_ETIMEDOUT) {
            snprintf(err, errlen, "sending to %s: deadline exceeded", keel__http_pool_hostport(p));
        } else {
            snprintf(err, errlen, "sending to %s: %s", keel__http_pool_hostport(p), strerror(errno));
        }
        if (rc == 0) {
            if (keepalive)
                keel__http_pool_put(p, fd);
            else
                close(fd);
            fd = -1;
            goto out;
        }
        close(fd);
        fd = -1;
        /* A pooled connection the server had already closed: try once
         * afresh — unless the whole request was written and may have run. */
        if (!(reused && !got_any && rc == KEEL_EUNAVAIL && (!written || resend_ok)))
            goto out;
    }
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    if (rc == KEEL_ENOMEM && err && errlen && !*err)
        snprintf(err, errlen, "out of memory");
    free(head);
    return rc;
}

void keel__http_reply_clear(keel_http_reply *rep)
{
    if (!rep)
        return;
    free(rep->body);
    rep->body = NULL;
    rep->len = 0;
    rep->status = 0;
}
