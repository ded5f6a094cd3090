#!/usr/bin/env bash
# The policy compiler and service at cluster scale (100 namespaces: 10,000 identities, 1,000
# policies; see bench/src/main/java/io/porin/bench/policy/PolicyWorkload.java).
#  1. In process: full compile (time, heap), then the incremental paths as ratios to a full
#     recompile of every identity measured in the same run.
#  2. The packaged service against its own etcd (on tmpfs, so that etcd's fsync is not what is
#     measured): time from a change written to the delta arriving at a subscribed node.
# Starts its own etcd and policy service on free loopback ports and removes them on exit.
#   bench/policy.sh [NAMESPACES] [ROUNDS]        (defaults 100 200)
# POLICY_JAVA_OPTS: JVM options of the service (default -XX:MaxGCPauseMillis=20: with G1's
# default 200 ms target, young pauses of ~180 ms dominate the latency of single changes).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
NAMESPACES=${1:-100}
ROUNDS=${2:-200}
java=$("$here/bin/find-jdk")/bin/java
[ -f services/policy/target/quarkus-app/quarkus-run.jar ] && [ -d bench/target/lib ] \
  || ./mvnw -B -q install -DskipTests -pl bench,services/policy -am
cp="bench/target/classes:bench/target/lib/*"
pids=()
work=$(mktemp -d /dev/shm/porin-bench.XXXXXX)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== 1. compiler, in process"
"$java" -Xmx8g -cp "$cp" io.porin.bench.policy.PolicyCompileBench "$NAMESPACES" "$ROUNDS"
echo

free_port() { "$java" -XX:TieredStopAtLevel=1 -cp bench/target/classes io.porin.bench.FreePort; }
etcd_port=$(free_port); peer_port=$(free_port); policy_port=$(free_port)
echo "== 2. service (JVM options: ${POLICY_JAVA_OPTS--XX:MaxGCPauseMillis=20}): etcd on 127.0.0.1:$etcd_port (data on tmpfs), policy service on 127.0.0.1:$policy_port"
"$here/bin/etcd-local" bench "$work/etcd" "$etcd_port" "$peer_port" >"$work/etcd.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do etcdctl --endpoints "127.0.0.1:$etcd_port" endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
# shellcheck disable=SC2086
"$java" -Xmx8g ${POLICY_JAVA_OPTS--XX:MaxGCPauseMillis=20} -Dporin.etcd.endpoints="http://127.0.0.1:$etcd_port" -Dporin.tls.insecure=true -Dquarkus.http.port="$policy_port" \
  -Dquarkus.log.level=WARN -jar services/policy/target/quarkus-app/quarkus-run.jar >"$work/policy.log" 2>&1 & pids+=($!)
for _ in $(seq 1 600); do curl -fsS "http://127.0.0.1:$policy_port/q/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done
"$java" -cp "$cp" io.porin.bench.policy.PolicyServiceBench "127.0.0.1:$policy_port" \
  "http://127.0.0.1:$etcd_port" "$NAMESPACES" "$((ROUNDS / 2))" 2> >(grep -v -E "keepalive|AtomicBackoff|onGoAwayReceived|^WARNING" >&2)
echo "engine share (porin_policy_update_seconds: from a change reaching the engine to its deltas sent):"
curl -fsS "http://127.0.0.1:$policy_port/q/metrics" | grep -E '^porin_policy_update_seconds_(count|sum|max)' | sed 's/^/  /'
echo "service heap after the run:"
curl -fsS "http://127.0.0.1:$policy_port/q/metrics" | grep '^jvm_memory_used_bytes' | grep 'area="heap"' \
  | awk '{s+=$NF} END {printf "  %.0f MiB\n", s/1048576}'
