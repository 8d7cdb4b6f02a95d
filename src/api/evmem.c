/*
 * evmem.c — libevent's allocations through per-thread free lists.
 *
 * evhttp allocates ~20 small blocks per request and frees them when the
 * answer is written: the request, two header lists, each header's entry,
 * name and value, the URI's pieces, buffers and their chains.  Many are of
 * one size class, more than glibc's per-thread cache keeps (7 a class), so
 * the rest went through its fast bins and were consolidated on the next
 * large request: malloc and free were ~15 % of the CPU of an echo call.
 * This keeps up to EVMEM_KEEP freed blocks per 16-byte class up to
 * EVMEM_MAX bytes on the thread that frees them and hands them out again;
 * larger blocks go straight to malloc.  Every block has a 16-byte header
 * (its class, or its size when large), so alignment stays malloc's.  A
 * thread's lists are freed when it ends.  Sanitizer builds keep malloc, so
 * they see every libevent block.  What libevent hands the caller to free
 * (evhttp_uriencode's string) is freed with keel__ev_free, never free().
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "api/evmem-internal.h"

/* Sanitizer builds keep malloc, so they see every libevent block. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__) || defined(KEEL_NO_EVMEM)
#define EVMEM_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define EVMEM_OFF 1
#endif
#endif

#ifndef EVMEM_OFF

#define EVMEM_STEP  16
#define EVMEM_MAX   1024                      /* largest cached block */
#define EVMEM_NCLS  (EVMEM_MAX / EVMEM_STEP + 1)
#define EVMEM_KEEP  128                        /* freed blocks kept per class and thread */

typedef union evmem_hdr {
    struct {
        uint32_t cls;       /* 1..EVMEM_NCLS-1, 0 = large */
        uint32_t pad;
        size_t   size;      /* large: the size asked for */
    } h;
    max_align_t align;
} evmem_hdr;

typedef struct evmem_tl {
    void    *head[EVMEM_NCLS];   /* singly linked through the block's first word */
    unsigned n[EVMEM_NCLS];
    int      registered;
} evmem_tl;

static _Thread_local evmem_tl tl;
static pthread_key_t evmem_key;

static void evmem_drain(void *arg)
{
    evmem_tl *t = arg;
    for (int c = 0; c < EVMEM_NCLS; c++) {
        while (t->head[c] != NULL) {
            void *p = t->head[c];
            t->head[c] = *(void **)p;
            free((evmem_hdr *)p - 1);
        }
        t->n[c] = 0;
    }
}

static void *evmem_malloc(size_t sz)
{
    evmem_hdr *h;
    size_t c = (sz + EVMEM_STEP - 1) / EVMEM_STEP;

    if (c == 0)
        c = 1;
    if (c < EVMEM_NCLS) {
        void *p = tl.head[c];
        if (p != NULL) {
            tl.head[c] = *(void **)p;
            tl.n[c]--;
            return p;
        }
        if ((h = malloc(sizeof *h + c * EVMEM_STEP)) == NULL)
            return NULL;
        h->h.cls = (uint32_t)c;
        h->h.size = c * EVMEM_STEP;
        return h + 1;
    }
    if (sz > SIZE_MAX - sizeof *h || (h = malloc(sizeof *h + sz)) == NULL)
        return NULL;
    h->h.cls = 0;
    h->h.size = sz;
    return h + 1;
}

static void evmem_free(void *p)
{
    evmem_hdr *h;
    uint32_t c;

    if (p == NULL)
        return;
    h = (evmem_hdr *)p - 1;
    c = h->h.cls;
    if (c != 0 && tl.n[c] < EVMEM_KEEP) {
        if (!tl.registered) {
            /* the lists go with the thread */
            tl.registered = 1;
            pthread_setspecific(evmem_key, &tl);
        }
        *(void **)p = tl.head[c];
        tl.head[c] = p;
        tl.n[c]++;
        return;
    }
    free(h);
}

static void *evmem_realloc(void *p, size_t sz)
{
    void *q;
    size_t old;

    if (p == NULL)
        return evmem_malloc(sz);
    if (sz == 0) {
        evmem_free(p);
        return NULL;
    }
    old = ((evmem_hdr *)p - 1)->h.size;
    if (sz <= old && (((evmem_hdr *)p - 1)->h.cls != 0 || sz * 2 > old))
        return p;
    if ((q = evmem_malloc(sz)) == NULL)
        return NULL;
    memcpy(q, p, old < sz ? old : sz);
    evmem_free(p);
    return q;
}

static int evmem_on;

#endif /* EVMEM_OFF */

void keel__evmem_install(void)
{
#ifndef EVMEM_OFF
    if (pthread_key_create(&evmem_key, evmem_drain) != 0)
        return;
    event_set_mem_functions(evmem_malloc, evmem_realloc, evmem_free);
    evmem_on = 1;
#endif
}

void keel__ev_free(void *p)
{
#ifndef EVMEM_OFF
    if (evmem_on) {
        evmem_free(p);
        return;
    }
#endif
    free(p);
}
