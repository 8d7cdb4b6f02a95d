/*
 * fake_http_server.c — the in-test HTTP server of fake_http_server.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_http_server.h"

typedef struct fake_conn {
    fake_srv *s;
    int       fd;
} fake_conn;

static int srv_stopping(fake_srv *s)
{
    int v;
    pthread_mutex_lock(&s->mu);
    v = s->stop;
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* Reads into buf until pred; -1 on EOF/stop. */
static int conn_read_more(fake_srv *s, int fd, char *buf, size_t *len, size_t cap)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        if (srv_stopping(s))
            return -1;
        if (poll(&p, 1, 20) <= 0)
            continue;
        n = recv(fd, buf + *len, cap - *len - 1, 0);
        if (n <= 0)
            return -1;
        *len += (size_t)n;
        buf[*len] = '\0';
        return 0;
    }
}

static void send_str(int fd, const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = send(fd, s, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        s += n;
        len -= (size_t)n;
    }
}

static void *conn_main(void *arg)
{
    fake_conn *c = arg;
    fake_srv *s = c->s;
    char buf[65536], out[70000], reply[4096];
    size_t len = 0;
    int nreq = 0;

    buf[0] = '\0';   /* strstr below reads buf before the first recv */

    for (;;) {
        char *e, *cl, method[8] = "", path[256] = "";
        size_t hlen, blen = 0;
        int status = 200, mode;

        while (!(e = strstr(buf, "\r\n\r\n")) || len == 0) {
            if (conn_read_more(s, c->fd, buf, &len, sizeof(buf)) != 0)
                goto out;
        }
        hlen = (size_t)(e - buf) + 4;
        cl = strcasestr(buf, "Content-Length:");
        if (cl && cl < e)
            blen = (size_t)strtoul(cl + 15, NULL, 10);
        while (len < hlen + blen)
            if (conn_read_more(s, c->fd, buf, &len, sizeof(buf)) != 0)
                goto out;
        sscanf(buf, "%7s %255s", method, path);
        pthread_mutex_lock(&s->mu);
        s->requests++;
        mode = s->mode;
        snprintf(s->last_head, sizeof(s->last_head), "%.*s", (int)hlen, buf);
        s->last_body_len = blen;
        memcpy(s->last_body, buf + hlen, blen < sizeof(s->last_body) ? blen : sizeof(s->last_body));
        if (strcmp(method, "GET") == 0 && strcmp(path, "/v1/modules") == 0) {
            snprintf(reply, sizeof(reply), "%s", s->modules);
        } else if (s->fail_first > 0) {
            s->fail_first--;
            status = 503;
            snprintf(reply, sizeof(reply), "{\"error\":{\"code\":\"unavailable\",\"message\":\"busy\"}}");
        } else if (s->status) {
            status = s->status;
            snprintf(reply, sizeof(reply), "%s", s->reply);
        } else {
            snprintf(reply, sizeof(reply), "%.*s", (int)blen, buf + hlen);
        }
        pthread_mutex_unlock(&s->mu);
        if (mode == FS_DROP_SECOND && ++nreq == 2)
            goto out;
        if (mode == FS_SILENT) {
            while (conn_read_more(s, c->fd, buf, &len, sizeof(buf)) == 0)
                len = 0;
            goto out;
        }
        if (mode == FS_RAW) {
            send_str(c->fd, reply);
            goto out;
        }
        if (mode == FS_CHUNKED) {
            size_t half = strlen(reply) / 2;
            snprintf(out, sizeof(out),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "%zx;ext=1\r\n%.*s\r\n%zx\r\n%s\r\n0\r\n\r\n",
                     status, half, (int)half, reply, strlen(reply) - half, reply + half);
        } else {
            snprintf(out, sizeof(out), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s", status, strlen(reply), reply);
        }
        send_str(c->fd, out);
        memmove(buf, buf + hlen + blen, len - hlen - blen);
        len -= hlen + blen;
        buf[len] = '\0';
        if (mode == FS_CLOSE_AFTER)
            goto out;
    }
out:
    close(c->fd);
    pthread_mutex_lock(&s->mu);
    s->active--;
    pthread_mutex_unlock(&s->mu);
    free(c);
    return NULL;
}

static void *srv_main(void *arg)
{
    fake_srv *s = arg;

    while (!srv_stopping(s)) {
        struct pollfd p = { .fd = s->lfd, .events = POLLIN };
        fake_conn *c;
        pthread_t th;
        int fd;

        if (poll(&p, 1, 20) <= 0)
            continue;
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        c = calloc(1, sizeof(*c));
        c->s = s;
        c->fd = fd;
        pthread_mutex_lock(&s->mu);
        s->accepts++;
        s->active++;
        pthread_mutex_unlock(&s->mu);
        pthread_create(&th, NULL, conn_main, c);
        pthread_detach(th);
    }
    return NULL;
}

fake_srv *fake_srv_start(int mode)
{
    fake_srv *s = calloc(1, sizeof(*s));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    int one = 1;

    if (!s)
        abort();
    pthread_mutex_init(&s->mu, NULL);
    s->mode = mode;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->lfd, 16) != 0) {
        perror("fake_srv_start");
        abort();
    }
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->th, NULL, srv_main, s) != 0)
        abort();
    return s;
}

void fake_srv_stop(fake_srv *s)
{
    int active = 1;

    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->th, NULL);
    close(s->lfd);
    while (active) {
        pthread_mutex_lock(&s->mu);
        active = s->active;
        pthread_mutex_unlock(&s->mu);
        if (active)
            usleep(5000);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}
