#!/usr/bin/env bash
# scripts/verify-scratch.sh [path-to-static-keel]
# scripts/verify-scratch.sh --rootfs DIR path-to-static-keel
#
# Proves, without a Docker daemon, that the static keel runs in a FROM scratch
# image:
#   1. static checks (never skipped): static PIE (ELF DYN), full RELRO, no
#      executable stack, no NEEDED, no INTERP;
#   2. lays out a root dir holding exactly the files the image holds
#      (the Dockerfile's build stage calls `--rootfs` to make the same tree);
#   3. runs `keel serve` in that root as 65534:65534 and checks /healthz,
#      /readyz, `keel health`, a kv write + read back, a compute call, a
#      split deployment (gateway → compute by a host name from /etc/hosts),
#      and PostgreSQL: a SCRAM login to a throw-away cluster, a kv write psql
#      finds in schema kv, read back (skipped, saying why, without postgresql);
#   4. builds a FROM scratch image from the binary with podman (offline) and
#      prints its size, or prints "skip: <reason>".
# Default binary: <repo>/build-static/keel (built by scripts/build-static.sh
# if missing).  Exit status non-zero on any failed check.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "verify-scratch: $*" >&2; exit 1; }

# ---- the image's filesystem ---------------------------------------------------
# make_rootfs DIR BIN: DIR/image is the image's tree: /keel, the CA bundle,
# passwd/group (nobody 65534), nsswitch.conf, hosts, /tmp (1777), /var/lib;
# DIR/volume is the empty data directory that becomes /var/lib/keel, owned by
# 65534 (the Dockerfile COPY --chown's it; kept apart so nothing else is).
make_rootfs() {
    local dir=$1 bin=$2 ca=/etc/ssl/certs/ca-certificates.crt
    local root=$dir/image
    [ -f "$ca" ] || die "no CA bundle at $ca (install ca-certificates)"
    rm -rf "$root" "$dir/volume"
    mkdir -p "$root/etc/ssl/certs" "$root/etc/keel" "$root/tmp" "$root/var/lib" "$dir/volume"
    install -m 0755 "$bin" "$root/keel"
    install -m 0644 "$ca" "$root/etc/ssl/certs/ca-certificates.crt"
    printf 'root:x:0:0:root:/:/keel\nnobody:x:65534:65534:nobody:/nonexistent:/keel\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
    # glibc >= 2.34 has the files and dns NSS backends inside libc.a, so a
    # static binary resolves names with these two files and the
    # /etc/resolv.conf that docker/kubernetes mount.  No other backend exists.
    printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
    # Image defaults in the config-file layer (KEEL_CONFIG): environment and
    # KEEL_…_FILE secrets override them without clashing.
    printf '{"database_url": "sqlite:/var/lib/keel/keel.db", "data_dir": "/var/lib/keel"}\n' \
        >"$root/etc/keel/keel.json"
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n' >"$root/etc/hosts"
    chmod 1777 "$root/tmp"
    chmod 0755 "$dir/volume"
    if [ "$(id -u)" = 0 ]; then chown 65534:65534 "$dir/volume"; fi
}

# as_root DIR: the tree a container sees (image + volume at /var/lib/keel) in DIR/root.
as_root() {
    cp -a "$1/image" "$1/root"
    cp -a "$1/volume" "$1/root/var/lib/keel"
}

