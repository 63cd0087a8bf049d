#!/usr/bin/env bash
# Issue 17's figures, S3 against its peer (a local directory store) in the same run, one VM (KVM where /dev/kvm is
# usable, TCG otherwise, or VMBACKUP_ACCEL; printed):
#  1. live backup (disk + VM state) of a SIZE_GIB disk with 40 % data into a local store vs into S3Proxy
#     (`vmabackup backup --store DIR|s3://bench/store`);
#  2. `vmabackup restore STORE --snapshot ID --to DIR` from each, checked bit-exact against the disk;
#  3. live restore from each: `vmabackup restore STORE --snapshot ID --live DIR --qmp SOCK`, seconds from the
#     command to "Guest running" (QEMU started as soon as the command prints its command line).
# S3Proxy 2.6.0 runs as its own process on its filesystem backend in WORK (the jar the build copies to
# chunk-store-s3/target/s3proxy), on loopback: no network delay, so the S3 figures are the store's and S3Proxy's
# costs, not a WAN's. Every command runs through the launcher with -Xmx256m, JVM start included.
#   SIZE_GIB=16 RAM_MIB=512 WORK=/tmp/s3-bench benchmarks/s3-bench.sh
# Build first: mvn -q -DskipTests package (examples' jar) and mvn -q test-compile -pl chunk-store-s3 -am (S3Proxy)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
jar=${JAR:-"$root/examples/target/vmabackup.jar"}
s3jar=${S3PROXY_JAR:-"$root/chunk-store-s3/target/s3proxy/s3proxy.jar"}
SIZE_GIB=${SIZE_GIB:-16}
RAM_MIB=${RAM_MIB:-512}
work=${WORK:-/tmp/s3-bench}
[ -f "$jar" ] && [ -f "$s3jar" ] || { echo "build first: no $jar or no $s3jar" >&2; exit 2; }
accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; accel=${VMBACKUP_ACCEL:-$accel}
qemu=${QEMU:-qemu-system-x86_64}
now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
mibs() { python3 -c "import sys; print('%.1f' % (float(sys.argv[1]) / 1048576 / float(sys.argv[2])))" "$1" "$2"; }
vmab() { JAVA_OPTS="-Xmx256m" VMABACKUP_JAR="$jar" "$root/examples/vmabackup" "$@"; }

rm -rf "$work"; mkdir -p "$work/s3data/bench"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# S3Proxy on a free port (the test's configuration: S3Proxy's filesystem backend, aws-v2-or-v4 authorization)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/s3proxy.conf" <<EOF
s3proxy.endpoint=http://127.0.0.1:$port
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=bench
s3proxy.credential=bench-secret
jclouds.provider=filesystem
jclouds.identity=unused
jclouds.credential=unused
jclouds.filesystem.basedir=$work/s3data
EOF
java -Xmx512m -jar "$s3jar" --properties "$work/s3proxy.conf" > "$work/s3proxy.log" 2>&1 &
s3pid=$!; pids+=("$s3pid")
for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1
unset AWS_PROFILE; export AWS_CONFIG_FILE=$work/none AWS_SHARED_CREDENTIALS_FILE=$work/none

