/*
 * http_probe.c — `keel health`: GET /healthz over a raw socket, for a Docker
 * HEALTHCHECK in a scratch image that has no curl (http-internal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/http-internal.h"

/* Waits for fd to become ready for events within the deadline. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    int64_t left = deadline_ms - keel__now_ms();
    int n;
    if (left <= 0)
        return KEEL_ETIMEDOUT;
    do {
        n = poll(&pfd, 1, (int)left);
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        return KEEL_ETIMEDOUT;
    return n < 0 ? keel_from_errno(errno) : 0;
}

int keel__http_health_probe(const char *host, int port, int timeout_ms)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int64_t deadline = keel__now_ms() + (timeout_ms > 0 ? timeout_ms : 2000);
    char portstr[16], req[320], resp[64];
    size_t got = 0;
    int fd = -1, rc, soerr = 0;
    socklen_t slen = sizeof soerr;

    if (!host || !*host || strcmp(host, "0.0.0.0") == 0)
        host = "127.0.0.1";
    else if (strcmp(host, "::") == 0)
        host = "::1";
    if (port <= 0 || port > 65535 || strlen(host) > 255)
        return KEEL_EINVAL;
    snprintf(portstr, sizeof portstr, "%d", port);
    if (getaddrinfo(host, portstr, &hints, &ai) != 0 || !ai)
        return KEEL_EINVAL;
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rc = keel_from_errno(errno);
        goto out;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            rc = KEEL_EUNAVAIL;
            goto out;
        }
        if ((rc = wait_fd(fd, POLLOUT, deadline)) != 0)
            goto out;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0 || soerr != 0) {
            rc = KEEL_EUNAVAIL;
            goto out;
        }
    }
    snprintf(req, sizeof req, "GET /healthz HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n", host);
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
        rc = KEEL_EUNAVAIL;
        goto out;
    }
    /* "HTTP/1.1 200 " is all we need */
    while (got < 12) {
        ssize_t n;
        if ((rc = wait_fd(fd, POLLIN, deadline)) != 0)
            goto out;
        n = recv(fd, resp + got, sizeof resp - 1 - got, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            rc = KEEL_EUNAVAIL;
            goto out;
        }
        got += (size_t)n;
    }
    resp[got] = '\0';
    rc = strncmp(resp, "HTTP/1.", 7) == 0 && strncmp(resp + 8, " 200", 4) == 0 ? 0 : KEEL_EUNAVAIL;
out:
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}
