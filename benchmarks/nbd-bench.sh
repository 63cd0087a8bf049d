#!/usr/bin/env bash
# NBD server benchmarks, each against nbdkit in the same run (see BENCHMARKS.md):
#   1. nbdcopy upload of 2 GiB random data: our memory export vs `nbdkit memory 2G allocator=malloc`
#      (multi-conn as nbdcopy chooses, then --connections=1). nbdkit's malloc allocator allocates and zero-fills
#      all 2 GiB before it listens, so our export is preallocated the same way (`nbd serve --memory 2G --preallocate`).
#      Also: our lazily allocated (sparse) memory export vs `nbdkit memory 2G` (sparse allocator), multi-conn.
#   2. QEMU blockdev-backup (sync=full) of a 4 GiB raw image (~40 % data) into our null export vs `nbdkit null 4G`.
# Our server is `examples/vmabackup nbd serve`, through the launcher as a user runs it (its JVM options and its
# class-data archive, which one short priming run creates first, as any earlier `nbd serve` would have).
# Each server process does the job twice: "cold" is the first job of a fresh process (for us: a JVM that has run
# only `nbd serve`'s start-up warm-up, see OURS_ARGS), "warm" the second (what a long-running service sees). Both servers get the same
# treatment, and the order alternates between runs (odd runs nbdkit first, even runs ours first). Prints MB/s (MiB of export per second, medians), our/nbdkit ratio, our JVM's peak RSS and heap use.
# Usage: benchmarks/nbd-bench.sh [RUNS]   (build first: mvn -q -DskipTests package)
# OURS_ARGS adds options to our `nbd serve` (e.g. --no-warm-up: what a fresh JVM's first job costs without it).
# Start to listening (launch until the socket exists) is printed for both servers: our warm-up happens there.
# ONLY=list picks sections (comma-separated: upload, upload1, sparse, backup; default all of them).
# The test data (2 GiB random file, 4 GiB raw image) is kept in $BENCH_DATA (default /tmp/nbd-bench-data).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jar="$root/examples/target/vmabackup.jar"
qmp_backup="$root/nbd-server/src/test/resources/nbd-conformance/qmp_backup.py"
runs=${1:-3}
# JOBS=N (default 2) runs each job N times per server process; with N > 2 jobs 3..N are reported as "steady" (the
# median over all of them and all runs; for us: a JVM whose JIT has compiled the request path), next to cold and warm.
jobs=${JOBS:-2}
only=",${ONLY:-upload,upload1,sparse,backup},"
want() { [[ "$only" == *",$1,"* ]]; }
[ -f "$jar" ] || { echo "build first: (cd $root && mvn -q -DskipTests package)" >&2; exit 2; }
work=$(mktemp -d /tmp/nbd-bench.XXXXXX)
data=${BENCH_DATA:-/tmp/nbd-bench-data}
mkdir -p "$data"
pids=()
cleanup() { for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
# Heap and direct-memory limits for our server; the launcher adds its own per-command options (JAVA_OPTS naming
# one of them wins, e.g. JAVA_OPTS="... -XX:-TieredStopAtLevel" to compare JIT settings).
export JAVA_OPTS=${JAVA_OPTS:--Xmx256m -XX:MaxDirectMemorySize=3g}

now() { date +%s.%N; }
wait_socket() { for _ in $(seq 600); do [ -S "$1" ] && return 0; sleep 0.05; done; echo "no socket $1" >&2; return 1; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_ours() { # $1 backend (memory|sparse-memory|null), $2 size in bytes, $3 socket
  rm -f "$3"
  local src
  case "$1" in
    memory) src=(--memory "$2" --preallocate) ;;
    sparse-memory) src=(--memory "$2") ;;
    null) src=(--null "$2") ;;
  esac
  local t0; t0=$(now)
  # shellcheck disable=SC2086 # OURS_ARGS is a list of options
  "$root/examples/vmabackup" nbd serve "${src[@]}" --socket "$3" ${OURS_ARGS:-} >"$work/ours.log" 2>&1 &
  ours=$!; pids+=("$ours"); wait_socket "$3" # the launcher execs java: $! is the JVM
  started=$(echo "$t0 $(now)" | awk '{printf "%.2f", $2 - $1}')
}
stop_ours() {
  rss=$(awk '/VmHWM/ {printf "%d", $2/1024}' /proc/$ours/status)
  heap=$(jcmd "$ours" GC.heap_info 2>/dev/null | awk '/garbage-first heap|total .* used/ {for (i=1;i<=NF;i++) if ($i=="used") {print $(i+1); exit}}')
  kill "$ours"; wait "$ours" 2>/dev/null || true
}
start_nbdkit() { # $3 socket, rest: plugin args
  local s=$1; shift
  rm -f "$s"
  local t0; t0=$(now)
  nbdkit -f -U "$s" "$@" &
  kit=$!; pids+=("$kit"); wait_socket "$s"
  started=$(echo "$t0 $(now)" | awk '{printf "%.2f", $2 - $1}')
}
stop_nbdkit() { kill "$kit"; wait "$kit" 2>/dev/null || true; }

