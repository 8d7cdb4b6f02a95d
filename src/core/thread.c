/*
 * thread.c — the per-thread begin/end hook (thread-internal.h).
 *
 * A unit that keeps per-thread state adds its set-up to keel__thread_begin
 * and its tear-down to keel__thread_end, in reverse order.
 */
#include "core/thread-internal.h"

#include <time.h>

static _Thread_local keel_thread_kind keel_thread_self_kind = KEEL_THREAD_MAIN;
static _Thread_local int keel_thread_self_index;

void keel__thread_begin(keel_thread_kind kind, int index)
{
    keel_thread_self_kind = kind;
    keel_thread_self_index = index;
}

void keel__thread_end(void)
{
    keel_thread_self_kind = KEEL_THREAD_MAIN;
    keel_thread_self_index = 0;
}

keel_thread_kind keel__thread_kind(void)
{
    return keel_thread_self_kind;
}

int keel__thread_index(void)
{
    return keel_thread_self_index;
}

const char *keel__thread_kind_name(keel_thread_kind kind)
{
    switch (kind) {
    case KEEL_THREAD_LOOP:   return "loop";
    case KEEL_THREAD_WORKER: return "worker";
    case KEEL_THREAD_MAIN:
    default:                 return "main";
    }
}

void keel__realtime_after_ms(struct timespec *ts, long long ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    if (ms <= 0)
        return;
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}
