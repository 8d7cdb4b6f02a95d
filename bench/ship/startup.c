/*
 * startup.c — exec → first HTTP 200, and resident memory, of a server.
 *
 *   startup RUNS PORT PATH -- COMMAND [ARGS...]
 *
 * For each run: fork + exec COMMAND (environment inherited), then poll
 * 127.0.0.1:PORT with "GET PATH" (connect, send, read the status line) every
 * 50 us until the answer is "HTTP/1.x 200"; that interval is the start time.
 * After the last run the server is left alone for 500 ms and its VmRSS (sum
 * over the process and its children, e.g. nginx workers) is read from /proc.
 * The server's stdout/stderr go to /dev/null.  Every run ends with SIGTERM
 * and waitpid.  Prints one JSON object:
 *   {"runs":N,"median_ms":…,"p90_ms":…,"min_ms":…,"max_ms":…,"idle_rss_kb":…}
 * Built by bench/ship/run.sh with plain gcc; not part of the CMake tree.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 1 if GET path on port answers 200, 0 if not (yet). */
static int probe(int port, const char *path)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    char req[256], buf[64];
    int fd, ok = 0, n, len;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        goto out;
    len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    if (write(fd, req, (size_t)len) != len)
        goto out;
    n = (int)read(fd, buf, sizeof buf - 1);
    if (n >= 12) {
        buf[n] = '\0';
        ok = strncmp(buf, "HTTP/1.", 7) == 0 && strncmp(buf + 9, "200", 3) == 0;
    }
out:
    close(fd);
    return ok;
}

static long rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* RSS of pid plus its direct children (nginx master + workers). */
static long tree_rss_kb(pid_t pid)
{
    char path[300], line[512];
    long total = rss_kb(pid);
    DIR *d;
    struct dirent *e;

    d = opendir("/proc");
    if (!d)
        return total;
    while ((e = readdir(d)) != NULL) {
        int ppid = 0;
        FILE *f;
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/status", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "PPid: %d", &ppid) == 1)
                break;
        fclose(f);
        if (ppid == pid) {
            long k = rss_kb((pid_t)atoi(e->d_name));
            if (k > 0)
                total += k;
        }
    }
    closedir(d);
    return total;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int runs, port, i, rc = 1;
    const char *path;
    char **cmd;
    double *t = NULL;
    long idle = -1;

    if (argc < 6 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: startup RUNS PORT PATH -- COMMAND [ARGS...]\n");
        return 2;
    }
    runs = atoi(argv[1]);
    port = atoi(argv[2]);
    path = argv[3];
    cmd = argv + 5;
    if (runs < 1 || runs > 10000 || port < 1 || port > 65535) {
        fprintf(stderr, "startup: RUNS 1..10000, PORT 1..65535\n");
        return 2;
    }
    t = calloc((size_t)runs, sizeof *t);
    if (!t)
        goto out;
    for (i = 0; i < runs; i++) {
        struct timespec nap = {0, 50000};
        double t0, deadline;
        int status;
        pid_t pid;

        if (probe(port, path)) {
            fprintf(stderr, "startup: port %d already answers before exec\n", port);
            goto out;
        }
        t0 = now_ms();
        deadline = t0 + 5000;
        pid = fork();
        if (pid < 0) {
            perror("fork");
            goto out;
        }
        if (pid == 0) {
            int null = open("/dev/null", O_WRONLY);
            if (null >= 0) { /* the server's logs are not what we time */
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
            }
            execvp(cmd[0], cmd);
            perror(cmd[0]);
            _exit(127);
        }
        while (!probe(port, path)) {
            if (waitpid(pid, &status, WNOHANG) == pid) {
                fprintf(stderr, "startup: %s exited before answering\n", cmd[0]);
                goto out;
            }
            if (now_ms() > deadline) {
                fprintf(stderr, "startup: no 200 on :%d%s within 5 s\n", port, path);
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                goto out;
            }
            nanosleep(&nap, NULL);
        }
        t[i] = now_ms() - t0;
        if (i == runs - 1) {
            struct timespec settle = {0, 500000000};
            nanosleep(&settle, NULL);
            idle = tree_rss_kb(pid);
        }
        kill(pid, SIGTERM);
        if (waitpid(pid, &status, 0) < 0)
            perror("waitpid");
        /* the port must be closed before the next exec */
        for (deadline = now_ms() + 2000; probe(port, path) && now_ms() < deadline;)
            nanosleep(&nap, NULL);
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    printf("{\"runs\":%d,\"median_ms\":%.3f,\"p90_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f,"
           "\"idle_rss_kb\":%ld}\n",
           runs, runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2,
           t[(runs * 9) / 10 < runs ? (runs * 9) / 10 : runs - 1], t[0], t[runs - 1], idle);
    rc = 0;
out:
    free(t);
    return rc;
}
