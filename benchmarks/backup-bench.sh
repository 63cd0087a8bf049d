#!/usr/bin/env bash
# Live backup of a running guest (KVM where /dev/kvm is usable, TCG otherwise; the accelerator is printed with
# the figures) (SIZE_GIB raw disk with ~40 % data, RAM_MIB of RAM with 512 MiB of it
# random): `vmabackup backup` into a .vma (JVM -Xmx256m) against QEMU's own in-process path on the same VM in
# the same run: the same stop -> throttled blockdev-backup transaction -> background-snapshot migrate recipe,
# but into a local raw file (blockdev-add file+raw) and `migrate exec:cat > FILE`.
# Both sides start from the same page cache (see settle()). Prints per round: wall time, guest pause (STOP->RESUME event timestamps), ratio ours/peer, our peak RSS.
#   SIZE_GIB=16 RAM_MIB=1024 ROUNDS=2 WORK=/tmp/backup-bench benchmarks/backup-bench.sh
#   JAR=PATH runs another build of vmabackup.jar (A/B comparisons)
#   OURS_LOG=FILE appends our command's output and stderr (e.g. with BENCH_JAVA_OPTS=-Dorg.slf4j.simpleLogger.defaultLogLevel=debug)
#   PEER_DIRECT=1 makes the peer write without the page cache as well (QEMU cache.direct=on, dd oflag=direct),
#   as ours does for .vma files
#   ARCHIVE=ours.vma (default) | ours.vma.zst | ours-dir (a directory archive: raw images, no VMA checksums)
#   VMBACKUP_QEMU_PREFIX=DIR runs the QEMU unpacked there (.ci/qemu-backports) instead of the system's
#   VMBACKUP_ACCEL=tcg runs the VM on TCG on a machine with KVM
# On TCG QEMU's own background-snapshot set-up takes ~1.2 s per 512 MiB of RAM, for the peer as for us: judge the
# guest pause as the ratio ours / peer of one round (printed), absolute pauses only on KVM.
# Build first: mvn -q -DskipTests package
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
jar=${JAR:-"$root/examples/target/vmabackup.jar"}
SIZE_GIB=${SIZE_GIB:-16}
RAM_MIB=${RAM_MIB:-1024}
ROUNDS=${ROUNDS:-2}
work=${WORK:-/tmp/backup-bench}
ARCHIVE=${ARCHIVE:-ours.vma}
[ -f "$jar" ] || { echo "build first: (cd $root && mvn -q -DskipTests package)" >&2; exit 2; }
accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; accel=${VMBACKUP_ACCEL:-$accel}
qemu=qemu-system-x86_64; firmware=()
if [ -n "${VMBACKUP_QEMU_PREFIX:-}" ]; then
  qemu="$VMBACKUP_QEMU_PREFIX/usr/bin/qemu-system-x86_64"
  firmware=(-L "$VMBACKUP_QEMU_PREFIX/usr/share/qemu" -L /usr/share/seabios)
fi
qemu_version=$("$qemu" --version | head -1 | sed 's/QEMU emulator version //')