if [ "${1:-}" = "--rootfs" ]; then
    [ $# -eq 3 ] || die "usage: $0 --rootfs DIR path-to-static-keel"
    make_rootfs "$2" "$3"
    echo "rootfs: $2/image + $2/volume"
    exit 0
fi

bin=${1:-$here/build-static/keel}
if [ ! -x "$bin" ] && [ $# -eq 0 ]; then
    echo "no $bin yet: building it"
    "$here/scripts/build-static.sh" >/dev/null
fi
[ -x "$bin" ] || die "no executable at $bin"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

pass=0; failed=0
ok()   { pass=$((pass+1)); echo "ok   - $*"; }
fail() { failed=$((failed+1)); echo "FAIL - $*"; }
skip() { echo "skip: $*"; }

# ---- 1. static checks (never skipped) ------------------------------------------
# a static PIE: its dynamic section only relocates itself (no NEEDED, no INTERP)
if readelf -h "$bin" | grep -q 'Type:.*DYN'; then ok "position-independent (static PIE: ASLR)"; else fail "not PIE: $(readelf -h "$bin" | grep Type:)"; fi
if readelf -l "$bin" | grep -q GNU_RELRO && readelf -d "$bin" | grep -qE 'BIND_NOW|FLAGS.*NOW'; then ok "full RELRO (GNU_RELRO + BIND_NOW)"; else fail "not full RELRO"; fi
if readelf -lW "$bin" | grep GNU_STACK | grep -q RWE; then fail "executable stack"; else ok "non-executable stack"; fi
if readelf -d "$bin" 2>/dev/null | grep -q NEEDED; then fail "NEEDED entries: $(readelf -d "$bin" | grep NEEDED | tr -s ' ')"; else ok "no NEEDED entries"; fi
if readelf -l "$bin" | grep -q INTERP; then fail "INTERP header present"; else ok "no INTERP header"; fi
if readelf -S "$bin" | grep -q '\.symtab'; then fail "not stripped (.symtab present)"; else ok "stripped"; fi
size=$(stat -c %s "$bin")
echo "binary: $bin ($size bytes)"

# ---- 2. the root dir ----------------------------------------------------------
work=$(mktemp -d --suffix=-keel-scratch -p "${TMPDIR:-/tmp}")
pids=()
pg_tmp=""
pg_stop() {
    if [ -n "$pg_tmp" ]; then
        "$here/scripts/pg-cluster.sh" stop "$pg_tmp/c" >/dev/null 2>&1 || true
        rm -rf "$pg_tmp"
        pg_tmp=""
    fi
}
cleanup() {
    local p
    for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
    pg_stop
}
trap cleanup EXIT
make_rootfs "$work" "$bin"
as_root "$work"
root=$work/root
want="./etc ./etc/group ./etc/hosts ./etc/keel ./etc/keel/keel.json ./etc/nsswitch.conf ./etc/passwd ./etc/ssl ./etc/ssl/certs ./etc/ssl/certs/ca-certificates.crt ./keel ./tmp ./var ./var/lib ./var/lib/keel"
got=$(cd "$root" && find . -mindepth 1 | sort | tr '\n' ' ' | sed 's/ $//')
if [ "$got" = "$want" ]; then ok "rootfs holds only the image's files"; else fail "rootfs: got '$got'"; fi

# ---- 3. run it in the empty root as 65534 ----------------------------------------
# Runner: as root, chroot --userspec (CI runs as root too); otherwise an
# unprivileged user namespace (unshare -r, uid 0 inside = you outside).
runner=()
if [ "$(id -u)" = 0 ]; then
    runner=("$(command -v chroot)" --userspec=65534:65534 "$root")
    want_uid=65534
elif unshare -r true >/dev/null 2>&1; then
    runner=("$(command -v unshare)" -r --root="$root")
    want_uid=$(id -u)
    echo "note: not root; running in a user namespace as uid $want_uid (65534 needs root)"
fi

# The final stage's ENV, as the container gets it (KEY=VALUE words, no spaces).
image_env=()
while read -r kv; do image_env+=("$kv"); done < <(sed -n '/^FROM scratch/,$p' "$here/Dockerfile" \
    | awk '/^ENV /{f=1} f{print} f && !/\\$/{f=0}' | sed -e 's/^ENV //' -e 's/\\$//' | tr -s ' \t' '\n' | grep '=')
[ ${#image_env[@]} -gt 0 ] || die "no ENV found in the Dockerfile's FROM scratch stage"

free_port() {
    python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1]);s.close()'
}

# start NAME ENV...: starts /keel serve in the root; sets PORT_<NAME>, PID_<NAME>.
# Processes trust each other by a service token; the single-process and
# gateway checks run with auth disabled, which keel allows on loopback only.
svc_token=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
start() {
    local name=$1; shift
    local port; port=$(free_port)
    env -i "${image_env[@]}" KEEL_HOST=127.0.0.1 KEEL_PORT="$port" KEEL_THREADS=1 "$@" \
        "${runner[@]}" /keel serve >"$work/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    printf -v "PORT_$name" '%s' "$port"
    printf -v "PID_$name" '%s' "$pid"
    local i
    for i in $(seq 1 100); do
        if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then return 0; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "--- $name log:"; cat "$work/$name.log"
    return 1
}

# post URL JSON: sets STATUS, BODY.
post() {
    STATUS=$(curl -sS -o "$work/body" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
             --data "$2" "$1" || echo 000)
    BODY=$(cat "$work/body" 2>/dev/null || true)
}

if [ ${#runner[@]} -eq 0 ]; then
    skip "cannot run in an empty root: not root and no unprivileged user namespaces (unshare -r)"
else
    if start main KEEL_AUTH_DISABLED=1; then
        ok "keel serve answers /healthz from the empty root"
        base=http://127.0.0.1:$PORT_main
        uid=$(awk '/^Uid:/{print $2}' "/proc/$PID_main/status" 2>/dev/null || true)
        # The pid we hold may be chroot's own pid (it execs keel, so the same).
        if [ "$uid" = "$want_uid" ]; then ok "runs as uid $want_uid"; else fail "runs as uid '$uid', want $want_uid"; fi
        code=$(curl -sS -o /dev/null -w '%{http_code}' "$base/readyz" || echo 000)
        if [ "$code" = 200 ]; then ok "/readyz 200"; else fail "/readyz $code"; fi
        if env -i "${image_env[@]}" KEEL_PORT="$PORT_main" "${runner[@]}" /keel health >"$work/health.out" 2>&1; then
            ok "keel health (the image HEALTHCHECK) exits 0"
        else
            fail "keel health exits non-zero: $(head -c 300 "$work/health.out")"
        fi
        post "$base/v1/kv/put" '{"key":"scratch","value":"works"}'
        if [ "$STATUS" = 200 ]; then ok "kv put 200"; else fail "kv put: $STATUS $BODY"; fi
        post "$base/v1/kv/get" '{"key":"scratch"}'
        case "$STATUS $BODY" in
            200*works*) ok "kv get reads it back" ;;
            *) fail "kv get: $STATUS $BODY" ;;
        esac
        if [ -s "$root/var/lib/keel/keel.db" ] && [ "$(stat -c %u "$root/var/lib/keel/keel.db")" = "$want_uid" ]; then
            ok "SQLite file (image default URL) written in the volume /var/lib/keel by uid $want_uid"
        else
            fail "no SQLite file owned by $want_uid in /var/lib/keel: $(ls -ln "$root/var/lib/keel" | tr '\n' ' ')"
        fi
        post "$base/v1/compute/synth" '{"plan":"walk:5","seed":7}'
        case "$STATUS $BODY" in
            200*'"csv"'*) ok "compute synth 200 with a csv" ;;
            *) fail "compute synth: $STATUS ${BODY:0:300}" ;;
        esac
    else
        fail "keel serve did not answer /healthz in the empty root"
    fi

    # Split placement, name resolved by the image's /etc/hosts + nsswitch.conf
    # (static glibc, no NSS modules on disk): gateway → http://keel-compute:PORT.
    printf '127.0.0.1\tkeel-compute\n' >>"$root/etc/hosts"
    compute_up=0
    if start compute KEEL_MODULES_LOCAL=compute "KEEL_SERVICE_TOKEN=$svc_token"; then
        compute_up=1
        # the gateway gets its database URL as deployments do: a _FILE secret
        mkdir -p "$root/run/secrets"
        printf 'sqlite:/var/lib/keel/gw.db\n' >"$root/run/secrets/db_url"
        if start gw KEEL_MODULES_LOCAL=echo,kv KEEL_DATABASE_URL_FILE=/run/secrets/db_url \
                KEEL_AUTH_DISABLED=1 "KEEL_SERVICE_TOKEN=$svc_token" \
                "KEEL_REMOTE_COMPUTE=http://keel-compute:$PORT_compute"; then
            if [ -s "$root/var/lib/keel/gw.db" ]; then ok "KEEL_DATABASE_URL_FILE overrides the image default"; else fail "gateway did not use KEEL_DATABASE_URL_FILE"; fi
            post "http://127.0.0.1:$PORT_gw/v1/compute/synth" '{"plan":"walk:5","seed":7}'
            if [ "$STATUS" = 200 ] && [ "${BODY#*\"csv\"}" != "$BODY" ]; then ok "gateway → compute by host name (static NSS files), with the service token"; else fail "gateway → compute: $STATUS ${BODY:0:300}"; fi
            post "http://127.0.0.1:$PORT_compute/v1/compute/synth" '{"plan":"walk:5","seed":7}'
            if [ "$STATUS" = 401 ]; then ok "compute checks its callers (no token: 401)"; else fail "compute without a token: $STATUS ${BODY:0:200}"; fi
        else
            fail "gateway with KEEL_REMOTE_COMPUTE did not start"
        fi
    else
        fail "compute-only process did not start"
    fi

    # The same through DNS (glibc's built-in dns backend, as a Compose or
    # Kubernetes Service name resolves): a tiny resolver on 127.0.0.1:53
    # answers compute.keel.test; the root gets the resolv.conf a runtime mounts.
    if [ "$compute_up" = 1 ] && [ "$(id -u)" = 0 ] && ! ss -lun 2>/dev/null | grep -q '127.0.0.1:53 \|0.0.0.0:53 \|\*:53 '; then
        python3 - "$work/dns.ready" >"$work/dns.log" 2>&1 <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
