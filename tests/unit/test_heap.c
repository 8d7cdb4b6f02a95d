/* test_heap.c — the heap trim (heap.c): memory a thread's arena holds free
 * after a burst, pinned there by a few live blocks so the arena cannot
 * shrink from its top, is given back once resident memory exceeds the heap
 * in use by the slack, and only once; memory no trim can return is tried
 * once, not every round (the floor); slack 0 never trims; the fixed
 * thresholds return a freed 10 MiB block after a 20 MiB one; /metrics shows
 * the heap, the trims and SQLite's memory.  Expected values are the bytes
 * the test itself allocated and freed, read back through /proc. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sys/mman.h>

#include "core/heap-internal.h"
#include "core/metrics-internal.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

#define BLOCKS 12800 /* of 4000 bytes: 50 MB touched */
#define BLOCK  4000
#define MIB    (1024LL * 1024)

static void *blocks[BLOCKS];

/* On a thread of its own (its own arena, as a handler worker's): allocate
 * and touch every block, then free all but one in 64. */
static void *burst(void *arg)
{
    (void)arg;
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = malloc(BLOCK);
        assert_non_null(blocks[i]);
        memset(blocks[i], 0xa5, BLOCK);
    }
    for (int i = 0; i < BLOCKS; i++)
        if (i % 64 != 0) {
            free(blocks[i]);
            blocks[i] = NULL;
        }
    return NULL;
}

static void free_rest(void)
{
    for (int i = 0; i < BLOCKS; i++) {
        free(blocks[i]);
        blocks[i] = NULL;
    }
}

static int skip_if_not_glibc_heap(void)
{
#ifdef SANITIZED
    fprintf(stderr, "skipped: a sanitizer's allocator replaces malloc; heap.c tends glibc's\n");
    return 1;
#else
    keel__heap_stats hs;
    if (keel__heap_read(&hs) != 0) {
        fprintf(stderr, "skipped: not glibc >= 2.33 (no mallinfo2): heap.c does nothing here\n");
        return 1;
    }
    return 0;
#endif
}

static void run_burst(void)
{
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, burst, NULL), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
}

static long long rss_now(void)
{
    keel__heap_stats hs;
    assert_int_equal(keel__heap_read(&hs), 0);
    return hs.resident;
}

/* glibc raises its mmap threshold to a freed block's size (20 MiB here):
 * a 10 MiB block then comes from the thread's arena, and once something
 * allocated after it lives on (as in any worker's arena), freeing it leaves
 * 10 MiB free and resident in the middle of the arena.  With the fixed
 * thresholds it is mmapped, and unmapped when freed.  The thread returns
 * how much resident memory grew while that later block still lives. */
static void *volatile sink; /* keeps the compiler from eliding malloc+memset+free */

static void *big_blocks(void *arg)
{
    long long *grew = arg, before = rss_now();
    char *p = malloc(20 << 20), *q, *after;
    assert_non_null(p);
    memset(p, 1, 20 << 20);
    sink = p;
    free(p);
    q = malloc(10 << 20);
    assert_non_null(q);
    memset(q, 1, 10 << 20);
    sink = q;
    after = malloc(64);
    assert_non_null(after);
    sink = after;
    free(q);
    *grew = rss_now() - before;
    free(after);
    return NULL;
}

