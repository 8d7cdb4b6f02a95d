/*
 * trace_queue.c — the bounded span queue between request threads and the
 * exporter (trace-internal.h).
 *
 * Many producers, one consumer, no lock on the request path: Dmitry Vyukov's
 * bounded queue, where each cell's sequence number says whose turn it is.
 * A producer claims a position with one compare-and-swap and never waits:
 * a full queue is a dropped span.  The consumer waits on a condition
 * variable that producers signal only when a batch's worth has gathered
 * (one futex wake per batch, none per span); a lost wake-up costs at most
 * the consumer's timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/thread-internal.h"
#include "core/trace-internal.h"

typedef struct trace_cell {
    uint64_t  seq;
    keel_span s;
} trace_cell;

static trace_cell *q;
static size_t      qcap;
static uint64_t    enq_pos, deq_pos;  /* enq: CAS by producers; deq: the consumer's */
static int         q_on;
static size_t      wake_every = 512;
static int         woken;
static pthread_mutex_t wait_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  wait_cv = PTHREAD_COND_INITIALIZER;

int keel__trace_queue_on(void)
{
    return __atomic_load_n(&q_on, __ATOMIC_ACQUIRE);
}

int keel__trace_queue_open(size_t cap)
{
    trace_cell *nq;
    size_t i;
    if (keel__trace_queue_on())
        return 0;
    if (cap < 16)
        cap = 16;
    if ((nq = calloc(cap, sizeof *nq)) == NULL)
        return KEEL_ENOMEM;
    for (i = 0; i < cap; i++)
        nq[i].seq = i;
    free(q);
    q = nq;
    qcap = cap;
    enq_pos = deq_pos = 0;
    __atomic_store_n(&q_on, 1, __ATOMIC_RELEASE);
    return 0;
}

void keel__trace_queue_close(void)
{
    __atomic_store_n(&q_on, 0, __ATOMIC_RELEASE);
}

/* Only once no producer can be running (after close and the threads that
 * dispatch calls have stopped). */
void keel__trace_queue_free(void)
{
    keel__trace_queue_close();
    free(q);
    q = NULL;
    qcap = 0;
}

int keel__trace_push(const keel_span *s)
{
    uint64_t pos;
    trace_cell *c;
    if (!keel__trace_queue_on())
        return -1;
    pos = __atomic_load_n(&enq_pos, __ATOMIC_RELAXED);
    for (;;) {
        int64_t dif;
        c = &q[pos % qcap];
        dif = (int64_t)(__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) - pos);
        if (dif == 0) {
            if (__atomic_compare_exchange_n(&enq_pos, &pos, pos + 1, 1, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
                break;
        } else if (dif < 0) {
            return -1;  /* full: the consumer has not freed this cell yet */
        } else {
            pos = __atomic_load_n(&enq_pos, __ATOMIC_RELAXED);
        }
    }
    c->s = *s;
    __atomic_store_n(&c->seq, pos + 1, __ATOMIC_RELEASE);
    if ((pos + 1) % __atomic_load_n(&wake_every, __ATOMIC_RELAXED) == 0)
        pthread_cond_signal(&wait_cv);
    return 0;
}

size_t keel__trace_pop(keel_span *out, size_t max)
{
    size_t n = 0;
    if (q == NULL)
        return 0;
    while (n < max) {
        trace_cell *c = &q[deq_pos % qcap];
        if (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) != deq_pos + 1)
            break;  /* empty, or its producer is still writing it */
        out[n++] = c->s;
        __atomic_store_n(&c->seq, deq_pos + qcap, __ATOMIC_RELEASE);
        deq_pos++;
    }
    return n;
}

uint64_t keel__trace_pushed(void)
{
    return __atomic_load_n(&enq_pos, __ATOMIC_RELAXED);
}

void keel__trace_wait(size_t want, int timeout_ms)
{
    struct timespec until;
    if (want == 0)
        want = 1;
    __atomic_store_n(&wake_every, want, __ATOMIC_RELAXED);
    keel__realtime_after_ms(&until, timeout_ms);
    pthread_mutex_lock(&wait_mu);
    while (!woken && keel__trace_pushed() - deq_pos < want)
        if (pthread_cond_timedwait(&wait_cv, &wait_mu, &until) == ETIMEDOUT)
            break;
    woken = 0;
    pthread_mutex_unlock(&wait_mu);
}

void keel__trace_wake(void)
{
    pthread_mutex_lock(&wait_mu);
    woken = 1;
    pthread_cond_signal(&wait_cv);
    pthread_mutex_unlock(&wait_mu);
}
