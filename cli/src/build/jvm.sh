# The CLI's JVM options, shared by bin/porin and the build's training run (aot-cache.sh): an
# ahead-of-time cache is used only by a JVM started as the one that made it.
# A short-lived command: start fast rather than run fast.
PORIN_CLI_JVM=(
  -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k
  --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
)
