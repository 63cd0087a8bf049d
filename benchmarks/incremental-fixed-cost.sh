#!/usr/bin/env bash
# The fixed cost of an incremental `backup --store`: unchanged incrementals of a 16 GiB raw disk (1 GiB data) under
# JVM option variants (through the launcher, CDS on), three rounds interleaved, plus plain `java -jar` (no CDS).
#   WORK=/tmp/incr-fixed benchmarks/incremental-fixed-cost.sh      (KVM if /dev/kvm is usable; VMBACKUP_ACCEL=tcg)
# Build first: mvn -q -DskipTests package
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
jar=${JAR:-"$root/examples/target/vmabackup.jar"}
w=${WORK:-/tmp/incr-fixed}
[ -f "$jar" ] || { echo "build first: (cd $root && mvn -q -DskipTests package)" >&2; exit 2; }
accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; accel=${VMBACKUP_ACCEL:-$accel}
rm -rf "$w"; mkdir -p "$w"
truncate -s 16G "$w/disk.raw"
head -c 1G /dev/urandom | dd of="$w/disk.raw" conv=notrunc bs=1M status=none iflag=fullblock
qemu-system-x86_64 -accel "$accel" -m 256 -nodefaults -display none -serial none \
  -drive "if=none,id=hd0,file=$w/disk.raw,format=raw" -device virtio-blk-pci,drive=hd0 \
  -qmp "unix:$w/qmp.sock,server=on,wait=off" >"$w/q.log" 2>&1 &
qp=$!
trap 'kill $qp; wait; rm -rf "$w"' EXIT
for _ in $(seq 100); do [ -S "$w/qmp.sock" ] && break; sleep 0.1; done
java -jar "$jar" store init "$w/store" >/dev/null
export VMABACKUP_JAR="$jar" VMABACKUP_CACHE="$w/cds"
args=(backup --qmp "$w/qmp.sock" --no-vmstate --store "$w/store" --vm bench)
b() { # $1 label, rest: JVM options (launcher) or "plain"
  local l=$1; shift; local t0 rc=0
  t0=$(date +%s.%N)
  if [ "${1:-}" = plain ]; then java -Xmx256m -jar "$jar" "${args[@]}" >"$w/out" 2>&1 || rc=$?
  else JAVA_OPTS="-Xmx256m $*" "$root/examples/vmabackup" "${args[@]}" >"$w/out" 2>&1 || rc=$?; fi
  [ $rc = 0 ] || { echo "$l failed: $(tail -2 "$w/out")" >&2; exit 1; }
  printf '%-28s %.2f s (load %s)\n' "$l" "$(echo "$(date +%s.%N) - $t0" | bc)" "$(cut -d' ' -f1 /proc/loadavg)"
  sleep 1.1 # snapshot ids are whole seconds
}
b full; b "warm (records CDS)"
for _ in 1 2 3; do
  b "launcher (C2, G1)"; b "plain java -jar" plain; b SerialGC -XX:+UseSerialGC; b "C1 only" -XX:TieredStopAtLevel=1
done
echo "accel $accel, $(qemu-system-x86_64 --version | head -1)"
