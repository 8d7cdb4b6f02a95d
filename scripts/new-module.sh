#!/usr/bin/env bash
# scripts/new-module.sh NAME [--method NAME[:ro]]… — scaffold a working module.
#
# Creates src/modules/NAME/ (typed iface header with its version, descriptor,
# one handler per method, schemas, a migration, a cmocka test on the
# keel_test_rt fixture), tests/e2e/e2e_NAME.sh (every method over HTTP, the CLI
# and from another process by placement) and docs/NAME.md, adds NAME to
# src/modules/modules.txt and re-derives the deploy/doc module lists
# (scripts/modules.sh sync).  The build and ./scripts/test.sh pass right after.
# Default methods: add (stores {"text"} for the caller) and list:ro (the
# caller's items).  A write method stores; a :ro method (KEEL_READONLY) lists.
# Refuses: a bad name, an existing module, a name whose storage prefix
# (NAME_*) overlaps another module's, reserved names.  Exit 2 on refusal.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
usage() { echo "usage: scripts/new-module.sh NAME [--method NAME[:ro]]…" >&2; exit 2; }
die() { echo "new-module: $*" >&2; exit 2; }

[ $# -ge 1 ] || usage
N=$1; shift
METHODS=()
while [ $# -gt 0 ]; do
    case "$1" in
    --method) [ $# -ge 2 ] || usage; METHODS+=("$2"); shift 2 ;;
    --method=*) METHODS+=("${1#--method=}"); shift ;;
    *) usage ;;
    esac
done
[ ${#METHODS[@]} -gt 0 ] || METHODS=(add list:ro)

[[ "$N" =~ ^[a-z][a-z0-9_]{0,30}$ ]] || die "'$N' is not a module name: use [a-z][a-z0-9_]*, at most 31 characters"
[[ "$N" != *_ ]] || die "'$N' ends with '_': its tables would read ${N}_items"
case "$N" in
keel|keel_*|sqlite*) die "'$N' is reserved: keel, keel_* and sqlite* name the core's and SQLite's storage" ;;
serve|modules|call|config|migrate|health|version|help|jobs) die "'$N' is a keel command (keel $N)" ;;
esac
EXISTING=$(grep -Ev '^[[:space:]]*(#|$)' "$ROOT/src/modules/modules.txt" | tr -d '[:blank:]')
for m in $EXISTING $(cd "$ROOT/src/modules" && ls -d */ 2>/dev/null | tr -d /); do
    [ "$m" != "$N" ] || die "module '$N' exists already (src/modules/$N or src/modules/modules.txt)"
    case "$N" in "${m}_"*) die "'$N' collides with module '$m': its tables ${N}_* are inside $m's storage prefix ${m}_*" ;; esac
    case "$m" in "${N}_"*) die "'$N' collides with module '$m': $m's tables ${m}_* are inside the prefix ${N}_*" ;; esac
done
[ ! -e "$ROOT/tests/e2e/e2e_$N.sh" ] || die "tests/e2e/e2e_$N.sh exists already"
[ ! -e "$ROOT/docs/$N.md" ] || die "docs/$N.md exists already"

