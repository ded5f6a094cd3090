#!/usr/bin/env bash
# The datapath on the wire: two pods on one node (network namespaces this script creates, joined
# to a node namespace by veth pairs and routed there), TCP request/response (bench/src/main/c/
# tcp_rr.c, one byte each way, as netperf TCP_RR) and TCP throughput (iperf3), each configuration
# measured in the same run, interleaved round by round, as ratios to the plain veth baseline:
#   plain      veth pairs, no programs
#   porin-10   Porin's programs on both host-side veths, 10 ipcache / 10 policy entries
#   porin-10k  the same with 10,000 ipcache entries and 1,000 policy entries per endpoint
#   iptables   no programs; 10,000 iptables FORWARD rules, the allowing one last
# Porin runs with both directions enforced and its event ring drained (flows on). Nothing outside
# the namespaces it creates is touched; everything is removed on exit.
#   bench/datapath.sh [SECONDS] [ROUNDS]          (defaults 5 3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
SECS=${1:-5}
ROUNDS=${2:-3}
java=$("$here/bin/find-jdk")/bin/java
[ -f services/node-agent/target/bin/porin-cni ] && [ -d bench/target/lib ] \
  && ls bench/target/lib/porin-node-agent-*.jar >/dev/null 2>&1 \
  || ./mvnw -B -q install -DskipTests -pl bench -am
cp="bench/target/classes:bench/target/lib/*"

tag=porin-b$$
node=$tag-n; pa=$tag-a; pb=$tag-b
work=$(mktemp -d /tmp/porin-bench-dp.XXXXXX)
pins=/sys/fs/bpf/porin-bench-$tag
pids=()
cleanup() {
  exec 3>&- 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in "$pa" "$pb" "$node"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$pins" "$work"
}
trap cleanup EXIT

clang -O2 -o "$work/tcp_rr" bench/src/main/c/tcp_rr.c
inns() { local ns=$1; shift; nsenter --net="/var/run/netns/$ns" "$@"; }

