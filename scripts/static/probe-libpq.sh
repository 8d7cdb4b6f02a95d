#!/usr/bin/env bash
# scripts/static/probe-libpq.sh [postgres-url]
#
# Proves Debian 12's libpq links fully statically (for the next wave's
# PostgreSQL store): a tiny client linked with -static against libpq.a,
# libpgcommon.a, libpgport.a (postgresql-server-dev-15), libssl.a, libcrypto.a
# and scripts/static/pq-unsupported.c (GSSAPI/LDAP stand-ins).  Checks the result has
# no dynamic section; with a URL, connects and prints the server version
# (exit 1 if the connection fails).  Without a URL it connects to a closed
# local port and expects libpq's clean "connection refused" error.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pglib=/usr/lib/postgresql/15/lib
for a in "$(gcc -print-file-name=libpq.a)" "$pglib/libpgcommon.a" "$pglib/libpgport.a"; do
    [ -f "$a" ] || { echo "probe-libpq: missing $a (libpq-dev, postgresql-server-dev-15)" >&2; exit 1; }
done
work=$(mktemp -d --suffix=-keel-pq -p "${TMPDIR:-/tmp}")
trap 'rm -rf "$work"' EXIT
cat >"$work/pq.c" <<'EOF'
#include <stdio.h>
#include <libpq-fe.h>
int main(int argc, char **argv)
{
    const char *url = argc > 1 ? argv[1] : "host=127.0.0.1 port=1 connect_timeout=2";
    PGconn *c = PQconnectdb(url);
    int ok = PQstatus(c) == CONNECTION_OK;
    if (ok)
        printf("connected: server %d, libpq %d\n", PQserverVersion(c), PQlibVersion());
    else
        printf("not connected (libpq %d): %s", PQlibVersion(), PQerrorMessage(c));
    PQfinish(c);
    return ok ? 0 : 1;
}
EOF
gcc -O2 -static -o "$work/pq" -I"$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)" \
    "$work/pq.c" "$here/pq-unsupported.c" -L"$pglib" -lpq -lpgcommon -lpgport -lssl -lcrypto -lpthread -ldl -lm \
    2>"$work/link.log" || { cat "$work/link.log" >&2; exit 1; }
warned=$(grep -o "Using '[a-z_0-9]*' in statically linked" "$work/link.log" | cut -d"'" -f2 | sort -u | tr '\n' ' ' || true)
readelf -d "$work/pq" 2>&1 | grep -q "no dynamic section" || { echo "probe-libpq: not static" >&2; exit 1; }
echo "static libpq client: $(stat -c %s "$work/pq") bytes, no dynamic section; glibc NSS warnings: ${warned:-none}"
if [ $# -gt 0 ]; then
    "$work/pq" "$1"
else
    out=$("$work/pq" || true)
    echo "$out"
    case "$out" in *"Connection refused"*) ;; *) echo "probe-libpq: unexpected answer" >&2; exit 1;; esac
fi
