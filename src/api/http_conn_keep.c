/*
 * http_conn_keep.c — one read interest in a connection's socket, kept
 * through evhttp's pauses (part of the connection hook, http_conn.c).
 *
 * evhttp stops reading a connection when a request is complete and starts
 * again when it answers (bufferevent_disable/enable EV_READ, which the filter
 * passes down to the socket bufferevent).  libevent's epoll changelist turns
 * that delete-then-add of a registered read event into an epoll_ctl(MOD) at
 * every request: a system call per call that changes nothing in the kernel
 * (bench/RESULTS.md, "One system call less per request").  A second,
 * persistent read event on the same socket keeps the descriptor's read
 * interest registered through the pause, so the socket bufferevent's delete
 * and add change only libevent's count of readers.
 *
 * It does nothing when it fires.  But if it fires while the socket side does
 * not read — evhttp busy with a call on a worker while the client already
 * sends the next request, a held backlog (http_conn_backlog.c) — the input
 * stays and level-triggered epoll would wake the loop at every turn: then it
 * is taken out (the descriptor's interest drops, as without it) until the
 * input filter runs again or an answer goes out.
 */
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "api/http_conn-internal.h"

static void conn_keep_cb(evutil_socket_t fd, short what, void *arg)
{
    http_conn *c = arg;
    (void)fd;
    (void)what;
    /* twice without the input filter in between: the socket side is not
     * reading, whatever the reason */
    if (++c->rd_keep_fires >= 2 || !(bufferevent_get_enabled(c->bev) & EV_READ) || c->held) {
        event_del(c->rd_keep);
        c->rd_keep_off = 1;
    }
}

void keel__http_conn_keep_read(http_conn *c)
{
    evutil_socket_t fd;

    c->rd_keep_fires = 0;
    if (c->rd_keep != NULL) {
        if (c->rd_keep_off && !c->held && (bufferevent_get_enabled(c->bev) & EV_READ)) {
            c->rd_keep_off = 0;
            event_add(c->rd_keep, NULL);
        }
        return;
    }
    if ((fd = bufferevent_getfd(c->under)) < 0)
        return;
    c->rd_keep = event_new(bufferevent_get_base(c->bev), fd, EV_READ | EV_PERSIST, conn_keep_cb, c);
    if (c->rd_keep != NULL)
        event_add(c->rd_keep, NULL);
}
