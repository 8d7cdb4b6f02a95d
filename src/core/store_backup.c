/*
 * store_backup.c — `keel backup FILE`: an online copy of a SQLite database.
 *
 * VACUUM INTO on a connection of its own: one read transaction, so the copy
 * is a consistent snapshot while the server keeps writing (WAL: readers and
 * the writer do not block each other), compacted, and a valid database file
 * that `sqlite:FILE` opens as is.  The target is created first with O_EXCL
 * (mode 0600: the copy holds password hashes and tokens), so an existing
 * file is never overwritten; SQLite accepts the empty file.  A failed copy
 * removes the file it created.  PostgreSQL has pg_dump (docs/store.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "keel/error.h"
#include "core/store-internal.h"

#define BACKUP_BUSY_MS 30000

int keel__store_sqlite_backup(const char *url, const char *dest, char *err, size_t errlen)
{
    const char *path = url;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int fd = -1, created = 0, rc = 0, src;

    if (keel__store_url_is_pg(url)) {
        snprintf(err, errlen, "keel backup copies a SQLite database; for PostgreSQL use pg_dump "
                 "(docs/store.md, \"Backups\")");
        return KEEL_EINVAL;
    }
    if (strncmp(path, "sqlite://", 9) == 0)
        path += 9;
    else if (strncmp(path, "sqlite:", 7) == 0)
        path += 7;
    if (path[0] == '\0' || strcmp(path, ":memory:") == 0) {
        snprintf(err, errlen, "database url '%s' names no file to back up", url);
        return KEEL_EINVAL;
    }
    if (dest == NULL || dest[0] == '\0') {
        snprintf(err, errlen, "no backup file named");
        return KEEL_EINVAL;
    }
    fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, errno == EEXIST ? "%s exists: refusing to overwrite it" : "%s: %s",
                 dest, strerror(errno));
        return errno == EEXIST ? KEEL_ECONFLICT : KEEL_EIO;
    }
    created = 1;
    close(fd);
    /* read-write without CREATE: a missing database is an error, not an
     * empty new file; nothing is written to it (WAL readers need the -shm) */
    src = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL);
    if (src != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
        rc = KEEL_EIO;
        goto out;
    }
    sqlite3_busy_timeout(db, BACKUP_BUSY_MS);
    if (sqlite3_prepare_v2(db, "VACUUM INTO ?1", -1, &st, NULL) != SQLITE_OK
        || sqlite3_bind_text(st, 1, dest, -1, SQLITE_STATIC) != SQLITE_OK
        || sqlite3_step(st) != SQLITE_DONE) {
        snprintf(err, errlen, "copying %s to %s: %s", path, dest, sqlite3_errmsg(db));
        rc = KEEL_ESTORE;
        goto out;
    }
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc != 0 && created)
        unlink(dest);
    return rc;
}
