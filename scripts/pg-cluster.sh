#!/usr/bin/env bash
# scripts/pg-cluster.sh — a throw-away PostgreSQL cluster for tests.
#   pg-cluster.sh start DIR   initdb + pg_ctl start in DIR (created), listening on a
#                             Unix socket in DIR and on a free loopback port;
#                             writes DIR/url (postgres://…) and prints it.
#   pg-cluster.sh stop DIR    fast shutdown (idempotent) and removes DIR.
#   pg-cluster.sh restart DIR fast restart on the same port (reconnect tests).
# Runs the server as an unprivileged user: the caller when not root, else
# "nobody" (PostgreSQL refuses to run as root).  Needs Debian's postgresql
# (initdb/pg_ctl under /usr/lib/postgresql/*/bin).  Exit 77 = not installed.
set -euo pipefail

bindir() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
    done
    command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return 0; }
    return 1
}

as_owner() {   # run "$@" as the cluster's owner
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }
BIN=$(bindir) || { echo "postgresql is not installed (apt-get install postgresql)" >&2; exit 77; }

case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir"
    chmod 0700 "$dir"
    port=$(free_port)
    as_owner "$BIN/initdb" -D "$dir/data" -U keel_admin -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
CONF
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log" >&2; exit 1; }
    echo "postgres://keel_admin@127.0.0.1:$port/postgres" >"$dir/url"
    echo "$BIN" >"$dir/bindir"
    cat "$dir/url"
    ;;
stop)
    if [ -d "$dir/data" ]; then
        as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
restart)
    as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m fast -w -t 60 restart >/dev/null
    ;;
*) echo "usage: $0 start|stop|restart DIR" >&2; exit 2 ;;
esac
