#!/usr/bin/env bash
# Restore to files (raw and qcow2) from every source format, against qemu-img convert of the same raw image, in
# one run; no VM involved (the archives are made from a raw image, not by a backup).
# Usage: benchmarks/restore-formats-bench.sh WORKDIR [SIZE_GIB] [ROUNDS]
#   JARS="new=examples/target/vmabackup.jar old=/path/old.jar" (default: the built jar as "new"); SOURCES="vma
#   zst dir" (default all three); FORMATS="qcow2 raw". Makes a SIZE_GIB (default 1) raw image with ~40 % data
#   (random 256 KiB regions, fixed seed, as restore-bench.sh), its .vma (vmabackup vma create), .vma.zst (zstd -1)
#   and a directory archive (the image copied sparse, a manifest), warms the page cache, then per round times
#   qemu-img convert -O qcow2 / -O raw of the image + sync (the peer) and each jar's restore --to (each fsyncs its
#   images), every run in a fresh JVM (-Xmx256m) started through the examples/vmabackup launcher as a user runs it
#   (its class-data sharing archive and JIT choice; RUNNER=java runs plain `java -jar` instead, as before
#   2026-12-07 17:00). Prints one line per run: label, seconds; then the median per label.
#   SETTLE=SECONDS (default 5): before each timed run, sync and then wait this long, so the previous run's writeback
#   and the discards of its deleted output (ext4 mounted with discard) land before the clock starts, not in the next
#   side's time.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${1:?WORKDIR}; gib=${2:-1}; rounds=${3:-3}
size=$((gib << 30))
jars=${JARS:-new=$here/examples/target/vmabackup.jar}
sources=${SOURCES:-vma zst dir}
formats=${FORMATS:-qcow2 raw}
settle=${SETTLE:-5}
runner=${RUNNER:-launcher}
run_jar() { # jar, vmabackup arguments...
  local jar=$1; shift
  if [ "$runner" = java ]; then
    java -Xmx256m -jar "$jar" "$@"
  else
    JAVA_OPTS="-Xmx256m ${JAVA_OPTS:-}" VMABACKUP_JAR="$jar" "$here/examples/vmabackup" "$@"
  fi
}
mkdir -p "$work"; cd "$work"
if [ ! -f disk.raw ]; then
  python3 "$here/benchmarks/sparse-image.py" disk.raw "$size"
fi
firstjar=${jars%% *}; firstjar=${firstjar#*=}
[ -f a.vma ] || java -Xmx256m -jar "$firstjar" vma create a.vma -d "drive-hd0=disk.raw"
[ -f a.vma.zst ] || zstd -q -1 -T2 a.vma -o a.vma.zst
if [ ! -f dir/manifest.json ]; then
  mkdir -p dir/config && cp --sparse=always disk.raw dir/disk-drive-hd0.raw
  printf '{"format":"vmbackup-directory","version":1,"uuid":"%s","created":"2026-01-01T00:00:00Z","disks":[{"name":"drive-hd0","size":%d,"file":"disk-drive-hd0.raw"}],"vmstate":null,"configs":[]}\n' \
    "$(cat /proc/sys/kernel/random/uuid)" "$size" > dir/manifest.json
fi
cat disk.raw a.vma a.vma.zst dir/disk-drive-hd0.raw > /dev/null
declare -A src=([vma]=a.vma [zst]=a.vma.zst [dir]=dir)
if [ "$runner" = launcher ]; then # each jar's first restore records the launcher's class-data sharing archive
  for j in $jars; do run_jar "${j#*=}" restore a.vma --to warm > /dev/null 2>&1; rm -rf warm; done
  sleep 3 # the archive is checked and published after that JVM exits
fi
results=$work/results.txt; : > "$results"
timed() { # label, command...
  local label=$1; shift; sync; sleep "$settle"
  local t0 t1; t0=$(date +%s.%N)
  if ! "$@" > /dev/null 2>&1; then echo "$label: failed (not counted; an old build may not read this source)"; return 0; fi
  t1=$(date +%s.%N)
  local s; s=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
  printf '%-28s %6s s\n' "$label" "$s" | tee -a "$results"
}
echo "settle ${settle} s; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(qemu-img --version | head -1)"
for r in $(seq "$rounds"); do
  for f in $formats; do
    timed "peer qemu-img -O $f" bash -c "qemu-img convert -f raw -O $f disk.raw copy.img && sync copy.img"; rm -f copy.img
    for j in $jars; do
      for s in $sources; do
        rm -rf out
        timed "${j%%=*} $s -> $f" run_jar "${j#*=}" restore "${src[$s]}" --to out --format "$f"
        if [ "$r" = 1 ] && [ -f out/drive-hd0."$f" ]; then qemu-img compare -q -f "$f" -F raw out/drive-hd0."$f" disk.raw || echo "MISMATCH ${j%%=*} $s $f"; fi
        rm -rf out
      done
    done
  done
done
echo "median of $rounds:"
python3 - "$results" <<'PY'
import sys, collections, statistics
d = collections.OrderedDict()
for line in open(sys.argv[1]):
    label, s = line.rsplit(None, 2)[0], float(line.split()[-2])
    d.setdefault(label.strip(), []).append(s)
for k, v in d.items():
    print(f"{k:28s} {statistics.median(v):6.2f} s")
PY
