/*
 * remote_fixture.c — see remote_fixture.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/remote-internal.h"
#include "remote_fixture.h"

void remote_fix_modules(remote_fix *f, int iface_version, const char *digest)
{
    pthread_mutex_lock(&f->s->mu);
    snprintf(f->s->modules, sizeof f->s->modules,
             "{\"modules\":[{\"name\":\"other\"},{\"name\":\"%s\",\"placement\":\"local\","
             "\"iface_version\":%d,\"digest\":\"%s\"}]}", f->m->name, iface_version, digest);
    pthread_mutex_unlock(&f->s->mu);
}

remote_fix *remote_fix_start(const keel_module *m, int iface_version, const char *rid)
{
    const keel_module *mods[] = { m, NULL };
    remote_fix *f = calloc(1, sizeof *f);
    char env_remote[128], err[512];
    char *envp[] = { env_remote, "KEEL_CALL_TIMEOUT_MS=3000", "KEEL_LOG_LEVEL=error", NULL };
    size_t n;

    if (f == NULL)
        abort();
    f->m = m;
    f->s = fake_srv_start(FS_REPLY);
    n = (size_t)snprintf(env_remote, sizeof env_remote, "KEEL_REMOTE_");
    for (const char *p = m->name; *p && n + 1 < sizeof env_remote; p++)
        env_remote[n++] = (char)toupper((unsigned char)*p);
    snprintf(env_remote + n, sizeof env_remote - n, "=http://127.0.0.1:%d", f->s->port);
    if (keel__rt_new(mods, &f->rt, err, sizeof err) != 0 ||
        keel__rt_configure(f->rt, NULL, envp, NULL, err, sizeof err) != 0 ||
        keel__remote_install(f->rt, err, sizeof err) != 0) {
        fprintf(stderr, "remote fixture: runtime: %s\n", err);
        abort();
    }
    remote_fix_modules(f, iface_version, keel__mc_digest(keel__rt_find(f->rt, m->name)));
    if ((f->ctx = keel__ctx_new(f->rt, KEEL_TR_LOCAL, rid, 0)) == NULL)
        abort();
    return f;
}

void remote_fix_stop(remote_fix *f)
{
    keel__ctx_free(f->ctx);
    keel__remote_uninstall(f->rt);
    keel__rt_free(f->rt);
    fake_srv_stop(f->s);
    free(f);
}
