#!/usr/bin/env bash
# Incremental backup into a chunk store against a full one, same VM, same run: a SIZE_GIB raw disk with ~40 %
# random data (0.4 GiB at the start of every GiB), one full `vmabackup backup --store`, then CHANGED_PCT % of the
# disk rewritten through QEMU (HMP qemu-io, so QEMU's dirty bitmap sees it) in 1 MiB runs of fresh random data at
# random 1 MiB-aligned offsets, an incremental backup; then the same share in scattered 4 KiB writes and another.
# Prints per backup: wall time, what QEMU sent, what the store grew by (the CLI's per-disk lines), the load.
# The backups run through the launcher (examples/vmabackup), as a user's would: its class-data-sharing archive is
# recorded by the full backup and mapped by the incremental ones (a scheduled backup's steady state).
#   SIZE_GIB=16 CHANGED_PCT=1 WORK=/tmp/incr-bench benchmarks/incremental-bench.sh
#   SCATTERED=0 skips the scattered 4 KiB variant (its 41 943 HMP writes take minutes at 16 GiB)
#   VMBACKUP_QEMU_PREFIX=DIR runs the QEMU unpacked there; VMBACKUP_ACCEL=tcg runs TCG on a KVM host
#   EMBEDDED=1 runs the same backups and changes in one JVM through the library's API (EmbeddedIncrementalBench.java
#   beside this script), as a management service runs them: no JVM start per backup. The same lines are printed.
# Build first: mvn -q -DskipTests package
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
jar=${JAR:-"$root/examples/target/vmabackup.jar"}
SIZE_GIB=${SIZE_GIB:-16}
CHANGED_PCT=${CHANGED_PCT:-1}
work=${WORK:-/tmp/incr-bench}
[ -f "$jar" ] || { echo "build first: (cd $root && mvn -q -DskipTests package)" >&2; exit 2; }
accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; accel=${VMBACKUP_ACCEL:-$accel}
qemu=qemu-system-x86_64; firmware=()
if [ -n "${VMBACKUP_QEMU_PREFIX:-}" ]; then
  qemu="$VMBACKUP_QEMU_PREFIX/usr/bin/qemu-system-x86_64"
  firmware=(-L "$VMBACKUP_QEMU_PREFIX/usr/share/qemu" -L /usr/share/seabios)
fi
rm -rf "$work"; mkdir -p "$work"
qemu_pid=
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
rand() { (openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -pbkdf2 </dev/zero 2>/dev/null || true) | head -c "$2"; }

truncate -s "${SIZE_GIB}G" "$work/disk.raw"
for ((g = 0; g < SIZE_GIB; g++)); do
  rand "seed$g" $((410 << 20)) | dd of="$work/disk.raw" iflag=fullblock bs=1M seek=$((g * 1024)) conv=notrunc status=none
done
"$qemu" -accel "$accel" -m 256 -nodefaults -display none -serial none "${firmware[@]}" \
  -drive "if=none,id=hd0,file=$work/disk.raw,format=raw" -device virtio-blk-pci,drive=hd0 \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" -qmp "unix:$work/hmp.sock,server=on,wait=off" \
  >"$work/qemu.log" 2>&1 &
qemu_pid=$!
for _ in $(seq 100); do [ -S "$work/hmp.sock" ] && break; sleep 0.1; done
java -jar "$jar" store init "$work/store" >/dev/null
export VMABACKUP_JAR="$jar" VMABACKUP_CACHE="$work/cds"

backup() { # $1 label
  local t0 t1 out
  t0=$(date +%s.%N)
  out=$(JAVA_OPTS="-Xmx256m ${JAVA_OPTS:-}" "$root/examples/vmabackup" backup --qmp "$work/qmp.sock" --no-vmstate \
    --store "$work/store" --vm bench)
  t1=$(date +%s.%N)
  printf '%s: %.2f s (load %s)\n%s\n' "$1" "$(echo "$t1 - $t0" | bc)" "$(cut -d' ' -f1-3 /proc/loadavg)" \
    "$(grep -E '^  drive|^    (full|incr)' <<<"$out")"
  sleep 1.1 # snapshot ids are whole seconds
  sync # the page cache's dirty pages of the last backup are not written back during the next one
}

# Writes through QEMU's block layer: one HMP qemu-io command per line of stdin, on one QMP connection.
cat >"$work/hmp.py" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
f.readline(); f.write('{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
n = 0
for line in open('/dev/stdin'):
    f.write(json.dumps({"execute": "human-monitor-command", "arguments": {"command-line": line.strip()}}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
    if "error" in r or "rror" in r.get("return", ""):
        sys.exit("qemu-io failed: " + json.dumps(r))
    n += 1
print(f"{n} writes", file=sys.stderr)
PY

# The changes, as scripts: run between the backups by this script or by the embedded driver.
runs=$((SIZE_GIB * 1024 * CHANGED_PCT / 100))
mkdir -p "$work/runs"
for ((i = 0; i < runs; i++)); do rand "run$i" $((1 << 20)) >"$work/runs/$i"; done
shuf -i 0-$((SIZE_GIB * 1024 - 1)) -n "$runs" --random-source=<(rand shuf 100000000) | nl -v0 |
  while read -r i mib; do echo "qemu-io hd0 \"write -s $work/runs/$i $((mib << 20)) 1M\""; done >"$work/runs.hmp"
echo "python3 $work/hmp.py $work/hmp.sock <$work/runs.hmp && echo 'changed: $runs MiB in 1 MiB runs'" >"$work/runs.sh"
writes=$((SIZE_GIB * 1024 * 256 * CHANGED_PCT / 100))
if [ "${SCATTERED:-1}" = 1 ]; then
  shuf -i 0-$((SIZE_GIB * 1024 * 256 - 1)) -n "$writes" --random-source=<(rand shuf4k 100000000) |
    awk '{ printf "qemu-io hd0 \"write -P %d %.0f 4k\"\n", NR % 255 + 1, $1 * 4096 }' >"$work/scattered.hmp" # %d is 32-bit in mawk
  echo "python3 $work/hmp.py $work/hmp.sock <$work/scattered.hmp &&
    echo 'changed: $((writes * 4 / 1024)) MiB in $writes scattered 4 KiB writes'" >"$work/scattered.sh"
fi

steps=("backup:full" "backup:incremental, nothing changed" # the second: the fixed cost
  "run:bash $work/runs.sh" "backup:incremental, 1 MiB runs")
[ "${SCATTERED:-1}" = 1 ] && steps+=("run:bash $work/scattered.sh" "backup:incremental, 4 KiB writes")
if [ "${EMBEDDED:-0}" = 1 ]; then
  echo "embedded: one JVM, the library's BackupSession per backup (no JVM start per backup)"
  java -Xmx256m ${JAVA_OPTS:-} -cp "$jar" "$here/EmbeddedIncrementalBench.java" "$work/qmp.sock" "$work/store" bench \
    "${steps[@]}"
else
  for step in "${steps[@]}"; do
    case "$step" in
      backup:*) backup "${step#backup:}" ;;
      run:*) bash -c "${step#run:}" ;;
    esac
  done
fi
echo "accel $accel, $("$qemu" --version | head -1), store chunk size 1 MiB (default)$([ "${SCATTERED:-1}" = 1 ] || echo '; SCATTERED=0: no 4 KiB variant')"
