/*
 * keel/keel.h — the one include for module authors.
 */
#ifndef KEEL_KEEL_H
#define KEEL_KEEL_H

#define KEEL_VERSION "0.1.0"

#include "keel/error.h"
#include "keel/arena.h"
#include "keel/log.h"
#include "keel/module.h"
#include "keel/store.h"
#include "keel/authn.h"
#include "keel/events.h"
#include "keel/metrics.h"

#endif /* KEEL_KEEL_H */
