#!/usr/bin/env bash
# From the store's change to the kernel maps of every node, in a 3-node lab this script brings up
# (and removes): 10,000 services x 10 backends written at once, then one service's backend changed
# 200 times (p50/p99/max until every node's maps hold it). See
# bench/src/main/java/io/porin/bench/services/Propagation.java.
#   bench/services-propagation.sh [SERVICES] [CHANGES]   (defaults 10000 200)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
SERVICES=${1:-10000}
CHANGES=${2:-200}
java=$("$here/bin/find-jdk")/bin/java
[ -d bench/target/lib ] && ls bench/target/lib/porin-node-agent-*.jar >/dev/null 2>&1 \
  || ./mvnw -B -q install -DskipTests -pl bench -am
cp="bench/target/classes:bench/target/lib/*"
lab=bprop$$
export PORIN_LAB_DIR=$(mktemp -d /tmp/porin-bench-prop.XXXXXX)
export PORIN_CONFIG=$PORIN_LAB_DIR/config
cleanup() { bin/porin lab down --name "$lab" >/dev/null 2>&1 || true; rm -rf "$PORIN_LAB_DIR"; }
trap cleanup EXIT
bin/porin lab up --name "$lab" --nodes 3 >/dev/null
echo "== lab $lab up (3 nodes)"
# the lab admin's certificate: etcd and the services speak mutual TLS only
export PORIN_BENCH_CA="$PORIN_LAB_DIR/$lab/ca/ca.crt" PORIN_BENCH_CERT="$PORIN_LAB_DIR/$lab/pki/admin.$lab.pem"
nsenter --net="/var/run/netns/$lab-cp" "$java" --enable-native-access=ALL-UNNAMED -cp "$cp" \
  io.porin.bench.services.Propagation https://127.0.0.1:2379 "$SERVICES" "$CHANGES" \
  /sys/fs/bpf/porin/"$lab"-node1 /sys/fs/bpf/porin/"$lab"-node2 /sys/fs/bpf/porin/"$lab"-node3
