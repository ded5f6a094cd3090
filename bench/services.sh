#!/usr/bin/env bash
# Services on the wire, in a same-node topology of network namespaces this script builds (a
# client pod and a server pod on one node), each figure a ratio to a baseline of the same round:
#   porin-10     Porin's datapath with socket load balancing and 10 services: TCP_CRR and TCP_RR
#                through the service's cluster IP, and TCP_CRR straight to the pod IP (baseline)
#   porin-10k    the same with 10,000 services x 10 backends (programming time printed)
#   kube-proxy   no Porin; kube-proxy-shaped iptables NAT rules for 10,000 services x 10 backends
#                (KUBE-SERVICES -> KUBE-SVC-* -> KUBE-SEP-* DNAT, the measured service last), and
#                the same client and server: what users leave behind
#   plain        no programs, no rules: straight to the pod IP
# Reported: crr(cluster IP)/crr(pod IP) with socket LB (goal >= 0.95), rr(cluster IP, 10k
# services)/rr(cluster IP, 10 services) (flat), kube-proxy's crr and rr through the cluster IP
# against plain. Nothing outside the namespaces and cgroup it creates is touched; all removed on
# exit.
#   bench/services.sh [SECONDS] [ROUNDS]   (defaults 5 3)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
SECS=${1:-5}
ROUNDS=${2:-3}
java=$("$here/bin/find-jdk")/bin/java
[ -d bench/target/lib ] && ls bench/target/lib/porin-node-agent-*.jar >/dev/null 2>&1 \
  || ./mvnw -B -q install -DskipTests -pl bench -am
cp="bench/target/classes:bench/target/lib/*"

