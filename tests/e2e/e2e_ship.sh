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
    case "${5:-}" in
    text)      # 'FROM => TO' in a text file
        python3 - "$dir/$file" "$stmt" <<'PY'
import sys
path, stmt = sys.argv[1], sys.argv[2]
old, new = stmt.split(" => ", 1)
text = open(path).read()
assert old in text, f"{path}: no {old!r} to mutate"
open(path, "w").write(text.replace(old, new))
PY
        args=(--no-tools) ;;
    envfile)   # the drain delay dropped from the gateway's settings
        sed -i '/^KEEL_DRAIN_DELAY_MS=/d' "$dir/k8s/base/keel.env"
        args=(--no-tools) ;;
    nochmod)   # the operator's setup without the chmod
        sed -i '/^#   \$ chmod /d' "$dir/$file"
        args=(--no-tools) ;;
    *)
        python3 - "$dir/$file" "$stmt" <<'PY'
import sys, yaml
path, stmt = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
exec(stmt, {"docs": docs})
yaml.safe_dump_all(docs, open(path, "w"), sort_keys=False)
PY
        ;;
    esac
    if python3 "$validate" --keel "$KEEL_BIN" --deploy "$dir" "${args[@]}" >"$dir.out" 2>&1; then
        fail "$name: validator accepted a broken manifest"
    elif grep "^FAIL" "$dir.out" | grep -qF -- "$want"; then
        ok "$name: rejected ($want)"
    else
        fail "$name: rejected, but not for '$want': $(grep '^FAIL' "$dir.out" | head -5)"
    fi
}
mutate readiness k8s/base/deployment.yaml \
    'docs[0]["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"]="/healthz"' \
    "readinessProbe GET /readyz"
mutate unknown-key k8s/base/keel.env \
    'KEEL_LOG_LEVEL=info => KEEL_LOG_LEVEL=info
KEEL_MODULE_LOCAL=kv' \
    "unknown: KEEL_MODULE_LOCAL" text
mutate root-user k8s/base/compute-deployment.yaml \
    'docs[0]["spec"]["template"]["spec"]["securityContext"]["runAsUser"]=0' \
    "runAsNonRoot as 65534"
mutate bad-value docker-compose.yml \
    'docs[0]["services"]["compute"]["environment"]["KEEL_THREADS"]="many"' \
    "KEEL_THREADS=many"
if [ -d "$src/tests/deploy/node_modules/kubernetes-models" ] && command -v node >/dev/null; then
    mutate k8s-schema k8s/base/service.yaml \
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
mutate placement k8s/base/keel.env \
    'KEEL_REMOTE_COMPUTE=http://keel-compute:8080 => ' \
    "placed nowhere: riding needs compute" text
mutate open-compute k8s/base/networkpolicy.yaml \
    'docs[0]["spec"]["ingress"][0]["from"]=[{"namespaceSelector":{}}]' \
    "admits ingress from gateway pods only"
mutate nginx-to-compute docker-compose.yml \
    'docs[0]["services"]["nginx"]["networks"].append("backend")' \
    "shares no network with nginx"
# deployment defects that kept deploy/ from starting (issue: many-machine story)
mutate latest-image docker-compose.yml \
    'docs[0]["services"]["keel"]["image"]="keel:latest"' \
    "image keel:latest is pinned by a tag"
mutate scaled-host-port docker-compose.yml \
    'docs[0]["services"]["compute"]["ports"]=["127.0.0.1:8081:8080"]' \
    "no fixed host port on a scaled service"
mutate no-direct-compute docker-compose.yml \
    'del docs[0]["services"]["compute-direct"]["ports"]' \
    "one compute instance published on the host"
mutate short-grace docker-compose.yml \
    'docs[0]["services"]["keel"]["stop_grace_period"]="10s"' \
    "stop_grace_period 10s > drain delay"
mutate compose-replicas-sqlite docker-compose.yml \
    'del docs[0]["services"]["keel"]["environment"]["KEEL_REPLICAS"]' \
    "KEEL_REPLICAS>1 on a service with 3 replicas"
mutate sqlite-two-replicas k8s/sqlite/deployment.yaml \
    'docs[0]["spec"]["replicas"]=2' \
    "SQLite runs one replica"
