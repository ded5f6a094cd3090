#!/usr/bin/env bash
# Memory of every component, as the lab runs them (the same JVM flags the images will use): the
# resident set (RSS) of etcd, each control-plane service and each node agent at idle, then of
# node1's agent with ENDPOINTS pods on it. The figures behind the Kubernetes manifests' memory
# requests and limits (k8s/base/*.yaml). Brings up its own 2-node lab and removes it.
#   bench/memory.sh [ENDPOINTS]   (default 100)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
ENDPOINTS=${1:-100}
lab=bmem$$
export PORIN_LAB_DIR=$(mktemp -d /tmp/porin-bench-mem.XXXXXX)
export PORIN_CONFIG=$PORIN_LAB_DIR/config
cleanup() {
  bin/porin lab down --name "$lab" >/dev/null 2>&1 || true
  rm -rf "$PORIN_LAB_DIR"
}
trap cleanup EXIT

rss() { # pid -> MiB
  awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}
pid_of() { # pattern -> the one lab process whose command line matches
  pgrep -f -- "$1" | while read -r p; do
    if tr '\0' ' ' < "/proc/$p/cmdline" | grep -q -- "$PORIN_LAB_DIR/$lab"; then echo "$p"; fi
  done | head -1
}
report() { # title
  echo "== $1"
  printf '%-14s %8s\n' component "RSS MiB"
  printf '%-14s %8s\n' etcd "$(rss "$(pid_of "etcd --name $lab")")"
  for s in identity ipam policy relay dns; do
    printf '%-14s %8s\n' "$s" "$(rss "$(pid_of "services/$s/target/quarkus-app")")"
  done
  for n in 1 2; do
    printf '%-14s %8s\n' "agent node$n" "$(rss "$(pid_of "porin.agent.node-name=$lab-node$n ")")"
  done
}

bin/porin lab up --name "$lab" --nodes 2 --cluster-id 7 >/dev/null
sleep 20 # let start-up garbage go
report "idle: a 2-node lab, the cluster DNS pod only"

manifest=$PORIN_LAB_DIR/pods.yaml
{
  echo "apiVersion: v1"; echo "kind: Namespace"; echo "metadata: {name: mem}"
  for i in $(seq 1 "$ENDPOINTS"); do
    echo "---"
    echo "apiVersion: v1"; echo "kind: Pod"
    echo "metadata: {name: p$i, namespace: mem, labels: {app: a$((i % 10))}}"
    echo "spec: {nodeName: $lab-node1, containers: [{name: c, ports: [{containerPort: 8080}]}]}"
  done
} > "$manifest"
start=$(date +%s)
bin/porin --context "$lab" apply -f "$manifest" >/dev/null
while :; do
  n=$(bin/porin --context "$lab" --node "$lab-node1" endpoint list -o json | grep -c '"identity"' || true)
  [ "$n" -ge "$ENDPOINTS" ] && break
  if [ $(( $(date +%s) - start )) -gt 600 ]; then echo "only $n endpoints after 600 s" >&2; exit 1; fi
  sleep 2
done
echo "$n endpoints on $lab-node1 after $(( $(date +%s) - start )) s"
sleep 20
report "node1 with $ENDPOINTS more pods ($n endpoints)"
