#!/usr/bin/env bash
# Transparent encryption on the wire: two 2-node labs side by side, one plain, one with WireGuard
# (wireguard-go here: this machine has no WireGuard module), a client pod on node1 and a server
# pod on node2 in each. Each round measures both labs in turn, so every figure is a ratio to the
# plain lab of the same round:
#   throughput   iperf3, one TCP stream, pod -> pod across nodes (Gbit/s)
#   tcp_rr       one-byte request/response transactions per second (bench/src/main/c/tcp_rr.c)
#   cpu          CPU time of the whole machine per Gbit/s moved (from /proc/stat), and the part
#                wireguard-go's processes took (from /proc/<pid>/stat)
# Everything lives in the two labs (their namespaces, cgroups and pins, under a temporary lab
# directory and context file) and is removed on exit.
#   bench/encryption.sh [SECONDS] [ROUNDS]   (defaults 8 3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
SECS=${1:-8}
ROUNDS=${2:-3}
porin="$here/bin/porin"
work=$(mktemp -d /tmp/porin-bench-enc.XXXXXX)
export PORIN_LAB_DIR="$work/labs" PORIN_CONFIG="$work/config"
labs=(bencplain bencwg)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for l in "${labs[@]}"; do "$porin" lab down --name "$l" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT

[ -f cli/target/porin-cli.jar ] || ./mvnw -B -q install -DskipTests
clang -O2 -o "$work/tcp_rr" bench/src/main/c/tcp_rr.c

pods() { # lab
  cat <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: bench}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: bench, labels: {app: client}}
spec: {nodeName: $1-node1, containers: [{name: c}]}
---
apiVersion: v1
kind: Pod
metadata: {name: server, namespace: bench, labels: {app: server}}
spec: {nodeName: $1-node2, containers: [{name: c}]}
EOF
}

declare -A server_ip client_ns server_ns
id=40
for l in "${labs[@]}"; do
  id=$((id + 1))
  enc=none
  [ "$l" = bencwg ] && enc=wireguard
  echo "lab $l (encryption: $enc)"
  "$porin" lab up --name "$l" --nodes 2 --cluster-id "$id" --encryption "$enc" -o json >/dev/null
  pods "$l" > "$work/$l.yaml"
  "$porin" --context "$l" apply -f "$work/$l.yaml" >/dev/null
  json=$("$porin" --context "$l" get pods -n bench -o json)
  server_ip[$l]=$(echo "$json" | python3 -c 'import json,sys; print([p["ipv4"] for p in json.load(sys.stdin)["pods"] if p["name"]=="server"][0])')
  server_ns[$l]=$(echo "$json" | python3 -c 'import json,sys; print([p["netns"] for p in json.load(sys.stdin)["pods"] if p["name"]=="server"][0])')
  client_ns[$l]=$(echo "$json" | python3 -c 'import json,sys; print([p["netns"] for p in json.load(sys.stdin)["pods"] if p["name"]=="client"][0])')
  nsenter --net="${server_ns[$l]}" iperf3 -s -p 5201 >/dev/null 2>&1 & pids+=($!)
  nsenter --net="${server_ns[$l]}" "$work/tcp_rr" server 7777 >/dev/null 2>&1 & pids+=($!)
done
sleep 1

busy() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
# CPU ticks of every wireguard-go of a lab (its nodes' namespaces)
wgticks() {
  local l=$1 t=0 nets=""
  for n in 1 2; do nets="$nets net:[$(stat -L -c %i "/run/netns/$l-node$n")]"; done
  for p in $(pgrep -x wireguard-go || true); do
    local net; net=$(readlink "/proc/$p/ns/net" 2>/dev/null) || continue
    case " $nets " in *" $net "*) t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))) ;; esac
  done
  echo "$t"
}
hz=$(getconf CLK_TCK)

measure() { # lab -> "gbps rr cpu_per_gbps wg_share"
  local l=$1
  # warm the tunnel (first handshake) and the connection path
  nsenter --net="${client_ns[$l]}" "$work/tcp_rr" client "${server_ip[$l]}" 7777 1 >/dev/null
  local b0 w0 b1 w1 bps
  b0=$(busy); w0=$(wgticks "$l")
  bps=$(nsenter --net="${client_ns[$l]}" iperf3 -c "${server_ip[$l]}" -p 5201 -t "$SECS" -J \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])')
  b1=$(busy); w1=$(wgticks "$l")
  local rr
  rr=$(nsenter --net="${client_ns[$l]}" "$work/tcp_rr" client "${server_ip[$l]}" 7777 "$SECS")
  python3 - "$bps" "$((b1 - b0))" "$((w1 - w0))" "$hz" "$SECS" "$rr" <<'PY'
import sys
bps, busy, wg, hz, secs, rr = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
gbps = bps / 1e9
cpu = busy / hz / secs          # CPUs busy on average
print(f"{gbps:.3f} {rr:.0f} {cpu / gbps:.3f} {(wg / busy if busy else 0):.3f}")
PY
}

printf '%-6s %-9s %10s %10s %14s %12s\n' round lab Gbit/s tcp_rr 'cpu/(Gbit/s)' wireguard-go
declare -a r_tp r_rr r_cpu
for round in $(seq 1 "$ROUNDS"); do
  read -r pg prr pcpu _ < <(measure bencplain)
  read -r wg wrr wcpu wshare < <(measure bencwg)
  printf '%-6s %-9s %10s %10s %14s %12s\n' "$round" plain "$pg" "$prr" "$pcpu" -
  printf '%-6s %-9s %10s %10s %14s %12s\n' "$round" wireguard "$wg" "$wrr" "$wcpu" "$wshare"
  r_tp+=("$(python3 -c "print($wg / $pg)")")
  r_rr+=("$(python3 -c "print($wrr / $prr)")")
  r_cpu+=("$(python3 -c "print($wcpu / $pcpu)")")
done
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo
printf 'WireGuard / plain, median of %d rounds: throughput %.2fx, tcp_rr %.2fx, CPU per Gbit/s %.2fx\n' \
  "$ROUNDS" "$(med "${r_tp[@]}")" "$(med "${r_rr[@]}")" "$(med "${r_cpu[@]}")"
