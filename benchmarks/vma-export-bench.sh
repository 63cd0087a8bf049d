#!/usr/bin/env bash
# qemu-img convert -O qcow2 reading our NBD export of a VMA archive vs reading qemu-nbd of the raw image, one run.
# Usage: benchmarks/vma-export-bench.sh [WORKDIR] [SIZE_GIB] [ROUNDS]
#   (needs examples/target/vmabackup.jar: mvn -q -DskipTests package)
# Makes a SIZE_GIB (default 2) raw image with ~40 % random data in 1 MiB runs (fixed seed) and its .vma
# (vmabackup vma create), warms the page cache, starts
#   vmabackup nbd serve --vma a.vma --socket ours.sock      (export drive-disk0)
#   qemu-nbd -r -f raw -k peer.sock -t -e 4 disk.raw         (the peer: QEMU's own server of the raw image)
# and alternates ROUNDS (default 5) rounds of
#   qemu-img convert -f raw -O qcow2 nbd+unix:///drive-disk0?socket=ours.sock out.qcow2   and the same on peer.sock,
# printing each time, the medians and the ratio (ours / peer, time). Then times VmaIndex.open on the archive and a
# sequential in-process VmaIndex.read pass (benchmarks/VmaIndexOpenBench.java).
# READER=nbdcopy times `nbdcopy URL null:` instead of the convert (reads only: on these VMs the convert's qcow2
# output makes rounds bimodal, ~0.7 s or ~2-4 s, for either server; see BENCHMARKS.md). The copy check still converts.
# WARMUP=N (default 1) converts per Java server before the timed rounds (the JIT is still compiling during the
# first few seconds of a server's life; a 2 GiB convert takes about one).
# Our server runs through the launcher (examples/vmabackup, JAVA_OPTS=-Xmx256m) as a user runs it.
# BASELINE_JAR=other.jar adds a third server (the same archive served by that build, e.g. the previous commit's
# jar, with `java -Xmx256m $BASELINE_OPTS -jar`) to every round, for before/after figures measured under the same
# load; BASELINE_OPTS alone serves this build that way (e.g. BASELINE_OPTS=-XX:TieredStopAtLevel=4 for C2).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jar="${VMABACKUP_JAR:-$here/examples/target/vmabackup.jar}"
work="${1:-$(mktemp -d /tmp/vma-export-bench.XXXXXX)}"
gib="${2:-2}"
rounds="${3:-5}"
size=$((gib << 30))
img="$work/disk.raw"
mkdir -p "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -f "$work/out.qcow2" "$work/ours.sock" "$work/peer.sock" "$work/base.sock"
}
trap cleanup EXIT
if [ ! -f "$img" ]; then
  python3 "$here/benchmarks/sparse-image.py" "$img" "$size" $((1 << 20)) 4321
fi
[ -f "$work/a.vma" ] || java -Xmx256m -jar "$jar" vma create "$work/a.vma" -d "drive-disk0=$img" > /dev/null
cat "$img" "$work/a.vma" > /dev/null
echo "image $(du -h --apparent-size "$img" | cut -f1) apparent, $(du -h "$img" | cut -f1) allocated;" \
  "archive $(du -h --apparent-size "$work/a.vma" | cut -f1); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f "$work/ours.sock" "$work/peer.sock" "$work/base.sock"
[ -z "${BASELINE_OPTS:-}" ] || BASELINE_JAR=${BASELINE_JAR:-$jar}
if [ -n "${BASELINE_JAR:-}" ]; then
  # shellcheck disable=SC2086 # a list of options
  java -Xmx256m ${BASELINE_OPTS:-} -jar "$BASELINE_JAR" nbd serve --vma "$work/a.vma" --socket "$work/base.sock" > "$work/base.log" 2>&1 &
  pids+=($!); base_pid=$!
fi
VMABACKUP_JAR="$jar" JAVA_OPTS=-Xmx256m "$here/examples/vmabackup" nbd serve --vma "$work/a.vma" \
  --socket "$work/ours.sock" > "$work/serve.log" 2>&1 &
