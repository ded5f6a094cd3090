#!/usr/bin/env bash
# Makes the CLI's ahead-of-time cache, TARGET/porin-cli.aot (JDK 25's -XX:AOTCacheOutput), from a
# training run of the commands users run most (io.porin.cli.Training). Run by the build after the
# jar and TARGET/lib exist. Usage: aot-cache.sh TARGET
set -euo pipefail
target=$1
here=$(cd "$(dirname "$0")" && pwd)
java_home=$("$here/../../../bin/find-jdk")
. "$here/jvm.sh"
"$java_home/bin/java" "$here/Unsign.java" "$target"/lib/bc*-jdk18on-*.jar
rm -f "$target/porin-cli.aot"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# the same class path as bin/porin's -jar: the absolute path of the jar
PORIN_CONFIG="$work/config" PORIN_LAB_DIR="$work/labs" "$java_home/bin/java" "${PORIN_CLI_JVM[@]}" \
  -XX:AOTCacheOutput="$target/porin-cli.aot" -Xlog:aot=warning,cds=warning \
  -cp "$target/porin-cli.jar" io.porin.cli.Training >"$work/training.log" 2>&1 || {
  cat "$work/training.log" >&2
  exit 1
}
echo "$java_home" >"$target/java-home"
echo "porin-cli.aot: $(du -m "$target/porin-cli.aot" | cut -f1) MiB"
