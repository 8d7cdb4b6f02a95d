/*
 * log_level.c — the log level: a default and one per module, changeable
 * while the process runs (KEEL_LOG_LEVEL=info,compute=debug; the admin
 * module's set_log_level; SIGHUP re-reads the configuration).
 *
 * Every keel_log call asks "is this level on?" before it formats anything,
 * so the question is two relaxed atomic loads and no lock, inlined into
 * keel_log (log-internal.h) so a dropped line costs no call: a module's level
 * lives in a slot, and a slot holding -1 follows the default.  A change is
 * a relaxed store; a line racing with it may be judged by the old level,
 * which is all a level change promises.  Slots are handed out when a
 * runtime is built (keel__log_slot) and never taken back: their names are
 * the descriptors' static strings, so a reader needs no lock either.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/ctx-internal.h"
#include "core/log-internal.h"

static const char *const keel_level_names[] = {"debug", "info", "warn", "error", "off"};

atomic_int keel__log_default = KEEL_LOG_INFO;
keel__log_slot_t keel__log_slots[KEEL_LOG_SLOTS];
static atomic_int keel_log_nslots;
static pthread_mutex_t keel_log_slot_lock = PTHREAD_MUTEX_INITIALIZER;

const char *keel__log_level_name(keel_log_level lvl)
{
    return (unsigned)lvl <= KEEL_LOG_OFF ? keel_level_names[lvl] : "?";
}

int keel__log_parse_level(const char *s, keel_log_level *out)
{
    int i;
    for (i = 0; i <= KEEL_LOG_OFF; i++)
        if (s != NULL && strcasecmp(s, keel_level_names[i]) == 0) {
            *out = (keel_log_level)i;
            return 0;
        }
    return -1;
}

void keel__log_set_level(keel_log_level lvl)
{
    atomic_store_explicit(&keel__log_default, (int)lvl, memory_order_relaxed);
}

int keel__log_slot(const char *name)
{
    int i, n;
    pthread_mutex_lock(&keel_log_slot_lock);
    n = atomic_load_explicit(&keel_log_nslots, memory_order_relaxed);
    for (i = 0; i < n; i++)
        if (strcmp(keel__log_slots[i].name, name) == 0)
            break;
    if (i == n && n < KEEL_LOG_SLOTS) {
        keel__log_slots[n].name = name;
        atomic_init(&keel__log_slots[n].level, -1);
        /* release: a reader that sees the count sees the name */
        atomic_store_explicit(&keel_log_nslots, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&keel_log_slot_lock);
    return i < KEEL_LOG_SLOTS ? i + 1 : 0;
}

/* The slot of name (1-based), 0 when none: a scan, for the rare callers
 * that hold a module name and not its context (start/stop hooks). */
static int keel_log_find(const char *name)
{
    int i, n = atomic_load_explicit(&keel_log_nslots, memory_order_acquire);
    for (i = 0; name != NULL && i < n; i++)
        if (strcmp(keel__log_slots[i].name, name) == 0)
            return i + 1;
    return 0;
}

keel_log_level keel__log_level_named(const char *module)
{
    return keel__log_level_of(keel_log_find(module));
}

int keel__log_set_module_level(const char *module, int lvl)
{
    int slot = keel_log_find(module);
    if (slot == 0)
        return KEEL_ENOTFOUND;
    atomic_store_explicit(&keel__log_slots[slot - 1].level, lvl, memory_order_relaxed);
    return 0;
}

