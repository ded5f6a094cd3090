#!/usr/bin/env bash
# Compiles the eBPF datapath and the porin-cni plugin. Called by Maven (generate-resources)
# with the module's target directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="$1"
mkdir -p "$target/classes/bpf" "$target/bin"
clang -O2 -g -Wall -Werror -target bpf -I/usr/include/"$(uname -m)"-linux-gnu \
  -c "$here/bpf/bpf_lxc.c" -o "$target/classes/bpf/bpf_lxc.o"
clang -O2 -g -Wall -Werror -target bpf -I/usr/include/"$(uname -m)"-linux-gnu \
  -c "$here/bpf/bpf_sock.c" -o "$target/classes/bpf/bpf_sock.o"
clang -O2 -Wall -Werror -o "$target/bin/porin-cni" "$here/c/porin-cni.c"
cp "$here/bpf/porin_maps.h" "$target/classes/bpf/porin_maps.h"