echo "== test data in $data; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -f "$data/rand.img" ] || head -c $((2 << 30)) /dev/urandom > "$data/rand.img"
[ -f "$data/src.raw" ] || /usr/bin/python3 - "$data/src.raw" <<'PY'
import os, sys
size = 4 << 30
with open(sys.argv[1], "wb") as f:
    f.truncate(size)
    for i in range(size >> 20):
        if i % 5 < 2:          # 40 % of the 1 MiB blocks hold random data, the rest is a hole
            f.seek(i << 20); f.write(os.urandom(1 << 20))
PY
cat "$data/rand.img" "$data/src.raw" > /dev/null
# Priming: one short `nbd serve` run so the launcher's class-data archive for it exists before anything is timed.
start_ours memory $((64 << 20)) "$work/ours.sock"
head -c $((64 << 20)) "$data/rand.img" > "$work/prime.img"
nbdcopy "$work/prime.img" "nbd+unix:///?socket=$work/ours.sock"
stop_ours; rm -f "$work/prime.img"; sleep 2 # the launcher publishes a JDK 17 archive once the JVM has exited

upload() { # $1 socket, extra nbdcopy args...
  local s=$1; shift
  local t0 t1; t0=$(now); nbdcopy "$@" "$data/rand.img" "nbd+unix:///?socket=$s"; t1=$(now)
  echo "$t0 $t1" | awk '{printf "%.0f\n", 2048 / ($2 - $1)}'
}

