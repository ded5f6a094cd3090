#!/usr/bin/env bash
# How long `porin` takes to answer, as a user types it against a 3-node lab: each command RUNS
# times (default 10) through bin/porin, which hands it to the lab's command server, and as many
# times with PORIN_NO_SERVER=1 (a JVM of its own per command, the baseline of the same run);
# min / median / max in milliseconds and the median's ratio. One untimed run of each first (the
# server's first commands pay for its JIT and its channels' TLS handshakes). Brings up its own lab
# and removes it.
#   bench/cli.sh [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
RUNS=${1:-10}
lab=bcli$$
export PORIN_LAB_DIR=$(mktemp -d /tmp/porin-bench-cli.XXXXXX)
export PORIN_CONFIG=$PORIN_LAB_DIR/config
cleanup() {
  bin/porin lab down --name "$lab" >/dev/null 2>&1 || true
  rm -rf "$PORIN_LAB_DIR"
}
trap cleanup EXIT

echo "bringing up a 3-node lab ($lab) ..." >&2
bin/porin lab up --name "$lab" --nodes 3 --cluster-id 9 >/dev/null

commands=(
  "status"
  "get pods"
  "identity list"
  "policy trace --from-pod kube-system/coredns --to-pod kube-system/coredns --port 53"
  "observe --last 20"
)

ms() { # command... -> milliseconds it took (it must succeed)
  local s e
  s=$(date +%s%N)
  "$@" >/dev/null 2>"$PORIN_LAB_DIR/err" || { cat "$PORIN_LAB_DIR/err" >&2; return 1; }
  e=$(date +%s%N)
  echo $(( (e - s) / 1000000 ))
}
stats() { # numbers... -> "min median max"
  printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
    m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf "%d %d %d", a[1], m, a[NR] }'
}

printf '%-22s %28s %28s %8s\n' command "server: min/median/max ms" "own JVM: min/median/max ms" ratio
for c in "${commands[@]}"; do
  read -r -a argv <<<"$c"
  ms bin/porin "${argv[@]}" >/dev/null
  PORIN_NO_SERVER=1 ms bin/porin "${argv[@]}" >/dev/null
  fast=() slow=()
  for _ in $(seq "$RUNS"); do
    fast+=("$(ms bin/porin "${argv[@]}")")
    slow+=("$(PORIN_NO_SERVER=1 ms bin/porin "${argv[@]}")")
  done
  read -r f1 f2 f3 <<<"$(stats "${fast[@]}")"
  read -r s1 s2 s3 <<<"$(stats "${slow[@]}")"
  printf '%-22s %28s %28s %7.2fx\n' "${c:0:22}" "$f1 / $f2 / $f3" "$s1 / $s2 / $s3" \
    "$(echo "$f2 / $s2" | bc -l)"
done
served=$(grep -c ": exit " "$PORIN_LAB_DIR/$lab/logs/cli.log" || true)
echo "the lab's command server ran $served commands (its log: exit code and time of each)"
