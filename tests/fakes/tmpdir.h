/*
 * tmpdir.h — a scratch directory per test: made under /tmp, removed with
 * everything in it.
 *
 *     static char dir[64], url[128];
 *     if (keel_test_tmppath(dir, sizeof dir, url, sizeof url, "store",
 *                           "sqlite:%s/keel.db") != 0) return -1;
 *     ...                                  // dir: /tmp/keel-store-XXXXXX
 *     keel_test_rmtree(dir);
 */
#ifndef KEEL_TEST_TMPDIR_H
#define KEEL_TEST_TMPDIR_H

#include <stddef.h>

/* Creates /tmp/keel-<tag>-XXXXXX (mkdtemp) and writes its path to dir
 * (dirlen bytes).  0, or -1 (dir too small or mkdtemp failed). */
int keel_test_tmpdir(char *dir, size_t dirlen, const char *tag);

/* keel_test_tmpdir, then a path in it: fmt with one %s for the dir, as
 * "sqlite:%s/keel.db".  0, or -1 (the dir is removed again if path did not
 * fit). */
int keel_test_tmppath(char *dir, size_t dirlen, char *path, size_t pathlen, const char *tag,
                      const char *fmt);

/* Removes dir and everything below it.  0, or -1 (reported on stderr). */
int keel_test_rmtree(const char *dir);

#endif /* KEEL_TEST_TMPDIR_H */
