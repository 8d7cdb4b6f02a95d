/*
 * store_sqlite_file.c — what belongs to a SQLite database file rather than
 * to one connection: creating its directory, and the process-wide write
 * gate.
 *
 * The write gate.  SQLite lets one connection write at a time; the others
 * wait in the busy handler, which sleeps in steps (1, 2, 5, 10 … 100 ms)
 * rather than being woken when the lock frees.  A keel process holds many
 * connections to one file (one per module, the core's, the dispatcher's),
 * so under write load most of their time went to those sleeps.  The gate is
 * a mutex per file, shared by every connection of the process: a write
 * transaction enters it before BEGIN IMMEDIATE and leaves after COMMIT or
 * ROLLBACK, so writers of one process queue on a condition variable and the
 * next one starts the moment the last one ends.  Other processes still meet
 * SQLite's lock and its busy handler, as before.
 *
 * A thread that already holds the gate (a write transaction on another
 * connection to the same file, opened inside its own) passes through and
 * meets SQLite's lock as it did without the gate, so the gate adds no
 * deadlock of its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "keel/error.h"
#include "core/store_sqlite-internal.h"
#include "core/thread-internal.h"

struct keel__sq_gate {
    char                 *path;     /* owned; the registry's key */
    unsigned              refs;     /* connections using it (under reg_mu) */
    pthread_mutex_t       mu;
    pthread_cond_t        cv;
    int                   held;     /* depth of the owner's entries */
    pthread_t             owner;
    keel__sq_ckpt        *ckpt;     /* the file's checkpointer (under reg_mu), NULL = none */
    keel__sq_gsync       *gsync;    /* its group commit (under reg_mu), NULL = none yet */
    struct keel__sq_gate *next;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct keel__sq_gate *reg;

keel__sq_gate *keel__sq_gate_get(const char *path)
{
    struct keel__sq_gate *g;

    if (path == NULL || path[0] == '\0')
        return NULL;   /* :memory: and temporary databases: one connection each */
    pthread_mutex_lock(&reg_mu);
    for (g = reg; g != NULL; g = g->next)
        if (strcmp(g->path, path) == 0)
            break;
    if (g == NULL && (g = calloc(1, sizeof *g)) != NULL) {
        if ((g->path = strdup(path)) == NULL) {
            free(g);
            g = NULL;
        } else {
            pthread_mutex_init(&g->mu, NULL);
            pthread_cond_init(&g->cv, NULL);
            g->next = reg;
            reg = g;
        }
    }
    if (g != NULL)
        g->refs++;
    pthread_mutex_unlock(&reg_mu);
    return g;   /* NULL on ENOMEM: the connection runs without a gate */
}

void keel__sq_gate_put(keel__sq_gate *g)
{
    struct keel__sq_gate **pp;
    int last = 0;

    if (g == NULL)
        return;
    pthread_mutex_lock(&reg_mu);
    if (--g->refs == 0) {
        for (pp = &reg; *pp != NULL; pp = &(*pp)->next)
            if (*pp == g) {
                *pp = g->next;
                break;
            }
        last = 1;
    }
    pthread_mutex_unlock(&reg_mu);
    if (!last)
        return;
    /* out of the registry: a new connection to the file makes a new gate
     * (and checkpointer) while this one's last pass runs */
    keel__sq_ckpt_stop(g->ckpt);
    keel__sq_gsync_free(g->gsync);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g->path);
    free(g);
}

keel__sq_ckpt *keel__sq_gate_checkpointer(keel__sq_gate *g, int pages, int sync, int busy_ms)
{
    keel__sq_ckpt *k;

    if (g == NULL || pages <= 0)
        return NULL;
    pthread_mutex_lock(&reg_mu);
    if (g->ckpt == NULL)
        g->ckpt = keel__sq_ckpt_start(g->path, g, pages, sync, busy_ms);
    k = g->ckpt;
    pthread_mutex_unlock(&reg_mu);
    return k;
}

keel__sq_gsync *keel__sq_gate_gsync(keel__sq_gate *g, const char *wal)
{
    keel__sq_gsync *s;

    if (g == NULL || wal == NULL)
        return NULL;
    pthread_mutex_lock(&reg_mu);
    if (g->gsync == NULL)
        g->gsync = keel__sq_gsync_new(wal);
    s = g->gsync;
    pthread_mutex_unlock(&reg_mu);
    return s;
}

keel__sq_gsync *keel__sq_gsync_of(const char *path)
{
    struct keel__sq_gate *g;
    keel__sq_gsync *s = NULL;

    pthread_mutex_lock(&reg_mu);
    for (g = reg; g != NULL; g = g->next)
        if (path != NULL && strcmp(g->path, path) == 0)
            s = g->gsync;
    pthread_mutex_unlock(&reg_mu);
    return s;
}

keel__sq_ckpt *keel__sq_ckpt_of(const char *path)
{
    struct keel__sq_gate *g;
    keel__sq_ckpt *k = NULL;

    pthread_mutex_lock(&reg_mu);
    for (g = reg; g != NULL; g = g->next)
        if (path != NULL && strcmp(g->path, path) == 0)
            k = g->ckpt;
    pthread_mutex_unlock(&reg_mu);
    return k;
}

int keel__sq_gate_enter(keel__sq_gate *g, int timeout_ms)
{
    struct timespec until;
    int rc = 0;

    if (g == NULL)
        return 0;
    keel__realtime_after_ms(&until, timeout_ms);
    pthread_mutex_lock(&g->mu);
    if (g->held > 0 && pthread_equal(g->owner, pthread_self())) {
        g->held++;
        goto out;
    }
    while (g->held > 0 && rc == 0)
        if (pthread_cond_timedwait(&g->cv, &g->mu, &until) == ETIMEDOUT && g->held > 0)
            rc = KEEL_EUNAVAIL;
    if (rc == 0) {
        g->held = 1;
        g->owner = pthread_self();
    }
out:
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void keel__sq_gate_leave(keel__sq_gate *g)
{
    if (g == NULL)
        return;
    pthread_mutex_lock(&g->mu);
    if (g->held > 0 && --g->held == 0)
        pthread_cond_signal(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

int keel__sq_make_parent(const char *path, char *err, size_t errlen)
{
    char *dir = strdup(path), *p;
    int rc = 0;

    if (dir == NULL)
        return KEEL_ENOMEM;
    p = strrchr(dir, '/');
    if (p == NULL || p == dir)
        goto out;
    *p = '\0';
    for (p = dir + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char save = *p;
            *p = '\0';
            if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
                if (err != NULL && errlen > 0)
                    snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
                rc = keel_from_errno(errno) == KEEL_ENOTFOUND ? KEEL_EIO : keel_from_errno(errno);
                goto out;
            }
            *p = save;
            if (save == '\0')
                break;
        }
    }
out:
    free(dir);
    return rc;
}
