#!/usr/bin/env bash
# CPU our NBD server spends per job, job after job in one process (how the JIT's warm-up shows):
# serves a preallocated 2 GiB memory export (`examples/vmabackup nbd serve --memory 2G --preallocate`, through the
# launcher with its per-command JVM options) and uploads 2 GiB of random data with nbdcopy JOBS times; prints
# "MB/s/cpu-ticks" per job (ticks of 10 ms, user+system from /proc/PID/stat) and the process's total user and
# system ticks. KIT=1 measures `nbdkit memory 2G allocator=malloc` the same way.
# Usage: JOBS=8 [KIT=1] benchmarks/nbd-cpu-per-job.sh [java options added to JAVA_OPTS...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=${BENCH_DATA:-/tmp/nbd-bench-data}
jobs=${JOBS:-8}
work=$(mktemp -d /tmp/nbd-cpu.XXXXXX)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
[ -f "$data/rand.img" ] || { mkdir -p "$data"; head -c $((2 << 30)) /dev/urandom > "$data/rand.img"; }
if [ "${KIT:-0}" = 1 ]; then
  nbdkit -f -U "$work/s.sock" memory 2G allocator=malloc &
else
  JAVA_OPTS="-Xmx256m -XX:MaxDirectMemorySize=3g $*" "$root/examples/vmabackup" nbd serve --memory 2G --preallocate \
    --socket "$work/s.sock" > "$work/server.log" 2>&1 &
fi
pid=$!
for _ in $(seq 600); do [ -S "$work/s.sock" ] && break; sleep 0.05; done
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
out=""
for _ in $(seq "$jobs"); do
  c0=$(ticks); t0=$(date +%s.%N)
  nbdcopy "$data/rand.img" "nbd+unix:///?socket=$work/s.sock"
  t1=$(date +%s.%N)
  out="$out $(echo "$t0 $t1" | awk '{printf "%.0f", 2048 / ($2 - $1)}')/$(( $(ticks) - c0 ))"
done
echo "MB/s/ticks per job:$out  total: $(awk '{print $14 " user + " $15 " system ticks"}' "/proc/$pid/stat")  opts: $*"
