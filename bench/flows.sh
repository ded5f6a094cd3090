#!/usr/bin/env bash
# Flow throughput under a UDP flood: a 2-node lab (removed on exit), a flooder pod on node 1 and a
# target pod on node 2 whose ingress policy denies everything, so every datagram is a new 5-tuple
# dropped by policy on node 2: one datapath event, one flow. Measures, over SECONDS:
#   - datagrams sent (the baseline: what this machine can generate while everything else runs),
#   - flows the node-2 agent made of them (seen by the relay's ServerStatus),
#   - flows a follower received through the relay, and lost-event reports,
#   - events the datapath could not queue (its ring was full), and
#   - the node-2 agent's CPU share (of one core) during the flood.
# Usage: bench/flows.sh [SECONDS] (default 10); FOLLOW=nofollow leaves the relay reader out (the
# agent's own capacity). Needs root; uses only namespaces it creates.
set -euo pipefail
secs=${1:-10}
here=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
porin="$here/bin/porin"
work="$here/bench/target/flows"
mkdir -p "$work"
export PORIN_LAB_DIR="$work/labs" PORIN_CONFIG="$work/config"
lab=bflood
java_home=$("$here/bin/find-jdk")
cleanup() { "$porin" lab down --name "$lab" >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
clang -O2 -Wall -o "$work/udp_flood" "$here/bench/src/main/c/udp_flood.c"
[ -d "$here/bench/target/lib" ] || { echo "flows.sh: build first (./mvnw install -pl bench -am)" >&2; exit 1; }

echo "bringing up lab $lab (2 nodes)..."
"$porin" lab up --name "$lab" --nodes 2 --cluster-id 9 >"$work/up.log"
# the lab admin's certificate: the relay and the agents speak mutual TLS only
export PORIN_BENCH_CA="$PORIN_LAB_DIR/$lab/ca/ca.crt" PORIN_BENCH_CERT="$PORIN_LAB_DIR/$lab/pki/admin.$lab.pem"
cat >"$work/flood.yaml" <<YAML
apiVersion: v1
kind: Namespace
metadata: {name: flood}
---
apiVersion: v1
kind: Pod
metadata: {name: src, namespace: flood, labels: {app: src}}
spec: {nodeName: $lab-node1, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: dst, namespace: flood, labels: {app: dst}}
spec: {nodeName: $lab-node2, containers: [{name: c}]}
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dst-lockdown, namespace: flood}
spec:
  endpointSelector: {matchLabels: {app: dst}}
  ingress: []
YAML
"$porin" apply -f "$work/flood.yaml" >/dev/null
for _ in $(seq 1 50); do
  "$porin" policy list -o json | grep -q '"name" : "dst-lockdown"' && break
  sleep 0.2
done
"$porin" policy wait --timeout 60s >/dev/null
dst=$("$porin" lab ip -n flood dst)
state="$PORIN_LAB_DIR/$lab/lab.json"
agent_pid=$(tr -d '\n ' <"$state" | sed -E 's/.*"agent\/'"$lab"'-node2":\{"pid":([0-9]+).*/\1/')
cpu() { awk '{print $14 + $15}' "/proc/$agent_pid/stat"; }
ticks=$(getconf CLK_TCK)

nsenter --net="/var/run/netns/$lab-cp" "$java_home/bin/java" --enable-native-access=ALL-UNNAMED \
  -cp "$here/bench/target/classes:$here/bench/target/lib/*" io.porin.bench.flows.FlowFlood \
  172.30.9.1:4245 172.30.9.12:9404 $((secs + 4)) "${FOLLOW:-follow}" >"$work/follower.out" 2>"$work/follower.err" &
follower=$!
for _ in $(seq 1 100); do grep -q ready "$work/follower.out" 2>/dev/null && break; sleep 0.1; done
sleep 1
c0=$(cpu); t0=$(date +%s.%N)
nsenter --net="/var/run/netns/$lab-flood-src" "$work/udp_flood" "$dst" "$secs" >"$work/flood.out"
c1=$(cpu); t1=$(date +%s.%N)
wait "$follower"
sent=$(awk '{print $2}' "$work/flood.out")
rate=$(awk '{print $8}' "$work/flood.out")
get() { awk -v k="$1" '$1 == k {print $2}' "$work/follower.out"; }
relay=$(get relay_flows); seen=$(get agent_seen); lost=$(get datapath_lost); reported=$(get relay_lost_reported)
cpu_share=$(awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$ticks" 'BEGIN {printf "%.2f", (c1 - c0) / hz / (t1 - t0)}')
awk -v sent="$sent" -v rate="$rate" -v seen="$seen" -v relay="$relay" -v lost="$lost" \
  -v reported="$reported" -v cpu="$cpu_share" -v secs="$secs" 'BEGIN {
  printf "UDP flood, %d s, every datagram a new 5-tuple dropped by policy on node 2\n", secs
  printf "  datagrams sent (baseline)      %12d  (%.0f/s)\n", sent, rate
  printf "  flows made by the node-2 agent %12d  (%.0f/s, %.3fx the datagrams)\n", seen, seen / secs, seen / sent
  printf "  flows delivered by the relay   %12d  (%.0f/s, %.3fx)\n", relay, relay / secs, relay / sent
  printf "  events lost in the datapath    %12d\n", lost
  printf "  lost-event reports to readers  %12d\n", reported
  printf "  agent CPU (share of one core)  %12.2f\n", cpu
}'
