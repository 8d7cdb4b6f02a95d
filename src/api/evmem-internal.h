/*
 * evmem-internal.h — libevent's allocator (evmem.c) and its log (evlog.c).
 */
#ifndef KEEL_EVMEM_INTERNAL_H
#define KEEL_EVMEM_INTERNAL_H

/* Routes libevent's allocations through per-thread free lists.  Must run
 * before anything else touches libevent: main() calls it first.  A no-op
 * in sanitizer builds. */
void keel__evmem_install(void);
/* Frees a block libevent allocated for the caller (evhttp_uriencode): with
 * the installed functions, free() would be handed a pointer malloc never
 * returned. */
void keel__ev_free(void *p);
/* libevent's messages through keel_log, as JSON (evlog.c).  main() calls it. */
void keel__evlog_install(void);

#endif
