#!/bin/sh
# /init of vmbackup's tiny test guest (testkit TinyGuest). Runs as PID 1 from the initramfs, without udev.
# The console lines it prints are the contract GuestConsole reads:
#   "vmbackup-guest: ..."  progress and errors of this script
#   "tick N"               the counter, every 100 ms, forever (PID 1 itself, so it never stops while the VM runs)
#   "rec N US"             record N was appended to /data/records and fsync'ed, which took US microseconds
# /data/records holds lines "R N MD5" where MD5 is the md5sum of the line "N\n" (GuestRecords checks them).
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /run /tmp /data /var
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -s /run /var/run
say() { echo "vmbackup-guest: $*"; }

# The order matters without modprobe: each module after the ones it needs. crc32c_generic explicitly,
# because ext4 soft-depends on crypto-crc32c and TCG's default CPU has no SSE4.2 for crc32c-intel.
for m in @MODULES@; do
  insmod /lib/modules/$m.ko || say "insmod $m failed"
done

# Bounded waits: a missing device is an error on the console, not a hang.
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ -b /dev/vda ]; then
  # A blank disk is formatted here, so the host needs no mke2fs (full path: busybox runs its own applets first).
  if ! mount -t ext4 /dev/vda /data 2>/dev/null; then
    say "formatting /dev/vda"
    /sbin/mke2fs -q -F -t ext4 -L vmbackup-data /dev/vda && mount -t ext4 /dev/vda /data || say "cannot mount /dev/vda"
  fi
else
  say "no /dev/vda"
fi

# qemu-ga opens /dev/virtio-ports/NAME, a link udev would make: make it once virtio_console names the port.
mkdir -p /dev/virtio-ports
i=0; port=""
while [ -z "$port" ] && [ $i -lt 100 ]; do
  for n in /sys/class/virtio-ports/*/name; do
    [ -f "$n" ] && [ "$(cat "$n")" = org.qemu.guest_agent.0 ] && port=$(basename "$(dirname "$n")")
  done
  [ -z "$port" ] && sleep 0.1
  i=$((i + 1))
done
if [ -n "$port" ]; then
  ln -sf /dev/$port /dev/virtio-ports/org.qemu.guest_agent.0
  # A writable state dir, or qemu-ga exits at once (its pid file defaults to /var/run).
  mkdir -p /run/qga
  /usr/sbin/qemu-ga -m virtio-serial -p /dev/virtio-ports/org.qemu.guest_agent.0 -t /run/qga \
    -f /run/qga/qemu-ga.pid -l /run/qga/qemu-ga.log &
  say "agent started on $port"
else
  say "no org.qemu.guest_agent.0 port"
fi

if grep -q " /data " /proc/mounts; then
  (
    n=0
    [ -f /data/records ] && n=$(wc -l < /data/records)
    while true; do
      n=$((n + 1))
      s=$(echo "$n" | md5sum)
      # Time the append and its fsync from the shell's clock ($EPOCHREALTIME: no fork, microseconds):
      # the write latency the guest sees, which a backup must not stretch much.
      t0=${EPOCHREALTIME/./}
      echo "R $n ${s%% *}" >> /data/records
      # busybox "sync FILE" is fsync(FILE) (busybox-static has no fsync applet); a record not synced is not
      # announced, so "rec N" keeps its promise.
      if ! sync /data/records; then
        say "sync of /data/records failed"
        sleep 1
        continue
      fi
      t1=${EPOCHREALTIME/./}
      echo "rec $n $((t1 - t0))"
      sleep 0.2
    done
  ) &
fi

say "ready"
t=0
while true; do
  t=$((t + 1))
  echo "tick $t"
  sleep 0.1
done