tag=porin-s$$
work=$(mktemp -d /tmp/porin-bench-svc.XXXXXX)
cgroot=/sys/fs/cgroup/unified
[ -f "$cgroot/cgroup.procs" ] || cgroot=/sys/fs/cgroup
cg="$cgroot/$tag"
namespaces=()
pids=()
setup_fd=
cleanup() {
  [ -n "$setup_fd" ] && eval "exec ${setup_fd}>&-" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf /sys/fs/bpf/"$tag"-* "$work"
  if [ -d "$cg" ]; then
    for p in $(cat "$cg"/cgroup.procs 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    sleep 0.2; rmdir "$cg" 2>/dev/null || true
  fi
}
trap cleanup EXIT

clang -O2 -o "$work/tcp_rr" bench/src/main/c/tcp_rr.c
inns() { local ns=$1; shift; nsenter --net="/var/run/netns/$ns" "$@"; }
newns() { ip netns add "$1"; namespaces+=("$1"); inns "$1" ip link set lo up; }
macof() { inns "$1" ip -o link show dev "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
# the client runs in the bench's own cgroup (socket load balancing is attached there)
client() { sh -c 'echo $$ > "$0/cgroup.procs" && exec nsenter --net="/var/run/netns/$1" "$2" "$3" "$4" "$5" "$6"' \
  "$cg" "$tag-sa" "$work/tcp_rr" "$@"; }

node=$tag-s
newns "$node"
inns "$node" ip addr add 10.77.0.1/32 dev lo
inns "$node" sysctl -qw net.ipv4.ip_forward=1
declare -A podmac hostmac
for p in sa:10.77.0.2 sb:10.77.0.3; do
  name=${p%%:*} ip=${p#*:} ns=$tag-${p%%:*}
  newns "$ns"
  inns "$node" ip link add "h$name" type veth peer name eth0 netns "$ns"
  inns "$node" ip link set "h$name" up
  inns "$node" ip route add "$ip/32" dev "h$name" src 10.77.0.1
  hostmac[$name]=$(macof "$node" "h$name")
  podmac[$name]=$(macof "$ns" eth0)
  inns "$ns" ip addr add "$ip/32" dev eth0
  inns "$ns" ip link set eth0 up
  inns "$ns" ip route add 10.77.0.1 dev eth0 scope link
  inns "$ns" ip route add default via 10.77.0.1 dev eth0
  inns "$ns" ip neigh replace 10.77.0.1 lladdr "${hostmac[$name]}" dev eth0 nud permanent
done
mkdir -p "$cg"
nsenter --net="/var/run/netns/$tag-sb" "$work/tcp_rr" server 7777 >/dev/null 2>&1 & pids+=($!)
# kube-proxy's DNAT goes to a port of its own: its NAT entries (TIME_WAIT for 2 minutes) must
# not clash with the other configurations' connections to 7777
nsenter --net="/var/run/netns/$tag-sb" "$work/tcp_rr" server 7778 >/dev/null 2>&1 & pids+=($!)
sleep 0.3
VIP=10.96.0.77

porin_on() {  # SERVICES
  mkfifo "$work/ctl"
  nsenter --net="/var/run/netns/$node" "$java" --enable-native-access=ALL-UNNAMED -cp "$cp" \
    io.porin.bench.datapath.DatapathSetup "/sys/fs/bpf/$tag-n" 10 10 7777 \
    --pod "hsa,10.77.0.2,${podmac[sa]},${hostmac[sa]},70001" \
    --pod "hsb,10.77.0.3,${podmac[sb]},${hostmac[sb]},70002" \
    --services "$1,10,$VIP,80,10.77.0.3,7777" --socket-lb "$cg" \
    <"$work/ctl" >"$work/setup.log" 2>&1 &
  exec 9>"$work/ctl"
  setup_fd=9
  for _ in $(seq 1 600); do grep -q '^ready' "$work/setup.log" && break; sleep 0.1; done
  grep -q '^ready' "$work/setup.log" || { cat "$work/setup.log"; exit 1; }
  grep -h '^services:' "$work/setup.log" | sed 's/^/    /'
  sleep 2 # the setup's event reader past its first drains (JIT) before anything is measured
}
porin_off() {
  exec 9>&-
  setup_fd=
  for _ in $(seq 1 100); do grep -q 'events drained' "$work/setup.log" && break; sleep 0.1; done
  for p in sa sb; do inns "$node" tc qdisc del dev "h$p" clsact 2>/dev/null || true; done
  rm -rf /sys/fs/bpf/"$tag"-* "$work/ctl" "$work/setup.log"
}
kube_proxy_on() {  # SERVICES: kube-proxy's iptables mode, the measured service last
  local n=$1
  { echo "*nat"; echo ":PREROUTING ACCEPT [0:0]"; echo ":INPUT ACCEPT [0:0]"
    echo ":OUTPUT ACCEPT [0:0]"; echo ":POSTROUTING ACCEPT [0:0]"; echo ":KUBE-SERVICES - [0:0]"
    for i in $(seq 1 $((n - 1))); do echo ":KUBE-SVC-$i - [0:0]"; done
    echo ":KUBE-SVC-T - [0:0]"; echo ":KUBE-SEP-T - [0:0]"
    for i in $(seq 1 $((n - 1))); do for b in $(seq 1 10); do echo ":KUBE-SEP-$i-$b - [0:0]"; done; done
    echo "-A PREROUTING -j KUBE-SERVICES"
    for i in $(seq 1 $((n - 1))); do
      echo "-A KUBE-SERVICES -d 10.97.$((i / 250)).$((i % 250 + 1))/32 -p tcp --dport 80 -j KUBE-SVC-$i"
      for b in $(seq 1 10); do
        if [ "$b" -lt 10 ]; then
          echo "-A KUBE-SVC-$i -m statistic --mode random --probability 0.$((1000 / (11 - b))) -j KUBE-SEP-$i-$b"
        else
          echo "-A KUBE-SVC-$i -j KUBE-SEP-$i-$b"
        fi
        k=$((i * 10 + b))
        echo "-A KUBE-SEP-$i-$b -p tcp -j DNAT --to-destination 10.129.$((k / 250 % 250)).$((k % 250 + 1)):8080"
      done
    done
    echo "-A KUBE-SERVICES -d $VIP/32 -p tcp --dport 80 -j KUBE-SVC-T"
    echo "-A KUBE-SVC-T -j KUBE-SEP-T"
    echo "-A KUBE-SEP-T -p tcp -j DNAT --to-destination 10.77.0.3:7778"
    echo "COMMIT"; } >"$work/kube-proxy.rules"
  local t0; t0=$(date +%s%N)
  inns "$node" iptables-restore <"$work/kube-proxy.rules"
  echo "    kube-proxy: $(grep -c '^-A' "$work/kube-proxy.rules") nat rules loaded in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}
kube_proxy_off() { inns "$node" iptables -t nat -F; inns "$node" iptables -t nat -X; }

measure() {  # CONFIG ROUND TARGET PORT KIND
  local v
  client crr "$3" "$4" 1 >/dev/null
  v=$(client "$5" "$3" "$4" "$SECS")
  printf '%-11s round %d: %-5s to %-14s %9.0f /s\n' "$1" "$2" "$5" "$3:$4" "$v"
  echo "$1 $2 $5 $3 $v" >>"$work/results"
}

echo "== $ROUNDS rounds of $SECS s per measurement (2 cores: take the ratios, not the absolutes)"
for r in $(seq 1 "$ROUNDS"); do
  measure plain "$r" 10.77.0.3 7777 crr
  measure plain "$r" 10.77.0.3 7777 client
  for n in 10 10000; do
    cfg=porin-10; [ "$n" = 10000 ] && cfg=porin-10k
    porin_on "$n"
    # pod IP and cluster IP in turns (odd rounds one first, even rounds the other)
    if [ $((r % 2)) = 1 ]; then
      measure "$cfg" "$r" 10.77.0.3 7777 crr; measure "$cfg" "$r" "$VIP" 80 crr
    else
      measure "$cfg" "$r" "$VIP" 80 crr; measure "$cfg" "$r" 10.77.0.3 7777 crr
    fi
    measure "$cfg" "$r" "$VIP" 80 client
    porin_off
  done
  kube_proxy_on 10000
  measure kube-proxy "$r" "$VIP" 80 crr
  measure kube-proxy "$r" "$VIP" 80 client
  kube_proxy_off
done

echo
echo "== medians of per-round ratios (same round)"
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
ratio() {  # CONFIG_A KIND_A TARGET_A CONFIG_B KIND_B TARGET_B
  awk -v a="$1" -v ka="$2" -v ta="$3" -v b="$4" -v kb="$5" -v tb="$6" '
    $1==a && $3==ka && $4==ta {x[$2]=$5} $1==b && $3==kb && $4==tb {y[$2]=$5}
    END{for (r in x) if (y[r] > 0) print x[r]/y[r]}' "$work/results" | median
}
printf 'socket LB, 10 services:     crr via cluster IP / via pod IP      %.3fx  (goal >= 0.95)\n' \
  "$(ratio porin-10 crr $VIP porin-10 crr 10.77.0.3)"
printf 'socket LB, 10k services:    crr via cluster IP / via pod IP      %.3fx\n' \
  "$(ratio porin-10k crr $VIP porin-10k crr 10.77.0.3)"
printf 'socket LB, 10k vs 10:       rr via cluster IP                    %.3fx  (flat: ~1)\n' \
  "$(ratio porin-10k client $VIP porin-10 client $VIP)"
printf 'socket LB, 10k vs 10:       crr via cluster IP                   %.3fx\n' \
  "$(ratio porin-10k crr $VIP porin-10 crr $VIP)"
printf 'kube-proxy 10k / plain:     crr via cluster IP / pod IP          %.3fx\n' \
  "$(ratio kube-proxy crr $VIP plain crr 10.77.0.3)"
printf 'kube-proxy 10k / plain:     rr via cluster IP / pod IP           %.3fx\n' \
  "$(ratio kube-proxy client $VIP plain client 10.77.0.3)"
printf 'socket LB 10k / kube-proxy: crr via cluster IP                   %.2fx\n' \
  "$(ratio porin-10k crr $VIP kube-proxy crr $VIP)"
