/*
 * http_pool.c — the handler worker pool and the loops' mailboxes
 * (pool-internal.h).
 *
 * One mutex and one condition variable guard the queue (a FIFO of
 * intrusive links, no allocation per job).  A worker takes the oldest job,
 * runs it without the lock, and posts it to the job's home mailbox; the
 * mailbox's eventfd wakes the owning loop, which runs the done callbacks.
 * The loops' event bases have no lock (EVENT_BASE_FLAG_NOLOCK: libevent
 * took its base mutex ~20 times per request for nothing), so no other
 * thread calls into them: a post writes to the eventfd, which the loop
 * watches like any socket.
 * Workers are started when a job is queued and no worker is idle, so a
 * process that never blocks never pays for them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include <event2/event.h>

#include "api/pool-internal.h"
#include "core/thread-internal.h"
#include "keel/error.h"

/* Worker stacks: handlers keep a few KB of buffers on the stack; 1 MB is
 * nginx's thread-pool stack and well above what keel's handlers use. */
#define POOL_STACK_SIZE (1024 * 1024)

struct keel_mailbox {
    pthread_mutex_t mu;
    keel_job       *head, *tail;
    struct event   *ev;       /* EV_READ on fd, on the loop */
    int             fd;       /* eventfd: written when a post finds the list empty */
};

struct keel_pool {
    pthread_mutex_t mu;
    pthread_cond_t  work;      /* a job was queued, or stop */
    keel_job       *head, *tail;
    int             max_workers, max_queue;
    int             nthreads, nidle, busy, queued;
    int             draining, stop;
    unsigned long   done, rejected, drained, dropped;
    pthread_t      *threads;
};

/* ---- mailboxes ---------------------------------------------------------------- */

static void mailbox_run(keel_mailbox *mb)
{
    keel_job *j, *next;
    pthread_mutex_lock(&mb->mu);
    j = mb->head;
    mb->head = mb->tail = NULL;
    pthread_mutex_unlock(&mb->mu);
    for (; j; j = next) {
        next = j->next;  /* done may free j */
        j->next = NULL;
        j->done(j, j->ran);
    }
}

static void mailbox_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t n;
    (void)what;
    /* reset the counter first: a post after this wakes the loop again */
    if (read(fd, &n, sizeof n) < 0) {
        /* EAGAIN: already read; the list is taken below either way */
    }
    mailbox_run(arg);
}

int keel__mailbox_new(struct event_base *base, keel_mailbox **out)
{
    keel_mailbox *mb = calloc(1, sizeof *mb);
    *out = NULL;
    if (!mb)
        return KEEL_ENOMEM;
    mb->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    mb->ev = mb->fd >= 0 ? event_new(base, mb->fd, EV_READ | EV_PERSIST, mailbox_cb, mb) : NULL;
    if (!mb->ev || event_add(mb->ev, NULL) != 0) {
        if (mb->ev)
            event_free(mb->ev);
        if (mb->fd >= 0)
            close(mb->fd);
        free(mb);
        return KEEL_ENOMEM;
    }
    pthread_mutex_init(&mb->mu, NULL);
    *out = mb;
    return 0;
}

void keel__mailbox_free(keel_mailbox *mb)
{
    if (!mb)
        return;
    mailbox_run(mb);
    event_free(mb->ev);
    close(mb->fd);
    pthread_mutex_destroy(&mb->mu);
    free(mb);
}

void keel__mailbox_post(keel_mailbox *mb, keel_job *job)
{
    int wake;
    job->next = NULL;
    pthread_mutex_lock(&mb->mu);
    wake = mb->head == NULL;
    if (mb->tail)
        mb->tail->next = job;
    else
        mb->head = job;
    mb->tail = job;
    /* Under the lock: keel__mailbox_free cannot close fd between the append
     * and the wake-up.  A wake-up that finds the list already emptied by an
     * earlier one is harmless; the counter cannot overflow (one write per
     * empty-to-non-empty change, the loop reads it to 0). */
    if (wake) {
        uint64_t one = 1;
        if (write(mb->fd, &one, sizeof one) < 0) {
            /* EAGAIN: the counter is already non-zero, the loop will run */
        }
    }
    pthread_mutex_unlock(&mb->mu);
}

/* ---- workers ------------------------------------------------------------------- */

typedef struct pool_start {
    keel_pool *p;
    int        index;
} pool_start;

