/*
 * ui-internal.h — the dashboard's assets, compiled in (docs/ui.md).
 *
 * cmake/embed_ui.cmake turns every file of src/api/ui/ into one row of
 * keel__ui_assets at build time; http_ui.c serves them under /ui/.
 */
#ifndef KEEL_UI_INTERNAL_H
#define KEEL_UI_INTERNAL_H

#include <stddef.h>

typedef struct keel_ui_asset {
    const char          *name;   /* "index.html": the path after /ui/ */
    const char          *type;   /* Content-Type */
    const char          *etag;   /* strong ETag, quoted: from the content's SHA-256 */
    const unsigned char *data;   /* len bytes (a NUL follows, not counted) */
    size_t               len;
} keel_ui_asset;

/* Every asset, {0}-terminated (generated: build/gen/ui_assets.c). */
extern const keel_ui_asset keel__ui_assets[];

/* The asset named exactly name (the raw, undecoded path after /ui/; "" is
 * index.html), or NULL.  Exact match against the table only: nothing is
 * decoded, joined or opened, so no path can reach anything else. */
const keel_ui_asset *keel__ui_find(const char *name);

/* The Content-Security-Policy every /ui/ answer carries. */
#define KEEL_UI_CSP                                                              \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
    "connect-src 'self'; frame-ancestors 'none'"

#endif /* KEEL_UI_INTERNAL_H */
