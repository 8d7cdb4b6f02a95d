/*
 * keel/arena.h — per-call memory (nginx's pool idea).
 *
 * Small allocations are bumped from blocks; large ones are tracked and freed
 * with the arena.  Cleanup hooks run LIFO when the arena is destroyed, so a
 * handler can hand json_decref / sqlite3_finalize / PQclear to the arena and
 * return early on any error.  Nothing allocated from an arena outlives it.
 * With KEEL_ARENA_DEBUG defined at build time every allocation is a separate
 * malloc so ASan sees exact bounds.
 */
#ifndef KEEL_ARENA_H
#define KEEL_ARENA_H

#include <stddef.h>

typedef struct keel_arena keel_arena;

/* New arena; caller owns it and frees it with keel_arena_free.  NULL on ENOMEM. */
keel_arena *keel_arena_new(void);

/* Runs the cleanups LIFO, then frees every block.  NULL is a no-op. */
void keel_arena_free(keel_arena *a);

/* n bytes aligned for any type, owned by the arena.  NULL on ENOMEM. */
void *keel_arena_alloc(keel_arena *a, size_t n);

/* Copies of s (NUL-terminated) / of n bytes plus a NUL; owned by the arena. */
char *keel_arena_strdup(keel_arena *a, const char *s);
char *keel_arena_strndup(keel_arena *a, const char *s, size_t n);

/* printf into arena memory. */
char *keel_arena_printf(keel_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Registers fn(arg) to run when the arena is freed (LIFO).  0 or KEEL_ENOMEM;
 * on KEEL_ENOMEM fn is NOT called: the caller still owns arg. */
int keel_arena_cleanup(keel_arena *a, void (*fn)(void *), void *arg);

/* Bytes handed out so far (for tests and limits). */
size_t keel_arena_used(const keel_arena *a);

#endif /* KEEL_ARENA_H */
