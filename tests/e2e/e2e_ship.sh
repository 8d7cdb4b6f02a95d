#!/usr/bin/env bash
# e2e_ship.sh — the deployment manifests (deploy/) against the real binary:
# tests/deploy/validate.py must accept them, and must reject each of a few
# broken copies (so the validator's checks can fail).
. "$(dirname "$0")/lib.sh"
src=${KEEL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
validate=$src/tests/deploy/validate.py

# 1. the real manifests pass
if python3 "$validate" --keel "$KEEL_BIN" --deploy "$src/deploy" >"$E2E_TMP/valid.out" 2>&1; then
    ok "deploy/ manifests valid ($(grep -c '^ok' "$E2E_TMP/valid.out") checks)"
else
    fail "deploy/ manifests: $(grep -E '^(FAIL|skip)' "$E2E_TMP/valid.out" | head -20)"
fi
grep '^skip' "$E2E_TMP/valid.out" || true

# 2. each mutation must fail, naming the problem
# mutate NAME FILE PYTHON-EXPR EXPECTED-TEXT [validate args]: loads FILE (YAML,
# all docs as list `docs`), runs the statement, writes it back to a copy of
# deploy/.  Runs with --no-tools (skips the slow external validators) unless
# the 5th argument is "tools".
mutate() {
    local name=$1 file=$2 stmt=$3 want=$4 dir=$E2E_TMP/m-$1
    local args=(--no-tools)
    [ "${5:-}" = tools ] && args=()
    cp -a "$src/deploy" "$dir"
    python3 - "$dir/$file" "$stmt" <<'PY'
import sys, yaml
path, stmt = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
exec(stmt, {"docs": docs})
yaml.safe_dump_all(docs, open(path, "w"), sort_keys=False)
PY
    if python3 "$validate" --keel "$KEEL_BIN" --deploy "$dir" "${args[@]}" >"$dir.out" 2>&1; then
        fail "$name: validator accepted a broken manifest"
    elif grep '^FAIL' "$dir.out" | grep -q -- "$want"; then
        ok "$name: rejected ($want)"
    else
        fail "$name: rejected, but not for '$want': $(grep '^FAIL' "$dir.out" | head -5)"
    fi
}
mutate readiness k8s/deployment.yaml \
    'docs[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"]="/healthz"' \
    "readinessProbe GET /readyz"
mutate unknown-key k8s/configmap.yaml \
    'docs[0]["data"]["KEEL_MODULE_LOCAL"]="kv"' \
    "unknown: KEEL_MODULE_LOCAL"
mutate root-user k8s/compute-deployment.yaml \
    'docs[0]["spec"]["template"]["spec"]["securityContext"]["runAsUser"]=0' \
    "runAsNonRoot as 65534"
mutate bad-value docker-compose.yml \
    'docs[0]["services"]["compute"]["environment"]["KEEL_THREADS"]="many"' \
    "KEEL_THREADS=many"
if [ -d "$src/tests/deploy/node_modules/kubernetes-models" ] && command -v node >/dev/null; then
    mutate k8s-schema k8s/service.yaml \
        'docs[0]["spec"]["ports"][0]["port"]="eighty"' \
        "data/spec/ports/0/port must be integer" tools
else
    echo "skip: k8s schema mutation (npm install --prefix tests/deploy; needs node)"
fi
if command -v docker-compose >/dev/null; then
    mutate compose-schema docker-compose.yml \
        'docs[0]["services"]["keel"]["replicaz"]=3' \
        "docker-compose config -q accepts the file" tools
else
    echo "skip: compose schema mutation (apt-get install -y docker-compose)"
fi
mutate replicas docker-compose.yml \
    'docs[0]["services"]["keel"]["deploy"]["replicas"]=1' \
    "keel runs 1 replicas"
mutate placement k8s/configmap.yaml \
    'del docs[0]["data"]["KEEL_REMOTE_COMPUTE"]' \
    "placed nowhere: riding needs compute"
mutate open-compute k8s/networkpolicy.yaml \
    'docs[0]["spec"]["ingress"][0]["from"]=[{"namespaceSelector":{}}]' \
    "admits ingress from gateway pods only"
mutate nginx-to-compute docker-compose.yml \
    'docs[0]["services"]["nginx"]["networks"].append("backend")' \
    "shares no network with nginx"
# the image's ENV is part of every workload's environment
sed 's|^ENV KEEL_CONFIG=/etc/keel/keel.json|ENV KEEL_DATABASE_URL=sqlite:/var/lib/keel/keel.db KEEL_CONFIG=/etc/keel/keel.json|' \
    "$src/Dockerfile" >"$E2E_TMP/Dockerfile.clash"
if ! grep -q '^ENV KEEL_DATABASE_URL=' "$E2E_TMP/Dockerfile.clash"; then
    fail "image-env-clash: could not plant ENV KEEL_DATABASE_URL in the Dockerfile copy"
elif python3 "$validate" --keel "$KEEL_BIN" --deploy "$src/deploy" --dockerfile "$E2E_TMP/Dockerfile.clash" \
        --no-tools >"$E2E_TMP/clash.out" 2>&1; then
    fail "image-env-clash: validator accepted ENV KEEL_DATABASE_URL next to KEEL_DATABASE_URL_FILE"
elif grep '^FAIL' "$E2E_TMP/clash.out" | grep -q "both set"; then
    ok "image-env-clash: rejected (KEEL_DATABASE_URL and KEEL_DATABASE_URL_FILE are both set)"
else
    fail "image-env-clash: rejected, but not for the clash: $(grep '^FAIL' "$E2E_TMP/clash.out" | head -3)"
fi
# 3. deploy/nginx.conf in front of three real replicas: spread, upstream
#    keepalive, and a dead replica is skipped without an error.
ngx=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
if [ -z "$ngx" ]; then
    echo "skip: nginx not installed (apt-get install -y nginx-light): nginx.conf not exercised"
else
    keel_serve R1 KEEL_AUTH_DISABLED=1
    keel_serve R2 KEEL_AUTH_DISABLED=1
    keel_serve R3 KEEL_AUTH_DISABLED=1
    nport=$(free_port)
    mkdir -p "$E2E_TMP/nginx/logs"
    python3 - "$src/deploy/nginx.conf" "$E2E_TMP/nginx/nginx.conf" "$nport" "$R1" "$R2" "$R3" <<'PY'
import re, sys
src, dst, port, *replicas = sys.argv[1:]
conf = open(src).read()
m = re.search(r"^(\s*)server keel:8080( [^;]*)?;", conf, re.M)
assert m, "nginx.conf: no 'server keel:8080' upstream line"
servers = "".join(f"{m.group(1)}server 127.0.0.1:{p}{m.group(2) or ''};\n" for p in replicas)
conf = conf[:m.start()] + servers.rstrip("\n") + conf[m.end():]
assert "listen 80;" in conf, "nginx.conf: no 'listen 80;'"
conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
conf = conf.replace("access_log /dev/stdout;", "access_log logs/access.log;")
conf = conf.replace("error_log  /dev/stderr warn;", "error_log logs/error.log warn;")
open(dst, "w").write(conf)
PY
    "$ngx" -p "$E2E_TMP/nginx" -c "$E2E_TMP/nginx/nginx.conf" -g "daemon off; pid nginx.pid;" \
        >"$E2E_TMP/nginx.out" 2>&1 &
    ngx_pid=$!
    E2E_PIDS+=("$ngx_pid")
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "http://127.0.0.1:$nport/nginx-health" 2>/dev/null && break; sleep 0.05
    done
    base=http://127.0.0.1:$nport
    good=0
    for i in $(seq 1 30); do
        http POST "$base/v1/echo/echo" -H 'Content-Type: application/json' --data "{\"i\":$i}"
        [ "$HTTP_STATUS" = 200 ] && good=$((good+1))
    done
    expect_eq "nginx → 3 replicas: 30 echo calls answered 200" "$good" 30
    spread=1
    for r in R1 R2 R3; do
        n=$(grep -c 'POST /v1/echo/echo 200' "$E2E_TMP/$r.log" || true)
        [ "$n" -ge 5 ] || spread=0
        echo "     $r served $n"
    done
    expect_eq "nginx spreads calls over the replicas (each >= 5 of 30)" "$spread" 1
    # keepalive: idle upstream connections stay open after the calls
    idle=$(ss -Htn state established "( dport = :$R1 or dport = :$R2 or dport = :$R3 )" | wc -l)
    if [ "$idle" -ge 1 ]; then ok "upstream keepalive: $idle idle connection(s) to the replicas kept open"
    else fail "upstream keepalive: no connection to the replicas left open after the calls"; fi
    http GET "$base/healthz"
    expect_status "GET /healthz through nginx" 200
    keel_stop R2
    good=0
    for i in $(seq 1 12); do
        http POST "$base/v1/echo/echo" -H 'Content-Type: application/json' --data '{"after":"stop"}'
        [ "$HTTP_STATUS" = 200 ] && good=$((good+1))
    done
    expect_eq "one replica stopped: 12 calls still answered 200 (proxy_next_upstream)" "$good" 12
fi

e2e_done