mutate sqlite-rolling k8s/sqlite/deployment.yaml \
    'docs[0]["spec"]["strategy"]={"type":"RollingUpdate"}' \
    "SQLite rolls with strategy Recreate"
mutate sqlite-emptydir k8s/sqlite/deployment.yaml \
    'docs[0]["spec"]["template"]["spec"]["volumes"]=[]' \
    "keel.db is on a PersistentVolumeClaim (got ['emptyDir'])"
mutate migrate-no-volume k8s/sqlite/deployment.yaml \
    'docs[0]["spec"]["template"]["spec"]["initContainers"][0]["volumeMounts"]=[{"name":"tmp","mountPath":"/tmp"}]' \
    "migrate: /var/lib/keel/keel.db is on a PersistentVolumeClaim (got ['nothing mounted'])"
mutate pg-no-replicas-flag k8s/postgres/kustomization.yaml \
    'docs[0]["configMapGenerator"][0]["literals"]=[]' \
    "several replicas on PostgreSQL with KEEL_REPLICAS>1"
mutate committed-secret k8s/postgres/pdb.yaml \
    'docs.append({"apiVersion":"v1","kind":"Secret","metadata":{"name":"keel-db"},"stringData":{"db_url":"postgres://keel:CHANGE_ME@postgres/keel"}})' \
    "a committed Secret"
mutate no-hash k8s/base/kustomization.yaml \
    'docs[0]["generatorOptions"]={"disableNameSuffixHash":True}' \
    "generators keep the content hash"
mutate short-drain k8s/base/keel.env \
    'pass' \
    "KEEL_DRAIN_DELAY_MS 0 >= readiness" envfile
mutate short-termination k8s/base/deployment.yaml \
    'docs[0]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]=15' \
    "terminationGracePeriodSeconds 15 s > drain delay 10000 ms"
mutate prestop-shell k8s/base/compute-deployment.yaml \
    'docs[0]["spec"]["template"]["spec"]["containers"][0]["lifecycle"]={"preStop":{"exec":{"command":["sh","-c","sleep 10"]}}}' \
    "no preStop exec"
mutate nginx-keepalive nginx.conf 'keepalive_timeout 20s; => keepalive_timeout 60s;' \
    "upstream keepalive_timeout 60s < keel's idle timeout" text
mutate nginx-body nginx.conf 'client_max_body_size 256m; => client_max_body_size 64m;' \
    "client_max_body_size 64m = 67108864 bytes equals keel's KEEL_MAX_UPLOAD" text
mutate nginx-resolver nginx.conf 'server keel:8080 resolve => server keel:8080' \
    "a resolver, \`resolve\` on the upstream servers" text
mutate secret-mode docker-compose.yml \
    'pass' \
    "is readable by uid 65534" nochmod
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
# the image must build: its build stage installs every library keel links
# (libpq was missing, so `docker compose build` failed)
sed '/libpq-dev postgresql-server-dev-15/d' "$src/Dockerfile" >"$E2E_TMP/Dockerfile.nopq"
if command -v dpkg >/dev/null && command -v pg_config >/dev/null; then
    if python3 "$validate" --keel "$KEEL_BIN" --deploy "$src/deploy" --dockerfile "$E2E_TMP/Dockerfile.nopq" \
            >"$E2E_TMP/nopq.out" 2>&1; then
        fail "dockerfile-no-libpq: validator accepted a build stage without libpq-dev"
    elif grep '^FAIL' "$E2E_TMP/nopq.out" | grep -qF "installs libpq-dev (libpq)"; then
        ok "dockerfile-no-libpq: rejected (the build stage installs libpq-dev)"
    else
        fail "dockerfile-no-libpq: rejected, but not for libpq: $(grep '^FAIL' "$E2E_TMP/nopq.out" | head -3)"
    fi
else
    echo "skip: dockerfile-no-libpq (needs dpkg and pg_config)"
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
    python3 "$src/tests/deploy/nginx_local.py" "$src/deploy/nginx.conf" "$E2E_TMP/nginx/nginx.conf" \
        "$nport" "$R1" "$R2" "$R3"
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