static void *pool_worker(void *arg)
{
    pool_start st = *(pool_start *)arg;
    keel_pool *p = st.p;
    free(arg);
    keel__thread_begin(KEEL_THREAD_WORKER, st.index);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        keel_job *j;
        while (!p->head && !p->stop) {
            p->nidle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->nidle--;
        }
        if (!p->head)
            break;  /* stop, and nothing left */
        j = p->head;
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        p->busy++;
        pthread_mutex_unlock(&p->mu);
        j->next = NULL;
        j->ran = 1;
        j->run(j);
        keel__mailbox_post(j->home, j); /* j is the loop's from here on */
        pthread_mutex_lock(&p->mu);
        p->busy--;
        p->done++;
    }
    pthread_mutex_unlock(&p->mu);
    keel__thread_end();
    return NULL;
}

/* With p->mu held.  0, or an error when no thread could be started (the
 * job then waits for a running worker, or the caller refuses it). */
static int pool_spawn(keel_pool *p)
{
    pthread_attr_t attr;
    pool_start *st = malloc(sizeof *st);
    int rc;
    if (!st)
        return KEEL_ENOMEM;
    st->p = p;
    st->index = p->nthreads;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, POOL_STACK_SIZE);
    rc = pthread_create(&p->threads[p->nthreads], &attr, pool_worker, st);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        free(st);
        return KEEL_ENOMEM;
    }
    p->nthreads++;
    return 0;
}

int keel__pool_new(int max_workers, int max_queue, keel_pool **out)
{
    keel_pool *p;
    *out = NULL;
    if (max_workers < 1 || max_workers > 1024 || max_queue < 0 || max_queue > 1000000)
        return KEEL_EINVAL;
    p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc((size_t)max_workers, sizeof *p->threads))) {
        free(p);
        return KEEL_ENOMEM;
    }
    p->max_workers = max_workers;
    p->max_queue = max_queue;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    *out = p;
    return 0;
}

int keel__pool_submit(keel_pool *p, keel_job *job)
{
    int rc = 0, wake = 0;
    pthread_mutex_lock(&p->mu);
    /* Jobs beyond the idle workers wait in the queue; a new worker is
     * started for each such job while the maximum allows. */
    if (p->draining || p->queued - p->nidle >= p->max_queue + (p->max_workers - p->nthreads)) {
        p->rejected++;
        rc = KEEL_EUNAVAIL;
        goto out;
    }
    job->next = NULL;
    job->ran = 0;
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    if (p->queued > p->nidle && p->nthreads < p->max_workers && pool_spawn(p) != 0
        && p->nthreads == 0) {
        /* no worker at all could be started: nobody would ever run it */
        p->head = p->tail = NULL;
        p->queued = 0;
        p->rejected++;
        rc = KEEL_EUNAVAIL;
        goto out;
    }
    wake = p->nidle > 0;
out:
    pthread_mutex_unlock(&p->mu);
    /* signalled after the unlock: a worker woken while the submitter still
     * holds the mutex blocks on it at once (measured: on one core, 5.8
     * futex calls per worker-path request) */
    if (wake)
        pthread_cond_signal(&p->work);
    return rc;
}

void keel__pool_drain(keel_pool *p)
{
    keel_job *j, *next;
    pthread_mutex_lock(&p->mu);
    p->draining = 1;
    j = p->head;
    p->head = p->tail = NULL;
    p->drained += (unsigned long)p->queued;
    p->queued = 0;
    pthread_mutex_unlock(&p->mu);
    for (; j; j = next) {
        next = j->next;
        j->ran = 0;
        keel__mailbox_post(j->home, j);
    }
}

void keel__pool_free(keel_pool *p)
{
    int i, n;
    if (!p)
        return;
    keel__pool_drain(p);
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    n = p->nthreads;
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

void keel__pool_stats(keel_pool *p, keel_pool_stats *st)
{
    pthread_mutex_lock(&p->mu);
    st->workers = p->nthreads;
    st->busy = p->busy;
    st->queued = p->queued;
    st->done = p->done;
    st->rejected = p->rejected;
    st->drained = p->drained;
    st->dropped = p->dropped;
    pthread_mutex_unlock(&p->mu);
}

void keel__pool_note_dropped(keel_pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->dropped++;
    pthread_mutex_unlock(&p->mu);
}
