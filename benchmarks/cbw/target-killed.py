"""What a guest write sees when the backup target dies (kill -9 of the process serving it) while QEMU's own
backup job (blockdev-backup, copy-before-write with its defaults) runs, and whether the job's filter can be
reopened with on-cbw-error=break-snapshot.
Usage: [SPEED=bytes/s] python3 target-killed.py QEMU-SYSTEM-BINARY [QEMU ARGS, e.g. -L PREFIX/usr/share/qemu]
Needs nbdkit. Prints the reopen reply, each guest write's time and the job state, and QEMU's log lines."""
import json, os, socket, subprocess, sys, time, signal
qemu = sys.argv[1]; extra = sys.argv[2:]
import tempfile; d = tempfile.mkdtemp(prefix="cbw-")
disk = d + "/d.raw"
with open(disk, "wb") as f: f.write(os.urandom(64 << 20))
qmp_path = d + "/qmp.sock"; nbd_path = d + "/nbd.sock"
log = open(d + "/qemu.log", "w")
q = subprocess.Popen([qemu] + extra + ["-accel", "tcg", "-m", "128", "-nodefaults", "-display", "none", "-serial", "none",
    "-drive", "if=none,id=hd0,file=%s,format=raw" % disk, "-device", "virtio-blk-pci,drive=hd0",
    "-qmp", "unix:%s,server=on,wait=off" % qmp_path], stdout=log, stderr=subprocess.STDOUT)
for _ in range(200):
    if os.path.exists(qmp_path): break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX); s.connect(qmp_path); fr = s.makefile("r")
def rd():
    while True:
        m = json.loads(fr.readline())
        if "event" in m: print("  event", m["event"], m.get("data")); continue
        return m
rd(); 
def cmd(c, **a):
    s.sendall((json.dumps({"execute": c, "arguments": a}) + "\n").encode()); r = rd(); return r
cmd("qmp_capabilities")
nbd = subprocess.Popen(["nbdkit", "-f", "-U", nbd_path] + (["--filter=delay"] if os.environ.get("WDELAY") else []) + ["memory", "64M"] + (["wdelay=" + os.environ["WDELAY"]] if os.environ.get("WDELAY") else []))
for _ in range(100):
    if os.path.exists(nbd_path): break
    time.sleep(0.05)
node = [b for b in cmd("query-block")["return"] if b["device"] == "hd0"][0]["inserted"]["node-name"]
print(cmd("blockdev-add", driver="nbd", **{"node-name": "tgt"}, server={"type": "unix", "path": nbd_path}, export=""))
print(cmd("blockdev-backup", **{"job-id": "j", "filter-node-name": "cbwf"}, device=node, target="tgt", sync="full", speed=int(os.environ.get("SPEED", str(1 << 20)))))
time.sleep(1)
print("reopen:", cmd("blockdev-reopen", options=[{"driver": "copy-before-write", "node-name": "cbwf", "file": node, "target": "tgt", "on-cbw-error": "break-snapshot", "cbw-timeout": 3}]))
print("jobs before kill:", cmd("query-jobs"))
mode = os.environ.get("MODE", "kill")
nbd.send_signal(signal.SIGKILL); nbd.wait()
print("target killed")
t0 = time.time()
for i, delay in enumerate([0, 0.2, 1, 3]):
    while time.time() - t0 < delay: time.sleep(0.01)
    t = time.time()
    r = cmd("human-monitor-command", **{"command-line": 'qemu-io hd0 "write -P 0x5a %dM 64k"' % (40 + 4 * i)})
    print("guest write at +%.2f s: took %.3f s; jobs %s" % (t - t0, time.time() - t, [(j["status"], j.get("error")) for j in cmd("query-jobs")["return"]]))
print("status:", cmd("query-status"))
q.kill(); q.wait(); log.close()
print("--- qemu log:"); print(open(d + "/qemu.log").read())
import shutil; shutil.rmtree(d, ignore_errors=True)
