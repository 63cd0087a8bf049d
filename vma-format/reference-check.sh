#!/usr/bin/env bash
# Checks vmabackup's VMA archives with Proxmox's own reference `vma` tool, and the reference tool's archives with
# vmabackup. The tool is a measuring instrument only: it is not part of this project and this script does not build
# it; PVE_VMA names an already-built binary (see vma-format/REFERENCE-CHECK.md for how it was built).
#
# Usage: PVE_VMA=/path/to/vma vma-format/reference-check.sh [WORKDIR]
#   (needs examples/target/vmabackup.jar: mvn -q -DskipTests package; qemu-system-x86_64, qemu-img, zstd, cmp)
# Starts a throwaway QEMU (no guest OS, TCG unless /dev/kvm exists) with two raw disks, one of an odd size that is
# no multiple of VMA's 64 KiB cluster nor of 4 KiB (3 MiB + 4608 bytes), and archives it every way vmabackup can:
#   live backup into .vma with RAM; live backup --proxmox; live backup --store and its store export to .vma,
#   .vma.zst and --proxmox; store import of the live .vma and its export to .vma and .vma.zst.
# Each archive goes through the reference `vma verify -v`, `vma list`, `vma config` and `vma extract`: every disk
# extracted must equal its source image byte for byte (cmp), and every file the reference extract writes (configs,
# vmstate.bin, disks) must equal the one `vmabackup vma extract` writes from the same archive; and `vma extract -r
# MAP` into volumes made beforehand (qmrestore's way) must fill them byte-equal to the source images.
# The reverse: an archive made by the reference `vma create` is verified and extracted by vmabackup (byte-equal to
# the images), imported into the store, exported, and the export checked by the reference tool again.
# A .vma.zst goes to the reference tool as vzdump gives it: `zstd -d -c | vma extract -`, and decompressed to a
# file for `verify`, `list` and `config`. Prints PASS/FAIL per check and a closing `N passed, N failed` line;
# exits 1 if any check failed, 2 if PVE_VMA is unset.
set -uo pipefail
if [ -z "${PVE_VMA:-}" ]; then
  echo "reference-check: PVE_VMA is not set: nothing was checked (set it to a built reference vma binary)" >&2
  exit 2
fi
[ -x "$PVE_VMA" ] || { echo "reference-check: PVE_VMA=$PVE_VMA is not an executable" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jar="${VMABACKUP_JAR:-$here/examples/target/vmabackup.jar}"
[ -f "$jar" ] || { echo "reference-check: $jar not found (mvn -q -DskipTests package)" >&2; exit 2; }
work="${1:-$(mktemp -d /tmp/vma-reference-check.XXXXXX)}"
mkdir -p "$work/logs" "$work/dump-live" "$work/dump-store"
pass=0
fail=0
qemu_pid=
cleanup() { [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true; }
trap cleanup EXIT

vb() { java -Xmx512m -jar "$jar" "$@"; }

# check NAME CMD...: runs CMD with its output in logs/NAME.log; counts and prints the result.
check() {
  local name=$1; shift
  if "$@" > "$work/logs/$name.log" 2>&1; then
    echo "PASS $name"; pass=$((pass + 1))
  else
    echo "FAIL $name (log: $work/logs/$name.log)"; tail -5 "$work/logs/$name.log" | sed 's/^/    /'
    fail=$((fail + 1))
  fi
}

# A raw image of SIZE bytes: 64 KiB runs, every third a hole, some runs all 0x00 but allocated, random data else;
# the last 4 KiB are non-zero (the tail of an odd-sized disk is what a codec gets wrong).
make_image() {
  python3 - "$1" "$2" "$3" <<'EOF'
import random, sys
path, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
run = 64 << 10
with open(path, "wb") as f:
    f.truncate(size)
    for i, off in enumerate(range(0, size, run)):
        n = min(run, size - off)
        if i % 3 == 2:
            continue
        f.seek(off)
        f.write(bytes(n) if i % 7 == 3 else r.randbytes(n))
    f.seek(max(0, size - 4096))
    f.write(b"\xa5" * min(4096, size))
EOF
}

# ref_file ARCHIVE: a plain .vma for the reference tool (a .vma.zst decompressed next to it).
ref_file() {
  case "$1" in
    *.zst) [ -f "$1.plain" ] || zstd -q -d -c "$1" > "$1.plain"; echo "$1.plain" ;;
    *) echo "$1" ;;
  esac
}

ref_extract() { # ARCHIVE DIR: as vzdump's restore feeds it (a .zst through zstd -d on stdin)
  case "$1" in
    *.zst) zstd -q -d -c "$1" | "$PVE_VMA" extract -v - "$2" ;;
    *) "$PVE_VMA" extract -v "$1" "$2" ;;
  esac
}

