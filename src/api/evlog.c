/*
 * evlog.c — libevent's own messages as keel log lines.
 *
 * libevent writes its warnings to stderr as "[warn] …": one plain line in a
 * stream of JSON lines, which breaks every log shipper that parses them.
 * They now go through keel_log at the matching level, as JSON with
 * "libevent: " in front.  One warning is known and harmless: 2.1.12's
 * filtering bufferevent says "BEV_OPT_CLOSE_ON_FREE set on an bufferevent
 * with too few references" when evhttp frees a closing connection's filter
 * (about every HTTP/1.0 request); its socket bufferevent and descriptor are
 * freed all the same (200 such requests under ASan/LeakSanitizer and under
 * valgrind: nothing lost, descriptors back to where they were), so it is
 * logged at debug.
 */
#include <string.h>

#include <event2/event.h>

#include "api/evmem-internal.h"
#include "keel/log.h"

static void evlog_cb(int severity, const char *msg)
{
    keel_log_level lvl;

    switch (severity) {
    case EVENT_LOG_DEBUG: lvl = KEEL_LOG_DEBUG; break;
    case EVENT_LOG_MSG:   lvl = KEEL_LOG_INFO; break;
    case EVENT_LOG_WARN:  lvl = KEEL_LOG_WARN; break;
    default:              lvl = KEEL_LOG_ERROR; break;
    }
    if (lvl == KEEL_LOG_WARN && msg != NULL &&
        strstr(msg, "BEV_OPT_CLOSE_ON_FREE set on an bufferevent with too few references") != NULL)
        lvl = KEEL_LOG_DEBUG;
    keel_log(NULL, lvl, "libevent: %s", msg != NULL ? msg : "?");
}

void keel__evlog_install(void)
{
    event_set_log_callback(evlog_cb);
}
