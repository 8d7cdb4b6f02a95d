/*
 * heap-internal.h — malloc's heap: what /metrics shows of it, and the trim
 * the health checker's thread runs once a round (heap.c).
 */
#ifndef KEEL_HEAP_INTERNAL_H
#define KEEL_HEAP_INTERNAL_H

typedef struct keel__heap_stats {
    long long          in_use;   /* allocated chunks + mmapped blocks (bytes) */
    long long          free;     /* free chunks malloc holds, resident or not */
    long long          resident; /* the process's RSS, or -1 */
    unsigned long long trims;    /* trims keel__heap_tend ran */
    unsigned long long released; /* resident bytes those trims gave back */
    unsigned long long trim_ns;  /* time they took */
} keel__heap_stats;

/* glibc's thresholds keel serve fixes (heap.c says why), bytes. */
#define KEEL_HEAP_MMAP_THRESHOLD (512 * 1024)
#define KEEL_HEAP_TRIM_THRESHOLD (2 * 1024 * 1024)

/* Fixes them, unless GLIBC_TUNABLES or MALLOC_*_THRESHOLD_ set malloc's own. */
void keel__heap_setup(void);

/* 0, or -1 where the C library cannot tell (not glibc >= 2.33). */
int keel__heap_read(keel__heap_stats *hs);

/* Trims malloc's free memory when resident memory beyond the heap in use
 * has grown by more than slack bytes above its floor (the lowest seen since
 * the last trim, or what that trim left; 0 at first).  slack <= 0: never.
 * 1 if it trimmed.  One caller at a time. */
int keel__heap_tend(long long slack);

#endif /* KEEL_HEAP_INTERNAL_H */
