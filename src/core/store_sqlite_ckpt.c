/*
 * store_sqlite_ckpt.c — the background checkpointer of one SQLite file.
 *
 * In WAL mode every commit appends pages to the log; a checkpoint copies
 * them back into the database file (and fsyncs it).  SQLite's own
 * "autocheckpoint" runs that copy on the connection whose commit pushed the
 * log past 1000 pages, i.e. on a request's thread: a 21 MB upload paid
 * ~0.4 s for copying its own pages back before it could answer.  Serving
 * connections (store_checkpoint_pages > 0) turn that off by installing their
 * own WAL hook (sqlite3_wal_hook replaces the autocheckpoint), which only
 * reports the log's size here; one thread per file, owned by the file's
 * write gate (store_sqlite_file.c), does the copying on a connection of its
 * own:
 *
 *   - the log holds >= pages frames after a commit: a PASSIVE checkpoint,
 *     which never blocks readers or writers (it copies what no reader still
 *     needs and leaves the rest for the next pass);
 *   - it holds >= 64 × pages (the checkpointer has fallen behind: a stream
 *     of writers never lets the log start over): a RESTART checkpoint that
 *     holds this process's write gate, so the writers queue for the time of
 *     one copy and the log starts again from its beginning — the log's
 *     growth is bounded;
 *   - no commit for KEEL__SQ_CKPT_IDLE_MS: a TRUNCATE checkpoint, which
 *     empties the log file (only when it gets the gate and no reader is in
 *     the log at once: it never waits then);
 *   - at stop (the last connection of the file closes, in the shutdown
 *     order's "store pools close" step): a last TRUNCATE, then the thread
 *     ends.
 *
 * Durability does not change: a commit is durable once its log frames are
 * (synchronous=FULL syncs the log at every commit); the checkpoint only
 * moves pages and is redone from the log after a crash.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "core/store_sqlite-internal.h"
#include "core/thread-internal.h"

#define KEEL__SQ_CKPT_IDLE_MS   1000
#define KEEL__SQ_CKPT_BEHIND    64    /* × pages: RESTART instead of PASSIVE */
#define KEEL__SQ_CKPT_STOP_MS   2000  /* the last TRUNCATE waits this long for readers */

struct keel__sq_ckpt {
    char            *path;       /* owned */
    keel__sq_gate   *gate;       /* borrowed: the owner, outlives the thread */
    int              pages;      /* PASSIVE at this many log frames */
    int              sync;       /* PRAGMA synchronous level 0..3 */
    int              busy_ms;    /* how long a RESTART waits for the gate and readers */
    pthread_t        thread;
    pthread_mutex_t  mu;
    pthread_cond_t   cv;
    /* under mu */
    int              stop;
    int              hold;       /* tests: no pass while set */
    int              log;        /* frames in the log at the last commit */
    uint64_t         commits;    /* commits reported by the hook */
    keel__sq_ckpt_stats st;
};

/* One checkpoint of mode on db; counts it.  RESTART/TRUNCATE take the
 * process's write gate first (writers of this process queue on it instead
 * of sleeping in SQLite's busy handler) and wait up to wait_ms. */
static int ck_pass(keel__sq_ckpt *k, sqlite3 *db, int mode, int wait_ms)
{
    int nlog = 0, ncopied = 0, src, gated = 0;

    if (mode != SQLITE_CHECKPOINT_PASSIVE) {
        if (keel__sq_gate_enter(k->gate, wait_ms) != 0)
            return SQLITE_BUSY;
        gated = 1;
    }
    sqlite3_busy_timeout(db, mode == SQLITE_CHECKPOINT_PASSIVE ? 0 : wait_ms);
    src = sqlite3_wal_checkpoint_v2(db, NULL, mode, &nlog, &ncopied);
    if (gated)
        keel__sq_gate_leave(k->gate);
    pthread_mutex_lock(&k->mu);
    if (src == SQLITE_OK && ncopied >= 0)
        k->st.frames += (uint64_t)ncopied;
    if (src != SQLITE_OK)
        k->st.busy++;
    else if (mode == SQLITE_CHECKPOINT_PASSIVE)
        k->st.passive++;
    else if (mode == SQLITE_CHECKPOINT_RESTART)
        k->st.restart++;
    else
        k->st.truncate++;
    pthread_cond_broadcast(&k->cv);   /* keel__sq_ckpt_wait */
    pthread_mutex_unlock(&k->mu);
    return src;
}

/* The thread's own connection, opened when its first pass is due rather
 * than at start: a file that sees no commit never needs it, and opening it
 * (SQLite reads the whole schema) stays off the path from exec to the first
 * answer.  NULL when it cannot be opened: then the serving connections,
 * whose hook is installed already, leave the log to grow until they close
 * (SQLite checkpoints on the last close); counted so tests and `keel` see
 * it. */
