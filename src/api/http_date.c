/*
 * http_date.c — the Date header of keel's answers, formatted once a second
 * per thread.  evhttp adds one to every HTTP/1.1 answer that lacks it, and
 * formats it each time (evutil_date_rfc1123: gmtime and snprintf, ~3,000
 * instructions, a tenth of evhttp's own work on an echo answer); an answer
 * that carries ours is left alone.
 */
#include <stdio.h>
#include <time.h>

#include "api/http-internal.h"

const char *keel__http_date(void)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static __thread time_t at = -1;
    static __thread char text[96];   /* room for any int gmtime_r could give */
    time_t now = time(NULL);
    struct tm tm;

    if (now != at && gmtime_r(&now, &tm) != NULL) {
        /* RFC 9110 IMF-fixdate, as evutil_date_rfc1123 writes it */
        snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
                 tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec);
        at = now;
    }
    return text[0] != '\0' ? text : NULL;
}
