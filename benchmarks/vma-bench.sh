#!/usr/bin/env bash
# VMA create/extract throughput and peak RSS against the copy limit of this machine, in one run.
# Usage: benchmarks/vma-bench.sh [WORKDIR]   (needs examples/target/vmabackup.jar: mvn -q -DskipTests package)
# Makes a 4 GiB raw image with ~40 % data (random 256 KiB regions, fixed seed), warms the page cache, then times
#   cat image > copy               (the copy limit: read + write through the page cache)
#   vmabackup vma create  (-Xmx128m) and vmabackup vma extract (-Xmx128m) of the result
# and prints MB/s (of the 4 GiB image) and peak RSS from /usr/bin/time -v.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jar="${VMABACKUP_JAR:-$here/examples/target/vmabackup.jar}"
work="${1:-$(mktemp -d /tmp/vma-bench.XXXXXX)}"
size=$((4 << 30))
img="$work/disk.raw"
mkdir -p "$work"
trap 'rm -rf "$work/copy.raw" "$work/a.vma" "$work/a.vma.zst" "$work/out" "$work/out-zst"' EXIT
if [ ! -f "$img" ]; then
  python3 "$here/benchmarks/sparse-image.py" "$img" "$size"
fi
cat "$img" > /dev/null
mb() { python3 -c "print(f'{$size / $1 / 1e6:.0f}')"; }
run() { # label, command...: prints "label wall_s MB/s peak_rss_MiB"
  local label=$1; shift
  sync
  local t0 t1 log="$work/time.log"
  t0=$(date +%s.%N)
  /usr/bin/time -v "$@" 2> "$log" > /dev/null
  t1=$(date +%s.%N)
  local wall rss
  wall=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2/1024}' "$log")
  printf '%-28s %7ss %7s MB/s %6s MiB\n' "$label" "$wall" "$(mb "$wall")" "$rss"
}
java=(java -Xmx128m -jar "$jar")
echo "image: $(du -h --apparent-size "$img" | cut -f1) apparent, $(du -h "$img" | cut -f1) allocated; $(nproc) cores"
run "cat (copy limit)" bash -c "cat '$img' > '$work/copy.raw'"
rm -f "$work/copy.raw"
run "vma create" "${java[@]}" vma create "$work/a.vma" -d "drive-scsi0=$img"
echo "archive: $(du -h --apparent-size "$work/a.vma" | cut -f1)"
cat "$work/a.vma" > /dev/null
run "cat archive (copy limit)" bash -c "cat '$work/a.vma' > '$work/copy.raw'"
rm -f "$work/copy.raw"
run "vma extract" "${java[@]}" vma extract "$work/a.vma" "$work/out"
cmp "$img" "$work/out/disk-drive-scsi0.raw" && echo "extract: identical to the image"
run "vma create .vma.zst" "${java[@]}" vma create "$work/a.vma.zst" -d "drive-scsi0=$img"
echo "archive.zst: $(du -h --apparent-size "$work/a.vma.zst" | cut -f1)"
run "vma extract .vma.zst" "${java[@]}" vma extract "$work/a.vma.zst" "$work/out-zst"
# In-process writer throughput: 4 threads writing shuffled clusters into a discarding channel (needs
# `mvn -q -pl vma-format -am test-compile`); the peer is a plain memory copy of the same clusters.
cp_vma="$here/vma-format/target/classes:$here/vma-format/target/test-classes"
if [ -d "$here/vma-format/target/test-classes" ]; then
  java -Xmx128m -cp "$cp_vma:$jar" org.vmbackup.vma.WriterThroughputBench 4 4096
fi
