#!/usr/bin/env bash
# ClusterMesh, in two 3-node labs this script brings up, links and connects (and removes):
#  - porin clustermesh connect, from the command to both clusters having imported each other;
#  - ENDPOINTS endpoints of IDENTITIES identities written to west's etcd, until every east node's
#    ipcache has the last one, and the bytes that crossed the link between the clusters;
#  - one endpoint added in west, CHANGES times, until every east node has it (p50/p99/max).
# See bench/src/main/java/io/porin/bench/mesh/MeshPropagation.java.
#   bench/clustermesh.sh [ENDPOINTS] [IDENTITIES] [CHANGES]   (defaults 10000 1000 200)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
ENDPOINTS=${1:-10000}
IDENTITIES=${2:-1000}
CHANGES=${3:-200}
java=$("$here/bin/find-jdk")/bin/java
[ -d bench/target/lib ] && ls bench/target/lib/porin-node-agent-*.jar >/dev/null 2>&1 \
  || ./mvnw -B -q install -DskipTests -pl bench -am
cp="bench/target/classes:bench/target/lib/*"
east=bme$$
west=bmw$$
export PORIN_LAB_DIR=$(mktemp -d /tmp/porin-bench-mesh.XXXXXX)
export PORIN_CONFIG=$PORIN_LAB_DIR/config
cleanup() {
  bin/porin lab down --name "$east" >/dev/null 2>&1 || true
  bin/porin lab down --name "$west" >/dev/null 2>&1 || true
  rm -rf "$PORIN_LAB_DIR"
}
trap cleanup EXIT
bin/porin lab up --name "$east" --nodes 3 --cluster-id 1 >/dev/null
bin/porin lab up --name "$west" --nodes 3 --cluster-id 2 --pod-cidr 10.201.0.0/16 >/dev/null
bin/porin lab link "$east" "$west" >/dev/null
bin/porin --context "$east" clustermesh enable >/dev/null
bin/porin --context "$west" clustermesh enable >/dev/null
echo "== labs $east (ID 1) and $west (ID 2) up, 3 nodes each, linked, clustermesh enabled"
start=$(date +%s%N)
bin/porin --context "$east" clustermesh connect --destination-context "$west" >/dev/null
end=$(date +%s%N)
echo "porin clustermesh connect: both clusters imported each other $(( (end - start) / 1000000 )) ms after the command started (JVM start of the CLI included)"
export PORIN_BENCH_CA="$PORIN_LAB_DIR/$west/ca/ca.crt" PORIN_BENCH_CERT="$PORIN_LAB_DIR/$west/pki/admin.$west.pem"
nsenter --net="/var/run/netns/$west-cp" "$java" --enable-native-access=ALL-UNNAMED -cp "$cp" \
  io.porin.bench.mesh.MeshPropagation https://127.0.0.1:2379 "$west" 2 mesh1 \
  "$ENDPOINTS" "$IDENTITIES" "$CHANGES" 10.201.0.0/16 \
  /sys/fs/bpf/porin/"$east"-node1 /sys/fs/bpf/porin/"$east"-node2 /sys/fs/bpf/porin/"$east"-node3
