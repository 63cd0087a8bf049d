#!/usr/bin/env bash
# Incremental backup, ours against Debian's virtnbdbackup (the peer issue #16 names), same run, same image, same
# change. A SIZE_GIB disk with ~40 % random data (as benchmarks/incremental-bench.sh: 0.4 GiB at the start of every
# GiB) as qcow2 (virtnbdbackup needs qcow2: libvirt's checkpoints are persistent bitmaps); two copies of it:
#   ours  a plain QEMU with the copy; `vmabackup backup --no-vmstate --store` full, then incremental
#   peer  a libvirt domain (libvirtd 9.0, started here by hand if not running: PID 1 is not systemd) on the other
#         copy; `virtnbdbackup -l full`, then `-l inc` (libvirt's pull-mode backup over NBD, no compression)
# Between the two backups CHANGED_PCT % of the disk is rewritten in 1 MiB runs of fresh random data at random
# 1 MiB-aligned offsets, through each QEMU's HMP `qemu-io` (so its dirty bitmaps see it), the same runs on both.
# Prints per backup: wall time (command start to exit) and bytes: ours what QEMU sent and what the store grew by,
# the peer the size of what it wrote.
#   SIZE_GIB=4 CHANGED_PCT=1 WORK=/tmp/vnbd-bench benchmarks/virtnbdbackup-bench.sh     (as root)
# Needs: apt-get install virtnbdbackup libvirt-daemon-system (Debian 12: 1.9.15, 9.0). Build first: mvn -q -DskipTests
# package. Uses the system's QEMU for both (libvirt runs /usr/bin/qemu-system-x86_64); KVM when /dev/kvm is usable.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
jar=${JAR:-"$root/examples/target/vmabackup.jar"}
SIZE_GIB=${SIZE_GIB:-4}
CHANGED_PCT=${CHANGED_PCT:-1}
work=${WORK:-/tmp/vnbd-bench}
dom=vmbackup-bench-peer
[ -f "$jar" ] || { echo "build first: (cd $root && mvn -q -DskipTests package)" >&2; exit 2; }
command -v virtnbdbackup >/dev/null && command -v libvirtd >/dev/null ||
  { echo "needs virtnbdbackup and libvirt-daemon-system (apt-get install virtnbdbackup libvirt-daemon-system)" >&2; exit 2; }
accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; accel=${VMBACKUP_ACCEL:-$accel}
virsh() { timeout 120 /usr/bin/virsh -c qemu:///system "$@"; }
rm -rf "$work"; mkdir -p "$work"; chmod 755 "$work" # libvirt's QEMU runs as libvirt-qemu
qemu_pid= started=()
cleanup() {
  [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
  virsh destroy "$dom" >/dev/null 2>&1 || true
  for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null; rm -rf "${work:?}"
}
trap cleanup EXIT
# libvirtd and virtlogd by hand (no systemd here); stopped again at the end when this script started them
if ! virsh version >/dev/null 2>&1; then
  pgrep -x virtlogd >/dev/null || { virtlogd -d; started+=("$(pgrep -nx virtlogd)"); }
  libvirtd -d; started+=("$(pgrep -nx libvirtd)")
  for _ in $(seq 100); do virsh version >/dev/null 2>&1 && break; sleep 0.1; done
fi
rand() { (openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -pbkdf2 </dev/zero 2>/dev/null || true) | head -c "$2"; }

truncate -s "${SIZE_GIB}G" "$work/disk.raw"
for ((g = 0; g < SIZE_GIB; g++)); do
  rand "seed$g" $((410 << 20)) | dd of="$work/disk.raw" iflag=fullblock bs=1M seek=$((g * 1024)) conv=notrunc status=none
done
qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/ours.qcow2"
cp --sparse=always "$work/ours.qcow2" "$work/peer.qcow2"; rm "$work/disk.raw"

qemu-system-x86_64 -accel "$accel" -m 256 -nodefaults -display none -serial none \
  -drive "if=none,id=hd0,file=$work/ours.qcow2,format=qcow2" -device virtio-blk-pci,drive=hd0 \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" -qmp "unix:$work/hmp.sock,server=on,wait=off" \
  >"$work/qemu.log" 2>&1 &
qemu_pid=$!
cat >"$work/dom.xml" <<EOF
<domain type='$([ "$accel" = kvm ] && echo kvm || echo qemu)'>
  <name>$dom</name><memory unit='MiB'>256</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$work/peer.qcow2'/>
      <target dev='vda' bus='virtio'/></disk>
  </devices>
</domain>
EOF
virsh create "$work/dom.xml" >/dev/null
for _ in $(seq 100); do [ -S "$work/hmp.sock" ] && break; sleep 0.1; done
java -jar "$jar" store init "$work/store" >/dev/null

timed() { # LABEL COMMAND...: wall time of the command
  local label=$1 t0 t1; shift
  t0=$(date +%s.%N); "$@" >"$work/out" 2>&1 || { echo "$label failed:"; tail "$work/out"; exit 1; }; t1=$(date +%s.%N)
  printf '%-26s %6.1f s' "$label" "$(echo "$t1 - $t0" | bc)"
}
ours() { # LABEL
  timed "ours, $1" java -Xmx256m -jar "$jar" backup --qmp "$work/qmp.sock" --no-vmstate --store "$work/store" --vm bench
  echo "  $(grep -E '^    (full|first|incr)' "$work/out" | sed 's/^ *//')"
  sleep 1.1 # snapshot ids are whole seconds
}
peer() { # LEVEL
  local before; before=$(du -sb "$work/vnbd" 2>/dev/null | cut -f1 || echo 0)
  timed "virtnbdbackup -l $1" virtnbdbackup -d "$dom" -l "$1" -o "$work/vnbd"
  echo "  wrote $(( ($(du -sb "$work/vnbd" | cut -f1) - ${before:-0}) / 1024 )) KiB"
}

echo "bench: $(qemu-system-x86_64 --version | head -1), libvirt $(virsh version | awk '/^Using library/ {print $4}')," \
  "virtnbdbackup $(virtnbdbackup -V 2>&1 | tail -1), accel $accel, ${SIZE_GIB} GiB qcow2, load $(cut -d' ' -f1-3 /proc/loadavg)"
ours full
peer full

# The change, the same 1 MiB runs on both VMs: ours through its HMP socket, the peer's through virsh (libvirt's
# -blockdev leaves no drive name, so qemu-io addresses the device by QOM path).
runs=$((SIZE_GIB * 1024 * CHANGED_PCT / 100))
mkdir -p "$work/runs"; chmod 755 "$work/runs"
for ((i = 0; i < runs; i++)); do rand "run$i" $((1 << 20)) >"$work/runs/$i"; done
shuf -i 0-$((SIZE_GIB * 1024 - 1)) -n "$runs" --random-source=<(rand shuf 100000000) | nl -v0 >"$work/offsets"
python3 - "$work/hmp.sock" "$work/offsets" "$work/runs" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(60); s.connect(sys.argv[1]); f = s.makefile('rw')
f.readline(); f.write('{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
for line in open(sys.argv[2]):
    i, mib = line.split()
    cl = f'qemu-io hd0 "write -s {sys.argv[3]}/{i} {int(mib) << 20} 1M"'
    f.write(json.dumps({"execute": "human-monitor-command", "arguments": {"command-line": cl}}) + "\n"); f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
    if "error" in r or "rror" in r.get("return", ""):
        sys.exit("qemu-io failed: " + json.dumps(r))
PY
while read -r i mib; do
  out=$(virsh qemu-monitor-command "$dom" --hmp \
    "qemu-io -d /machine/peripheral/virtio-disk0/virtio-backend \"write -s $work/runs/$i $((mib << 20)) 1M\"")
  case "$out" in *rror*) echo "peer qemu-io failed: $out"; exit 1;; esac
done <"$work/offsets"
echo "changed: $runs MiB in 1 MiB runs, on both"
ours incremental
peer inc