# The reference extract writes a 4 KiB block of the vmstate stream only if the archive stores it (mask bit set): it
# registers no write_zeroes for the vmstate stream (vma-reader.c restore_extent) and appends, so an all-zero block
# left out of the archive is cut out of its vmstate.bin (shorter, later bytes shifted). Our writer stores every
# vmstate block for that reason, so the files must be equal; if they are not, this says whether they are equal
# but for the zero blocks (an archive that leaves them out, like the reference writer's own or ours before).
vmstate_equal() { # REF_VMSTATE OUR_VMSTATE
  python3 - "$1" "$2" <<'EOF2'
import sys
ref, ours = (open(p, "rb").read() for p in sys.argv[1:3])
blocks = [ours[i:i + 4096] for i in range(0, len(ours), 4096)]
kept = b"".join(b for b in blocks if b.count(0) != len(b))
print(f"vmstate: ours {len(ours)} bytes ({len(blocks) - len(kept) // 4096} zero 4 KiB blocks), reference {len(ref)}")
if ref == ours:
    sys.exit(0)
print("differ" + ("; equal but for the zero blocks the reference extract drops" if kept == ref else ""))
sys.exit(1)
EOF2
}

same_files() { # DIR1(reference) DIR2(ours): the same file names with the same bytes (vmstate.bin: see above)
  local a=$1 b=$2 f
  diff <(cd "$a" && find . -type f | sort) <(cd "$b" && find . -type f | sort) || return 1
  while IFS= read -r f; do
    if [ "$f" = ./vmstate.bin ]; then
      vmstate_equal "$a/$f" "$b/$f" || return 1
    else
      cmp "$a/$f" "$b/$f" || return 1
    fi
  done < <(cd "$a" && find . -type f)
  echo "$(cd "$a" && find . -type f | wc -l) files equal"
}