open(sys.argv[1], "w").close()
while True:
    q, peer = s.recvfrom(512)
    qid, flags, qd = struct.unpack(">HHH", q[:6])
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode()); i += 1 + q[i]
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    question = q[12:i + 5]
    name = ".".join(labels).lower()
    known = name == "compute.keel.test"
    ans = b""
    if known and qtype == 1:
        ans = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 5, 4) + socket.inet_aton("127.0.0.1")
    rcode = 0 if known else 3
    hdr = struct.pack(">HHHHHH", qid, 0x8180 | rcode, 1, 1 if ans else 0, 0, 0)
    s.sendto(hdr + question + ans, peer)
PY
        pids+=("$!")
        for _ in $(seq 1 50); do [ -e "$work/dns.ready" ] && break; sleep 0.05; done
        printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$root/etc/resolv.conf"
        if [ ! -e "$work/dns.ready" ]; then
            skip "DNS resolution check: could not bind 127.0.0.1:53 ($(tail -1 "$work/dns.log"))"
        elif start gwdns KEEL_MODULES_LOCAL=echo,kv KEEL_AUTH_DISABLED=1 "KEEL_SERVICE_TOKEN=$svc_token" \
                "KEEL_REMOTE_COMPUTE=http://compute.keel.test:$PORT_compute"; then
            post "http://127.0.0.1:$PORT_gwdns/v1/compute/synth" '{"plan":"walk:5","seed":7}'
            if [ "$STATUS" = 200 ] && [ "${BODY#*\"csv\"}" != "$BODY" ]; then
                ok "gateway → compute by a DNS name (static glibc dns backend, /etc/resolv.conf)"
            else
                fail "gateway → compute by DNS: $STATUS ${BODY:0:300} (dns log: $(tail -3 "$work/dns.log"))"
            fi
        else
            fail "gateway with a DNS-named KEEL_REMOTE_COMPUTE did not start"
        fi
        rm -f "$root/etc/resolv.conf"
    else
        skip "DNS resolution check needs root, a compute process and a free 127.0.0.1:53"
    fi
