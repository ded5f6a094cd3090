#!/usr/bin/env bash
# The datapath on the wire, in two topologies this script builds from network namespaces:
#   same-node   two pods on one node (veth pairs, routed in the node's namespace)
#   cross-node  one pod on each of two nodes; the nodes' eth0 on a bridge (the underlay), each
#               routing the other's pod CIDR via the other's address (native routing)
# Three measurements, each as a ratio to the plain baseline of the same round and topology:
#   rr          TCP request/response (bench/src/main/c/tcp_rr.c, one byte each way, as TCP_RR)
#   crr         TCP connect/request/response/close (tcp_rr crr, a connection each, as TCP_CRR)
#   throughput  one TCP stream (iperf3)
# Configurations, interleaved round by round:
#   plain      veth pairs and the nodes' routing, no programs
#   porin-10   Porin's programs on every host-side veth (and, cross-node, on each node's uplink:
#              host routing), 10 ipcache / 10 policy entries
#   porin-10k  the same with 10,000 ipcache entries and 1,000 policy entries per endpoint
#   iptables   no programs; 10,000 iptables FORWARD rules on each node, the allowing one last
# Porin runs with both directions of every pod enforced and its event ring drained (flows on).
# Nothing outside the namespaces it creates is touched; everything is removed on exit.
#   bench/datapath.sh [SECONDS] [ROUNDS] [TOPOLOGIES]   (defaults 5 3 "same-node cross-node")
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
SECS=${1:-5}
ROUNDS=${2:-3}
TOPOLOGIES=${3:-"same-node cross-node"}
java=$("$here/bin/find-jdk")/bin/java
[ -f services/node-agent/target/bin/porin-cni ] && [ -d bench/target/lib ] \
  && ls bench/target/lib/porin-node-agent-*.jar >/dev/null 2>&1 \
  || ./mvnw -B -q install -DskipTests -pl bench -am
cp="bench/target/classes:bench/target/lib/*"

tag=porin-b$$
work=$(mktemp -d /tmp/porin-bench-dp.XXXXXX)
namespaces=()
pids=()
setups=()
cleanup() {
  for fd in "${setups[@]}"; do eval "exec ${fd}>&-" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf /sys/fs/bpf/"$tag"-* "$work"
}
trap cleanup EXIT

