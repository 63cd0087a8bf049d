#!/usr/bin/env bash
# Guest impact of a live backup, seen from inside a real guest: testkit's tiny Linux guest (ext4 data disk, a
# writer appending a record and fsync'ing it every 200 ms, each append+fsync timed by the guest's own clock and
# printed as "rec N US" on the serial console). Per phase, the p50/p99/max write latency of the records written
# while the phase ran:
#   idle          no backup (IDLE_S seconds)
#   ours          `vmabackup backup --no-vmstate` of the data disk into a local .vma
#   ours-bwlimit  the same with `--bwlimit BWLIMIT` (a throttled archive)
#   peer          QEMU's own in-process backup of the same disk, same VM, same run: blockdev-backup sync=full
#                 into a local raw file (blockdev-add file+raw), no vmbackup
#   peer-speed    the peer with the job's speed=BWLIMIT
#   ours-incr     `vmabackup backup --no-vmstate --store STORE --vm guest`: incremental from the previous snapshot
#                 (a first, full one is taken into the store before round 1, phase ours-store-full); what changed
#                 is what the guest's writer wrote since then
#   peer-incr     QEMU's own incremental backup: blockdev-backup sync=incremental from a dirty bitmap added at the
#                 instant of ours-store-full (QEMU clears it when the job succeeds, so each round's copy holds the
#                 writes since the previous one, as ours does) into a local sparse raw file
# and the ratio of each backup phase's p50/p99 to the peer's (ours / peer, ours-bwlimit / peer-speed,
# ours-incr / peer-incr).
# The data disk is DISK_MIB of random bytes that the guest formats with ext4 at boot (its free blocks keep the
# random data, so a full backup copies all of it: a backup long enough to see the writer's latency under it).
#   DISK_MIB=1024 BWLIMIT=32M ROUNDS=2 IDLE_S=20 benchmarks/guest-impact-bench.sh
#   VMBACKUP_QEMU_PREFIX=DIR runs the QEMU unpacked there (.ci/qemu-backports); VMBACKUP_ACCEL=kvm|tcg (default
#   tcg: this machine's nested KVM cannot boot a real kernel)
# Build first: mvn -q -DskipTests package (and .ci/tiny-guest, or the script builds the guest through testkit)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
jar=${JAR:-"$root/examples/target/vmabackup.jar"}
DISK_MIB=${DISK_MIB:-1024}
BWLIMIT=${BWLIMIT:-32M}
ROUNDS=${ROUNDS:-2}
IDLE_S=${IDLE_S:-20}
work=${WORK:-/tmp/guest-impact-bench}
[ -f "$jar" ] || { echo "build first: (cd $root && mvn -q -DskipTests package)" >&2; exit 2; }
accel=${VMBACKUP_ACCEL:-tcg}
qemu=qemu-system-x86_64; firmware=()
if [ -n "${VMBACKUP_QEMU_PREFIX:-}" ]; then
  qemu="$VMBACKUP_QEMU_PREFIX/usr/bin/qemu-system-x86_64"
  firmware=(-L "$VMBACKUP_QEMU_PREFIX/usr/share/qemu" -L /usr/share/seabios)
fi
qemu_version=$("$qemu" --version | head -1 | sed 's/QEMU emulator version //')
bw_bytes=$(python3 -c "import sys; s=sys.argv[1]; m={'K':1,'M':2,'G':3}; print(int(float(s[:-1]) * 1024**m[s[-1].upper()]) if s[-1].upper() in m else int(s))" "$BWLIMIT")

guest=$("$root/.ci/tiny-guest")
rm -rf "$work"; mkdir -p "$work"
qemu_pid=
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "${work:?}"; }
trap cleanup EXIT

head -c "${DISK_MIB}M" /dev/urandom > "$work/data.raw"
"$qemu" "${firmware[@]}" -accel "$accel" -m 256 -nodefaults -display none -serial none -no-reboot \
  -kernel "$guest/vmlinux" -initrd "$guest/initrd.img" -append "console=ttyS0 quiet panic=-1 no_timer_check" \
  -chardev "file,id=con0,path=$work/console.log" -device isa-serial,chardev=con0 \
  -blockdev "driver=file,filename=$work/data.raw,node-name=data0-file" \
  -blockdev driver=raw,file=data0-file,node-name=data0 -device virtio-blk-pci,drive=data0,id=vda \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" -qmp "unix:$work/peer.sock,server=on,wait=off" \
  -qmp "unix:$work/watch.sock,server=on,wait=off" \
  >"$work/qemu.log" 2>&1 &
