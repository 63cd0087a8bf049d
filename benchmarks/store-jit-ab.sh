#!/usr/bin/env bash
# JIT modes for the commands that hash every chunk: full C2, the launcher's compiler directives (C2 for the JDK's
# hash and cipher classes only), C1 only; `store verify` and `restore --snapshot` to a raw file, ROUNDS rounds
# interleaved, one `java -jar` per command (JVM start included). Prints wall time and CPU per command.
#   STORE=/tmp/vmem/store SNAPSHOT=vm/2026-01-01T00:00:00Z benchmarks/store-jit-ab.sh
# (a store to try: `java -cp examples/target/vmabackup.jar benchmarks/VerifyMemory.java make /tmp/vmem/store 60 512`)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jar=${JAR:-"$root/examples/target/vmabackup.jar"}
: "${STORE:?STORE=the store}" "${SNAPSHOT:?SNAPSHOT=a snapshot id in it}"
out=${WORK:-/tmp/store-jit-ab}
run() { # label opts... -- args
  local label=$1; shift
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done; shift
  rm -rf "$out"; sync; sleep 2
  /usr/bin/time -f "$label %e s wall, %U s user, %S s sys" java -Xmx256m -Dio.netty.jfr.enabled=false "${opts[@]}" \
    -jar "$jar" "$@" >/dev/null 2>"$out.err" || { cat "$out.err" >&2; exit 1; }
  tail -1 "$out.err"
}
for r in $(seq "${ROUNDS:-3}"); do
  for mode in c2 directives c1; do
    case $mode in
      c2) o=() ;;
      directives) o=(-XX:+UnlockDiagnosticVMOptions "-XX:CompilerDirectivesFile=$root/examples/vmabackup-c2-crypto.json") ;;
      c1) o=(-XX:TieredStopAtLevel=1) ;;
    esac
    run "verify-$mode" "${o[@]}" -- store verify "$STORE" "$SNAPSHOT"
    run "restore-$mode" "${o[@]}" -- restore "$STORE" --snapshot "$SNAPSHOT" --to "$out"
  done
done
rm -rf "$out" "$out.err"
echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"