static void test_setup_fixes_thresholds(void **state)
{
    pthread_t t;
    long long grew = -1;
    (void)state;
    if (skip_if_not_glibc_heap()) {
        skip();
        return;
    }
    if (getenv("GLIBC_TUNABLES") != NULL || getenv("MALLOC_MMAP_THRESHOLD_") != NULL ||
        getenv("MALLOC_TRIM_THRESHOLD_") != NULL) {
        fprintf(stderr, "skipped: malloc's thresholds are set in the environment, which heap.c leaves alone\n");
        skip();
        return;
    }
    keel__heap_setup();
    assert_int_equal(pthread_create(&t, NULL, big_blocks, &grew), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_true(grew >= 0 && grew < 2 * MIB);
}

/* The burst, then the heap as it left it in *a.  0, or 1 when skipped. */
static int burst_then_read(keel__heap_stats *a)
{
    if (skip_if_not_glibc_heap())
        return 1;
    run_burst();
    assert_int_equal(keel__heap_read(a), 0);
    return 0;
}

static void test_trim_gives_back_once(void **state)
{
    keel__heap_stats a, b, c;
    (void)state;
    if (burst_then_read(&a)) {
        skip();
        return;
    }
    /* ~49 MB free and resident, 0.8 MB of it still in use */
    assert_true(a.free >= 40 * MIB);
    assert_true(a.resident - a.in_use >= 40 * MIB);
    assert_int_equal(keel__heap_tend(16 * MIB), 1);
    assert_int_equal(keel__heap_read(&b), 0);
    assert_true(a.resident - b.resident >= 40 * MIB);   /* given back */
    assert_true(b.free >= 40 * MIB);                   /* still malloc's: nothing moved */
    assert_int_equal(b.trims, a.trims + 1);
    assert_true(b.released - a.released >= 40ULL * MIB);
    /* not resident any more, so not trimmed again */
    assert_int_equal(keel__heap_tend(16 * MIB), 0);
    assert_int_equal(keel__heap_read(&c), 0);
    assert_int_equal(c.trims, b.trims);
    free_rest();
}

static void test_slack_zero_never_trims(void **state)
{
    keel__heap_stats a, b;
    (void)state;
    if (burst_then_read(&a)) {
        skip();
        return;
    }
    assert_int_equal(keel__heap_tend(0), 0);
    assert_int_equal(keel__heap_tend(1LL << 40), 0);   /* a slack above it all */
    assert_int_equal(keel__heap_read(&b), 0);
    assert_int_equal(b.trims, a.trims);
    assert_true(b.resident > b.in_use + 40 * MIB);      /* still held */
    free_rest();
    (void)keel__heap_tend(1);                           /* leave the process small */
}

/* Resident memory that is not malloc's (here a mapping of the test's own;
 * in a server, stacks and code) no trim can give back: one trim finds
 * that out, and the floor keeps the next rounds from trying again. */
static void test_floor_stops_repeated_trims(void **state)
{
    keel__heap_stats a, b;
    size_t len = 48 << 20;
    char *m;
    (void)state;
    if (skip_if_not_glibc_heap()) {
        skip();
        return;
    }
    m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    memset(m, 1, len);
    assert_int_equal(keel__heap_read(&a), 0);
    (void)keel__heap_tend(16 * MIB);   /* may trim once: 48 MiB more beyond the heap */
    for (int i = 0; i < 5; i++)
        assert_int_equal(keel__heap_tend(16 * MIB), 0);
    assert_int_equal(keel__heap_read(&b), 0);
    assert_true(b.trims <= a.trims + 1);
    munmap(m, len);
}

static void test_metrics_show_the_heap(void **state)
{
    char *text = NULL;
    size_t len = 0;
    (void)state;
    assert_int_equal(keel__metrics_render(NULL, &text, &len), 0);
    assert_non_null(strstr(text, "\nkeel_sqlite_memory_bytes{stat=\"current\"} "));
    assert_non_null(strstr(text, "\nkeel_sqlite_memory_bytes{stat=\"max\"} "));
#ifndef SANITIZED
    assert_non_null(strstr(text, "\nkeel_heap_bytes{state=\"in_use\"} "));
    assert_non_null(strstr(text, "\nkeel_heap_bytes{state=\"free\"} "));
    assert_non_null(strstr(text, "\nkeel_heap_trims_total "));
    assert_non_null(strstr(text, "\nkeel_heap_trimmed_bytes_total "));
#endif
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_setup_fixes_thresholds),   /* first: mallopt is for good */
        cmocka_unit_test(test_trim_gives_back_once),
        cmocka_unit_test(test_slack_zero_never_trims),
        cmocka_unit_test(test_floor_stops_repeated_trims),
        cmocka_unit_test(test_metrics_show_the_heap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