static sqlite3 *ck_open(keel__sq_ckpt *k)
{
    static const char *const sync[] = {"PRAGMA synchronous=OFF", "PRAGMA synchronous=NORMAL",
                                       "PRAGMA synchronous=FULL", "PRAGMA synchronous=EXTRA"};
    sqlite3 *db = NULL;

    if (sqlite3_open_v2(k->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                        SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        pthread_mutex_lock(&k->mu);
        k->st.failed = 1;
        pthread_cond_broadcast(&k->cv);
        pthread_mutex_unlock(&k->mu);
        return NULL;
    }
    sqlite3_exec(db, sync[k->sync], NULL, NULL, NULL);
    return db;
}

static void *ck_main(void *arg)
{
    keel__sq_ckpt *k = arg;
    sqlite3 *db = NULL;
    uint64_t seen, emptied;

    pthread_mutex_lock(&k->mu);
    seen = emptied = k->commits;
    while (!k->stop) {
        struct timespec until;
        int mode;

        if (!k->hold && k->log >= k->pages) {
            mode = k->log >= k->pages * KEEL__SQ_CKPT_BEHIND ? SQLITE_CHECKPOINT_RESTART
                                                              : SQLITE_CHECKPOINT_PASSIVE;
            k->log = 0;   /* the next commit reports what is left */
            pthread_mutex_unlock(&k->mu);
            if (db == NULL && (db = ck_open(k)) == NULL)
                return NULL;
            ck_pass(k, db, mode, k->busy_ms);
            pthread_mutex_lock(&k->mu);
            continue;
        }
        keel__realtime_after_ms(&until, KEEL__SQ_CKPT_IDLE_MS);
        if (pthread_cond_timedwait(&k->cv, &k->mu, &until) != ETIMEDOUT)
            continue;
        /* a whole idle period without a commit, and commits since the log
         * was last emptied: empty it now, if that needs no waiting */
        if (!k->hold && k->commits == seen && k->commits != emptied) {
            uint64_t at = k->commits;
            pthread_mutex_unlock(&k->mu);
            if (db == NULL && (db = ck_open(k)) == NULL)
                return NULL;
            if (ck_pass(k, db, SQLITE_CHECKPOINT_TRUNCATE, 0) == SQLITE_OK)
                emptied = at;
            pthread_mutex_lock(&k->mu);
        }
        seen = k->commits;
    }
    /* the last pass: only if something was committed since the log was
     * last emptied (the last serving connection's close checkpoints too) */
    seen = k->commits;
    pthread_mutex_unlock(&k->mu);
    if (seen != emptied && db == NULL)
        db = ck_open(k);
    if (db != NULL)
        ck_pass(k, db, SQLITE_CHECKPOINT_TRUNCATE, KEEL__SQ_CKPT_STOP_MS);
    sqlite3_close(db);
    return NULL;
}

keel__sq_ckpt *keel__sq_ckpt_start(const char *path, keel__sq_gate *gate, int pages, int sync,
                                   int busy_ms)
{
    keel__sq_ckpt *k = calloc(1, sizeof *k);

    if (k == NULL || (k->path = strdup(path)) == NULL) {
        free(k);
        return NULL;
    }
    k->gate = gate;
    k->pages = pages > 0 ? pages : 1;
    k->sync = sync >= 0 && sync <= 3 ? sync : 2;
    k->busy_ms = busy_ms > 0 ? busy_ms : 5000;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cv, NULL);
    if (pthread_create(&k->thread, NULL, ck_main, k) != 0) {
        pthread_mutex_destroy(&k->mu);
        pthread_cond_destroy(&k->cv);
        free(k->path);
        free(k);
        return NULL;
    }
    return k;
}

void keel__sq_ckpt_stop(keel__sq_ckpt *k)
{
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    k->stop = 1;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cv);
    free(k->path);
    free(k);
}

/* sqlite3_wal_hook: runs on the committing connection after its commit,
 * with the write lock already released; it only notes the log's size. */
int keel__sq_ckpt_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
    keel__sq_ckpt *k = ud;

    (void)db;
    (void)name;
    pthread_mutex_lock(&k->mu);
    k->log = frames;
    k->commits++;
    if (frames >= k->pages)
        pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    return SQLITE_OK;
}

void keel__sq_ckpt_hold(keel__sq_ckpt *k, int on)
{
    if (k == NULL)
        return;
    pthread_mutex_lock(&k->mu);
    k->hold = on != 0;
    pthread_cond_broadcast(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

int keel__sq_ckpt_wait(keel__sq_ckpt *k, int (*done)(const keel__sq_ckpt_stats *, void *),
                       void *arg, int timeout_ms, keel__sq_ckpt_stats *out)
{
    struct timespec until;
    int ok;

    if (k == NULL)
        return 0;
    keel__realtime_after_ms(&until, timeout_ms);
    pthread_mutex_lock(&k->mu);
    while (!(ok = done(&k->st, arg)) && !k->st.failed)
        if (pthread_cond_timedwait(&k->cv, &k->mu, &until) == ETIMEDOUT) {
            ok = done(&k->st, arg);
            break;
        }
    if (out != NULL)
        *out = k->st;
    pthread_mutex_unlock(&k->mu);
    return ok;
}