/* One "name=level" or "level" item of a spec, trimmed, into sp. */
static int keel_spec_item(const char *p, size_t len, keel_log_spec *sp, int *have_def,
                          char *err, size_t errlen)
{
    char item[96], *eq, *name, *lv;
    keel_log_level lvl;
    size_t i;

    while (len > 0 && isspace((unsigned char)*p))
        p++, len--;
    while (len > 0 && isspace((unsigned char)p[len - 1]))
        len--;
    if (len == 0 || len >= sizeof item) {
        snprintf(err, errlen, "'%.*s': an item is a level or module=level", (int)(len > 40 ? 40 : len), p);
        return KEEL_ECONFIG;
    }
    memcpy(item, p, len);
    item[len] = '\0';
    eq = strchr(item, '=');
    lv = eq != NULL ? eq + 1 : item;
    name = eq != NULL ? item : NULL;
    if (eq != NULL) {
        size_t nl = (size_t)(eq - item);
        while (nl > 0 && isspace((unsigned char)item[nl - 1]))
            nl--;   /* "compute = debug" reads as "compute=debug" */
        item[nl] = '\0';
        while (isspace((unsigned char)*lv))
            lv++;
        for (i = 0; name[i] != '\0'; i++)
            if (!(islower((unsigned char)name[i]) || isdigit((unsigned char)name[i]) || name[i] == '_'))
                break;
        if (name[0] == '\0' || name[i] != '\0' || i >= sizeof sp->mods[0].name) {
            snprintf(err, errlen, "'%s': not a module name", name);
            return KEEL_ECONFIG;
        }
    }
    if (keel__log_parse_level(lv, &lvl) != 0) {
        snprintf(err, errlen, "'%s': use debug, info, warn, error or off", lv);
        return KEEL_ECONFIG;
    }
    if (name == NULL) {
        if (*have_def) {
            snprintf(err, errlen, "'%s': a second default level", lv);
            return KEEL_ECONFIG;
        }
        *have_def = 1;
        sp->def = lvl;
        return 0;
    }
    for (i = 0; i < sp->n; i++)
        if (strcmp(sp->mods[i].name, name) == 0) {
            snprintf(err, errlen, "'%s': named twice", name);
            return KEEL_ECONFIG;
        }
    if (sp->n >= KEEL_LOG_SLOTS) {
        snprintf(err, errlen, "more than %d modules", KEEL_LOG_SLOTS);
        return KEEL_ECONFIG;
    }
    memcpy(sp->mods[sp->n].name, name, strlen(name) + 1);  /* fits: checked above */
    sp->mods[sp->n].level = lvl;
    sp->n++;
    return 0;
}

int keel__log_spec_parse(const char *s, keel_log_spec *sp, char *err, size_t errlen)
{
    int have_def = 0, rc;
    memset(sp, 0, sizeof *sp);
    sp->def = KEEL_LOG_INFO;
    if (s == NULL)
        s = "";
    for (;;) {
        const char *e = strchr(s, ',');
        size_t len = e != NULL ? (size_t)(e - s) : strlen(s);
        if ((rc = keel_spec_item(s, len, sp, &have_def, err, errlen)) != 0)
            return rc;
        if (e == NULL)
            return 0;
        s = e + 1;
    }
}

void keel__log_spec_apply(const keel_log_spec *sp)
{
    int i, n = atomic_load_explicit(&keel_log_nslots, memory_order_acquire);
    size_t j;
    keel__log_set_level(sp->def);
    for (i = 0; i < n; i++) {
        int lvl = -1;
        for (j = 0; j < sp->n; j++)
            if (strcmp(sp->mods[j].name, keel__log_slots[i].name) == 0)
                lvl = (int)sp->mods[j].level;
        atomic_store_explicit(&keel__log_slots[i].level, lvl, memory_order_relaxed);
    }
}

size_t keel__log_spec_format(char *buf, size_t len)
{
    int i, n = atomic_load_explicit(&keel_log_nslots, memory_order_acquire);
    size_t o = (size_t)snprintf(buf, len, "%s", keel__log_level_name(keel__log_default_level()));
    for (i = 0; i < n && o < len; i++) {
        int l = atomic_load_explicit(&keel__log_slots[i].level, memory_order_relaxed);
        if (l >= 0)
            o += (size_t)snprintf(buf + o, len - o, ",%s=%s", keel__log_slots[i].name,
                                  keel__log_level_name((keel_log_level)l));
    }
    return o < len ? o : len - 1;
}