rm -rf "$work"; mkdir -p "$work"
qemu_pid=
cleanup() { [ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

echo "bench: creating a ${SIZE_GIB} GiB sparse raw disk with 4 MiB of data in every 10 MiB (40 %)"
python3 - "$work/disk.raw" "$SIZE_GIB" <<'EOF'
import os, sys
path, gib = sys.argv[1], int(sys.argv[2])
size = gib << 30
chunk = os.urandom(64 << 20)
with open(path, "wb") as f:
    f.truncate(size)
    step, data = 10 << 20, 4 << 20
    for i, off in enumerate(range(0, size, step)):
        n = min(data, size - off)
        s = (i * data) % (len(chunk) - data)
        f.seek(off)
        f.write(chunk[s:s + n])
EOF
head -c 512M /dev/urandom > "$work/ram.bin"
sync

"$qemu" "${firmware[@]}" -accel "$accel" -m "$RAM_MIB" -nodefaults -display none -serial none \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" -qmp "unix:$work/peer.sock,server=on,wait=off" \
  -drive "if=none,id=hd0,file=$work/disk.raw,format=raw" -device virtio-blk-pci,drive=hd0 \
  -device "loader,file=$work/ram.bin,addr=0x10000000,force-raw=on" >"$work/qemu.log" 2>&1 &
qemu_pid=$!
for _ in $(seq 100); do [ -S "$work/peer.sock" ] && break; sleep 0.1; done

peer() { # QEMU's own in-process backup + snapshot to local files; prints "seconds pause_ms"
  rm -f "$work/peer.raw" "$work/peer.vmstate"
  truncate -s "${SIZE_GIB}G" "$work/peer.raw"
  python3 - "$work/peer.sock" "$work/peer.raw" "$work/peer.vmstate" "${PEER_DIRECT:-0}" <<'EOF'
import json, socket, sys, time
sock, target, vmstate, direct = sys.argv[1:5]
direct = direct == "1"
s = socket.socket(socket.AF_UNIX); s.settimeout(600); s.connect(sock); f = s.makefile("rw")
events = []
def recv():
    return json.loads(f.readline())
def cmd(name, **args):
    f.write(json.dumps({"execute": name, "arguments": args}) + "\n"); f.flush()
    while True:
        m = recv()
        if "event" in m: events.append(m); continue
        if "error" in m: raise SystemExit(name + ": " + m["error"]["desc"])
        return m["return"]
def wait(pred):
    while True:
        for e in events:
            if pred(e): events.remove(e); return e
        events.append(recv())
recv(); cmd("qmp_capabilities")
# PEER_DIRECT=1: the peer bypasses the page cache too (QEMU's cache.direct, dd oflag=direct for the state)
cmd("blockdev-add", driver="raw", **{"node-name": "peer-t"}, file={"driver": "file", "filename": target,
    "cache": {"direct": direct}})
cmd("migrate-set-capabilities", capabilities=[{"capability": "background-snapshot", "state": True},
                                              {"capability": "events", "state": True}])
t0 = time.monotonic()
cmd("stop")
cmd("transaction", actions=[{"type": "blockdev-backup", "data": {"job-id": "peer-j", "device": "hd0",
    "target": "peer-t", "sync": "full", "speed": 1, "auto-finalize": True, "auto-dismiss": False}}])
cmd("migrate", uri=("exec:dd bs=1M iflag=fullblock oflag=direct status=none of=" if direct else "exec:cat > ")
    + vmstate)
stop = wait(lambda e: e["event"] == "STOP")
if cmd("query-version")["qemu"]["major"] >= 9:
    # >= 9.0 keeps the run state the snapshot found (paused): resume once RAM write tracking is armed, i.e. once
    # RAM pages flow (the library does the same)
    while True:
        m = cmd("query-migrate"); ram = m.get("ram", {})
        if ram.get("normal", 0) + ram.get("duplicate", 0) > 0 or m.get("status") not in ("setup", "active"):
            break
        time.sleep(0.005)
    cmd("cont")
resume = wait(lambda e: e["event"] == "RESUME")
cmd("block-job-set-speed", device="peer-j", speed=0)
wait(lambda e: e["event"] == "JOB_STATUS_CHANGE" and e["data"]["status"] == "concluded")
wait(lambda e: e["event"] == "MIGRATION" and e["data"]["status"] == "completed")
t1 = time.monotonic()
cmd("job-dismiss", id="peer-j"); cmd("blockdev-del", **{"node-name": "peer-t"})
cmd("migrate-set-capabilities", capabilities=[{"capability": "background-snapshot", "state": False},
                                              {"capability": "events", "state": False}])
ts = lambda e: e["timestamp"]["seconds"] + e["timestamp"]["microseconds"] / 1e6
print("%.2f %d" % (t1 - t0, round((ts(resume) - ts(stop)) * 1000)))
EOF
}

ours() { # prints "seconds pause_ms rss_mib"
  rm -rf "${work:?}/$ARCHIVE"
  # through the launcher, as a user runs it (its JVM options per command and class-data cache included)
  JAVA_OPTS="-Xmx256m ${BENCH_JAVA_OPTS:-}" VMABACKUP_JAR="$jar" /usr/bin/time -v "$root/examples/vmabackup" backup \
    --qmp "$work/qmp.sock" "$work/$ARCHIVE" \
    >"$work/ours.out" 2>"$work/ours.err" || { cat "$work/ours.out" "$work/ours.err" >&2; exit 1; }
  local pause dur rss
  pause=$(sed -n 's/.*guest pause \([0-9]*\) ms, duration \([0-9.]*\) s.*/\1/p' "$work/ours.out")
  dur=$(sed -n 's/.*guest pause \([0-9]*\) ms, duration \([0-9.]*\) s.*/\2/p' "$work/ours.out")
  rss=$(sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\)/\1/p' "$work/ours.err")
  [ -z "${OURS_LOG:-}" ] || cat "$work/ours.out" "$work/ours.err" >>"$OURS_LOG"
  echo "$dur $pause $((rss / 1024))"
}

# Each side starts from the same page-cache state: the other side's output deleted and written back, clean caches
# dropped (when we may), the source image read back in. Without this the side that runs second pays for the
# first side's dirty pages and a full page cache (reclaim on every new page): rounds then scattered 4x.
settle() {
  rm -rf "${work:?}/$ARCHIVE" "$work/peer.raw" "$work/peer.vmstate"
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
  cat "$work/disk.raw" > /dev/null
}
dropping=no; [ -w /proc/sys/vm/drop_caches ] && dropping=yes
echo "bench: ${SIZE_GIB} GiB disk (40 % data), ${RAM_MIB} MiB RAM, ${accel^^}, QEMU $qemu_version, $ROUNDS rounds (order alternates;" \
     "caches dropped between sides: $dropping); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    settle; read -r pt pp < <(peer)
    settle; read -r ot op orss < <(ours)
  else
    settle; read -r ot op orss < <(ours)
    du -sb "$work/$ARCHIVE" | awk '{print "  " $1 " bytes " $2}'
    settle; read -r pt pp < <(peer)
  fi
  ratio=$(python3 -c "print('%.2f' % ($ot / $pt))")
  pause_ratio=$(python3 -c "print('%.2f' % ($op / $pp) if $pp > 0 else 'n/a')")
  echo "round $r: peer (QEMU in-process to raw file + migrate exec:$([ "${PEER_DIRECT:-0}" = 1 ] && echo "dd, O_DIRECT" || echo cat)) ${pt} s, pause ${pp} ms;" \
       "ours (vmabackup backup to $ARCHIVE, -Xmx256m) ${ot} s, pause ${op} ms, peak RSS ${orss} MiB; ratio ${ratio}x (time), ${pause_ratio}x (pause), ${accel^^}"
  du -sb "$work/$ARCHIVE" "$work/peer.vmstate" 2>/dev/null | awk '{print "  " $1 " bytes " $2}'  || true
done
echo "bench: load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
