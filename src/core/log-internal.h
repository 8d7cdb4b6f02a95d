/*
 * log-internal.h — the log level per module (log_level.c).
 *
 * KEEL_LOG_LEVEL is a spec: a default level and module=level pairs,
 * "info,compute=debug".  Each module of a runtime owns a slot (its
 * keel_module_ctx keeps the number); a line written during a call is judged
 * by its module's level, one written outside any call by the default.
 */
#ifndef KEEL_LOG_INTERNAL_H
#define KEEL_LOG_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>

#include "keel/log.h"

/* Modules that may hold their own level (a process builds in a handful). */
#define KEEL_LOG_SLOTS 64

typedef struct keel_log_spec {
    keel_log_level def;     /* the item without a module; info when absent */
    size_t n;
    struct {
        char name[64];
        keel_log_level level;
    } mods[KEEL_LOG_SLOTS];
} keel_log_spec;

/* Parses "level", "module=level" items separated by commas ("" = info).
 * Refused: an unknown level, a malformed module name, two defaults, a
 * module named twice.  KEEL_ECONFIG with err, or 0.  Module names are not
 * checked against the build here (the runtime does that). */
int  keel__log_spec_parse(const char *s, keel_log_spec *sp, char *err, size_t errlen);
/* Makes sp the levels of the process: its default, its modules' levels,
 * and every other slot back to the default. */
void keel__log_spec_apply(const keel_log_spec *sp);
/* The levels in force as a spec ("info,compute=debug"), into buf.  Length. */
size_t keel__log_spec_format(char *buf, size_t len);

/* The slot of module name (1-based; name borrowed for the process's life:
 * a descriptor's), registering it on first sight; 0 when all are taken
 * (the module then follows the default). */
int keel__log_slot(const char *name);
/* The levels (log_level.c); read them through the functions below. */
typedef struct keel__log_slot_t {
    const char *name;   /* borrowed from a module descriptor (static) */
    atomic_int  level;  /* keel_log_level, or -1: the default */
} keel__log_slot_t;
extern atomic_int keel__log_default;
extern keel__log_slot_t keel__log_slots[KEEL_LOG_SLOTS];

static inline keel_log_level keel__log_default_level(void)
{
    return (keel_log_level)atomic_load_explicit(&keel__log_default, memory_order_relaxed);
}

/* The level in force for slot (0 = the default) — two relaxed loads,
 * inline: every keel_log call asks before it formats anything. */
static inline keel_log_level keel__log_level_of(int slot)
{
    int l = slot > 0 ? atomic_load_explicit(&keel__log_slots[slot - 1].level,
                                            memory_order_relaxed) : -1;
    return l >= 0 ? (keel_log_level)l : keel__log_default_level();
}
/* The same by module name (a scan; for lines with a name and no ctx). */
keel_log_level keel__log_level_named(const char *module);
/* Sets one module's level (-1: follow the default again).  KEEL_ENOTFOUND
 * when no runtime registered that module. */
int keel__log_set_module_level(const char *module, int lvl);
const char *keel__log_level_name(keel_log_level lvl);

#endif
