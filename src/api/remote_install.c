/*
 * remote_install.c — attaching the remote client to a runtime.
 *
 * keel__rt_set_remote takes a self pointer but the core offers no getter,
 * so the instances are remembered here by runtime for uninstall.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "api/remote-internal.h"

/* Installed instances by runtime. */
typedef struct remote_slot {
    keel_runtime       *rt;
    keel_remote        *r;
    struct remote_slot *next;
} remote_slot;

static pthread_mutex_t remote_slots_mu = PTHREAD_MUTEX_INITIALIZER;
static remote_slot    *remote_slots;

int keel__remote_install(keel_runtime *rt, char *err, size_t errlen)
{
    keel_remote *r = NULL;
    remote_slot *s = NULL;
    int rc;

    keel__remote_uninstall(rt);
    rc = keel__remote_new(rt, &r, err, errlen);
    if (rc)
        goto out;
    if (keel__remote_count(r) == 0) {
        keel__remote_free(r);
        r = NULL;
        goto out;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        rc = KEEL_ENOMEM;
        snprintf(err, errlen, "out of memory setting up remote modules");
        goto out;
    }
    s->rt = rt;
    s->r = r;
    pthread_mutex_lock(&remote_slots_mu);
    s->next = remote_slots;
    remote_slots = s;
    pthread_mutex_unlock(&remote_slots_mu);
    keel__rt_set_remote(rt, &keel__remote_vt, r);
    r = NULL;
out:
    keel__remote_free(r);
    return rc;
}

void keel__remote_uninstall(keel_runtime *rt)
{
    remote_slot **pp, *s = NULL;

    pthread_mutex_lock(&remote_slots_mu);
    for (pp = &remote_slots; *pp; pp = &(*pp)->next) {
        if ((*pp)->rt == rt) {
            s = *pp;
            *pp = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&remote_slots_mu);
    if (!s)
        return;
    keel__rt_set_remote(rt, NULL, NULL);
    keel__remote_free(s->r);
    free(s);
}