fi

# ---- 3b. PostgreSQL from the empty root --------------------------------------------
# The static libpq (SCRAM from libpgcommon.a, no NSS modules) against a
# throw-away cluster (scripts/pg-cluster.sh): a login with a password over
# TCP, the URL read from a _FILE secret as deployments do, a kv write that
# psql then finds in the kv schema, and a read back through keel.
if [ ${#runner[@]} -eq 0 ]; then
    skip "PostgreSQL from the empty root: cannot run in an empty root"
elif ! command -v psql >/dev/null || ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    skip "PostgreSQL from the empty root: postgresql not installed (apt-get install postgresql)"
else
    pg_tmp=$(mktemp -d --suffix=-keel-scratch-pg -p "${TMPDIR:-/tmp}")
    chmod 0755 "$pg_tmp"
    if admin=$("$here/scripts/pg-cluster.sh" start "$pg_tmp/c" 2>"$pg_tmp/start.err"); then
        pgpw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
        pgport=${admin##*:}; pgport=${pgport%%/*}
        psql -q -v ON_ERROR_STOP=1 "$admin" -c "CREATE ROLE keel LOGIN CREATEROLE PASSWORD '$pgpw'" \
            -c "CREATE DATABASE keel OWNER keel" >/dev/null
        # the password is checked (SCRAM) for keel over TCP; the rest stays trust
        hba=$pg_tmp/c/data/pg_hba.conf
        { echo "host all keel 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$hba.new" && cat "$hba.new" >"$hba"
        psql -q "$admin" -c "SELECT pg_reload_conf()" >/dev/null
        mkdir -p "$root/run/secrets"
        printf 'postgres://keel:%s@127.0.0.1:%s/keel?sslmode=disable\n' "$pgpw" "$pgport" >"$root/run/secrets/pg_url"
        chmod 0444 "$root/run/secrets/pg_url"
        # the password is really checked: a wrong one is refused by the server
        printf 'postgres://keel:wrong@127.0.0.1:%s/keel?sslmode=disable\n' "$pgport" >"$root/run/secrets/pg_bad"
        chmod 0444 "$root/run/secrets/pg_bad"
        if env -i "${image_env[@]}" KEEL_DATABASE_URL_FILE=/run/secrets/pg_bad "${runner[@]}" /keel migrate \
                >"$pg_tmp/bad.out" 2>&1; then
            fail "a wrong PostgreSQL password was accepted"
        elif grep -q "password authentication failed" "$pg_tmp/bad.out"; then
            ok "a wrong password is refused (SCRAM checked by the server)"
        else
            fail "wrong password: $(head -c 300 "$pg_tmp/bad.out")"
        fi
        if start pg KEEL_MODULES_LOCAL=echo,kv KEEL_AUTH_DISABLED=1 KEEL_REPLICAS=2 \
                KEEL_DATABASE_URL_FILE=/run/secrets/pg_url; then
            ok "keel serve on PostgreSQL from the empty root (SCRAM login, URL from a _FILE secret)"
            post "http://127.0.0.1:$PORT_pg/v1/kv/put" '{"key":"scratch-pg","value":"on-postgres"}'
            if [ "$STATUS" = 200 ]; then ok "kv put on PostgreSQL 200"; else fail "kv put on PostgreSQL: $STATUS ${BODY:0:300}"; fi
            row=$(psql -At "${admin%/*}/keel" -c "SELECT value FROM kv.kv_items WHERE key = 'scratch-pg'" 2>&1 || true)
            if [ "$row" = on-postgres ]; then ok "psql finds the row in schema kv"; else fail "psql: kv.kv_items has '$row'"; fi
            post "http://127.0.0.1:$PORT_pg/v1/kv/get" '{"key":"scratch-pg"}'
            case "$STATUS $BODY" in
                200*on-postgres*) ok "kv get on PostgreSQL reads it back" ;;
                *) fail "kv get on PostgreSQL: $STATUS ${BODY:0:300}" ;;
            esac
            code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_pg/readyz" || echo 000)
            if [ "$code" = 200 ]; then ok "/readyz 200 on PostgreSQL"; else fail "/readyz on PostgreSQL: $code"; fi
        else
            fail "keel serve on PostgreSQL did not start from the empty root"
        fi
    else
        fail "could not start a PostgreSQL cluster: $(tail -3 "$pg_tmp/start.err")"
    fi
    pg_stop
fi

# ---- 4. the image, where a daemonless builder works offline ---------------------
# The Dockerfile's debian:12 stage needs a registry; this builds the same final
# layer set from the binary we already have (Containerfile.local: FROM scratch + COPY).
if command -v podman >/dev/null 2>&1; then
    ctx=$work/ctx
    mkdir -p "$ctx"
    make_rootfs "$ctx/rootfs" "$bin"
    sed -n '/^FROM scratch/,$p' "$here/Dockerfile" \
        | sed -e 's#--from=build ##' -e 's# /rootfs/# rootfs/#' >"$ctx/Containerfile.local"
    tag=localhost/keel:verify-scratch-$$
    if timeout 90 podman build -q --format docker -t "$tag" -f "$ctx/Containerfile.local" "$ctx" >"$work/podman.log" 2>&1; then
        isize=$(podman image inspect "$tag" --format '{{.Size}}' 2>/dev/null || echo "?")
        ok "podman built a FROM scratch image from Containerfile.local: $isize bytes"
        user=$(podman image inspect "$tag" --format '{{.Config.User}}' 2>/dev/null || echo "?")
        expect_img() { if [ "$2" = "$3" ]; then ok "image $1: $2"; else fail "image $1: '$2', want '$3'"; fi; }
        expect_img USER "$user" 65534:65534
        expect_img ENTRYPOINT "$(podman image inspect "$tag" --format '{{json .Config.Entrypoint}}' 2>/dev/null)" '["/keel"]'
        expect_img HEALTHCHECK "$(podman image inspect "$tag" --format '{{json .Config.Healthcheck.Test}}' 2>/dev/null)" '["CMD","/keel","health"]'
        if mnt=$(podman image mount "$tag" 2>/dev/null) && [ -n "$mnt" ]; then
            expect_img "/var/lib/keel owner" "$(stat -c %u:%g "$mnt/var/lib/keel")" 65534:65534
            expect_img "/var/lib owner" "$(stat -c %u:%g "$mnt/var/lib")" 0:0
            expect_img "/tmp mode" "$(stat -c %a "$mnt/tmp")" 1777
            expect_img "files" "$(cd "$mnt" && find . -mindepth 1 | sort | tr '\n' ' ' | sed 's/ $//')" "$want"
            podman image unmount "$tag" >/dev/null 2>&1 || true
        else
            skip "podman image mount needs root: image layout not inspected"
        fi
        podman rmi -f "$tag" >/dev/null 2>&1 || true
    else
        skip "podman build failed offline: $(tail -3 "$work/podman.log" | tr '\n' ' ')"
    fi
else
    skip "no podman (apt-get install -y podman) to build the image offline"
fi

echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
