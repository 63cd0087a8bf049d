#!/usr/bin/env bash
# The README's first command: on a fresh Debian/Ubuntu machine, install what is missing (when run as root),
# build vmabackup, start a throwaway VM (two small disks with data, a RAM pattern, no guest OS) and back it up
# live into a VMA archive while a guest-side write hits a disk, then verify the archive.
#   DEMO_OUT=DIR  where to keep the archive (default: /tmp/vmabackup-demo-output)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

packages=(qemu-system-x86 qemu-utils qemu-system-common libnbd-bin openjdk-17-jdk-headless maven)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "demo: missing packages: ${missing[*]} (run as root to install them, or apt-get install them)" >&2
    exit 2
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
echo "demo: building vmabackup (mvn package, tests skipped)..."
(cd "$root" && mvn -B -q -DskipTests package)
vmabackup="$here/vmabackup"

work=$(mktemp -d /tmp/vmabackup-demo-XXXXXX)
qemu_pid=
cleanup() {
  if [ -n "$qemu_pid" ]; then kill "$qemu_pid" 2>/dev/null || true; wait "$qemu_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# Two disks: 64 MiB with 16 MiB of random data (the rest a sparse hole), 32 MiB with 8 MiB; 1 MiB RAM pattern.
truncate -s 64M "$work/disk0.raw"
dd if=/dev/urandom of="$work/disk0.raw" bs=1M count=16 conv=notrunc status=none
truncate -s 32M "$work/disk1.raw"
dd if=/dev/urandom of="$work/disk1.raw" bs=1M count=8 seek=8 conv=notrunc status=none
head -c 1M /dev/urandom > "$work/ram.bin"
sha_before=$(head -c 16M "$work/disk0.raw" | sha256sum | cut -c1-16)

accel=tcg
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then accel=kvm; fi
echo "demo: starting a throwaway VM ($accel, 512 MiB RAM, disks hd0 64 MiB and hd1 32 MiB, no guest OS)"
qemu-system-x86_64 -accel "$accel" -m 512 -nodefaults -display none -serial none \
  -qmp "unix:$work/qmp.sock,server=on,wait=off" -qmp "unix:$work/monitor.sock,server=on,wait=off" \
  -drive "if=none,id=hd0,file=$work/disk0.raw,format=raw" -device virtio-blk-pci,drive=hd0 \
  -drive "if=none,id=hd1,file=$work/disk1.raw,format=raw" -device virtio-blk-pci,drive=hd1 \
  -device "loader,file=$work/ram.bin,addr=0x4000000,force-raw=on" >"$work/qemu.log" 2>&1 &
qemu_pid=$!
for _ in $(seq 100); do [ -S "$work/qmp.sock" ] && [ -S "$work/monitor.sock" ] && break; sleep 0.1; done

out="${DEMO_OUT:-/tmp/vmabackup-demo-output}"
mkdir -p "$out"
archive="$out/demo-$(date +%Y%m%d-%H%M%S).vma.zst"

# While the backup runs, the "guest" overwrites the first MiB of hd0 (HMP qemu-io on the second monitor).
( sleep 0.5; "$vmabackup" qmp "$work/monitor.sock" human-monitor-command \
    '{"command-line":"qemu-io hd0 \"write -P 0x5a 0 1M\""}' >/dev/null \
    && echo "demo: the guest wrote 1 MiB of 0x5a to hd0" ) &
writer=$!

echo "demo: vmabackup backup --qmp $work/qmp.sock $archive"
"$vmabackup" backup --qmp "$work/qmp.sock" "$archive"
wait "$writer" || true

echo "demo: vmabackup vma verify -v $archive"
"$vmabackup" vma verify -v "$archive"

"$vmabackup" vma extract "$archive" "$work/extracted" >/dev/null
sha_archive=$(head -c 16M "$work/extracted/disk-drive-hd0.raw" | sha256sum | cut -c1-16)
sha_now=$(head -c 16M "$work/disk0.raw" | sha256sum | cut -c1-16)
echo
echo "demo: done. Backed up a running VM (2 disks + RAM/device state) into $archive ($(du -h "$archive" | cut -f1))."
echo "demo: sha256 of hd0's first 16 MiB: $sha_before before the backup, $sha_archive in the archive,"
echo "demo: $sha_now on the live disk now (the guest's write came after the backup's instant)."
if [ "$sha_archive" != "$sha_before" ]; then
  echo "demo: the archive does not hold hd0 as it was at the backup's instant" >&2
  exit 1
fi
