/*
 * faulty_store.c — see faulty_store.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "keel/error.h"
#include "faulty_store.h"

typedef struct faulty_conn {
    struct keel_faulty *f;
    void               *inner;   /* owned */
} faulty_conn;

/* The struct keel_faulty used by vt.open (set by the last init). */
static struct keel_faulty *faulty_current;

/* 1 if this call must fail. */
static int faulty_hit(struct keel_faulty *f)
{
    long n = ++f->calls;

    if (f->fail_at <= 0 || n < f->fail_at || (n > f->fail_at && !f->persistent))
        return 0;
    f->faults++;
    return 1;
}

static void faulty_msg(struct keel_faulty *f, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "injected fault at call %ld", f->calls);
}

static int faulty_open(const char *url, const char *ns, void **conn, char *err, size_t errlen)
{
    struct keel_faulty *f = faulty_current;
    faulty_conn *fc = NULL;
    int rc;

    *conn = NULL;
    if (f == NULL)
        return KEEL_EINTERNAL;
    fc = calloc(1, sizeof *fc);
    if (fc == NULL)
        return KEEL_ENOMEM;
    fc->f = f;
    rc = f->inner->open(url, ns, &fc->inner, err, errlen);
    if (rc != 0) {
        free(fc);
        return rc;
    }
    *conn = fc;
    return 0;
}

static void faulty_close(void *conn)
{
    faulty_conn *fc = conn;
    if (fc == NULL)
        return;
    fc->f->inner->close(fc->inner);
    free(fc);
}

static int faulty_exec(void *conn, const char *sql, const json_t *params, json_t **rows,
                       char *err, size_t errlen)
{
    faulty_conn *fc = conn;
    if (rows != NULL)
        *rows = NULL;
    if (faulty_hit(fc->f)) {
        faulty_msg(fc->f, err, errlen);
        return KEEL_EIO;
    }
    return fc->f->inner->exec(fc->inner, sql, params, rows, err, errlen);
}

static int faulty_begin(void *conn)
{
    faulty_conn *fc = conn;
    return faulty_hit(fc->f) ? KEEL_EUNAVAIL : fc->f->inner->begin(fc->inner);
}

static int faulty_commit(void *conn)
{
    faulty_conn *fc = conn;
    return faulty_hit(fc->f) ? KEEL_EIO : fc->f->inner->commit(fc->inner);
}

static int faulty_rollback(void *conn)
{
    faulty_conn *fc = conn;
    return fc->f->inner->rollback(fc->inner);
}

static int faulty_script(void *conn, const char *sql, char *err, size_t errlen)
{
    faulty_conn *fc = conn;
    if (faulty_hit(fc->f)) {
        faulty_msg(fc->f, err, errlen);
        return KEEL_EIO;
    }
    return fc->f->inner_ext->exec_script(fc->inner, sql, err, errlen);
}

static void faulty_privileged(void *conn, int on)
{
    faulty_conn *fc = conn;
    fc->f->inner_ext->set_privileged(fc->inner, on);
}

void keel_faulty_store_init(struct keel_faulty *f, const keel_store_vt *inner)
{
    *f = (struct keel_faulty){0};
    f->inner = inner;
    f->inner_ext = inner == &keel_store_sqlite ? &keel__store_sqlite_ext : NULL;
    f->vt = (keel_store_vt){
        .version = 1, .name = inner->name, .open = faulty_open, .close = faulty_close,
        .exec = faulty_exec, .begin = faulty_begin, .commit = faulty_commit,
        .rollback = faulty_rollback,
    };
    f->ext = (keel_store_ext){
        .version = 1, .exec_script = faulty_script, .set_privileged = faulty_privileged,
    };
    faulty_current = f;
}

void keel_faulty_arm(struct keel_faulty *f, long n, int persistent)
{
    f->fail_at = n;
    f->persistent = persistent;
    f->calls = 0;
    f->faults = 0;
}

int keel_faulty_open(struct keel_faulty *f, const char *url, const char *ns,
                     keel_store **st, char *err, size_t errlen)
{
    void *conn = NULL;
    int rc;

    *st = NULL;
    faulty_current = f;
    rc = faulty_open(url, ns, &conn, err, errlen);
    if (rc != 0)
        return rc;
    *st = keel__store_wrap_ext(&f->vt, f->inner_ext != NULL ? &f->ext : NULL, conn);
    if (*st == NULL) {
        faulty_close(conn);
        return KEEL_ENOMEM;
    }
    return 0;
}
