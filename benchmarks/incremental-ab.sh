#!/usr/bin/env bash
# Incremental `backup --store` under several builds or JVM options, interleaved on one VM (A/B): a 16 GiB raw disk
# with 0.4 GiB of random data per GiB (as incremental-bench.sh), one full backup, then per round and variant an
# unchanged incremental and one after 163 MiB (1 %) of fresh random data written through QEMU in 1 MiB runs at
# random aligned offsets. Prints wall time and the command's CPU time (user+system: steadier than wall time on a
# shared machine) per backup. Each variant gets its own class-data-sharing cache (recorded by a warm-up run).
#   VARIANTS='base|/tmp/old.jar|examples/vmabackup|
#   new|examples/target/vmabackup.jar|examples/vmabackup|-XX:+UseSerialGC' ROUNDS=4 benchmarks/incremental-ab.sh
# (a line: label|jar|launcher|extra JAVA_OPTS). WORK=DIR (default /tmp/incr-ab); KVM if /dev/kvm is usable.
set -euo pipefail
w=${WORK:-/tmp/incr-ab}
ROUNDS=${ROUNDS:-3}
mapfile -t vs <<<"${VARIANTS:?VARIANTS: lines label|jar|launcher|opts}"
IFS='|' read -r _ first firstl _ <<<"${vs[0]}"
accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; accel=${VMBACKUP_ACCEL:-$accel}
rm -rf "$w"; mkdir -p "$w/runs"
qp=
trap '[ -n "$qp" ] && kill $qp; wait; rm -rf "$w"' EXIT
rand() { (openssl enc -aes-128-ctr -pass "pass:$1" -nosalt -pbkdf2 </dev/zero 2>/dev/null || true) | head -c "$2"; }
truncate -s 16G "$w/disk.raw"
for g in $(seq 0 15); do
  rand "seed$g" $((410 << 20)) | dd of="$w/disk.raw" iflag=fullblock bs=1M seek=$((g * 1024)) conv=notrunc status=none
done
qemu-system-x86_64 -accel "$accel" -m 256 -nodefaults -display none -serial none \
  -drive "if=none,id=hd0,file=$w/disk.raw,format=raw" -device virtio-blk-pci,drive=hd0 \
  -qmp "unix:$w/qmp.sock,server=on,wait=off" -qmp "unix:$w/hmp.sock,server=on,wait=off" >"$w/q.log" 2>&1 &
qp=$!
for _ in $(seq 100); do [ -S "$w/hmp.sock" ] && break; sleep 0.1; done
java -jar "$first" store init "$w/store" >/dev/null
cat >"$w/hmp.py" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile('rw')
f.readline(); f.write('{"execute":"qmp_capabilities"}\n'); f.flush(); f.readline()
for line in open('/dev/stdin'):
    f.write(json.dumps({"execute": "human-monitor-command", "arguments": {"command-line": line.strip()}}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
    if "error" in r or "rror" in r.get("return", ""):
        sys.exit("qemu-io failed: " + json.dumps(r))
PY
n=0
change() { # 163 fresh 1 MiB runs (fresh data: a run the store holds already would be deduplicated)
  n=$((n + 1))
  for i in $(seq 0 162); do rand "c$n.$i" $((1 << 20)) >"$w/runs/$i"; done
  shuf -i 0-16383 -n 163 | nl -v0 | while read -r i mib; do
    echo "qemu-io hd0 \"write -s $w/runs/$i $((mib << 20)) 1M\""
  done | python3 "$w/hmp.py" "$w/hmp.sock"
  sync
}
b() { # label jar launcher [JVM options...]
  local l=$1 jar=$2 launcher=$3; shift 3; local t0 rc=0
  t0=$(date +%s.%N)
  VMABACKUP_JAR="$jar" VMABACKUP_CACHE="$w/cds-${l%-*}" JAVA_OPTS="-Xmx256m $*" /usr/bin/time -f "%U+%S" -o "$w/cpu" \
    "$launcher" backup --qmp "$w/qmp.sock" --no-vmstate --store "$w/store" --vm bench >"$w/out" 2>&1 || rc=$?
  [ $rc = 0 ] || { echo "$l failed: $(tail -5 "$w/out")" >&2; exit 1; }
  printf '%-16s %.3f s, cpu %s s (load %s), new in the store %s\n' "$l" "$(echo "$(date +%s.%N) - $t0" | bc)" \
    "$(cat "$w/cpu")" "$(cut -d' ' -f1 /proc/loadavg)" "$(sed -n 's/.*new in the store //p' "$w/out")"
  sleep 1.1 # snapshot ids are whole seconds
  sync
}
b full "$first" "$firstl"
for v in "${vs[@]}"; do IFS='|' read -r l j L o <<<"$v"; b "$l-warm" "$j" "$L" $o; done # records its CDS archive
sleep 5 # the launchers' background publishers (a JDK 17 archive, a JDK 25 AOT cache) finish before the rounds
for _ in $(seq "$ROUNDS"); do
  for v in "${vs[@]}"; do
    IFS='|' read -r l j L o <<<"$v"
    b "$l-unchanged" "$j" "$L" $o
    change
    b "$l-163MiB" "$j" "$L" $o
  done
done
echo "accel $accel, $(qemu-system-x86_64 --version | head -1)"