clang -O2 -o "$work/tcp_rr" bench/src/main/c/tcp_rr.c
inns() { local ns=$1; shift; nsenter --net="/var/run/netns/$ns" "$@"; }
newns() { ip netns add "$1"; namespaces+=("$1"); inns "$1" ip link set lo up; }
macof() { inns "$1" ip -o link show dev "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }

# A pod: namespace $tag-$name with eth0 at $ip, wired to host side h$name in node namespace $node
# (routed there, the node's gateway $gw on its lo). Records its MACs for the datapath.
declare -A podmac hostmac podip podnode
pod() {  # NAME NODE_NS IP GATEWAY
  local name=$1 node=$2 ip=$3 gw=$4 ns=$tag-$1
  newns "$ns"
  inns "$node" ip link add "h$name" type veth peer name eth0 netns "$ns"
  inns "$node" ip link set "h$name" up
  inns "$node" ip route add "$ip/32" dev "h$name" src "$gw"
  hostmac[$name]=$(macof "$node" "h$name")
  podmac[$name]=$(macof "$ns" eth0)
  podip[$name]=$ip
  podnode[$name]=$node
  inns "$ns" ip addr add "$ip/32" dev eth0
  inns "$ns" ip link set eth0 up
  inns "$ns" ip route add "$gw" dev eth0 scope link
  inns "$ns" ip route add default via "$gw" dev eth0
  inns "$ns" ip neigh replace "$gw" lladdr "${hostmac[$name]}" dev eth0 nud permanent
}
node() {  # NS GATEWAY
  newns "$1"
  inns "$1" ip addr add "$2/32" dev lo
  inns "$1" sysctl -qw net.ipv4.ip_forward=1
}
server() {  # POD: iperf3 and tcp_rr servers (nsenter directly: $! must be the server itself)
  nsenter --net="/var/run/netns/$tag-$1" iperf3 -s -p 5201 >/dev/null 2>&1 & pids+=($!)
  nsenter --net="/var/run/netns/$tag-$1" "$work/tcp_rr" server 7777 >/dev/null 2>&1 & pids+=($!)
}

# same-node: node s, pods sa (client) and sb (server)
node "$tag-s" 10.77.0.1
pod sa "$tag-s" 10.77.0.2 10.77.0.1
pod sb "$tag-s" 10.77.0.3 10.77.0.1
server sb
# cross-node: nodes x1 and x2 on the bridge of namespace u, pods xa on x1 and xb on x2
newns "$tag-u"
inns "$tag-u" ip link add br0 type bridge
inns "$tag-u" ip link set br0 up
node "$tag-x1" 10.78.1.1
node "$tag-x2" 10.78.2.1
for i in 1 2; do
  inns "$tag-u" ip link add "p$i" type veth peer name eth0 netns "$tag-x$i"
  inns "$tag-u" ip link set "p$i" master br0 up
  inns "$tag-x$i" ip addr add "172.31.77.$i/24" dev eth0
  inns "$tag-x$i" ip link set eth0 up
done
inns "$tag-x1" ip route add 10.78.2.0/24 via 172.31.77.2
inns "$tag-x2" ip route add 10.78.1.0/24 via 172.31.77.1
pod xa "$tag-x1" 10.78.1.2 10.78.1.1
pod xb "$tag-x2" 10.78.2.2 10.78.2.1
server xb
sleep 0.5

# Porin on the nodes of a topology: one DatapathSetup per node (the agent's own map code), with
# the node's pods as endpoints and the other node's pods as peers in the ipcache.
declare -A identity=([sa]=70001 [sb]=70002 [xa]=70001 [xb]=70002)
porin_on() {  # TOPOLOGY IPCACHE POLICY
  local nodes pods
  if [ "$1" = same-node ]; then nodes="$tag-s"; pods="sa sb"; else nodes="$tag-x1 $tag-x2"; pods="xa xb"; fi
  local fd=10
  for n in $nodes; do
    local args=()
    for p in $pods; do
      if [ "${podnode[$p]}" = "$n" ]; then
        args+=(--pod "h$p,${podip[$p]},${podmac[$p]},${hostmac[$p]},${identity[$p]}")
      else
        args+=(--peer "${podip[$p]},${identity[$p]}")
      fi
    done
    [ "$1" = cross-node ] && args+=(--device eth0)
    mkfifo "$work/ctl-$n"
    nsenter --net="/var/run/netns/$n" "$java" --enable-native-access=ALL-UNNAMED -cp "$cp" \
      io.porin.bench.datapath.DatapathSetup "/sys/fs/bpf/$n" "$2" "$3" 5201,7777 "${args[@]}" \
      <"$work/ctl-$n" >"$work/setup-$n.log" 2>&1 &
    eval "exec ${fd}>\"$work/ctl-$n\""
    setups+=("$fd")
    fd=$((fd + 1))
  done
  for n in $nodes; do
    for _ in $(seq 1 300); do grep -q '^ready' "$work/setup-$n.log" && break; sleep 0.1; done
    grep -q '^ready' "$work/setup-$n.log" || { cat "$work/setup-$n.log"; exit 1; }
  done
}
porin_off() {  # TOPOLOGY
  for fd in "${setups[@]}"; do eval "exec ${fd}>&-"; done
  setups=()
  wait_setups
  local p
  for p in sa sb xa xb; do
    inns "${podnode[$p]}" tc qdisc del dev "h$p" clsact 2>/dev/null || true
  done
  for n in "$tag-x1" "$tag-x2"; do inns "$n" tc qdisc del dev eth0 clsact 2>/dev/null || true; done
  rm -rf /sys/fs/bpf/"$tag"-* "$work"/ctl-*
}
wait_setups() {
  local n
  for n in "$tag-s" "$tag-x1" "$tag-x2"; do
    [ -f "$work/setup-$n.log" ] || continue
    for _ in $(seq 1 100); do grep -q 'events drained' "$work/setup-$n.log" && break; sleep 0.1; done
    grep -h 'events drained' "$work/setup-$n.log" | sed "s/^/    $n: /" || true
    rm -f "$work/setup-$n.log"
  done
}
iptables_on() {  # TOPOLOGY
  local nodes
  if [ "$1" = same-node ]; then nodes="$tag-s"; else nodes="$tag-x1 $tag-x2"; fi
  for n in $nodes; do
    { echo "*filter"; echo ":INPUT ACCEPT [0:0]"; echo ":FORWARD DROP [0:0]"; echo ":OUTPUT ACCEPT [0:0]"
      for i in $(seq 1 9999); do
        echo "-A FORWARD -s 172.16.$((i / 250)).$((i % 250 + 1))/32 -d 10.77.0.3/32 -p tcp --dport $((10000 + i)) -j ACCEPT"
      done
      echo "-A FORWARD -s 10.77.0.0/16 -d 10.77.0.0/16 -p tcp -j ACCEPT"
      echo "-A FORWARD -s 10.78.0.0/16 -d 10.78.0.0/16 -p tcp -j ACCEPT"
      echo "COMMIT"; } | inns "$n" iptables-restore
  done
}
iptables_off() {
  local n
  for n in "$tag-s" "$tag-x1" "$tag-x2"; do
    inns "$n" iptables -F FORWARD; inns "$n" iptables -P FORWARD ACCEPT
  done
}

# packets the client's node forwarded through its IP stack (host routing skips it)
forwarded() { inns "$1" awk '/^Ip: [0-9]/{print $7}' /proc/net/snmp; }

measure() {  # TOPOLOGY CONFIG ROUND
  local client server rr crr tput
  if [ "$1" = same-node ]; then client=sa; server=sb; else client=xa; server=xb; fi
  # warm up first (caches, and the JIT of the setup's event reader): the same for every config
  inns "$tag-$client" "$work/tcp_rr" crr "${podip[$server]}" 7777 2 >/dev/null
  local fwd0; fwd0=$(forwarded "${podnode[$client]}")
  rr=$(inns "$tag-$client" "$work/tcp_rr" client "${podip[$server]}" 7777 "$SECS")
  crr=$(inns "$tag-$client" "$work/tcp_rr" crr "${podip[$server]}" 7777 "$SECS")
  tput=$(inns "$tag-$client" iperf3 -c "${podip[$server]}" -p 5201 -t "$SECS" -J \
    | awk -F'[:,]' '/"sum_received"/{f=1} f && /"bits_per_second"/{print $2; exit}')
  printf '%-10s %-10s round %d: %8.0f rr/s %8.0f crr/s %7.2f Gbit/s  (%d forwarded by the node)\n' \
    "$1" "$2" "$3" "$rr" "$crr" "$(awk -v b="$tput" 'BEGIN{print b/1e9}')" \
    $(( $(forwarded "${podnode[$client]}") - fwd0 ))
  echo "$1 $2 $3 $rr $crr $tput" >>"$work/results"
}

echo "== $ROUNDS rounds of $SECS s per measurement (2 cores: take the ratios, not the absolutes)"
for r in $(seq 1 "$ROUNDS"); do
  for t in $TOPOLOGIES; do
    measure "$t" plain "$r"
    porin_on "$t" 10 10; measure "$t" porin-10 "$r"; porin_off "$t"
    porin_on "$t" 10000 1000; measure "$t" porin-10k "$r"; porin_off "$t"
    iptables_on "$t"; measure "$t" iptables "$r"; iptables_off
  done
done

echo
echo "== median of the per-round ratios to plain veth (same round, same topology)"
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
for t in $TOPOLOGIES; do
  for cfg in porin-10 porin-10k iptables; do
    ratios=$(awk -v t="$t" -v c="$cfg" '$1==t && $2=="plain"{rr[$3]=$4; crr[$3]=$5; tp[$3]=$6}
      $1==t && $2==c{xrr[$3]=$4; xcrr[$3]=$5; xtp[$3]=$6}
      END{for (r in xrr) print xrr[r]/rr[r], xcrr[r]/crr[r], xtp[r]/tp[r]}' "$work/results")
    printf '%-10s %-10s rr %.3fx   crr %.3fx   throughput %.3fx   (%d rounds)\n' "$t" "$cfg" \
      "$(awk '{print $1}' <<<"$ratios" | median)" "$(awk '{print $2}' <<<"$ratios" | median)" \
      "$(awk '{print $3}' <<<"$ratios" | median)" "$(wc -l <<<"$ratios")"
  done
done