pids+=($!); ours_pid=$! # the launcher execs java
qemu-nbd -r -f raw -k "$work/peer.sock" -t -e 4 "$img" &
pids+=($!); peer_pid=$!
for _ in $(seq 100); do
  [ -S "$work/ours.sock" ] && [ -S "$work/peer.sock" ] && { [ -z "${BASELINE_JAR:-}" ] || [ -S "$work/base.sock" ]; } && break
  sleep 0.1
done
# the export is named after the device
nbdinfo --list "nbd+unix:///?socket=$work/ours.sock" | grep -q 'export="drive-disk0"' \
  || { echo "export drive-disk0 not found" >&2; exit 1; }
convert() { # url: prints wall seconds
  rm -f "$work/out.qcow2"
  local t0 t1
  t0=$(date +%s.%N)
  if [ "${READER:-convert}" = nbdcopy ]; then
    nbdcopy "$1" null: # reads only: no output through the page cache (whose speed is bimodal on these VMs)
  else
    qemu-img convert -f raw -O qcow2 "$1" "$work/out.qcow2"
  fi
  t1=$(date +%s.%N)
  python3 -c "print(f'{$t1 - $t0:.2f}')"
}
ours=() peer=() base=()
for _ in $(seq "${WARMUP:-1}"); do # warm-up (JIT)
  convert "nbd+unix:///drive-disk0?socket=$work/ours.sock" > /dev/null
  [ -z "${BASELINE_JAR:-}" ] || convert "nbd+unix:///drive-disk0?socket=$work/base.sock" > /dev/null
done
# CPU seconds (user + system) a server process has used so far: less disturbed by other load than wall time
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
cpu_ours0=$(cpu "$ours_pid"); cpu_peer0=$(cpu "$peer_pid"); cpu_base0=$( [ -n "${base_pid:-}" ] && cpu "$base_pid" || echo 0)
for i in $(seq "$rounds"); do
  ours+=("$(convert "nbd+unix:///drive-disk0?socket=$work/ours.sock")")
  peer+=("$(convert "nbd+unix:///?socket=$work/peer.sock")")
  line="round $i: ours ${ours[-1]} s, qemu-nbd ${peer[-1]} s"
  if [ -n "${BASELINE_JAR:-}" ]; then
    base+=("$(convert "nbd+unix:///drive-disk0?socket=$work/base.sock")")
    line="$line, baseline jar ${base[-1]} s"
  fi
  echo "$line"
done
READER=convert convert "nbd+unix:///drive-disk0?socket=$work/ours.sock" > /dev/null # the check needs a copy
qemu-img compare -q -f qcow2 -F raw "$work/out.qcow2" "$img" || { echo "our export's copy differs from the image" >&2; exit 1; }
cpu_ours=$(python3 -c "print(f'{$(cpu "$ours_pid") - $cpu_ours0:.2f}')")
cpu_peer=$(python3 -c "print(f'{$(cpu "$peer_pid") - $cpu_peer0:.2f}')")
echo "server CPU over the $rounds rounds: ours $cpu_ours s, qemu-nbd $cpu_peer s" \
  "$( [ -n "${base_pid:-}" ] && python3 -c "print(f'baseline jar {$(cpu "$base_pid") - $cpu_base0:.2f} s')")"
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mo=$(median "${ours[@]}"); mp=$(median "${peer[@]}")
echo "median ours $mo s (${ours[*]}), qemu-nbd $mp s (${peer[*]}), ratio $(python3 -c "print(f'{$mo / $mp:.2f}')")x (time)"
if [ -n "${BASELINE_JAR:-}" ]; then
  mb=$(median "${base[@]}")
  echo "median baseline jar $mb s (${base[*]}), ratio $(python3 -c "print(f'{$mb / $mp:.2f}')")x vs qemu-nbd;" \
    "ours / baseline $(python3 -c "print(f'{$mo / $mb:.2f}')")x"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
java -Xmx256m -cp "$jar" "$here/benchmarks/VmaIndexOpenBench.java" "$work/a.vma" 5
