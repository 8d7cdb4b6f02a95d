/*
 * faulty_store.h — a fault-injecting decorator over any keel_store_vt
 * (SQLite's test_malloc.c idea, applied to our own vtable).
 *
 * Calls through exec, begin, commit (and exec_script, when the inner backend
 * has internal operations) are counted from 1.  Armed with n, call n fails
 * once (transient) or every call from n on fails (persistent).  A failing
 * begin returns KEEL_EUNAVAIL (like a busy database); a failing exec, script
 * or commit returns KEEL_EIO, without reaching the inner backend.  rollback
 * and close always pass through, so a failed transaction can be undone.
 *
 *     struct keel_faulty f;
 *     keel_faulty_store_init(&f, &keel_store_sqlite);
 *     keel_faulty_open(&f, "sqlite:/tmp/x.db", "t", &st, err, sizeof err);
 *     keel_faulty_arm(&f, 3, 0);        // the 3rd call fails, once
 *
 * Not thread-safe; one struct keel_faulty per test.
 */
#ifndef KEEL_FAULTY_STORE_H
#define KEEL_FAULTY_STORE_H

#include <stddef.h>

#include "keel/store.h"
#include "core/store-internal.h"

struct keel_faulty {
    keel_store_vt         vt;         /* the decorated vtable (pass &f->vt) */
    keel_store_ext        ext;        /* forwards internal ops when inner has them */
    const keel_store_vt  *inner;      /* borrowed */
    const keel_store_ext *inner_ext;  /* NULL if none */
    long                  calls;      /* counted calls so far */
    long                  fail_at;    /* 0 = disarmed */
    int                   persistent;
    long                  faults;     /* faults injected since the last arm */
};

/* Sets up f to decorate inner (borrowed, static).  Disarmed. */
void keel_faulty_store_init(struct keel_faulty *f, const keel_store_vt *inner);

/* Arms f: call number n (counted from the next call, 1-based) fails; once
 * when persistent = 0, every call from n on when persistent = 1.  n = 0
 * disarms.  Resets calls and faults. */
void keel_faulty_arm(struct keel_faulty *f, long n, int persistent);

/* Opens url/ns through the inner backend and wraps it: *st new
 * (keel_store_close frees).  0 or the inner open's KEEL_E*. */
int keel_faulty_open(struct keel_faulty *f, const char *url, const char *ns,
                     keel_store **st, char *err, size_t errlen);

#endif /* KEEL_FAULTY_STORE_H */
