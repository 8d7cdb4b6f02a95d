/* test_http.c — KEEL_EXPOSE parsing and the `keel health` probe (against a
 * forked one-shot server on a loopback port). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "api/http-internal.h"

static void test_expose_ok(void **state)
{
    keel_http_expose ex[KEEL_HTTP_MAX_EXPOSE];
    char err[200] = "";
    size_t n = 99;
    (void)state;
    assert_int_equal(keel__http_expose_parse("compute:8081,auth:8082", ex, &n, err, sizeof err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ex[0].module, "compute");
    assert_int_equal(ex[0].port, 8081);
    assert_string_equal(ex[1].module, "auth");
    assert_int_equal(ex[1].port, 8082);
    assert_int_equal(keel__http_expose_parse(" kv_2:0 , ", ex, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ex[0].module, "kv_2");
    assert_int_equal(ex[0].port, 0);
    assert_int_equal(keel__http_expose_parse("", ex, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(keel__http_expose_parse(NULL, ex, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
}

static void expect_bad(const char *text, const char *needle)
{
    keel_http_expose ex[KEEL_HTTP_MAX_EXPOSE];
    char err[200] = "";
    size_t n = 7;
    assert_int_equal(keel__http_expose_parse(text, ex, &n, err, sizeof err), KEEL_ECONFIG);
    assert_int_equal(n, 0);
    if (!strstr(err, needle) || !strstr(err, "KEEL_EXPOSE"))
        fail_msg("'%s': message '%s' lacks '%s'", text, err, needle);
}

static void test_expose_bad(void **state)
{
    char many[400] = "";
    int i;
    (void)state;
    expect_bad("compute", "expected <module>:<port>");
    expect_bad("compute:", "port must be");
    expect_bad("compute:-1", "port must be");
    expect_bad("compute:65536", "port must be");
    expect_bad("compute:80x", "port must be");
    expect_bad("Compute:80", "bad module name");
    expect_bad(":80", "bad module name");
    expect_bad("9a:80", "bad module name");
    expect_bad("a:80,a:81", "duplicate module");
    expect_bad("a:80,b:80", "duplicate port");
    for (i = 0; i <= KEEL_HTTP_MAX_EXPOSE; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "m%d:%d,", i, 9000 + i);
    expect_bad(many, "more than");
}

/* Listens on a loopback port; the child accepts once, reads, answers reply
 * (NULL = say nothing for a while) and exits. */
static pid_t one_shot_server(const char *reply, int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char buf[512];
        int c = accept(fd, NULL, NULL);
        if (c >= 0 && read(c, buf, sizeof buf) > 0) {
            if (reply && write(c, reply, strlen(reply)) < 0)
                _exit(1);
            if (!reply)
                sleep(2);
        }
        _exit(0);
    }
    close(fd);
    return pid;
}

static void test_probe(void **state)
{
    int port, st;
    pid_t pid;
    (void)state;
    pid = one_shot_server("HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"status\":\"ok\"}\n", &port);
    assert_int_equal(keel__http_health_probe("127.0.0.1", port, 2000), 0);
    waitpid(pid, &st, 0);
    pid = one_shot_server("HTTP/1.1 503 Service Unavailable\r\n\r\n", &port);
    assert_int_equal(keel__http_health_probe("0.0.0.0", port, 2000), KEEL_EUNAVAIL);
    waitpid(pid, &st, 0);
    pid = one_shot_server(NULL, &port);
    assert_int_equal(keel__http_health_probe(NULL, port, 200), KEEL_ETIMEDOUT);
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    /* the port is closed now: refused */
    assert_int_equal(keel__http_health_probe("127.0.0.1", port, 2000), KEEL_EUNAVAIL);
    assert_int_equal(keel__http_health_probe("127.0.0.1", 0, 2000), KEEL_EINVAL);
    {
        char longhost[300];
        memset(longhost, 'a', sizeof longhost - 1);
        longhost[sizeof longhost - 1] = '\0';
        assert_int_equal(keel__http_health_probe(longhost, 80, 500), KEEL_EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expose_ok),
        cmocka_unit_test(test_expose_bad),
        cmocka_unit_test(test_probe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
