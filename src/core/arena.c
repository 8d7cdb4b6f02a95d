/*
 * arena.c — per-call bump allocator with LIFO cleanups (nginx's ngx_pool_t).
 *
 * Blocks of KEEL_ARENA_BLOCK bytes serve small requests; a request larger
 * than a quarter block gets its own malloc, tracked on the large list.  With
 * KEEL_ARENA_DEBUG every allocation is its own malloc so ASan sees bounds.
 *
 * Each thread keeps one freed arena with its first block (the spare): a
 * call's arena comes from it and goes back to it.  Without it every call
 * paid a 4 KB malloc and free, and that free, landing next to glibc's top
 * chunk, made malloc consolidate its fast bins on every request.  The
 * spare is freed when its thread ends (a key destructor); the main
 * thread's stays reachable until exit.  Not in KEEL_ARENA_DEBUG builds, so
 * ASan still sees a use after keel_arena_free.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keel/arena.h"
#include "keel/error.h"

#define KEEL_ARENA_BLOCK 4096
#define KEEL_ARENA_ALIGN 16

typedef struct keel_arena_chunk {
    struct keel_arena_chunk *next;
    size_t                   size;  /* usable bytes after the header */
    size_t                   used;
    _Alignas(KEEL_ARENA_ALIGN) unsigned char data[];
} keel_arena_chunk;

typedef struct keel_arena_large {
    struct keel_arena_large *next;
    _Alignas(KEEL_ARENA_ALIGN) unsigned char data[];
} keel_arena_large;

typedef struct keel_arena_cleanup_rec {
    struct keel_arena_cleanup_rec *next;
    void (*fn)(void *);
    void *arg;
} keel_arena_cleanup_rec;

struct keel_arena {
    keel_arena_chunk       *chunks;
    keel_arena_large       *large;
    keel_arena_cleanup_rec *cleanups;
    size_t                  used;
};

static void arena_release_chunks(keel_arena *a)
{
    while (a->chunks != NULL) {
        keel_arena_chunk *c = a->chunks;
        a->chunks = c->next;
        free(c);
    }
}

static void arena_release(keel_arena *a)
{
    arena_release_chunks(a);
    free(a);
}

#ifndef KEEL_ARENA_DEBUG
static pthread_key_t  spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static int            spare_ok;

static void spare_destroy(void *p)
{
    arena_release(p);
}

static void spare_init(void)
{
    spare_ok = pthread_key_create(&spare_key, spare_destroy) == 0;
}
#endif

keel_arena *keel_arena_new(void)
{
#ifndef KEEL_ARENA_DEBUG
    keel_arena *a;

    pthread_once(&spare_once, spare_init);
    if (spare_ok && (a = pthread_getspecific(spare_key)) != NULL) {
        pthread_setspecific(spare_key, NULL);
        return a;
    }
#endif
    return calloc(1, sizeof(keel_arena));
}

void keel_arena_free(keel_arena *a)
{
    if (a == NULL)
        return;
    /* Cleanups first, LIFO: they may still read arena memory. */
    while (a->cleanups != NULL) {
        keel_arena_cleanup_rec *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->arg);
    }
    while (a->large != NULL) {
        keel_arena_large *l = a->large;
        a->large = l->next;
        free(l);
    }
#ifndef KEEL_ARENA_DEBUG
    /* keep one block (all blocks are KEEL_ARENA_BLOCK) and become the spare */
    pthread_once(&spare_once, spare_init);
    if (spare_ok && pthread_getspecific(spare_key) == NULL) {
        keel_arena_chunk *keep = a->chunks;
        if (keep != NULL) {
            a->chunks = keep->next;
            keep->next = NULL;
        }
        a->used = 0;
        arena_release_chunks(a);
        a->chunks = keep;
        if (keep != NULL)
            keep->used = 0;
        if (pthread_setspecific(spare_key, a) == 0)
            return;
    }
#endif
    arena_release(a);
}

static void *keel_arena_large_alloc(keel_arena *a, size_t n)
{
    keel_arena_large *l = malloc(sizeof(*l) + n);
    if (l == NULL)
        return NULL;
    l->next = a->large;
    a->large = l;
    return l->data;
}

void *keel_arena_alloc(keel_arena *a, size_t n)
{
#ifndef KEEL_ARENA_DEBUG
    size_t need;
    keel_arena_chunk *c;
#endif

    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / 2)
        return NULL;
    a->used += n;
#ifdef KEEL_ARENA_DEBUG
    return keel_arena_large_alloc(a, n);
#else
    if (n > KEEL_ARENA_BLOCK / 4)
        return keel_arena_large_alloc(a, n);
    need = (n + KEEL_ARENA_ALIGN - 1) & ~(size_t)(KEEL_ARENA_ALIGN - 1);
    c = a->chunks;
    if (c == NULL || c->size - c->used < need) {
        c = malloc(sizeof(*c) + KEEL_ARENA_BLOCK);
        if (c == NULL)
            return NULL;
        c->size = KEEL_ARENA_BLOCK;
        c->used = 0;
        c->next = a->chunks;
        a->chunks = c;
    }
    c->used += need;
    return c->data + c->used - need;
#endif
}

char *keel_arena_strndup(keel_arena *a, const char *s, size_t n)
{
    char *p = keel_arena_alloc(a, n + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *keel_arena_strdup(keel_arena *a, const char *s)
{
    return keel_arena_strndup(a, s, strlen(s));
}

char *keel_arena_printf(keel_arena *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    p = keel_arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int keel_arena_cleanup(keel_arena *a, void (*fn)(void *), void *arg)
{
    keel_arena_cleanup_rec *c = keel_arena_alloc(a, sizeof(*c));
    if (c == NULL)
        return KEEL_ENOMEM;
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
    return 0;
}

size_t keel_arena_used(const keel_arena *a)
{
    return a->used;
}
