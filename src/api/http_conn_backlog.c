/*
 * http_conn_backlog.c — how much of a client's pipelined requests the hook
 * takes in before evhttp has answered the earlier ones.
 *
 * evhttp reads the next request of a connection only once it has written
 * the answer to the last.  The hook passed every acceptable head on at
 * once, and the socket was read whatever was waiting: a client that sent
 * requests without reading the answers (10 M pipelined probes in 5 s) made
 * the server hold all of them in evhttp's input, 470 MB, until the
 * connection closed.  Now:
 *   - no further head goes to evhttp while more than CONN_BACKLOG bytes
 *     it has not read yet wait in its input (conn_step_head);
 *   - meanwhile the socket bufferevent stops reading once its own input
 *     holds a whole head or a whole piece of body, whichever is larger, and
 *     16 KiB (a read high-water mark, set while held), so the client's data
 *     waits in the kernel and TCP slows the client;
 *   - when evhttp reads from its input, the hook is run again for what it
 *     held back.
 * Bodies are not held: a request's body goes to evhttp as it arrives, and
 * its limits and the in-flight budget bound it.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "api/http_conn-internal.h"

/* evhttp read some of its input: pass what the hook held back. */
static void backlog_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    http_conn *c = arg;
    if (info->n_deleted > 0 && c->held && evbuffer_get_length(buf) < CONN_BACKLOG) {
        c->held = 0;
        evbuffer_cb_clear_flags(buf, c->in_cb, EVBUFFER_CB_ENABLED);   /* off until the next hold */
        bufferevent_setwatermark(c->under, EV_READ, 0, 0);            /* read freely again */
        /* later, on the loop: evhttp is in the middle of reading */
        bufferevent_trigger(c->under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    }
}

int keel__http_conn_backlog_init(http_conn *c)
{
    c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), backlog_cb, c);
    if (c->in_cb == NULL)
        return -1;
    /* off while nothing is held: evhttp reads its input a line at a time */
    evbuffer_cb_clear_flags(bufferevent_get_input(c->bev), c->in_cb, EVBUFFER_CB_ENABLED);
    return 0;
}

void keel__http_conn_backlog_free(http_conn *c)
{
    if (c->in_cb != NULL)
        evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
    c->in_cb = NULL;
}

int keel__http_conn_backlog_full(http_conn *c, struct evbuffer *dst)
{
    if (evbuffer_get_length(dst) < CONN_BACKLOG)
        return 0;
    if (!c->held) {
        /* room for a whole head, and for a whole piece of body: a body
         * waits in the socket side until a piece is there (http_conn.c,
         * conn_pass_body), so a mark below a piece would stop an upload
         * for good.  Set only while held: libevent re-adds the read event
         * at every change of an input with a mark (2 % of an echo call). */
        size_t high = c->sc->limits->max_header + 1;
        if (high < CONN_PASS_BYTES)
            high = CONN_PASS_BYTES;
        if (c->in_cb != NULL)
            evbuffer_cb_set_flags(dst, c->in_cb, EVBUFFER_CB_ENABLED);
        if (c->under != NULL)
            bufferevent_setwatermark(c->under, EV_READ, 0, high + 16 * 1024);
    }
    c->held = 1;
    return 1;
}