disks_equal() { # DIR DEVNAME=IMAGE...
  local dir=$1 pair; shift
  for pair in "$@"; do
    cmp "$dir/disk-${pair%%=*}.raw" "${pair#*=}" || return 1
    echo "disk-${pair%%=*}.raw == ${pair#*=} ($(stat -c %s "${pair#*=}") bytes)"
  done
}

lists_disks() { # ARCHIVE DEVNAME=IMAGE...: `vma list` names each device with its image's size
  local out pair; out=$("$PVE_VMA" list "$1") || return 1
  echo "$out"; shift
  for pair in "$@"; do
    grep -q "size: $(stat -c %s "${pair#*=}") devname: ${pair%%=*}\$" <<< "$out" || { echo "missing ${pair%%=*}"; return 1; }
  done
}

config_equal() { # ARCHIVE: the reference `vma config` prints what ours prints
  diff <("$PVE_VMA" config "$(ref_file "$1")") <(vb vma config "$1")
}

ref_restore_mapped() { # ARCHIVE DIR DEVNAME=IMAGE...: as qmrestore restores: `vma extract -r MAP` into volumes made
  # beforehand (fresh, so zeros need not be written: `0:`), then each volume must equal its source image
  local archive=$1 dir=$2 pair vol; shift 2
  mkdir -p "$dir.vols" && : > "$dir.map"
  for pair in "$@"; do
    vol="$dir.vols/${pair%%=*}.raw"
    qemu-img create -q -f raw "$vol" "$(stat -c %s "${pair#*=}")" || return 1
    echo "format=raw:0:${pair%%=*}=$vol" >> "$dir.map"
  done
  echo done >> "$dir.map"
  case "$archive" in
    *.zst) zstd -q -d -c "$archive" | "$PVE_VMA" extract -v -r "$dir.map" - "$dir" ;;
    *) "$PVE_VMA" extract -v -r "$dir.map" "$archive" "$dir" ;;
  esac || return 1
  for pair in "$@"; do
    cmp "$dir.vols/${pair%%=*}.raw" "${pair#*=}" || return 1
  done
}

# ref_checks LABEL ARCHIVE DEVNAME=IMAGE...: the reference tool's verdicts on one of our archives.
ref_checks() {
  local label=$1 archive=$2; shift 2
  local d="$work/x-$label"
  rm -rf "$d.ref" "$d.ours"
  check "$label.ref-verify" "$PVE_VMA" verify -v "$(ref_file "$archive")"
  check "$label.ref-list" lists_disks "$(ref_file "$archive")" "$@"
  check "$label.ref-config" config_equal "$archive"
  check "$label.ref-extract" ref_extract "$archive" "$d.ref"
  check "$label.ref-extract-disks-equal-sources" disks_equal "$d.ref" "$@"
  check "$label.ours-extract" vb vma extract "$archive" "$d.ours"
  check "$label.ref-extract-equals-ours" same_files "$d.ref" "$d.ours"
  rm -rf "$d.mapped" "$d.mapped.vols"
  check "$label.ref-extract-mapped-like-qmrestore" ref_restore_mapped "$archive" "$d.mapped" "$@"
}

echo "reference tool: $PVE_VMA; vmabackup: $jar; work: $work"
img0="$work/d0.raw"
img1="$work/d1.raw"
make_image "$img0" $((16 << 20)) 1
make_image "$img1" $(((3 << 20) + 4608)) 2
cat > "$work/qemu-server.conf" <<'EOF'
boot: order=virtio0
cores: 1
memory: 64
name: refcheck
virtio0: local:105/vm-105-disk-0.raw,size=16M
virtio1: local:105/vm-105-disk-1.raw,size=3076K
EOF

accel=tcg
[ -w /dev/kvm ] && accel=kvm
qmp="$work/qmp.sock"
rm -f "$qmp"
qemu-system-x86_64 -accel "$accel" -m 64 -nodefaults -display none -serial none -qmp "unix:$qmp,server=on,wait=off" \
  -drive "if=none,id=virtio0,file=$img0,format=raw" -device virtio-blk-pci,drive=virtio0 \
  -drive "if=none,id=virtio1,file=$img1,format=raw" -device virtio-blk-pci,drive=virtio1 \
  > "$work/logs/qemu.log" 2>&1 &
qemu_pid=$!
map=("drive-virtio0=$img0" "drive-virtio1=$img1")

# 1. a live backup into .vma, disks + RAM, and with --proxmox
check live-vma.backup vb backup --qmp "$qmp" --wait 30 -c "$work/qemu-server.conf" "$work/live.vma"
ref_checks live-vma "$work/live.vma" "${map[@]}"
check live-vma.ref-has-vmstate grep -q '^VMSTATE: ' "$work/logs/live-vma.ref-list.log"
check live-proxmox.backup vb backup --qmp "$qmp" --proxmox 105 --dump-dir "$work/dump-live" \
  --proxmox-conf "$work/qemu-server.conf"
ref_checks live-proxmox "$(ls "$work"/dump-live/vzdump-qemu-105-*.vma*)" "${map[@]}"

# 2. a live backup into the store, exported
store="$work/store"
check store.init vb store init "$store"
vb backup --qmp "$qmp" -c "$work/qemu-server.conf" --store "$store" --vm live > "$work/logs/store.backup.log" 2>&1
live_id=$(sed -n 's/^snapshot \(\S*\/\S*\)$/\1/p' "$work/logs/store.backup.log")
check store.backup test -n "$live_id"
check store-live-vma.export vb store export "$store" "$live_id" "$work/store-live.vma"
ref_checks store-live-vma "$work/store-live.vma" "${map[@]}"
check store-live-zst.export vb store export "$store" "$live_id" "$work/store-live.vma.zst"
ref_checks store-live-zst "$work/store-live.vma.zst" "${map[@]}"
check store-live-proxmox.export vb store export "$store" "$live_id" --proxmox 106 --dump-dir "$work/dump-store"
ref_checks store-live-proxmox "$(ls "$work"/dump-store/vzdump-qemu-106-*.vma*)" "${map[@]}"

# 3. a store import of the live .vma, exported
vb store import "$store" "$work/live.vma" --vm imported > "$work/logs/store.import.log" 2>&1
imp_id=$(grep -E '^\S+/\S+$' "$work/logs/store.import.log" | tail -1)
check store.import test -n "$imp_id"
check store-imported-vma.export vb store export "$store" "$imp_id" "$work/store-imported.vma"
ref_checks store-imported-vma "$work/store-imported.vma" "${map[@]}"
check store-imported-zst.export vb store export "$store" "$imp_id" "$work/store-imported.vma.zst"
ref_checks store-imported-zst "$work/store-imported.vma.zst" "${map[@]}"
kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid" 2>/dev/null; qemu_pid=

# 4. the reverse: the reference `vma create` writes, vmabackup reads
check reference-create "$PVE_VMA" create "$work/ref.vma" -c "$work/qemu-server.conf" \
  -d "format=raw:drive-virtio0=$img0" -d "format=raw:drive-virtio1=$img1"
check reference.ours-verify vb vma verify "$work/ref.vma"
check reference.ours-extract vb vma extract "$work/ref.vma" "$work/x-reference.ours"
check reference.ours-extract-disks-equal-sources disks_equal "$work/x-reference.ours" "${map[@]}"
check reference.ours-restore vb restore "$work/ref.vma" --to "$work/x-reference.restore"
vb store import "$store" "$work/ref.vma" --vm reference > "$work/logs/reference.import.log" 2>&1
ref_id=$(grep -E '^\S+/\S+$' "$work/logs/reference.import.log" | tail -1)
check reference.import test -n "$ref_id"
check store-reference-vma.export vb store export "$store" "$ref_id" "$work/store-reference.vma"
ref_checks store-reference-vma "$work/store-reference.vma" "${map[@]}"
check store-reference-zst.export vb store export "$store" "$ref_id" "$work/store-reference.vma.zst"
ref_checks store-reference-zst "$work/store-reference.vma.zst" "${map[@]}"
check store.verify vb store verify "$store"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
