#!/usr/bin/env bash
# scripts/build-static.sh [BUILD_DIR] [-- extra cmake args]
#
# Builds one fully static, stripped `keel` (glibc static) and proves it is
# static: no dynamic section, no NEEDED entries, no INTERP program header.
# BUILD_DIR defaults to <repo>/build-static.  The last line of stdout is the
# path of the binary, so callers can do  BIN=$(scripts/build-static.sh | tail -1).
#
# Environment:
#   KEEL_MODULES   module list passed to CMake (default: CMake's default list)
#   JOBS           parallel build jobs (default 2)
#
# Needs the static archives Debian 12 ships in the -dev packages:
#   libevent-dev (libevent_core.a, libevent_extra.a, libevent_pthreads.a),
#   libjansson-dev (libjansson.a), libsqlite3-dev (libsqlite3.a),
#   libssl-dev (libcrypto.a), libargon2-dev (libargon2.a), zlib1g-dev (libz.a),
#   libc6-dev (libc.a, librt.a).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$here/build-static}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
jobs=${JOBS:-2}

die() { echo "build-static: $*" >&2; exit 1; }

for tool in cmake pkg-config gcc readelf strip; do
    command -v "$tool" >/dev/null || die "missing tool: $tool"
done

# ---- 1. every library the link needs must exist as a static archive --------
# Ask pkg-config for the --static link line of what CMakeLists.txt links and
# look each -lNAME up the way the compiler driver will.
pcs="libevent_core libevent_extra libevent_pthreads jansson sqlite3 libcrypto libargon2 zlib"
# ---- libpq (the PostgreSQL store) -------------------------------------------
# CMakeLists.txt links Debian 12's libpq.a (libpq-dev) with libpgcommon.a and
# libpgport.a (postgresql-server-dev-15, under `pg_config --pkglibdir`), TLS
# from libssl.a + libcrypto.a, and scripts/static/pq-unsupported.c in place of
# GSSAPI and LDAP (Debian ships no static libgssapi_krb5/libldap: those
# connection options answer "not available").  The archive check below covers
# the other libraries; the link itself fails loudly if a libpq archive is
# missing.  scripts/verify-scratch.sh logs in to PostgreSQL with SCRAM from
# the empty root.
extra_static_dirs=${extra_static_dirs:-}

libs=$(pkg-config --static --libs-only-l $pcs) || die "pkg-config failed for: $pcs"
libs="$libs -lc -lpthread -lm -ldl"
missing=0
seen=" "
for flag in $libs; do
    name=${flag#-l}
    case "$seen" in *" $name "*) continue;; esac
    seen="$seen$name "
    path=$(readlink -f "$(gcc -print-file-name="lib$name.a")" 2>/dev/null || echo "lib$name.a")
    if [ "$path" = "lib$name.a" ] && [ -n "$extra_static_dirs" ] && [ -f "$extra_static_dirs/lib$name.a" ]; then
        path="$extra_static_dirs/lib$name.a"
    fi
    if [ "$path" = "lib$name.a" ] || [ ! -f "$path" ]; then
        echo "build-static: missing static archive lib$name.a (for $flag)" >&2
        missing=1
    else
        echo "static: lib$name.a -> $path"
    fi
done
[ "$missing" -eq 0 ] || die "install the -dev packages that ship the archives above"

# ---- 2. configure + build ----------------------------------------------------
cmake_args=(-S "$here" -B "$build" -DKEEL_STATIC=ON -DKEEL_TESTS=OFF -DCMAKE_BUILD_TYPE=Release)
# KEEL_MODULES unset: drop a list cached by an earlier run, so the default applies
if [ -n "${KEEL_MODULES:-}" ]; then cmake_args+=("-DKEEL_MODULES=$KEEL_MODULES"); else cmake_args+=(-UKEEL_MODULES); fi
cmake "${cmake_args[@]}" "$@" >"$build.configure.log" 2>&1 || {
    cat "$build.configure.log" >&2; die "cmake configure failed"; }
rm -f "$build/keel"   # relink, so the link warnings below are this build's
cmake --build "$build" -j"$jobs" --target keel >"$build.build.log" 2>&1 || {
    tail -50 "$build.build.log" >&2; die "build failed (full log: $build.build.log)"; }

bin=$build/keel
[ -x "$bin" ] || die "no binary at $bin"

# glibc warns for every NSS-backed call linked statically (getaddrinfo,
# gethostbyname, getservbyname, getprotobynumber, dlopen).  keel needs none of
# the dlopen'ed NSS modules: glibc >= 2.34 builds the "files" and "dns"
# backends into libc.a, so /etc/hosts and /etc/resolv.conf work in a scratch
# image (docs/operations.md).  We list them so a new one is noticed.
warned=$(grep -o "Using '[a-z_0-9]*' in statically linked" "$build.build.log" | sort -u | cut -d"'" -f2 | tr '\n' ' ' || true)
[ -n "$warned" ] && echo "note: glibc static-link warnings (expected, see docs/operations.md): $warned"

strip --strip-all "$bin"

# ---- 3. prove it is static (and a hardened PIE) ------------------------------
# A static PIE has a dynamic section (its own relocations) but no NEEDED
# library and no INTERP loader; full RELRO, no executable stack.
if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then die "$bin has NEEDED entries"; fi
if readelf -l "$bin" | grep -q INTERP; then die "$bin has an INTERP header (dynamic loader)"; fi
readelf -h "$bin" | grep -q 'Type:.*DYN' || die "$bin is not position-independent (ELF type is not DYN)"
readelf -l "$bin" | grep -q GNU_RELRO || die "$bin has no GNU_RELRO segment"
readelf -d "$bin" | grep -qE 'BIND_NOW|FLAGS.*NOW' || die "$bin binds lazily (no BIND_NOW: partial RELRO)"
readelf -lW "$bin" | grep GNU_STACK | grep -q 'RWE' && die "$bin has an executable stack"

size=$(stat -c %s "$bin")
echo "ok: static PIE, full RELRO, stripped, $size bytes"
echo "$bin"
