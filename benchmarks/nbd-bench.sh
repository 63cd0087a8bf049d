#!/usr/bin/env bash
# NBD server benchmarks, each against nbdkit in the same run (see BENCHMARKS.md):
#   1. nbdcopy upload of 2 GiB random data: our memory export vs `nbdkit memory 2G allocator=malloc`
#      (multi-conn as nbdcopy chooses, then --connections=1).
#   2. QEMU blockdev-backup (sync=full) of a 4 GiB raw image (~40 % data) into our null export vs `nbdkit null 4G`.
# Prints MB/s (MiB of export per second), our/nbdkit ratio, our JVM's peak RSS and heap use after the run.
# Usage: benchmarks/nbd-bench.sh [RUNS]   (build first: mvn -q -DskipTests package)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jar="$root/examples/target/vmabackup.jar"
qmp_backup="$root/nbd-server/src/test/resources/nbd-conformance/qmp_backup.py"
runs=${1:-3}
[ -f "$jar" ] || { echo "build first: (cd $root && mvn -q -DskipTests package)" >&2; exit 2; }
work=$(mktemp -d /tmp/nbd-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
JAVA_OPTS=${JAVA_OPTS:--Xmx256m -XX:MaxDirectMemorySize=3g}

now() { date +%s.%N; }
wait_socket() { for _ in $(seq 600); do [ -S "$1" ] && return 0; sleep 0.05; done; echo "no socket $1" >&2; return 1; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_ours() { # $1 backend option, $2 size, $3 socket
  rm -f "$3"
  java $JAVA_OPTS -jar "$jar" nbd serve "$1" "$2" --socket "$3" >"$work/ours.log" 2>&1 &
  ours=$!; pids+=("$ours"); wait_socket "$3"
}
stop_ours() {
  rss=$(awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$ours/status)
  heap=$(jcmd "$ours" GC.heap_info 2>/dev/null | awk '/garbage-first heap|total .* used/ {for (i=1;i<=NF;i++) if ($i=="used") {print $(i+1); exit}}')
  kill "$ours"; wait "$ours" 2>/dev/null || true
}
start_nbdkit() { # $3 socket, rest: plugin args
  local s=$1; shift
  rm -f "$s"
  nbdkit -f -U "$s" "$@" &
  kit=$!; pids+=("$kit"); wait_socket "$s"
}
stop_nbdkit() { kill "$kit"; wait "$kit" 2>/dev/null || true; }

echo "== preparing data in $work"
head -c $((2 << 30)) /dev/urandom > "$work/rand.img"
/usr/bin/python3 - "$work/src.raw" <<'PY'
import os, sys
size = 4 << 30
with open(sys.argv[1], "wb") as f:
    f.truncate(size)
    for i in range(size >> 20):
        if i % 5 < 2:          # 40 % of the 1 MiB blocks hold random data, the rest is a hole
            f.seek(i << 20); f.write(os.urandom(1 << 20))
PY
cat "$work/rand.img" "$work/src.raw" > /dev/null

upload() { # $1 socket, extra nbdcopy args...
  local s=$1; shift
  local t0 t1; t0=$(now); nbdcopy "$@" "$work/rand.img" "nbd+unix:///?socket=$s"; t1=$(now)
  echo "$t0 $t1" | awk '{printf "%.0f\n", 2048 / ($2 - $1)}'
}

backup() { # $1 socket
  rm -f "$work/qmp.sock"
  qemu-storage-daemon --blockdev driver=file,node-name=src-file,filename="$work/src.raw" \
    --blockdev driver=raw,node-name=src,file=src-file \
    --blockdev driver=nbd,node-name=tgt,server.type=unix,server.path="$1" \
    --chardev socket,id=qmp0,path="$work/qmp.sock",server=on,wait=off --monitor chardev=qmp0 >"$work/qsd.log" 2>&1 &
  local q=$!
  wait_socket "$work/qmp.sock"
  local secs; secs=$(/usr/bin/python3 "$qmp_backup" "$work/qmp.sock" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')
  wait "$q" 2>/dev/null || true
  echo "$secs" | awk '{printf "%.0f\n", 4096 / $1}'
}

report() { # name peer ours
  echo "$1: nbdkit $2 MB/s, ours $3 MB/s, ratio $(echo "$3 $2" | awk '{printf "%.2f", $1/$2}')"
}

for conns in default 1; do
  args=(); [ "$conns" = 1 ] && args=(--connections=1)
  kitv=(); ourv=(); ourrss=(); ourheap=()
  for r in $(seq "$runs"); do
    start_nbdkit "$work/kit.sock" memory 2G allocator=malloc
    kitv+=("$(upload "$work/kit.sock" "${args[@]}")"); stop_nbdkit
    start_ours --memory 2G "$work/ours.sock"
    ourv+=("$(upload "$work/ours.sock" "${args[@]}")"); stop_ours; ourrss+=("$rss"); ourheap+=("$heap")
  done
  k=$(printf '%s\n' "${kitv[@]}" | median); o=$(printf '%s\n' "${ourv[@]}" | median)
  report "nbdcopy upload 2 GiB random, memory export, connections=$conns" "$k" "$o"
  echo "   runs nbdkit: ${kitv[*]}  ours: ${ourv[*]}  ours peak RSS MiB: ${ourrss[*]}  heap used after: ${ourheap[*]}"
done

kitv=(); ourv=(); ourrss=(); ourheap=()
for r in $(seq "$runs"); do
  start_nbdkit "$work/kit.sock" null 4G
  kitv+=("$(backup "$work/kit.sock")"); stop_nbdkit
  start_ours --null 4G "$work/ours.sock"
  ourv+=("$(backup "$work/ours.sock")"); stop_ours; ourrss+=("$rss"); ourheap+=("$heap")
done
k=$(printf '%s\n' "${kitv[@]}" | median); o=$(printf '%s\n' "${ourv[@]}" | median)
report "QEMU blockdev-backup 4 GiB (40 % data), null export" "$k" "$o"
echo "   runs nbdkit: ${kitv[*]}  ours: ${ourv[*]}  ours peak RSS MiB: ${ourrss[*]}  heap used after: ${ourheap[*]}"
