/*
 * tmpdir.c — see tmpdir.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tmpdir.h"

int keel_test_tmpdir(char *dir, size_t dirlen, const char *tag)
{
    int n = snprintf(dir, dirlen, "/tmp/keel-%s-XXXXXX", tag);

    if (n < 0 || (size_t)n >= dirlen)
        return -1;
    return mkdtemp(dir) != NULL ? 0 : -1;
}

int keel_test_tmppath(char *dir, size_t dirlen, char *path, size_t pathlen, const char *tag,
                      const char *fmt)
{
    int n;

    if (keel_test_tmpdir(dir, dirlen, tag) != 0)
        return -1;
    n = snprintf(path, pathlen, fmt, dir);
    if (n < 0 || (size_t)n >= pathlen) {
        keel_test_rmtree(dir);
        return -1;
    }
    return 0;
}

int keel_test_rmtree(const char *dir)
{
    char cmd[160];
    int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);

    if (n < 0 || (size_t)n >= sizeof cmd || system(cmd) != 0) {
        fprintf(stderr, "could not remove %s\n", dir);
        return -1;
    }
    return 0;
}