# topology: node with gateway 10.77.0.1 on lo; pod a 10.77.0.2, pod b 10.77.0.3
ip netns add "$node"; ip netns add "$pa"; ip netns add "$pb"
inns "$node" ip link set lo up
inns "$node" ip addr add 10.77.0.1/32 dev lo
inns "$node" sysctl -qw net.ipv4.ip_forward=1
declare -A ip=([a]=10.77.0.2 [b]=10.77.0.3) ns=([a]=$pa [b]=$pb) hostmac podmac
for p in a b; do
  inns "$node" ip link add "h$p" type veth peer name eth0 netns "${ns[$p]}"
  inns "$node" ip link set "h$p" up
  inns "$node" ip route add "${ip[$p]}/32" dev "h$p" src 10.77.0.1
  mac=$(inns "$node" ip -o link show dev "h$p" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  hostmac[$p]=$mac
  podmac[$p]=$(inns "${ns[$p]}" ip -o link show dev eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
  inns "${ns[$p]}" ip link set lo up
  inns "${ns[$p]}" ip addr add "${ip[$p]}/32" dev eth0
  inns "${ns[$p]}" ip link set eth0 up
  inns "${ns[$p]}" ip route add 10.77.0.1 dev eth0 scope link
  inns "${ns[$p]}" ip route add default via 10.77.0.1 dev eth0
  inns "${ns[$p]}" ip neigh replace 10.77.0.1 lladdr "$mac" dev eth0 nud permanent
done
# (nsenter directly, not through inns: $! must be the server itself, so that cleanup kills it)
nsenter --net="/var/run/netns/$pb" iperf3 -s -p 5201 >/dev/null 2>&1 & pids+=($!)
nsenter --net="/var/run/netns/$pb" "$work/tcp_rr" server 7777 >/dev/null 2>&1 & pids+=($!)
sleep 0.5

porin_on() {  # IPCACHE POLICY
  mkfifo "$work/ctl"
  nsenter --net="/var/run/netns/$node" "$java" --enable-native-access=ALL-UNNAMED -cp "$cp" io.porin.bench.datapath.DatapathSetup \
    "$pins" "$1" "$2" ha 10.77.0.2 "${podmac[a]}" "${hostmac[a]}" \
    hb 10.77.0.3 "${podmac[b]}" "${hostmac[b]}" 5201 7777 <"$work/ctl" >"$work/setup.log" 2>&1 &
  setup_pid=$!
  exec 3>"$work/ctl"
  for _ in $(seq 1 300); do grep -q '^ready' "$work/setup.log" && break; sleep 0.1; done
  grep -q '^ready' "$work/setup.log" || { cat "$work/setup.log"; exit 1; }
}
porin_off() {
  exec 3>&-
  wait "$setup_pid" || { cat "$work/setup.log"; exit 1; }
  grep -h 'events drained' "$work/setup.log" | sed 's/^/    /'
  rm -f "$work/ctl"
  for p in ha hb; do inns "$node" tc qdisc del dev "$p" clsact 2>/dev/null || true; done
  rm -rf "$pins"
}
iptables_on() {
  { echo "*filter"; echo ":INPUT ACCEPT [0:0]"; echo ":FORWARD DROP [0:0]"; echo ":OUTPUT ACCEPT [0:0]"
    for i in $(seq 1 9999); do
      echo "-A FORWARD -s 172.16.$((i / 250)).$((i % 250 + 1))/32 -d 10.77.0.3/32 -p tcp --dport $((10000 + i)) -j ACCEPT"
    done
    echo "-A FORWARD -s 10.77.0.2/32 -d 10.77.0.3/32 -p tcp -j ACCEPT"
    echo "-A FORWARD -s 10.77.0.3/32 -d 10.77.0.2/32 -p tcp -j ACCEPT"
    echo "COMMIT"; } | inns "$node" iptables-restore
}
iptables_off() { inns "$node" iptables -F FORWARD; inns "$node" iptables -P FORWARD ACCEPT; }

measure() {  # CONFIG ROUND
  local rr tput
  rr=$(inns "$pa" "$work/tcp_rr" client 10.77.0.3 7777 "$SECS")
  tput=$(inns "$pa" iperf3 -c 10.77.0.3 -p 5201 -t "$SECS" -J | awk -F'[:,]' '/"sum_received"/{f=1} f && /"bits_per_second"/{print $2; exit}')
  printf '%-10s round %d: %10.0f transactions/s %8.2f Gbit/s\n' "$1" "$2" "$rr" "$(awk -v b="$tput" 'BEGIN{print b/1e9}')"
  echo "$1 $2 $rr $tput" >>"$work/results"
}

echo "== $ROUNDS rounds of $SECS s per measurement (2 cores: take the ratios, not the absolutes)"
for r in $(seq 1 "$ROUNDS"); do
  measure plain "$r"
  porin_on 10 10; measure porin-10 "$r"; porin_off
  porin_on 10000 1000; measure porin-10k "$r"; porin_off
  iptables_on; measure iptables "$r"; iptables_off
done

echo
echo "== median of the per-round ratios to plain veth (same round)"
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
for cfg in porin-10 porin-10k iptables; do
  ratios=$(awk -v c="$cfg" '$1=="plain"{rr[$2]=$3; tp[$2]=$4} $1==c{crr[$2]=$3; ctp[$2]=$4}
    END{for (r in crr) print crr[r]/rr[r], ctp[r]/tp[r]}' "$work/results")
  printf '%-10s request/response %.3fx   throughput %.3fx   (%d rounds)\n' "$cfg" \
    "$(awk '{print $1}' <<<"$ratios" | median)" "$(awk '{print $2}' <<<"$ratios" | median)" \
    "$(wc -l <<<"$ratios")"
done
