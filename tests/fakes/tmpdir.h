/*
 * tmpdir.h — a scratch directory per test: made under /tmp, removed with
 * everything in it.
 *
 *     static char dir[64];
 *     if (keel_test_tmpdir(dir, sizeof dir, "store") != 0) return -1;
 *     ...                                  // /tmp/keel-store-XXXXXX
 *     keel_test_rmtree(dir);
 */
#ifndef KEEL_TEST_TMPDIR_H
#define KEEL_TEST_TMPDIR_H

#include <stddef.h>

/* Creates /tmp/keel-<tag>-XXXXXX (mkdtemp) and writes its path to dir
 * (dirlen bytes).  0, or -1 (dir too small or mkdtemp failed). */
int keel_test_tmpdir(char *dir, size_t dirlen, const char *tag);

/* Removes dir and everything below it.  0, or -1 (reported on stderr). */
int keel_test_rmtree(const char *dir);

#endif /* KEEL_TEST_TMPDIR_H */
