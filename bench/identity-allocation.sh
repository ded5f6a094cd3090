#!/usr/bin/env bash
# Identity allocation throughput and latency from one client with 16 calls in flight, against a
# local single-member etcd; raw etcd transactions at the same concurrency are the baseline,
# measured in the same run. Runs twice: etcd's data on this machine's disk (fsync-bound), and on
# tmpfs (fsync free: what the allocator itself costs). Starts its own etcd and identity service
# on free loopback ports and removes them on exit.
#   bench/identity-allocation.sh [COUNT] [IN_FLIGHT]        (defaults 20000 16)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
java=$("$here/bin/find-jdk")/bin/java
[ -f services/identity/target/quarkus-app/quarkus-run.jar ] && [ -d bench/target/lib ] \
  || ./mvnw -B -q install -DskipTests -pl bench -am
pids=()
dirs=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for d in "${dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT
free_port() { "$java" -XX:TieredStopAtLevel=1 -cp bench/target/classes io.porin.bench.FreePort; }

run() { # name, parent directory of etcd's data
  local name=$1 work
  work=$(mktemp -d "$2/porin-bench.XXXXXX"); dirs+=("$work")
  local etcd_port peer_port id_port
  etcd_port=$(free_port); peer_port=$(free_port); id_port=$(free_port)
  echo "== $name: etcd data in $work ($(df --output=fstype "$work" | tail -1)), identity service on 127.0.0.1:$id_port"
  "$here/bin/etcd-local" bench "$work/etcd" "$etcd_port" "$peer_port" >"$work/etcd.log" 2>&1 & pids+=($!)
  local etcd_pid=$!
  "$java" -Dporin.etcd.endpoints="http://127.0.0.1:$etcd_port" -Dporin.tls.insecure=true -Dquarkus.http.port="$id_port" \
    -Dquarkus.log.level=WARN -jar services/identity/target/quarkus-app/quarkus-run.jar >"$work/identity.log" 2>&1 & pids+=($!)
  local id_pid=$!
  for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$id_port/q/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  "$java" -cp "bench/target/classes:bench/target/lib/*" io.porin.bench.IdentityAllocationBench \
    "127.0.0.1:$id_port" "http://127.0.0.1:$etcd_port" "$COUNT" "$IN_FLIGHT" 2> >(grep -v -E "keepalive|AtomicBackoff|onGoAwayReceived|^WARNING" >&2)
  kill "$id_pid" "$etcd_pid"; wait "$id_pid" "$etcd_pid" 2>/dev/null || true
  echo
}

COUNT=${1:-20000}
IN_FLIGHT=${2:-16}
echo "machine: $(nproc) cores, kernel $(uname -r), etcd $(etcd --version | head -1 | awk '{print $3}'), $COUNT ops per phase, $IN_FLIGHT in flight"
run "disk" /tmp
run "tmpfs" /dev/shm
