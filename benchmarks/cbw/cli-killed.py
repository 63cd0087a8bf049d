"""What guest writes see when `vmabackup backup` (the real library, its own JVM) is killed with SIGKILL mid-copy:
a thread writes 4 KiB into regions not yet copied in a loop through HMP qemu-io, across the kill.
Usage: [NOVM=1] python3 cli-killed.py examples/target/vmabackup.jar QEMU-SYSTEM-BINARY [QEMU ARGS]
Prints how many guest writes QEMU's log reports as written and as failed, and QEMU's state afterwards."""
# JVM death mid-backup with the real library: vmabackup backup in its own JVM, kill -9 while the job runs,
# then guest writes into regions not yet copied.
import json, os, socket, subprocess, sys, time, signal
jar = sys.argv[1]; qemu = sys.argv[2]; extra = sys.argv[3:]
import tempfile; d = tempfile.mkdtemp(prefix="cbw-")
disk = d + "/d.raw"; size = 1024 << 20
with open(disk, "wb") as f:
    for i in range(size >> 20): f.write(os.urandom(1 << 20))
q = subprocess.Popen([qemu] + extra + ["-accel", "tcg", "-m", "128", "-nodefaults", "-display", "none", "-serial", "none",
    "-drive", "if=none,id=hd0,file=%s,format=raw" % disk, "-device", "virtio-blk-pci,drive=hd0",
    "-qmp", "unix:%s/qmp.sock,server=on,wait=off" % d, "-qmp", "unix:%s/check.sock,server=on,wait=off" % d, "-qmp", "unix:%s/w.sock,server=on,wait=off" % d],
    stdout=open(d + "/qemu.log", "w"), stderr=subprocess.STDOUT)
for _ in range(200):
    if os.path.exists(d + "/check.sock"): break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX); s.connect(d + "/check.sock"); fr = s.makefile("r")
def rd():
    while True:
        m = json.loads(fr.readline())
        if "event" in m: continue
        return m
rd()
def cmd(c, **a):
    s.sendall((json.dumps({"execute": c, "arguments": a}) + "\n").encode()); return rd()
cmd("qmp_capabilities")
cli = subprocess.Popen(["java", "-jar", jar, "backup", "--qmp", d + "/qmp.sock"] + (["--no-vmstate"] if os.environ.get("NOVM") else []) + [d + "/a.vma"],
    stdout=open(d + "/cli.log", "w"), stderr=subprocess.STDOUT)
t0 = time.time()
while time.time() - t0 < 60:
    j = cmd("query-block-jobs")["return"]
    if j and j[0]["offset"] > 64 << 20: break
    time.sleep(0.02)
import threading
w = socket.socket(socket.AF_UNIX); w.connect(d + "/w.sock"); wf = w.makefile("r"); wf.readline()
def wcmd(c, **a):
    w.sendall((json.dumps({"execute": c, "arguments": a}) + "\n").encode())
    while True:
        m = json.loads(wf.readline())
        if "event" not in m: return m
wcmd("qmp_capabilities")
stop = [False]; lat = []
def hammer():
    off = 900 << 20
    while not stop[0]:
        t = time.time(); wcmd("human-monitor-command", **{"command-line": 'qemu-io hd0 "write -P 0x5a %d 4k"' % off}); lat.append((t, time.time() - t))
        off += 64 << 10
th = threading.Thread(target=hammer); th.start()
print("job before kill:", [(x["device"], x["offset"], x["len"]) for x in j])
cli.send_signal(signal.SIGKILL); cli.wait()
t0 = time.time()
time.sleep(1.5); stop[0] = True; th.join()
print("hammer: %d writes, %d after the kill, max latency after kill %.3f s" % (len(lat), sum(1 for t, l in lat if t >= t0), max([l for t, l in lat if t >= t0] or [0])))
for i, delay in enumerate([0, 0.05, 0.2, 1, 3]):
    while time.time() - t0 < delay: time.sleep(0.005)
    t = time.time()
    cmd("human-monitor-command", **{"command-line": 'qemu-io hd0 "write -P 0x5a %dM 64k"' % (1000 - 8 * i)})
    print("guest write at +%.3f s: took %.3f s; jobs %s" % (t - t0, time.time() - t, [(x["status"], x.get("error")) for x in cmd("query-jobs")["return"]]))
print("status:", cmd("query-status")["return"], "migrate:", cmd("query-migrate")["return"].get("status"))
q.kill(); q.wait()
print("--- qemu log:"); L = open(d + "/qemu.log").read()
print("wrote lines:", L.count("wrote "), "failed lines:", L.count("failed"))
print("status", cmd("query-status") if False else "")
os.remove(disk)
import shutil; shutil.rmtree(d, ignore_errors=True)
