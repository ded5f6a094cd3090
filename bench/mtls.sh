#!/usr/bin/env bash
# What mutual TLS costs the control plane: identity allocation (throughput and latency, 16 calls
# in flight) and policy propagation (a change -> the node has its delta), once with everything
# plaintext (services run with porin.tls.insecure=true, etcd without TLS) and once with mutual
# TLS everywhere (etcd with client certificates, services and the benchmark client with
# certificates of a throwaway CA made by porin ca), in the same run, on the same machine. Prints
# both and the ratios mTLS / plaintext. etcd's data is on tmpfs in both modes, so fsync does not
# drown the difference. Starts its own etcd and services on free loopback ports; removes them.
#   bench/mtls.sh [COUNT] [IN_FLIGHT] [NAMESPACES] [ROUNDS]     (defaults 5000 16 20 100)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
COUNT=${1:-5000}
IN_FLIGHT=${2:-16}
NAMESPACES=${3:-20}
ROUNDS=${4:-100}
java=$("$here/bin/find-jdk")/bin/java
[ -f services/identity/target/quarkus-app/quarkus-run.jar ] && [ -f services/policy/target/quarkus-app/quarkus-run.jar ] \
  && [ -d bench/target/lib ] || ./mvnw -B -q install -DskipTests -pl bench,services/identity,services/policy -am
cp="bench/target/classes:bench/target/lib/*"
pids=()
work=$(mktemp -d /dev/shm/porin-bench-mtls.XXXXXX)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { "$java" -XX:TieredStopAtLevel=1 -cp bench/target/classes io.porin.bench.FreePort; }
quiet() { grep -v -E "keepalive|AtomicBackoff|onGoAwayReceived|^WARNING" >&2; }

echo "certificates: a throwaway CA in $work/ca (bin/porin ca init / issue)"
bin/porin ca init --dir "$work/ca" --cluster bench >/dev/null
for who in svc:etcd svc:identity svc:policy admin:bench; do
  bin/porin ca issue --dir "$work/ca" --kind "${who%%:*}" --name "${who#*:}" \
    --address 127.0.0.1 --out "$work/${who%%:*}.${who#*:}.pem" >/dev/null
done

wait_ready() { # port, curl TLS options...
  local port=$1; shift
  for _ in $(seq 1 600); do
    curl -fsS "$@" "$scheme://127.0.0.1:$port/q/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "service on $port not ready" >&2; return 1
}

run() { # mode: plain | mtls
  local mode=$1 d="$work/$1"
  mkdir -p "$d"
  local etcd_port peer_port id_port policy_port
  etcd_port=$(free_port); peer_port=$(free_port); id_port=$(free_port); policy_port=$(free_port)
  local svc_tls=() etcd_tls=() curl_tls=()
  if [ "$mode" = mtls ]; then
    scheme=https
    etcd_tls=(--client-cert-auth --trusted-ca-file "$work/ca/ca.crt"
      --cert-file "$work/svc.etcd.pem" --key-file "$work/svc.etcd.pem")
    curl_tls=(--cacert "$work/ca/ca.crt" --cert "$work/admin.bench.pem" --key "$work/admin.bench.pem")
    export PORIN_BENCH_CA="$work/ca/ca.crt" PORIN_BENCH_CERT="$work/admin.bench.pem"
  else
    scheme=http
    unset PORIN_BENCH_CA PORIN_BENCH_CERT
  fi
  local etcd_url="$scheme://127.0.0.1:$etcd_port"
  etcd --name bench --data-dir "$d/etcd" --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "bench=http://127.0.0.1:$peer_port" "${etcd_tls[@]}" >"$d/etcd.log" 2>&1 & pids+=($!)
  local etcd_pid=$!
  for name in identity policy; do
    local port=$id_port
    [ "$name" = policy ] && port=$policy_port
    if [ "$mode" = mtls ]; then
      svc_tls=(-Dporin.tls.ca="$work/ca/ca.crt" -Dporin.tls.cert="$work/svc.$name.pem")
    else
      svc_tls=(-Dporin.tls.insecure=true)
    fi
    "$java" -Xmx2g -Dporin.etcd.endpoints="$etcd_url" -Dquarkus.http.port="$port" "${svc_tls[@]}" \
      -Dquarkus.log.level=WARN -jar "services/$name/target/quarkus-app/quarkus-run.jar" >"$d/$name.log" 2>&1 & pids+=($!)
  done
  wait_ready "$id_port" "${curl_tls[@]}"
  wait_ready "$policy_port" "${curl_tls[@]}"
  echo "== $mode: etcd $etcd_url, identity :$id_port, policy :$policy_port"
  "$java" -cp "$cp" io.porin.bench.IdentityAllocationBench "127.0.0.1:$id_port" "$etcd_url" \
    "$COUNT" "$IN_FLIGHT" 2> >(quiet) | tee "$d/identity.out" | grep -E "^(baseline|porin):"
  "$java" -cp "$cp" io.porin.bench.policy.PolicyServiceBench "127.0.0.1:$policy_port" "$etcd_url" \
    "$NAMESPACES" "$ROUNDS" 2> >(quiet) | tee "$d/policy.out" | grep -E "^(new identity|changed app policy)"
  echo
}

echo "machine: $(nproc) cores, kernel $(uname -r); $COUNT allocations, $IN_FLIGHT in flight; $NAMESPACES namespaces, $ROUNDS propagation rounds"
run plain
run mtls

rate() { grep "^porin: new label sets" "$1" | awk '{for (i=1;i<=NF;i++) if ($i=="ops/s") print $(i-1)}'; }
p99() { grep "^$2" "$1" | sed -E 's/.*p99 +([0-9.]+) ms.*/\1/'; }
p50() { grep "^$2" "$1" | sed -E 's/.*p50 +([0-9.]+) ms.*/\1/'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
P="$work/plain" M="$work/mtls"
echo "== mTLS / plaintext"
echo "identity allocation, new label sets: throughput $(ratio "$(rate $M/identity.out)" "$(rate $P/identity.out)")" \
  "($(rate $M/identity.out) vs $(rate $P/identity.out) ops/s), p99 $(ratio "$(p99 $M/identity.out 'porin: new label sets')" "$(p99 $P/identity.out 'porin: new label sets')")"
echo "etcd create-if-absent (the client's own etcd path): throughput" \
  "$(ratio "$(grep '^baseline: etcd create' $M/identity.out | awk '{for (i=1;i<=NF;i++) if ($i=="ops/s") print $(i-1)}')" \
           "$(grep '^baseline: etcd create' $P/identity.out | awk '{for (i=1;i<=NF;i++) if ($i=="ops/s") print $(i-1)}')")"
for what in "new identity" "changed app policy"; do
  echo "policy propagation, $what: p50 $(ratio "$(p50 $M/policy.out "$what")" "$(p50 $P/policy.out "$what")")" \
    "($(p50 $M/policy.out "$what") vs $(p50 $P/policy.out "$what") ms), p99 $(ratio "$(p99 $M/policy.out "$what")" "$(p99 $P/policy.out "$what")")"
done
