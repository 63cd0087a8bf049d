#!/usr/bin/env bash
# Restore throughput and live-restore time to a running VM against the copy limit, in one run.
# Usage: benchmarks/restore-bench.sh [WORKDIR] [SIZE_GIB]   (needs examples/target/vmabackup.jar: mvn -q -DskipTests package)
# Makes a SIZE_GIB (default 16) raw image with ~40 % data (random 256 KiB regions, fixed seed) and its .vma
# (vmabackup vma create), warms the page cache, then times
#   qemu-img convert -f raw -O raw image copy.raw + sync of it (the copy limit: QEMU's sparse-aware copy of the
#   same image, made durable like ours: the restore fsyncs each image before renaming it)
#   vmabackup restore a.vma --to out                 (ours, -Xmx256m: one sequential pass, sparse raw output)
#   qemu-img convert -O qcow2 image copy.qcow2 vs vmabackup restore --format qcow2 (qemu-img over our NBD export)
#   vmabackup restore a.vma --live DIR --qmp SOCK: seconds from the command to "Guest running" (QEMU started as
#   soon as the command prints its arguments), with the background copy unthrottled
# and prints MB/s (of the image's virtual size) and peak RSS from /usr/bin/time -v.
# LIVE_ONLY=1 runs only the live restore (reusing WORKDIR's image and archive if present), ROUNDS=N (default 1)
# times (LIVE_COPY=1: and wait for the background copy); the live command runs through the launcher examples/vmabackup (JAVA_OPTS=-Xmx256m), as a user runs it;
# LIVE_CMD overrides it (e.g. LIVE_CMD="java -Xmx256m -jar old.jar" for a baseline in the same session).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jar="${VMABACKUP_JAR:-$here/examples/target/vmabackup.jar}"
work="${1:-$(mktemp -d /tmp/restore-bench.XXXXXX)}"
gib="${2:-16}"
size=$((gib << 30))
img="$work/disk.raw"
mkdir -p "$work"
cleanup() {
  rm -rf "$work/copy.raw" "$work/copy.qcow2" "$work/out" "$work/outq" "$work/live" "$work/qemu.log"
  [ -n "${qpid:-}" ] && kill "$qpid" 2>/dev/null || true
}
trap cleanup EXIT
if [ ! -f "$img" ]; then
  python3 "$here/benchmarks/sparse-image.py" "$img" "$size"
fi
java=(java -Xmx256m -jar "$jar")
[ -f "$work/a.vma" ] || "${java[@]}" vma create "$work/a.vma" -d "drive-hd0=$img"
[ "${LIVE_ONLY:-0}" = 1 ] || cat "$img" > /dev/null
cat "$work/a.vma" > /dev/null
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
  printf '%-40s %7ss %7s MB/s %6s MiB\n' "$label" "$wall" "$(mb "$wall")" "$rss"
}
if [ "${LIVE_ONLY:-0}" != 1 ]; then
echo "image: $(du -h --apparent-size "$img" | cut -f1) apparent, $(du -h "$img" | cut -f1) allocated;" \
  "archive $(du -h --apparent-size "$work/a.vma" | cut -f1); $(nproc) cores"
run "qemu-img convert raw->raw (copy limit)" bash -c "qemu-img convert -f raw -O raw '$img' '$work/copy.raw' && sync '$work/copy.raw'"
rm -f "$work/copy.raw"
run "vmabackup restore --to (raw)" "${java[@]}" restore "$work/a.vma" --to "$work/out"
cmp "$img" "$work/out/drive-hd0.raw" && echo "restore: identical to the image"
rm -rf "$work/out"
run "qemu-img convert raw->qcow2 (peer)" bash -c "qemu-img convert -f raw -O qcow2 '$img' '$work/copy.qcow2' && sync '$work/copy.qcow2'"
rm -f "$work/copy.qcow2"
run "vmabackup restore --to --format qcow2" "${java[@]}" restore "$work/a.vma" --to "$work/outq" --format qcow2
rm -rf "$work/outq"
fi
# live restore: command -> guest running
accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; accel=${VMBACKUP_ACCEL:-$accel}
echo "live restore: the VM runs on ${accel^^}, $(qemu-system-x86_64 --version | head -1)"
read -r -a live_cmd <<< "${LIVE_CMD:-env VMABACKUP_JAR=$jar JAVA_OPTS=-Xmx256m $here/examples/vmabackup}"
live_round() {
  rm -rf "$work/live"
  local qmp="$work/live-qmp.sock" log="$work/live.log" t0 t1 t2 rpid
  rm -f "$qmp"
  : > "$log"
  t0=$(date +%s.%N)
  [ -z "${LIVE_TRACE:-}" ] || echo "command at $(date -d "@$t0" +%T.%N | cut -c1-12)"
  "${live_cmd[@]}" restore "$work/a.vma" --live "$work/live" --qmp "$qmp" > "$log" 2>&1 &
  rpid=$!
  until grep -q "Start QEMU with" "$log"; do sleep 0.01; done
  qemu-system-x86_64 -accel "$accel" -m 1024 -nodefaults -display none -serial none \
    -drive "if=none,id=hd0,file=$work/live/drive-hd0.qcow2,format=qcow2" -device virtio-blk-pci,drive=hd0 \
    -qmp "unix:$qmp,server=on,wait=off" > "$work/qemu.log" 2>&1 &
  qpid=$!
  qt=$(date +%T.%N | cut -c1-12)
  until grep -q "Guest running after" "$log"; do sleep 0.01; done
  t1=$(date +%s.%N)
  local cpu # user+system CPU of the command up to now (clock ticks, fields 14 and 15 of /proc/PID/stat)
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$rpid/stat" 2>/dev/null || echo "?")
  if [ -n "${LIVE_TRACE:-}" ]; then # CPU per thread, most first
    for t in /proc/"$rpid"/task/*; do
      awk -v hz="$(getconf CLK_TCK)" -v name="$(cat "$t/comm")" '{printf "%6.2f %s\n", ($14 + $15) / hz, name}' "$t/stat"
    done | sort -rn | head -12
  fi
  if [ "${LIVE_ONLY:-0}" = 1 ] && [ "${LIVE_COPY:-0}" != 1 ]; then
    kill "$rpid" 2>/dev/null || true  # the background copy is not what this mode measures
    [ -z "${LIVE_TRACE:-}" ] || { echo "qemu started at $qt"; cat "$log"; }
    wait "$rpid" 2>/dev/null || true
    local sock
    sock=$(sed -n 's/^Serving .* over NBD on \(.*\)\/archive-nbd.sock$/\1/p' "$log")
    case "$sock" in /tmp/vmabackup-live-*) rm -rf "$sock" ;; esac  # killed: it cannot clean up itself
    echo "live restore: command -> guest running $(python3 -c "print(f'{$t1 - $t0:.2f}')") s" \
      "($(grep -o 'Guest running after [0-9]* ms' "$log"); CPU of the command by then $cpu s)"
  else
    wait "$rpid"
    t2=$(date +%s.%N)
    echo "live restore: command -> guest running $(python3 -c "print(f'{$t1 - $t0:.2f}')") s" \
      "($(grep -o 'Guest running after [0-9]* ms' "$log")); copy done after $(python3 -c "print(f'{$t2 - $t0:.2f}')") s" \
      "($(mb "$(python3 -c "print($t2 - $t1)")") MB/s while running)"
  fi
  kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true; qpid=
}
echo "live restore: ${live_cmd[*]}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "${ROUNDS:-1}"); do live_round; done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