echo "bench: creating a ${SIZE_GIB} GiB sparse raw disk with 4 MiB of data in every 10 MiB (40 %; alternately random and base64 text, every block distinct)"
python3 - "$work/disk.raw" "$SIZE_GIB" <<'PY'
import base64, os, sys
path, gib = sys.argv[1], int(sys.argv[2])
size = gib << 30
with open(path, "wb") as f:
    f.truncate(size)
    step, data = 10 << 20, 4 << 20
    for i, off in enumerate(range(0, size, step)):
        n = min(data, size - off)
        block = os.urandom(n) if i % 2 == 0 else base64.b64encode(os.urandom(n * 3 // 4 + 3))[:n]
        f.seek(off)
        f.write(block)
PY
head -c 128M /dev/urandom > "$work/ram.bin"
sync
data_bytes=$(python3 -c "import os; print(os.stat('$work/disk.raw').st_blocks * 512)")
echo "bench: ${SIZE_GIB} GiB disk ($data_bytes bytes allocated), ${RAM_MIB} MiB RAM, ${accel^^}, $("$qemu" --version | head -1); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"

qemu_pid=
start_vm() {
  rm -f "$work/qmp.sock"
  "$qemu" -accel "$accel" -m "$RAM_MIB" -nodefaults -display none -serial none \
    -qmp "unix:$work/qmp.sock,server=on,wait=off" \
    -drive "if=none,id=hd0,file=$work/disk.raw,format=raw" -device virtio-blk-pci,drive=hd0 \
    -device "loader,file=$work/ram.bin,addr=0x4000000,force-raw=on" >"$work/qemu.log" 2>&1 &
  qemu_pid=$!; pids+=("$qemu_pid")
  for _ in $(seq 100); do [ -S "$work/qmp.sock" ] && break; sleep 0.1; done
}
stop_vm() { kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; }

# 1. backup, local then S3, same VM
declare -A snap=() bt=()
start_vm
for kind in local s3; do
  store=$work/store; [ "$kind" = s3 ] && store=s3://bench/store
  vmab store init "$store" > /dev/null
  sync
  t0=$(now)
  vmab backup --qmp "$work/qmp.sock" --store "$store" --vm bench > "$work/backup-$kind.out" 2>&1 \
    || { cat "$work/backup-$kind.out" >&2; exit 1; }
  bt[$kind]=$(since "$t0")
  snap[$kind]=$(sed -n 's/^snapshot \(\S*\/\S*\)$/\1/p' "$work/backup-$kind.out")
  grep -E "^\s+(drive|guest pause)|sent by QEMU" "$work/backup-$kind.out" | sed "s/^/  $kind: /"
  echo "backup $kind: ${bt[$kind]} s = $(mibs "$data_bytes" "${bt[$kind]}") MiB/s of allocated disk; $(grep -c '%' "$work/backup-$kind.out") progress lines; load $(cut -d' ' -f1 /proc/loadavg)"
done
stop_vm
echo "backup: S3 ${bt[s3]} s vs local ${bt[local]} s: S3 takes $(ratio "${bt[s3]}" "${bt[local]}")x the local time"
du -sb "$work/store" "$work/s3data/bench/store" | sed 's/^/  stored bytes: /'

# 2. restore to a raw file from each store, checked bit-exact
declare -A rt=()
for kind in local s3; do
  store=$work/store; [ "$kind" = s3 ] && store=s3://bench/store
  rm -rf "$work/restored"; sync
  t0=$(now)
  vmab restore "$store" --snapshot "${snap[$kind]}" --to "$work/restored" > "$work/restore-$kind.out" 2>&1 \
    || { cat "$work/restore-$kind.out" >&2; exit 1; }
  sync "$work/restored"/*.raw
  rt[$kind]=$(since "$t0")
  cmp -s "$work/restored/drive-hd0.raw" "$work/disk.raw" || { echo "restore $kind: NOT bit-exact" >&2; exit 1; }
  echo "restore $kind: ${rt[$kind]} s = $(mibs "$data_bytes" "${rt[$kind]}") MiB/s of allocated disk (bit-exact; $(grep -c '%' "$work/restore-$kind.out") progress lines); load $(cut -d' ' -f1 /proc/loadavg)"
  rm -rf "$work/restored"
done
echo "restore: S3 ${rt[s3]} s vs local ${rt[local]} s: S3 takes $(ratio "${rt[s3]}" "${rt[local]}")x the local time"

# the fixed cost of a command on each store (JVM, S3 client, the bucket check, the listing): store list
for kind in local s3; do
  store=$work/store; [ "$kind" = s3 ] && store=s3://bench/store
  t0=$(now); vmab store list "$store" > /dev/null; echo "store list $kind: $(since "$t0") s (JVM start included)"
done

# 3. live restore: command -> guest running (the copy is not waited for)
live() { # kind -> prints seconds
  local kind=$1 store=$work/store log=$work/live-$kind.log qmp=$work/live-qmp.sock t0 t1 rpid qpid
  [ "$kind" = s3 ] && store=s3://bench/store
  rm -rf "$work/live" "$qmp"; : > "$log"
  t0=$(now)
  local t0ns; t0ns=$(date +%s%N)
  # each line of the command stamped with the milliseconds since the command started (where the time goes)
  JAVA_OPTS="-Xmx256m" VMABACKUP_JAR="$jar" "$root/examples/vmabackup" restore "$store" --snapshot "${snap[$kind]}" \
    --live "$work/live" --qmp "$qmp" > >(while IFS= read -r l; do echo "+$(( ($(date +%s%N) - t0ns) / 1000000 )) ms $l"; done > "$log") 2>&1 &
  rpid=$!
  for _ in $(seq 3000); do grep -q "Start QEMU with" "$log" && break; kill -0 "$rpid" 2>/dev/null || break; sleep 0.01; done
  grep -q "Start QEMU with" "$log" || { cat "$log" >&2; exit 1; }
  "$qemu" -accel "$accel" -m "$RAM_MIB" -nodefaults -display none -serial none \
    -drive "if=none,id=hd0,file=$work/live/drive-hd0.qcow2,format=qcow2" -device virtio-blk-pci,drive=hd0 \
    -qmp "unix:$qmp,server=on,wait=off" $(grep -q -- "-incoming defer" "$log" && echo "-incoming defer") \
    > "$work/qemu-live.log" 2>&1 &
  qpid=$!
  for _ in $(seq 12000); do grep -q "Guest running after" "$log" && break; kill -0 "$rpid" 2>/dev/null || break; sleep 0.01; done
  t1=$(now)
  grep -q "Guest running after" "$log" || { cat "$log" "$work/qemu-live.log" >&2; exit 1; }
  kill "$rpid" 2>/dev/null || true; wait "$rpid" 2>/dev/null || true
  kill "$qpid" 2>/dev/null || true; wait "$qpid" 2>/dev/null || true
  local sock # killed: the command cannot remove its own socket directory
  sock=$(sed -n 's/^+[0-9]* ms Serving .* over NBD on \(.*\)\/[^/]*$/\1/p' "$log")
  case "$sock" in /tmp/vmabackup-live-*) rm -rf "$sock" ;; esac
  python3 -c "print('%.2f' % ($t1 - $t0))"
}
declare -A lt=()
for kind in local s3; do
  lt[$kind]=$(live "$kind")
  echo "live restore $kind: command -> guest running ${lt[$kind]} s ($(grep -o 'Guest running after [0-9]* ms' "$work/live-$kind.log")), ${accel^^}; load $(cut -d' ' -f1 /proc/loadavg)"
  sed "s/^/  $kind: /" "$work/live-$kind.log" | grep -v "^  $kind: +[0-9]* ms  " | head -12
done
echo "live restore: S3 ${lt[s3]} s vs local ${lt[local]} s, ${accel^^}"
echo "bench: load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