NAMES=() RO=()
for spec in "${METHODS[@]}"; do
    name=${spec%%:*} flag=""
    [ "$spec" = "$name" ] || flag=${spec#*:}
    [[ "$name" =~ ^[a-z][a-z0-9_]{0,40}$ ]] || die "'$name' is not a method name: use [a-z][a-z0-9_]*"
    [ -z "$flag" ] || [ "$flag" = ro ] || die "method '$spec': the only flag is :ro"
    for x in "${NAMES[@]:-}"; do [ "$x" != "$name" ] || die "method '$name' is given twice"; done
    NAMES+=("$name"); RO+=("$([ "$flag" = ro ] && echo 1 || echo 0)")
done
UP=$(tr '[:lower:]' '[:upper:]' <<<"$N")
D="$ROOT/src/modules/$N"
mkdir -p "$D/schema" "$D/migrations" "$D/tests"

# ---- the typed interface ----------------------------------------------------
{
cat <<EOF
/*
 * $N.h — the $N module's typed interface (docs/$N.md).
 *
 *     keel_module_ctx *self;
 *     const ${N}_iface *x = keel_iface(ctx, "$N", ${UP}_IFACE_V1, &self);
 *     rc = x ? x->${NAMES[0]}(self, ctx, in, &out) : KEEL_EUNAVAIL;
 *
 * Every member: self = $N's module ctx, ctx = the caller's; in borrowed, *out
 * new reference (caller frees).  Append-only: new members at the end under
 * "since vN" with ${UP}_IFACE_VERSION moved (docs/modules.md).
 */
#ifndef ${UP}_${UP}_H
#define ${UP}_${UP}_H
#include "keel/keel.h"

#define ${UP}_IFACE_V1      1u
#define ${UP}_IFACE_VERSION ${UP}_IFACE_V1

typedef struct ${N}_iface {
    unsigned version; /* ${UP}_IFACE_VERSION */
    /* since v1 */
EOF
for m in "${NAMES[@]}"; do
    echo "    int (*$m)(keel_module_ctx *self, keel_ctx *ctx, const json_t *in, json_t **out);"
done
cat <<EOF
} ${N}_iface;

extern const keel_module keel_module_$N;

#endif /* ${UP}_${UP}_H */
EOF
} >"$D/$N.h"

# ---- descriptor, logic, handlers, iface --------------------------------------
{
cat <<EOF
/*
 * $N.c — the $N module: each method's logic is one typed function
 * (self, ctx, in, out); the generic handler (HTTP, CLI, remote) and the
 * typed iface (in-process) both run it.  Storage: table ${N}_items,
 * one row per item, owned by the caller (docs/auth.md).
 */
#include "keel/client.h"
#include "$N.h"
#include "${N}_embedded.h"

/* ---- the methods' logic: replace with yours --------------------------------- */

/* Runs sql with params (stolen) on $N's own store; *rows new reference. */
static int ${N}_sql(keel_module_ctx *self, keel_ctx *ctx, const char *sql, json_t *params,
                    json_t **rows)
{
    keel_store *st = keel_module_store(self);
    int rc;

    *rows = NULL;
    if (params == NULL)
        return KEEL_ENOMEM;
    rc = st != NULL ? keel_store_exec(st, sql, params, rows)
                    : keel_ctx_error(ctx, KEEL_EUNAVAIL, "$N is not started in this process");
    json_decref(params);
    return rc;
}

/* A write method: stores in.text for the caller; {"id": n}. */
static int ${N}_store(keel_module_ctx *self, keel_ctx *ctx, const char *method,
                      const json_t *in, json_t **out)
{
    json_t *rows = NULL;
    int rc = ${N}_sql(self, ctx, "INSERT INTO ${N}_items (owner, method, body) "
                      "VALUES (\$1, \$2, \$3) RETURNING id",
                      json_pack("[I,s,s]", (json_int_t)keel_ctx_user_id(ctx), method,
                                json_string_value(json_object_get(in, "text"))), &rows);

    if (rc == 0 && (*out = json_pack("{s:O}", "id", json_object_get(json_array_get(rows, 0),
                                                                    "id"))) == NULL)
        rc = KEEL_ENOMEM;
    json_decref(rows);
    return rc;
}

/* A read-only method: the caller's items, newest first; {"items": […]}. */
static int ${N}_items(keel_module_ctx *self, keel_ctx *ctx, const json_t *in, json_t **out)
{
    json_t *rows = NULL;
    int rc = ${N}_sql(self, ctx, "SELECT id, method, body FROM ${N}_items WHERE owner = \$1 "
                      "ORDER BY id DESC LIMIT 100",
                      json_pack("[I]", (json_int_t)keel_ctx_user_id(ctx)), &rows);

    (void)in;
    if (rc == 0 && (*out = json_pack("{s:o}", "items", rows)) == NULL)
        rc = KEEL_ENOMEM;
    return rc;
}

EOF
for i in "${!NAMES[@]}"; do
    m=${NAMES[$i]}
    if [ "${RO[$i]}" = 1 ]; then
        printf 'static int %s_%s(keel_module_ctx *self, keel_ctx *ctx, const json_t *in, json_t **out)\n{\n    return %s_items(self, ctx, in, out);\n}\n\n' "$N" "$m" "$N"
    else
        printf 'static int %s_%s(keel_module_ctx *self, keel_ctx *ctx, const json_t *in, json_t **out)\n{\n    return %s_store(self, ctx, "%s", in, out);\n}\n\n' "$N" "$m" "$N" "$m"
    fi
done
echo "/* ---- wiring: generic handlers, typed iface (local + client), descriptor ----- */"
echo
for m in "${NAMES[@]}"; do
    echo "KEEL_HANDLER_TYPED(h_$m, ${N}_$m)"
    echo "KEEL_CLIENT_JSON(c_$m, \"$N\", \"$m\")"
done
echo
echo "static const ${N}_iface ${N}_local = {"
echo "    .version = ${UP}_IFACE_VERSION,"
for m in "${NAMES[@]}"; do echo "    .$m = ${N}_$m,"; done
echo "};"
echo "static const ${N}_iface ${N}_client = {"
echo "    .version = ${UP}_IFACE_VERSION,"
for m in "${NAMES[@]}"; do echo "    .$m = c_$m,"; done
echo "};"
echo
echo "static const keel_method ${N}_methods[] = {"
for i in "${!NAMES[@]}"; do
    m=${NAMES[$i]}
    if [ "${RO[$i]}" = 1 ]; then
        echo "    {.name = \"$m\", .handler = h_$m, .flags = KEEL_READONLY | KEEL_IDEMPOTENT,"
        echo "     .summary = \"Lists the caller's $N items\","
    else
        echo "    {.name = \"$m\", .handler = h_$m, .summary = \"Stores a text item for the caller\","
    fi
    echo "     .in_schema = ${N}_schema_${m}_in, .out_schema = ${N}_schema_${m}_out},"
done
cat <<EOF
    {0}
};

const keel_module keel_module_$N = {
    .abi           = KEEL_ABI,
    .name          = "$N",
    .version       = "0.1.0",
    .summary       = "$N (scaffolded: describe it in one line)",
    .methods       = ${N}_methods,
    .migrations    = ${N}_migrations,
    .iface         = &${N}_local,
    .iface_version = ${UP}_IFACE_VERSION,
    .client        = &${N}_client,
};
EOF
} >"$D/$N.c"