qemu_pid=$!
echo "bench: $qemu_version, accel $accel, data disk ${DISK_MIB} MiB, bwlimit $BWLIMIT ($bw_bytes B/s); booting"
for _ in $(seq 1200); do grep -q '^rec 5 ' "$work/console.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^rec 5 ' "$work/console.log" || { echo "the guest did not start writing:"; tail "$work/console.log"; exit 1; }
touch "$work/jobs.log"

offset() { stat -c %s "$work/console.log"; }
latencies() { # FROM TO: "p50 p99 max n" (ms) of the rec lines printed between two console offsets
  python3 - "$work/console.log" "$1" "$2" <<'EOF'
import sys
path, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "rb") as f:
    f.seek(a)
    text = f.read(b - a).decode("latin-1")
us = sorted(int(l.split()[2]) for l in text.replace("\r", "").split("\n")[1:-1]
            if l.startswith("rec ") and len(l.split()) == 3)
if not us:
    print("- - - 0"); sys.exit()
q = lambda p: us[min(len(us) - 1, int(p * len(us)))] / 1000
print(f"{q(0.5):.1f} {q(0.99):.1f} {us[-1] / 1000:.1f} {len(us)}")
EOF
}

peer() { # SPEED [SYNC BITMAP]: QEMU's own blockdev-backup of data0 into a local raw file; SYNC add-bitmap only
  # adds BITMAP to data0 (the peer's incremental starts there)
  rm -f "$work/peer.raw"; truncate -s "${DISK_MIB}M" "$work/peer.raw"
  python3 - "$work/peer.sock" "$work/peer.raw" "$1" "${2:-full}" "${3:-}" <<'EOF'
import json, socket, sys
sock, target, speed, sync, bitmap = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
s = socket.socket(socket.AF_UNIX); s.settimeout(900); s.connect(sock); f = s.makefile("rw")
def cmd(name, /, **args):
    f.write(json.dumps({"execute": name, "arguments": args}) + "\n"); f.flush()
    while True:
        m = json.loads(f.readline())
        if "return" in m or "error" in m:
            if "error" in m:
                raise SystemExit(f"{name}: {m['error']['desc']}")
            return m["return"]
json.loads(f.readline()); cmd("qmp_capabilities")
if sync == "add-bitmap":
    cmd("block-dirty-bitmap-add", node="data0", name=bitmap)
    raise SystemExit(0)
cmd("blockdev-add", driver="file", filename=target, **{"node-name": "peer-file"})
cmd("blockdev-add", driver="raw", file="peer-file", **{"node-name": "peer"})
job = {"job-id": "peer", "device": "data0", "target": "peer", "sync": sync, "speed": speed}
if bitmap:
    job["bitmap"] = bitmap
cmd("blockdev-backup", **job)
while True:
    m = json.loads(f.readline())
    if m.get("event") == "BLOCK_JOB_COMPLETED":
        if m["data"].get("error"):
            raise SystemExit("peer job failed: " + m["data"]["error"])
        break
cmd("blockdev-del", **{"node-name": "peer"}); cmd("blockdev-del", **{"node-name": "peer-file"})
EOF
}

# The backup window of a phase is the block job's life as QEMU reports it (JOB_STATUS_CHANGE created ->
# concluded, watched on a monitor of its own), as offsets of the console file: our JVM's start-up and set-up
# are outside it, as the peer's QMP set-up is.
python3 - "$work/watch.sock" "$work/console.log" "$work/jobs.log" <<'EOF' &
import json, os, socket, sys, time
sock, console, out = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX); s.connect(sock); f = s.makefile("rw")
json.loads(f.readline())
f.write(json.dumps({"execute": "qmp_capabilities"}) + "\n"); f.flush()
with open(out, "a") as log:
    for line in f:
        m = json.loads(line)
        if m.get("event") == "JOB_STATUS_CHANGE" and m["data"]["status"] in ("created", "concluded"):
            log.write(f"{m['data']['status']} {m['data']['id']} {os.stat(console).st_size} {time.time():.3f}\n")
            log.flush()
EOF
watch_pid=$!

