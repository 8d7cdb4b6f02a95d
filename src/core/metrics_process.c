/*
 * metrics_process.c — the process_* families every Prometheus client
 * exports (the Go client's names and units), read from /proc/self.
 */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/metrics-internal.h"

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
}