echo "keel_add_module($N SOURCES $N.c)" >"$D/CMakeLists.txt"

cat >"$D/migrations/0001_init.sql" <<EOF
-- $N: one row per item, owned by the user who stored it (0: the operator).
CREATE TABLE ${N}_items (
    id     INTEGER PRIMARY KEY,
    owner  INTEGER NOT NULL,
    method TEXT    NOT NULL,
    body   TEXT    NOT NULL
);
CREATE INDEX ${N}_items_owner ON ${N}_items (owner, id);
EOF

for i in "${!NAMES[@]}"; do
    m=${NAMES[$i]}
    if [ "${RO[$i]}" = 1 ]; then
        cat >"$D/schema/$m.in.json" <<EOF
{
  "type": "object",
  "description": "$N.$m: no input.",
  "properties": {},
  "additionalProperties": false
}
EOF
        cat >"$D/schema/$m.out.json" <<EOF
{
  "type": "object",
  "properties": {
    "items": {"type": "array", "items": {"type": "object",
      "properties": {"id": {"type": "integer"}, "method": {"type": "string"}, "body": {"type": "string"}},
      "required": ["id", "method", "body"], "additionalProperties": false}}
  },
  "required": ["items"],
  "additionalProperties": false
}
EOF
    else
        cat >"$D/schema/$m.in.json" <<EOF
{
  "type": "object",
  "description": "$N.$m: a text to store for the caller.",
  "properties": {
    "text": {"type": "string", "minLength": 1, "maxLength": 4096}
  },
  "required": ["text"],
  "additionalProperties": false
}
EOF
        cat >"$D/schema/$m.out.json" <<EOF
{
  "type": "object",
  "properties": {"id": {"type": "integer"}},
  "required": ["id"],
  "additionalProperties": false
}
EOF
    fi
