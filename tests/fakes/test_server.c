/*
 * test_server.c — see test_server.h.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api/http-internal.h"
#include "test_server.h"

#define TEST_SERVER_MAXENV 8   /* the caller's; 5 more are the fixture's */

static void *serve_main(void *arg)
{
    struct keel_test_server *s = arg;
    char err[256];

    s->rc = keel__http_serve(s->rt, NULL, err, sizeof err);
    if (s->rc != 0)
        fprintf(stderr, "test_server: keel__http_serve: %s\n", err);
    return NULL;
}

int keel_test_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0
        && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int keel_test_server_start(struct keel_test_server *s, const keel_module *const *mods,
                           const char *const *env, char *err, size_t errlen)
{
    char port[32];
    char *envp[TEST_SERVER_MAXENV + 6];
    size_t n = 0;
    int i;

    memset(s, 0, sizeof *s);
    if ((s->port = keel_test_free_port()) < 0) {
        snprintf(err, errlen, "no free loopback port");
        return -1;
    }
    snprintf(port, sizeof port, "KEEL_PORT=%d", s->port);
    envp[n++] = port;
    envp[n++] = "KEEL_HOST=127.0.0.1";
    envp[n++] = "KEEL_THREADS=1";
    envp[n++] = "KEEL_AUTH_DISABLED=1";
    envp[n++] = "KEEL_LOG_LEVEL=error";
    for (; env != NULL && *env != NULL; env++) {
        if (n >= TEST_SERVER_MAXENV + 5) {
            snprintf(err, errlen, "more than %d env entries", TEST_SERVER_MAXENV);
            return -1;
        }
        envp[n++] = (char *)*env;
    }
    envp[n] = NULL;
    if (keel__rt_new(mods, &s->rt, err, errlen) != 0
        || keel__rt_configure(s->rt, NULL, envp, NULL, err, errlen) != 0
        || keel__rt_start(s->rt, NULL, err, errlen) != 0)
        goto fail;
    if (pthread_create(&s->thread, NULL, serve_main, s) != 0) {
        snprintf(err, errlen, "pthread_create failed");
        keel__rt_stop(s->rt);
        goto fail;
    }
    for (i = 0; i < 500; i++) {
        if (keel__http_health_probe("127.0.0.1", s->port, 500) == 0)
            return 0;
        usleep(20000);
    }
    snprintf(err, errlen, "server did not come up on port %d", s->port);
    keel_test_server_stop(s, 1);
    return -1;
fail:
    keel__rt_free(s->rt);
    s->rt = NULL;
    return -1;
}

int keel_test_server_stop(struct keel_test_server *s, int signal_it)
{
    if (s->rt == NULL)
        return s->rc;
    if (signal_it)
        kill(getpid(), SIGTERM);
    pthread_join(s->thread, NULL);
    keel__rt_stop(s->rt);
    keel__rt_free(s->rt);
    s->rt = NULL;
    return s->rc;
}