window() { # FROM_LINE: "START END SECONDS": console offsets of the first job created and the last concluded since
  # then, and the time between them
  tail -n +"$1" "$work/jobs.log" |
    awk '$1 == "created" && !s { s = $3; t = $4 } $1 == "concluded" { e = $3; u = $4 } END { printf "%s %s %.2f\n", s, e, u - t }'
}

phase() { # NAME COMMAND...: runs it, prints the latency of the records written meanwhile
  local name=$1; shift
  local a t0 t1 b from
  from=$(($(wc -l < "$work/jobs.log") + 1))
  a=$(offset); t0=$(date +%s.%N)
  "$@" >"$work/$name.out" 2>&1 || { echo "$name failed:"; cat "$work/$name.out"; exit 1; }
  t1=$(date +%s.%N); b=$(offset)
  local a0=$a b0=$b job=-
  if [ "$name" != idle ]; then
    sleep 0.5 # the watcher's last event
    read -r a b job < <(window "$from")
  fi
  read -r p50 p99 max n < <(latencies "$a" "$b")
  printf '%-13s %6.1f s (job %5s s)  records %4s  write latency p50 %7s ms  p99 %7s ms  max %7s ms\n' "$name" \
    "$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$t1")" "$job" "$n" "$p50" "$p99" \
    "$max"
  # An incremental job of what the writer wrote since the previous one lasts well under a second: a few writes at
  # most fall in it, so also the writes made while the whole command ran (ours: JVM start, QMP, store included)
  case "$name" in *incr) read -r p50c p99c maxc nc < <(latencies "$a0" "$b0")
    printf '              whole command: records %4s  write latency p50 %7s ms  p99 %7s ms  max %7s ms\n' \
      "$nc" "$p50c" "$p99c" "$maxc";; esac
  case "$name" in ours*) echo "              $(grep -v '^\s*$' "$work/$name.out" | tail -1)";; esac
  eval "p50_${name//-/_}=$p50 p99_${name//-/_}=$p99"
}

ratio() { python3 -c "import sys; a, b = sys.argv[1:]; print('-' if '-' in (a, b) else f'{float(a) / float(b):.2f}')" "$1" "$2"; }

# The incremental phases' start: a first (full) snapshot of the VM in the store, and the peer's bitmap added right
# after it, so both chains start about together.
java -jar "$jar" store init "$work/store" >/dev/null
phase ours-store-full java -Xmx256m -jar "$jar" backup --qmp "$work/qmp.sock" --no-vmstate --store "$work/store" \
  --vm guest
peer 0 add-bitmap peer-incr

for round in $(seq "$ROUNDS"); do
  echo "round $round (load $(cut -d' ' -f1-3 /proc/loadavg))"
  phase idle sleep "$IDLE_S"
  rm -f "$work/ours.vma"
  phase ours java -Xmx256m -jar "$jar" backup --qmp "$work/qmp.sock" --no-vmstate "$work/ours.vma"
  rm -f "$work/ours.vma"
  phase peer peer 0
  rm -f "$work/peer.raw"
  phase peer-speed peer "$bw_bytes"
  rm -f "$work/peer.raw"
  phase ours-bwlimit java -Xmx256m -jar "$jar" backup --qmp "$work/qmp.sock" --no-vmstate --bwlimit "$BWLIMIT" \
    "$work/ours.vma"
  rm -f "$work/ours.vma"
  phase ours-incr java -Xmx256m -jar "$jar" backup --qmp "$work/qmp.sock" --no-vmstate --store "$work/store" \
    --vm guest
  grep -E '^ +(incremental|full|first)' "$work/ours-incr.out" | sed 's/^ */              /' || true
  phase peer-incr peer 0 incremental peer-incr
  echo "              peer wrote $(du -k "$work/peer.raw" | cut -f1) KiB (allocated in its sparse target)"
  rm -f "$work/peer.raw"
  echo "  ratio ours/peer p50 $(ratio "$p50_ours" "$p50_peer") p99 $(ratio "$p99_ours" "$p99_peer");" \
    "ours-bwlimit/peer-speed p50 $(ratio "$p50_ours_bwlimit" "$p50_peer_speed")" \
    "p99 $(ratio "$p99_ours_bwlimit" "$p99_peer_speed");" \
    "ours-incr/peer-incr p50 $(ratio "$p50_ours_incr" "$p50_peer_incr") p99 $(ratio "$p99_ours_incr" "$p99_peer_incr")"
done