done

# ---- the unit test -------------------------------------------------------------
W="" ; R=""
for i in "${!NAMES[@]}"; do
    if [ "${RO[$i]}" = 1 ]; then [ -n "$R" ] || R=${NAMES[$i]}; else [ -n "$W" ] || W=${NAMES[$i]}; fi
done
{
cat <<EOF
/*
 * test_$N.c — $N through the runtime (keel_test_rt fixture, docs/testing.md):
 * every method by name and through the typed iface, and the schema refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fakes/test_runtime.h"
#include "$N/$N.h"

static int setup(void **state)
{
    static const keel_module *const mods[] = { &keel_module_$N, NULL };
    struct keel_test_rt *t = calloc(1, sizeof *t);
    char err[512];

    if (t == NULL || keel_test_rt_start(t, "$N", mods, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "setup: %s\n", t ? err : "out of memory");
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    int rc = keel_test_rt_stop(*state);
    free(*state);
    return rc;
}

/* $N.method(in_text) as the CLI operator; *out new reference or NULL. */
static int call(struct keel_test_rt *t, const char *method, const char *in_text, json_t **out)
{
    keel_ctx *ctx = keel__ctx_new(t->rt, KEEL_TR_CLI, "r-test-$N", 0);
    json_t *in = json_loads(in_text, 0, NULL);
    int rc;

    assert_non_null(ctx);
    assert_non_null(in);
    rc = keel__call_root(ctx, "$N", method, in, out);
    json_decref(in);
    keel__ctx_free(ctx);
    return rc;
}

static void test_every_method(void **state)
{
    json_t *out = NULL;

EOF
for i in "${!NAMES[@]}"; do
    m=${NAMES[$i]}
    if [ "${RO[$i]}" = 1 ]; then
        echo "    assert_int_equal(call(*state, \"$m\", \"{}\", &out), 0);"
        echo "    assert_true(json_is_array(json_object_get(out, \"items\")));"
        echo "    json_decref(out);"
        echo "    assert_int_equal(call(*state, \"$m\", \"{\\\"nope\\\":1}\", &out), KEEL_EINVAL);"
    else
        echo "    assert_int_equal(call(*state, \"$m\", \"{\\\"text\\\":\\\"hello\\\"}\", &out), 0);"
        echo "    assert_true(json_integer_value(json_object_get(out, \"id\")) >= 1);"
        echo "    json_decref(out);"
        echo "    assert_int_equal(call(*state, \"$m\", \"{}\", &out), KEEL_EINVAL);   /* text is required */"
    fi
    echo "    assert_null(out);"
done
cat <<EOF
}

static void test_typed_iface(void **state)
{
    struct keel_test_rt *t = *state;
    keel_ctx *ctx = keel__ctx_new(t->rt, KEEL_TR_LOCAL, "r-test-$N-typed", 0);
    keel_module_ctx *self = NULL;
    const ${N}_iface *x = keel_iface(ctx, "$N", ${UP}_IFACE_VERSION, &self);
    json_t *in = json_pack("{s:s}", "text", "typed"), *out = NULL;

    assert_non_null(x);
    assert_ptr_equal(self, keel__rt_find(t->rt, "$N"));
    assert_int_equal(x->version, ${UP}_IFACE_VERSION);
EOF
for m in "${NAMES[@]}"; do
    echo "    assert_int_equal(x->$m(self, ctx, in, &out), 0);"
    echo "    json_decref(out);"
    echo "    out = NULL;"
done
if [ -n "$W" ] && [ -n "$R" ]; then
cat <<EOF
    /* what $W stored, $R lists */
    assert_int_equal(x->$R(self, ctx, NULL, &out), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(out, "items"), 0), "body")), "typed");
    json_decref(out);
EOF
fi
cat <<EOF
    json_decref(in);
    keel__ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_typed_iface, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
