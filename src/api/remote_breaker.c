/*
 * remote_breaker.c — circuit breaker and retry backoff for remote modules.
 *
 * Pure functions over an explicit clock so tests drive them with a fake one.
 *   closed    --threshold consecutive failures-->  open
 *   open      --cooldown elapsed, next call-->     half_open (one probe)
 *   half_open --probe succeeds-->                  closed
 *   half_open --probe fails-->                     open (cooldown restarts)
 */
#include <time.h>
#include <pthread.h>

#include "api/remote-internal.h"

void keel__breaker_init(keel_breaker *b, int threshold, int64_t cooldown_ms)
{
    b->state = KEEL_BREAKER_CLOSED;
    b->failures = 0;
    b->threshold = threshold >= 1 ? threshold : 1;
    b->cooldown_ms = cooldown_ms >= 0 ? cooldown_ms : 0;
    b->opened_at_ms = 0;
    b->probe_out = 0;
}

int keel__breaker_allow(keel_breaker *b, int64_t now_ms)
{
    switch (b->state) {
    case KEEL_BREAKER_CLOSED:
        return 1;
    case KEEL_BREAKER_OPEN:
        if (now_ms - b->opened_at_ms < b->cooldown_ms)
            return 0;
        b->state = KEEL_BREAKER_HALF_OPEN;
        b->probe_out = 1;
        return 1;
    case KEEL_BREAKER_HALF_OPEN:
        if (b->probe_out)
            return 0;
        b->probe_out = 1;
        return 1;
    }
    return 0;
}

int keel__breaker_record(keel_breaker *b, int success, int64_t now_ms)
{
    if (success) {
        b->state = KEEL_BREAKER_CLOSED;
        b->failures = 0;
        b->probe_out = 0;
        return 0;
    }
    b->failures++;
    if (b->state == KEEL_BREAKER_HALF_OPEN ||
        (b->state == KEEL_BREAKER_CLOSED && b->failures >= b->threshold)) {
        int opened = b->state == KEEL_BREAKER_CLOSED;
        b->state = KEEL_BREAKER_OPEN;
        b->opened_at_ms = now_ms;
        b->probe_out = 0;
        return opened;
    }
    /* A failure recorded while open (a call allowed before it opened). */
    return 0;
}

const char *keel__breaker_state_name(keel_breaker_state s)
{
    switch (s) {
    case KEEL_BREAKER_CLOSED:    return "closed";
    case KEEL_BREAKER_OPEN:      return "open";
    case KEEL_BREAKER_HALF_OPEN: return "half_open";
    }
    return "unknown";
}

int64_t keel__backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, uint64_t rnd)
{
    int64_t ceil_ms;

    if (attempt < 0)
        attempt = 0;
    if (base_ms <= 0 || cap_ms <= 0)
        return 0;
    ceil_ms = base_ms;
    while (attempt-- > 0 && ceil_ms < cap_ms)
        ceil_ms *= 2;
    if (ceil_ms > cap_ms)
        ceil_ms = cap_ms;
    return (int64_t)(rnd % (uint64_t)(ceil_ms + 1));
}

uint64_t keel__remote_rand(void)
{
    static _Thread_local uint64_t state;
    uint64_t x;

    if (state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
                (uint64_t)(uintptr_t)&ts ^ (uint64_t)pthread_self();
        if (state == 0)
            state = 0x9e3779b97f4a7c15ull;
    }
    x = state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state = x;
    return x * 0x2545f4914f6cdd1dull;
}
