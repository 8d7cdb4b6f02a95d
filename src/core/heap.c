/*
 * heap.c — gives the memory malloc holds free back to the kernel once it
 * grows past a bound (docs/observability.md "Memory").
 *
 * glibc keeps freed memory resident: each thread allocates from its own
 * arena (up to 8 per core), an arena grows to the high water of the calls
 * its threads ran at once, and what they free stays mapped for the next
 * call.  A server whose handlers parse uploads of a few hundred KiB on
 * sixteen connections at once ends up holding tens of MiB it is not using
 * (measured in bench/serving/soak.sh: 9 MiB in use, 48 MiB held free from
 * the first minute on, RSS 57 MiB and creeping).  malloc_trim(0) hands
 * every whole free page of every arena back (madvise) without moving
 * anything; the next allocation there faults the page in again.
 *
 * Two things keep a serving process's heap near what it uses:
 *
 * - keel__heap_setup (keel serve, at start) fixes glibc's mmap threshold at
 *   512 KiB and its trim threshold at 2 MiB.  Left to itself glibc raises
 *   both whenever a large block is freed (up to 32 and 64 MiB): from then
 *   on multi-MiB blocks come from the arenas, and an arena keeps a free top
 *   below the raised trim threshold resident -- which malloc_trim does not
 *   touch in a thread's arena (only in the main one).  Measured in the soak:
 *   one arena's 20 MiB, resident through trims every second.  An operator's
 *   own GLIBC_TUNABLES or MALLOC_*_ settings win.
 * - keel__heap_tend, once a health round on the checker's thread, compares
 *   the process's resident memory with what malloc has handed out, and
 *   calls malloc_trim(0) when the difference (free memory held, plus the
 *   code and stacks that are not heap) has grown by more than heap_slack_mb
 *   above its floor: the lowest difference seen since the last trim, or
 *   what that trim could not give back.  Resident memory, not malloc's own
 *   free count, is the measure (a trimmed chunk is still free to malloc but
 *   no longer resident); the floor keeps memory a trim cannot return from
 *   triggering a trim every round (measured before it: a trim a second,
 *   6.5 ms each, 0.7 MiB given back and faulted in again).
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/heap-internal.h"

static _Atomic unsigned long long heap_trims, heap_released, heap_trim_ns;
/* keel__heap_tend's floor (bytes of resident memory beyond the heap in
 * use).  The health checker's thread is its one caller in a server; atomic
 * because a test process may run two runtimes' checkers at once (the worst
 * of that race is one trim too many or too few). */
static _Atomic long long heap_floor;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define KEEL_HEAP_GLIBC 1
#endif

/* Resident bytes of this process (statm's second field), or -1. */
static long long resident_bytes(void)
{
    long long size, res;
    FILE *f = fopen("/proc/self/statm", "r");
    int ok;

    if (f == NULL)
        return -1;
    ok = fscanf(f, "%lld %lld", &size, &res) == 2;
    fclose(f);
    return ok ? res * (long long)sysconf(_SC_PAGESIZE) : -1;
}

int keel__heap_read(keel__heap_stats *hs)
{
#ifdef KEEL_HEAP_GLIBC
    struct mallinfo2 mi = mallinfo2();
    hs->in_use = (long long)mi.uordblks + (long long)mi.hblkhd;
    hs->free = (long long)mi.fordblks;
    hs->resident = resident_bytes();
    hs->trims = atomic_load_explicit(&heap_trims, memory_order_relaxed);
    hs->released = atomic_load_explicit(&heap_released, memory_order_relaxed);
    hs->trim_ns = atomic_load_explicit(&heap_trim_ns, memory_order_relaxed);
    return 0;
#else
    (void)hs;
    return -1;
#endif
}

void keel__heap_setup(void)
{
#ifdef KEEL_HEAP_GLIBC
    const char *t = getenv("GLIBC_TUNABLES");

    if ((t != NULL && strstr(t, "glibc.malloc.") != NULL) || getenv("MALLOC_MMAP_THRESHOLD_") != NULL ||
        getenv("MALLOC_TRIM_THRESHOLD_") != NULL)
        return;   /* the operator's */
    (void)mallopt(M_MMAP_THRESHOLD, KEEL_HEAP_MMAP_THRESHOLD);
    (void)mallopt(M_TRIM_THRESHOLD, KEEL_HEAP_TRIM_THRESHOLD);
#endif
}

int keel__heap_tend(long long slack)
{
#ifdef KEEL_HEAP_GLIBC
    keel__heap_stats hs;
    struct timespec t0, t1;
    long long gap, low, after;

    if (slack <= 0 || keel__heap_read(&hs) != 0 || hs.resident < 0)
        return 0;
    gap = hs.resident - hs.in_use;
    low = atomic_load_explicit(&heap_floor, memory_order_relaxed);
    if (gap < low)
        atomic_store_explicit(&heap_floor, low = gap, memory_order_relaxed);
    if (gap - low <= slack)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    malloc_trim(0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    after = resident_bytes();
    atomic_store_explicit(&heap_floor, after >= 0 ? after - hs.in_use : gap, memory_order_relaxed);
    atomic_fetch_add_explicit(&heap_trims, 1, memory_order_relaxed);
    if (after >= 0 && after < hs.resident)
        atomic_fetch_add_explicit(&heap_released, (unsigned long long)(hs.resident - after),
                                  memory_order_relaxed);
    atomic_fetch_add_explicit(&heap_trim_ns,
                              (unsigned long long)((t1.tv_sec - t0.tv_sec) * 1000000000LL
                                                   + (t1.tv_nsec - t0.tv_nsec)),
                              memory_order_relaxed);
    return 1;
#else
    (void)slack;
    return 0;
#endif
}
