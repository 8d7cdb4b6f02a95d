/*
 * metrics_process.c — the process_* families every Prometheus client
 * exports (the Go client's names and units), read from /proc/self, and
 * where the resident memory goes: malloc's heap (in use / held free) and
 * SQLite's own allocations (page caches, statements, schemas).
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/heap-internal.h"
#include "core/metrics-internal.h"
#include "core/store-internal.h"

/* Counts entries of /proc/self/fd (minus ".", ".." and the directory's own fd). */
static long open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    long n = 0;
    if (d == NULL)
        return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;
}

/* Fields of /proc/self/stat after the command name: utime(14) stime(15)
 * starttime(22) vsize(23) rss(24), counted from 1 as in proc(5). */
static int proc_stat(double *cpu_s, double *start_s, double *vsize, double *rss)
{
    char buf[1024], *p;
    unsigned long long ut, st, start, vs;
    long long rs;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/stat", "r");
    size_t n;
    struct timespec rt, mono;

    if (f == NULL)
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    if ((p = strrchr(buf, ')')) == NULL || tick <= 0)
        return -1;
    /* after ") " comes field 3 (state) */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d "
               "%llu %llu %lld", &ut, &st, &start, &vs, &rs) != 5)
        return -1;
    *cpu_s = (double)(ut + st) / (double)tick;
    *vsize = (double)vs;
    *rss = (double)rs * (double)page;
    /* starttime is in ticks since boot: boot time = realtime - boottime clock */
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_BOOTTIME, &mono);
    *start_s = ((double)rt.tv_sec + (double)rt.tv_nsec / 1e9)
               - ((double)mono.tv_sec + (double)mono.tv_nsec / 1e9) + (double)start / (double)tick;
    return 0;
}

void keel__metrics_process(keel_metrics_buf *b)
{
    double cpu, start, vsize, rss;
    struct rlimit rl;
    long fds = open_fds();

    if (proc_stat(&cpu, &start, &vsize, &rss) == 0) {
        keel__mbuf_family(b, "process_cpu_seconds_total", "counter",
                          "Total user and system CPU time spent in seconds.");
        keel__mbuf_printf(b, "process_cpu_seconds_total %.2f\n", cpu);
        keel__mbuf_family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
        keel__mbuf_printf(b, "process_resident_memory_bytes %.0f\n", rss);
        keel__mbuf_family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
        keel__mbuf_printf(b, "process_virtual_memory_bytes %.0f\n", vsize);
        keel__mbuf_family(b, "process_start_time_seconds", "gauge",
                          "Start time of the process since unix epoch in seconds.");
        keel__mbuf_printf(b, "process_start_time_seconds %.2f\n", start);
    }
    if (fds >= 0) {
        keel__mbuf_family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
        keel__mbuf_printf(b, "process_open_fds %ld\n", fds);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        keel__mbuf_family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        keel__mbuf_printf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
    }
    keel__metrics_memory(b);
}

/* keel_heap_*: malloc's heap (heap.c: mallinfo2 walks each arena's free
 * lists under its lock, once per scrape) and the trims that gave its free
 * memory back; keel_sqlite_memory_bytes: what SQLite has allocated now and
 * at most (part of the heap's in_use). */
void keel__metrics_memory(keel_metrics_buf *b)
{
    long long used, high;
    keel__heap_stats hs;

    if (keel__heap_read(&hs) == 0) {
        keel__mbuf_family(b, "keel_heap_bytes", "gauge",
                          "malloc's heap: in_use (allocated, incl. mmapped blocks), free (held by malloc, resident or not).");
        keel__mbuf_printf(b, "keel_heap_bytes{state=\"in_use\"} %lld\n", hs.in_use);
        keel__mbuf_printf(b, "keel_heap_bytes{state=\"free\"} %lld\n", hs.free);
        keel__mbuf_family(b, "keel_heap_trims_total", "counter",
                          "Times malloc's free memory was given back (held memory grew by heap_slack_mb above its floor).");
        keel__mbuf_printf(b, "keel_heap_trims_total %llu\n", hs.trims);
        keel__mbuf_family(b, "keel_heap_trimmed_bytes_total", "counter", "Resident bytes those trims gave back.");
        keel__mbuf_printf(b, "keel_heap_trimmed_bytes_total %llu\n", hs.released);
        keel__mbuf_family(b, "keel_heap_trim_seconds_total", "counter", "Time those trims took.");
        keel__mbuf_printf(b, "keel_heap_trim_seconds_total %.6f\n", (double)hs.trim_ns / 1e9);
    }
    keel__store_sqlite_memory(&used, &high);
    keel__mbuf_family(b, "keel_sqlite_memory_bytes", "gauge",
                      "Memory SQLite has allocated: now (current) and its high-water mark (max).");
    keel__mbuf_printf(b, "keel_sqlite_memory_bytes{stat=\"current\"} %lld\n", used);
    keel__mbuf_printf(b, "keel_sqlite_memory_bytes{stat=\"max\"} %lld\n", high);
}
