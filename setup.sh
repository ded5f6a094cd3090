#!/usr/bin/env bash
# Makes a fresh Debian machine ready for Porin: the Debian packages it uses, a JDK 25, and
# (unless --no-build) a build of every module. Quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")"

# buildah, podman, runc and debootstrap: bin/build-images and porin lab up --runtime podman
PACKAGES=(clang llvm libbpf-dev bpftool iproute2 etcd-server etcd-client wireguard-go
  wireguard-tools iperf3 tcpdump curl netcat-openbsd libc6-dev iptables kubectl
  buildah podman runc debootstrap)

build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) echo "usage: ./setup.sh [--no-build]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: packages installed"
else
  echo "setup: Debian packages present"
fi

JAVA_HOME=$(bin/find-jdk) || exit 1
export JAVA_HOME
echo "setup: JDK 25 at $JAVA_HOME"

if ((build)); then
  echo "setup: building (./mvnw install, tests skipped; ./mvnw verify runs them)"
  ./mvnw -B -q install -DskipTests
  echo "setup: built"
fi
