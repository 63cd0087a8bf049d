#!/usr/bin/env bash
# Issue 15's chunk-store figures, every one against its peer in the same run, on one VM (KVM where /dev/kvm is
# usable, TCG otherwise; the accelerator is printed):
#  1. full live backup (disk + VM state) into a fresh store vs into a .vma, same VM, rounds interleaved
#     (`vmabackup backup --store` / `vmabackup backup A.vma`, launcher, -Xmx256m), with the store's count of NBD
#     writes that landed in chunk buffers in place;
#  2. store size for 3 VMs cloned from one SIZE_GIB image, each 1 % diverged (1 MiB blocks of new random data at
#     random 1 MiB-aligned places), backed up one after the other (--no-vmstate) into one store, vs one VM's;
#  3. `vmabackup restore STORE --snapshot ID --to DIR` (raw, and --format qcow2; launcher, -Xmx256m, JVM start
#     included) vs `qemu-img convert -f raw -O raw|qcow2` of the same raw image + sync, interleaved, checked bit-exact;
#     OLD_JAR=other.jar runs that build's restore too in the same rounds (old vs new);
#  4. `vmabackup store verify` MB/s (-Xmx256m) vs `sha256sum` of the raw image.
# Peak RSS of every JVM from /usr/bin/time -v; a backup's CPU seconds (user + system) of its JVM and of QEMU.
#   SIZE_GIB=4 RAM_MIB=512 ROUNDS=3 WORK=/tmp/store-bench benchmarks/store-bench.sh
#   SKIP_BACKUP=1 skips figure 1, SKIP_VERIFY=1 figure 4 (to re-measure restore alone), BACKUP_ONLY=1 figures 2-4
#   (to re-measure the backup alone); KEEP_WORK=1 keeps WORK
#   (the store in WORK/clones, clone 3 in WORK/clone.raw) for profiling
#   STORE_C1=1 adds a store backup with C1 only per round (what the launcher ran for every backup before)
#   NOCOMP=1 adds a backup per round into a store made with `store init --compression none`
# Build first: mvn -q -DskipTests package
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
jar=${JAR:-"$root/examples/target/vmabackup.jar"}
SIZE_GIB=${SIZE_GIB:-4}
RAM_MIB=${RAM_MIB:-512}
ROUNDS=${ROUNDS:-3}
work=${WORK:-/tmp/store-bench}
[ -f "$jar" ] || { echo "build first: (cd $root && mvn -q -DskipTests package)" >&2; exit 2; }
accel=tcg; [ -r /dev/kvm ] && [ -w /dev/kvm ] && accel=kvm; accel=${VMBACKUP_ACCEL:-$accel}
qemu=${QEMU:-qemu-system-x86_64}
vmab() { JAVA_OPTS="-Xmx256m ${BENCH_JAVA_OPTS:-}" VMABACKUP_JAR="$jar" "$root/examples/vmabackup" "$@"; }
rss_of() { sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\)/\1/p' "$1" | awk '{print int($1/1024)}'; }
cpu_of() { awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$1"; } # user + system seconds
qemu_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$qemu_pid/stat"; }
now() { date +%s.%N; }
since() { python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$1" "$(now)"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }
median() { python3 -c "import sys, statistics; print('%.2f' % statistics.median(map(float, sys.argv[1:])))" "$@"; }

rm -rf "$work"; mkdir -p "$work"
qemu_pid=
stop_vm() { if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=; fi; }
cleanup() { stop_vm; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

start_vm() { # disk image, RAM MiB; RAM gets 128 MiB of random data (a VM state that does not compress away)
  rm -f "$work/qmp.sock"
  "$qemu" -accel "$accel" -m "$2" -nodefaults -display none -serial none \
    -qmp "unix:$work/qmp.sock,server=on,wait=off" \
    -drive "if=none,id=hd0,file=$1,format=raw" -device virtio-blk-pci,drive=hd0 \
    -device "loader,file=$work/ram.bin,addr=0x4000000,force-raw=on" >"$work/qemu.log" 2>&1 &
  qemu_pid=$!
  for _ in $(seq 100); do [ -S "$work/qmp.sock" ] && break; sleep 0.1; done
}
settle() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi; cat "$1" > /dev/null; }

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
echo "bench: ${SIZE_GIB} GiB disk, ${RAM_MIB} MiB RAM, ${accel^^}, $("$qemu" --version | head -1); load average $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. backup: .vma vs store, interleaved
if [ -z "${SKIP_BACKUP:-}" ]; then
start_vm "$work/disk.raw" "$RAM_MIB"
backup() { # kind round -> prints "seconds rss_mib bytes cpu_seconds qemu_cpu_seconds"
  local out=$work/$1-$2 t0 q0
  q0=$(qemu_cpu)
  if [ "$1" = store ] || [ "$1" = storec1 ] || [ "$1" = storeraw ]; then
    local init_opts=(); [ "$1" = storeraw ] && init_opts=(--compression none)
    vmab store init "$out" "${init_opts[@]}" >/dev/null
    local c1=; [ "$1" = storec1 ] && c1=-XX:TieredStopAtLevel=1
    t0=$(now)
    JAVA_OPTS="-Xmx256m $c1 -Dorg.slf4j.simpleLogger.log.org.vmbackup.store.StoreSnapshotWriter=info ${BENCH_JAVA_OPTS:-}" \
      /usr/bin/time -v "$root/examples/vmabackup" backup --qmp "$work/qmp.sock" --store "$out" --vm bench \
      >"$work/out" 2>"$work/err" || { cat "$work/out" "$work/err" >&2; exit 1; }
  else
    t0=$(now)
    /usr/bin/time -v env JAVA_OPTS="-Xmx256m ${BENCH_JAVA_OPTS:-}" VMABACKUP_JAR="$jar" "$root/examples/vmabackup" \
      backup --qmp "$work/qmp.sock" "$out.vma" >"$work/out" 2>"$work/err" || { cat "$work/out" "$work/err" >&2; exit 1; }
  fi
  local t; t=$(since "$t0")
  local q; q=$(python3 -c "import sys; print('%.2f' % (float(sys.argv[2]) - float(sys.argv[1])))" "$q0" "$(qemu_cpu)")
  grep -h "in place" "$work/err" | sed 's/^.*disk /  in-place count: disk /' >&2 || true
  echo "$t $(rss_of "$work/err") $(du -sb "$out"* | awk '{s += $1} END {print s}') $(cpu_of "$work/err") $q"
  rm -rf "$out" "$out.vma"
  settle "$work/disk.raw"
}
export JAVA_OPTS="-Xmx256m"; export VMABACKUP_JAR="$jar"
vma_t=(); store_t=(); ratios=(); raw_ratios=()
settle "$work/disk.raw"
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    read -r vt vr vb vc vq < <(backup vma "$r"); read -r st sr sb sc sq < <(backup store "$r")
  else
    read -r st sr sb sc sq < <(backup store "$r"); read -r vt vr vb vc vq < <(backup vma "$r")
  fi
  if [ -n "${STORE_C1:-}" ]; then
    read -r ct cr cb cc cq < <(backup storec1 "$r")
    echo "backup round $r: store with C1 only (the launcher's choice for backup before): ${ct} s, $(ratio "$ct" "$vt")x the .vma's"
  fi
  if [ -n "${NOCOMP:-}" ]; then
    read -r nt nr nb nc nq < <(backup storeraw "$r")
    raw_ratios+=("$(ratio "$nt" "$vt")")
    echo "backup round $r: store without compression ${nt} s (CPU ${nc} s + QEMU ${nq} s, RSS ${nr} MiB, ${nb} bytes), $(ratio "$nt" "$vt")x the .vma's"
  fi
  vma_t+=("$vt"); store_t+=("$st"); ratios+=("$(ratio "$st" "$vt")")
  echo "backup round $r: .vma ${vt} s (CPU ${vc} s + QEMU ${vq} s, RSS ${vr} MiB, ${vb} bytes), store ${st} s (CPU ${sc} s + QEMU ${sq} s, RSS ${sr} MiB, ${sb} bytes), ratio $(ratio "$st" "$vt")x (time); load $(cut -d' ' -f1 /proc/loadavg)"
done
echo "backup: median .vma $(median "${vma_t[@]}") s, store $(median "${store_t[@]}") s, median ratio $(median "${ratios[@]}")x (goal <= 1.1x), ${accel^^}"
[ -z "${NOCOMP:-}" ] || echo "backup: store without compression, median ratio $(median "${raw_ratios[@]}")x"

stop_vm
fi
[ -z "${BACKUP_ONLY:-}" ] || { echo "bench: load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"; exit 0; }

# 2. three clones, each 1 % diverged, into one store
store=$work/clones; vmab store init "$store" >/dev/null
one=
for c in 1 2 3; do
  cp --sparse=always "$work/disk.raw" "$work/clone.raw"
  python3 - "$work/clone.raw" "$c" <<'PY'
import os, random, sys
path, seed = sys.argv[1], int(sys.argv[2])
size = os.path.getsize(path); mib = 1 << 20
rng = random.Random(seed)
blocks = rng.sample(range(size // mib), max(1, size // mib // 100))
with open(path, "r+b") as f:
    for b in blocks:
        f.seek(b * mib); f.write(os.urandom(mib))
PY
  start_vm "$work/clone.raw" 256
  vmab backup --qmp "$work/qmp.sock" --store "$store" --vm "clone$c" --no-vmstate >"$work/out" 2>"$work/err" \
    || { cat "$work/out" "$work/err" >&2; exit 1; }
  stop_vm
  bytes=$(du -sb "$store" | cut -f1)
  [ -n "$one" ] || one=$bytes
  echo "clones: after clone $c the store holds $bytes bytes ($(ratio "$bytes" "$one")x one VM's)"
done
echo "clones: 3 VMs $(du -sb "$store" | cut -f1) bytes vs one VM $one bytes: $(ratio "$(du -sb "$store" | cut -f1)" "$one")x (goal <= 1.1x)"
vmab store list "$store"
snap=$(vmab store list "$store" --vm clone3 | awk 'NR > 1 {print $1; exit}') # clone.raw is clone 3's image now

# 3. restore vs qemu-img convert (the clone's raw image), interleaved: the real command, raw and qcow2, each
#    against qemu-img convert to the same format (+ sync); OLD_JAR also runs that build's restore in the same rounds
restore_run() { # jar format dir -> prints "seconds rss_mib"; output file checked by the caller
  local t0; rm -rf "$3"; t0=$(now)
  /usr/bin/time -v env JAVA_OPTS="-Xmx256m ${BENCH_JAVA_OPTS:-}" VMABACKUP_JAR="$1" "$root/examples/vmabackup" \
    restore "$store" --snapshot "$snap" --to "$3" --format "$2" >"$work/out" 2>"$work/err" \
    || { cat "$work/out" "$work/err" >&2; exit 1; }
  local t; t=$(since "$t0")
  echo "$t $(rss_of "$work/err")"
}
convert_run() { # format -> prints seconds
  local t0; rm -f "$work/converted.img"; t0=$(now)
  qemu-img convert -f raw -O "$1" "$work/clone.raw" "$work/converted.img"; sync "$work/converted.img"; since "$t0"
  rm -f "$work/converted.img"
}
check_restored() { # dir format
  local f; f=$(ls "$1"/*."$2")
  if [ "$2" = raw ]; then cmp -s "$f" "$work/clone.raw" || { echo "restore: $f NOT bit-exact" >&2; exit 1; }
  else qemu-img compare -q -f qcow2 -F raw "$f" "$work/clone.raw" || { echo "restore: $f differs" >&2; exit 1; }; fi
}
declare -A rt=() ; sides="new"; [ -n "${OLD_JAR:-}" ] && sides="old new"
for r in $(seq "$ROUNDS"); do
  for fmt in raw qcow2; do
    settle "$work/clone.raw"; ct=$(convert_run "$fmt"); rt[conv-$fmt]+="$ct "
    for side in $sides; do
      j=$jar; [ "$side" = old ] && j=$OLD_JAR
      settle "$work/clone.raw"
      restore_run "$j" "$fmt" "$work/restored" >"$work/rt" # not in a subshell: a failed restore ends the script
      read -r t rr <"$work/rt"
      [ "$r" = 1 ] && check_restored "$work/restored" "$fmt"
      rm -rf "$work/restored"
      rt[$side-$fmt]+="$t "
      echo "restore round $r $fmt: qemu-img convert ${ct} s, $side restore ${t} s (RSS ${rr} MiB, JVM start included), speed ratio $(ratio "$ct" "$t")x; load $(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
for fmt in raw qcow2; do
  # shellcheck disable=SC2086
  c=$(median ${rt[conv-$fmt]})
  for side in $sides; do
    # shellcheck disable=SC2086
    m=$(median ${rt[$side-$fmt]})
    echo "restore $fmt: median convert $c s, $side restore $m s, speed ratio of the medians $(ratio "$c" "$m")x (goal >= 0.8x), restored checked in round 1"
  done
done

# 4. verify vs sha256sum
if [ -z "${SKIP_VERIFY:-}" ]; then
settle "$work/clone.raw"
t0=$(now); sha256sum "$work/clone.raw" >/dev/null; sh=$(since "$t0")
sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
t0=$(now); /usr/bin/time -v "$root/examples/vmabackup" store verify "$store" >"$work/out" 2>"$work/err" || { cat "$work/out" "$work/err" >&2; exit 1; }
vt=$(since "$t0"); cat "$work/out"
logical=$(( 3 * (SIZE_GIB << 30) ))
echo "verify: 3 snapshots ($logical logical bytes) in ${vt} s = $(python3 -c "print('%.0f' % ($logical / $vt / 1e6))") MB/s logical, RSS $(rss_of "$work/err") MiB;" \
     "sha256sum of one raw image ${sh} s = $(python3 -c "print('%.0f' % ((${SIZE_GIB} << 30) / $sh / 1e6))") MB/s"
fi
echo "bench: load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
