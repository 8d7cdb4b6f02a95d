/* tests/e2e/free_port.c — prints a TCP port that is free on 127.0.0.1 right
 * now (bind to port 0, ask the kernel which one it gave, close).  lib.sh's
 * free_port runs it; a process start of a few milliseconds, where an
 * interpreter took a third of a second. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        perror("socket");
        return 1;
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("bind");
        close(fd);
        return 1;
    }
    printf("%u\n", (unsigned)ntohs(a.sin_port));
    close(fd);
    return 0;
}
