"""The fleecing alternative, by hand: a copy-before-write filter of our own (on-cbw-error=break-snapshot,
cbw-timeout) into a local qcow2, put under the device with qom-set of its drive, a snapshot-access node, and a
backup job from it to an NBD target that is then killed. Guest writes go on succeeding; the teardown puts the
original node back (never qom-set the node that is already there: QEMU aborts on an assertion).
Usage: python3 fleecing-target-killed.py QEMU-SYSTEM-BINARY [QEMU ARGS]   (needs nbdkit and qemu-img)"""
import json, os, socket, subprocess, sys, time, signal
qemu = sys.argv[1]; extra = sys.argv[2:]
import tempfile; d = tempfile.mkdtemp(prefix="cbw-")
disk = d + "/d.raw"
with open(disk, "wb") as f: f.write(os.urandom(64 << 20))
img = os.path.dirname(qemu) + "/qemu-img" if "/" in qemu else "qemu-img"
subprocess.check_call([img, "create", "-q", "-f", "qcow2", d + "/fl.qcow2", "64M"])
q = subprocess.Popen([qemu] + extra + ["-accel", "tcg", "-m", "128", "-nodefaults", "-display", "none", "-serial", "none",
    "-drive", "if=none,id=hd0,file=%s,format=raw" % disk, "-device", "virtio-blk-pci,drive=hd0,id=vd0",
    "-qmp", "unix:%s/qmp.sock,server=on,wait=off" % d], stdout=open(d + "/log", "w"), stderr=subprocess.STDOUT)
for _ in range(200):
    if os.path.exists(d + "/qmp.sock"): break
    time.sleep(0.05)
s = socket.socket(socket.AF_UNIX); s.connect(d + "/qmp.sock"); fr = s.makefile("r")
def rd():
    while True:
        m = json.loads(fr.readline())
        if "event" in m:
            if m["event"] in ("BLOCK_JOB_COMPLETED", "BLOCK_JOB_ERROR"): print("  event", m["event"], m.get("data"))
            continue
        return m
rd()
def cmd(c, **a):
    s.sendall((json.dumps({"execute": c, "arguments": a}) + "\n").encode()); r = rd()
    if "error" in r: print("  ERROR", c, r["error"]["desc"])
    return r
cmd("qmp_capabilities")
src = [b for b in cmd("query-block")["return"] if b["device"] == "hd0"][0]["inserted"]["node-name"]
nbd = subprocess.Popen(["nbdkit", "-f", "-U", d + "/nbd.sock", "memory", "64M"])
for _ in range(100):
    if os.path.exists(d + "/nbd.sock"): break
    time.sleep(0.05)
cmd("blockdev-add", driver="qcow2", **{"node-name": "fl"}, file={"driver": "file", "filename": d + "/fl.qcow2"})
cmd("blockdev-add", driver="copy-before-write", **{"node-name": "cbw", "on-cbw-error": "break-snapshot", "cbw-timeout": 5}, file=src, target="fl")
cmd("qom-set", path="/machine/peripheral/vd0/virtio-backend", property="drive", value="cbw")
cmd("blockdev-add", driver="snapshot-access", **{"node-name": "acc"}, file="cbw")
cmd("blockdev-add", driver="nbd", **{"node-name": "tgt"}, server={"type": "unix", "path": d + "/nbd.sock"}, export="")
cmd("blockdev-backup", **{"job-id": "j", "auto-dismiss": False}, device="acc", target="tgt", sync="full", speed=1 << 20)
time.sleep(1)
print("jobs:", [(j["status"], j.get("current-progress")) for j in cmd("query-jobs")["return"]])
nbd.send_signal(signal.SIGKILL); nbd.wait(); print("target killed")
t0 = time.time()
for i, delay in enumerate([0, 0.2, 1, 3]):
    while time.time() - t0 < delay: time.sleep(0.01)
    t = time.time()
    cmd("human-monitor-command", **{"command-line": 'qemu-io hd0 "write -P 0x5a %dM 64k"' % (40 + 4 * i)})
    print("guest write at +%.2f: %.3f s; jobs %s" % (t - t0, time.time() - t, [(j["status"], j.get("error")) for j in cmd("query-jobs")["return"]]))
# teardown
cmd("job-dismiss", id="j")
cmd("blockdev-del", **{"node-name": "tgt"})
cmd("blockdev-del", **{"node-name": "acc"})
cmd("qom-set", path="/machine/peripheral/vd0/virtio-backend", property="drive", value=src)
cmd("blockdev-del", **{"node-name": "cbw"})
cmd("blockdev-del", **{"node-name": "fl"})
print("nodes left:", sorted(n["node-name"] for n in cmd("query-named-block-nodes")["return"]))
print("status:", cmd("query-status")["return"]["status"])
q.kill(); q.wait()
L = open(d + "/log").read(); print("wrote:", L.count("wrote "), "failed:", L.count("write failed"))
with open(disk, "rb") as f:
    f.seek(40 << 20); print("data on disk:", f.read(4) == b"\x5a" * 4)
import shutil; shutil.rmtree(d, ignore_errors=True)