backup() { # $1 socket
  rm -f "$work/qmp.sock"
  qemu-storage-daemon --blockdev driver=file,node-name=src-file,filename="$data/src.raw" \
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
med() { printf '%s\n' "$@" | median; }
# Median of the per-run ratios ours/nbdkit ($1: name of our array, $2: of nbdkit's; same length, same runs):
# each pair ran minutes apart at most, so it is less exposed to the machine's drift than a ratio of medians.
paired() {
  local -n o=$1 k=$2
  local i; for i in "${!o[@]}"; do echo "${o[$i]} ${k[$i]}"; done | awk '{printf "%.3f\n", $1 / $2}' | median
}

# One job twice per server process. $1: job function, $2: our backend option, $3: size, $4...: nbdkit plugin args,
# then "--" and the job's extra arguments.
compare() {
  local job=$1 ours_opt=$2 size=$3; shift 3
  local kit_args=(); while [ "$1" != "--" ]; do kit_args+=("$1"); shift; done; shift
  kc=(); kw=(); ks=(); oc=(); ow=(); os=(); orss=(); oheap=(); kstart=(); ostart=()
  kit_turn() {
    start_nbdkit "$work/kit.sock" "${kit_args[@]}"
    kstart+=("$started")
    kc+=("$($job "$work/kit.sock" "$@")"); kw+=("$($job "$work/kit.sock" "$@")")
    for _ in $(seq 3 "$jobs"); do ks+=("$($job "$work/kit.sock" "$@")"); done
    stop_nbdkit
  }
  our_turn() {
    start_ours "$ours_opt" "$size" "$work/ours.sock"
    ostart+=("$started")
    oc+=("$($job "$work/ours.sock" "$@")"); ow+=("$($job "$work/ours.sock" "$@")")
    for _ in $(seq 3 "$jobs"); do os+=("$($job "$work/ours.sock" "$@")"); done
    stop_ours
    orss+=("$rss"); oheap+=("$heap")
  }
  for r in $(seq "$runs"); do
    if [ $((r % 2)) = 1 ]; then kit_turn "$@"; our_turn "$@"; else our_turn "$@"; kit_turn "$@"; fi
  done
}

for conns in default 1; do
  if [ "$conns" = 1 ]; then want upload1 || continue; else want upload || continue; fi
  args=(); [ "$conns" = 1 ] && args=(--connections=1)
  compare upload memory $((2 << 30)) memory 2G allocator=malloc -- "${args[@]}"
  report "nbdcopy upload 2 GiB random, memory export, connections=$conns, cold" "$(med "${kc[@]}")" "$(med "${oc[@]}")"
  report "nbdcopy upload 2 GiB random, memory export, connections=$conns, warm" "$(med "${kw[@]}")" "$(med "${ow[@]}")"
  [ "$jobs" -gt 2 ] && report "nbdcopy upload 2 GiB random, memory export, connections=$conns, steady (jobs 3-$jobs)" "$(med "${ks[@]}")" "$(med "${os[@]}")"
  echo "   runs cold nbdkit: ${kc[*]} ours: ${oc[*]} | warm nbdkit: ${kw[*]} ours: ${ow[*]}${ks[*]:+ | steady nbdkit: ${ks[*]} ours: ${os[*]}}"
  echo "   ours peak RSS MiB: ${orss[*]}  heap used after: ${oheap[*]}"
  echo "   start to listening (s): nbdkit ${kstart[*]} ours: ${ostart[*]}"
  echo "   median of per-run ratios: cold $(paired oc kc), warm $(paired ow kw)"
done

if want sparse; then
compare upload sparse-memory $((2 << 30)) memory 2G --
report "nbdcopy upload 2 GiB random, sparse memory export (lazy) vs nbdkit sparse allocator, cold" "$(med "${kc[@]}")" "$(med "${oc[@]}")"
report "nbdcopy upload 2 GiB random, sparse memory export (lazy) vs nbdkit sparse allocator, warm" "$(med "${kw[@]}")" "$(med "${ow[@]}")"
[ "$jobs" -gt 2 ] && report "nbdcopy upload 2 GiB random, sparse memory export (lazy) vs nbdkit sparse allocator, steady (jobs 3-$jobs)" "$(med "${ks[@]}")" "$(med "${os[@]}")"
echo "   runs cold nbdkit: ${kc[*]} ours: ${oc[*]} | warm nbdkit: ${kw[*]} ours: ${ow[*]}${ks[*]:+ | steady nbdkit: ${ks[*]} ours: ${os[*]}}"
echo "   ours peak RSS MiB: ${orss[*]}  heap used after: ${oheap[*]}"
echo "   start to listening (s): nbdkit ${kstart[*]} ours: ${ostart[*]}"

fi

if want backup; then
compare backup null $((4 << 30)) null 4G --
report "QEMU blockdev-backup 4 GiB (40 % data), null export, cold" "$(med "${kc[@]}")" "$(med "${oc[@]}")"
report "QEMU blockdev-backup 4 GiB (40 % data), null export, warm" "$(med "${kw[@]}")" "$(med "${ow[@]}")"
[ "$jobs" -gt 2 ] && report "QEMU blockdev-backup 4 GiB (40 % data), null export, steady (jobs 3-$jobs)" "$(med "${ks[@]}")" "$(med "${os[@]}")"
echo "   runs cold nbdkit: ${kc[*]} ours: ${oc[*]} | warm nbdkit: ${kw[*]} ours: ${ow[*]}${ks[*]:+ | steady nbdkit: ${ks[*]} ours: ${os[*]}}"
echo "   ours peak RSS MiB: ${orss[*]}  heap used after: ${oheap[*]}"
echo "   start to listening (s): nbdkit ${kstart[*]} ours: ${ostart[*]}"
fi
echo "== load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