EOF
} >"$D/tests/test_$N.c"

# ---- the end-to-end test ------------------------------------------------------------
{
cat <<EOF
#!/usr/bin/env bash
# e2e_$N.sh — every $N method over HTTP, the CLI, and from another process
# (placement: KEEL_REMOTE_$UP).  Scaffolded by scripts/new-module.sh.
. "\$(dirname "\$0")/lib.sh"
if ! "\$KEEL_BIN" modules 2>/dev/null | grep -q '^$N\b'; then
    echo "SKIP - $N is not built into \$KEEL_BIN"; e2e_done; exit 0
fi
export KEEL_DATABASE_URL="sqlite:\$E2E_TMP/cli.db"
keel_serve A KEEL_AUTH_DISABLED=1
keel_serve B KEEL_AUTH_DISABLED=1 KEEL_REMOTE_$UP=http://127.0.0.1:\$A
EOF
for i in "${!NAMES[@]}"; do
    m=${NAMES[$i]}
    if [ "${RO[$i]}" = 1 ]; then body='{}' cli=""; key=items; else body='{"text":"hi"}' cli="--text hi"; key=id; fi
cat <<EOF
http POST "http://127.0.0.1:\$A/v1/$N/$m" -H 'Content-Type: application/json' -d '$body'
expect_status "HTTP: $N.$m" 200
[ -n "\$(jget "\$HTTP_BODY" $key)" ] && ok "HTTP: $N.$m answers $key" || fail "HTTP: $N.$m: \${HTTP_BODY:0:200}"
out=\$("\$KEEL_BIN" $N $m $cli 2>"\$E2E_TMP/cli.err") && rc=0 || rc=\$?
expect_eq "CLI: keel $N $m exits 0" "\$rc" 0
[ -n "\$(jget "\$out" $key)" ] && ok "CLI: $N.$m answers $key" || fail "CLI: $N.$m: \${out:0:200} \$(head -c 200 "\$E2E_TMP/cli.err")"
http POST "http://127.0.0.1:\$B/v1/$N/$m" -H 'Content-Type: application/json' -d '$body'
expect_status "placement: $N.$m through B (remote to A)" 200
EOF
done
cat <<EOF
http GET "http://127.0.0.1:\$B/v1/modules"
expect_contains "B places $N remotely" "\$HTTP_BODY" "127.0.0.1:\$A"
e2e_done
EOF
} >"$ROOT/tests/e2e/e2e_$N.sh"

# ---- the docs page (a starting page) ------------------------------------------------------------
{
echo "# $N"
echo
echo "One line on what $N is for (scaffolded by \`scripts/new-module.sh\`; replace this page's text)."
echo
echo "| method | flags | input | output |"
echo "| --- | --- | --- | --- |"
for i in "${!NAMES[@]}"; do
    m=${NAMES[$i]}
    if [ "${RO[$i]}" = 1 ]; then echo "| \`$m\` | read-only | \`{}\` | \`{\"items\":[{\"id\",\"method\",\"body\"}]}\` |"
    else echo "| \`$m\` | write | \`{\"text\": \"…\"}\` | \`{\"id\": n}\` |"; fi
done
echo
echo "Each method answers on \`POST /v1/$N/<method>\`, \`keel $N <method> [--text …]\`, in-process"
echo "through \`${N}_iface\` (\`src/modules/$N/$N.h\`), and from another process when"
echo "\`KEEL_REMOTE_$UP=http://…\` places it there. Items belong to the caller: every query filters"
echo "on the caller's user id ([auth.md](auth.md)). Schemas: \`src/modules/$N/schema/\`."
} >"$ROOT/docs/$N.md"

echo "$N" >>"$ROOT/src/modules/modules.txt"
"$ROOT/scripts/modules.sh" sync
echo "created src/modules/$N (methods: ${METHODS[*]}), tests/e2e/e2e_$N.sh, docs/$N.md; listed in src/modules/modules.txt"
echo "next: cmake -S . -B build && cmake --build build && ctest --test-dir build -R '$N'"
