#!/usr/bin/python3
"""agent.py BUILD [N] [IDLE_S]: vmmemd watching N idle envelopes (default 1000), in the test VM.

Prints: wake-ups per second while idle over IDLE_S seconds (default 60; context switches of
all of vmmemd's threads, /proc/PID/task/*/status), its RSS, and the event-to-log latency
(20 memory.high crossings, each in another envelope: from the signal that makes the envelope's
process touch 2 MiB over its memory.high to vmmemd's log line); then the same wake-up count for
a loop that polls the same memory.events files once a second, for comparison.
"""
import os
import select
import signal
import statistics
import subprocess
import sys
import time

CG = "/sys/fs/cgroup"
build = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
idle_s = int(sys.argv[3]) if len(sys.argv) > 3 else 60


def switches(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if "ctxt_switches" in line:
                    total += int(line.split()[1])
    return total


def status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


env = dict(os.environ, VMMEM_CONFIG="/dev/null")
maker = subprocess.Popen([f"{build}/bench/envelopes", str(n)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
pids = {}
t = time.monotonic()
for line in maker.stdout:
    if line.strip() == "ready":
        break
    i, pid = line.split()
    pids[int(i)] = int(pid)
print(f"{n} envelopes made in {time.monotonic() - t:.1f} s")

open("/tmp/agent-bench.conf", "w").close()
d = subprocess.Popen([f"{build}/launcher/vmmemd", "--socket", "/tmp/agent-bench.sock",
                      "--config", "/tmp/agent-bench.conf"], stderr=subprocess.PIPE)
pending = b""


def log_line(timeout):
    """vmmemd's next log line, or None after @timeout s: read from the fd itself, since a
    buffered reader would hide lines that arrived together from select()."""
    global pending
    while b"\n" not in pending:
        r, _, _ = select.select([d.stderr], [], [], timeout)
        if not r:
            return None
        chunk = os.read(d.stderr.fileno(), 65536)
        if not chunk:
            sys.exit("vmmemd exited")
        pending += chunk
    line, pending = pending.split(b"\n", 1)
    return line.decode(errors="replace")


watching = 0
t = time.monotonic()
while watching < n:
    line = log_line(30)
    if line is None:
        sys.exit(f"vmmemd watches {watching} envelopes after 30 s of quiet")
    watching += ": watching /" in line
print(f"vmmemd watches them all {time.monotonic() - t:.1f} s after its start")
time.sleep(2)

before = switches(d.pid)
time.sleep(idle_s)
after = switches(d.pid)
print(f"idle: {after - before} wake-ups in {idle_s} s ({(after - before) / idle_s:.3f}/s; target 0)")
print(f"RSS: {status_kb(d.pid, 'VmRSS') / 1024:.1f} MiB, peak {status_kb(d.pid, 'VmHWM') / 1024:.1f} MiB"
      " (target <= 8 MiB)")

lat = []
for k in range(20):
    i = (k * 37) % n
    scope = f"{CG}/vmmem.slice/vmmem-bench-{i}.scope"
    cur = int(open(f"{scope}/memory.current").read())
    with open(f"{scope}/memory.high", "w") as f:
        f.write(str(cur + 65536))
    t0 = time.monotonic()
    os.kill(pids[i], signal.SIGUSR1)
    while True:
        line = log_line(5)
        if line is None:
            sys.exit(f"no log line for bench-{i} in 5 s")
        if f"vmmemd: bench-{i}: memory.high crossed" in line:
            lat.append((time.monotonic() - t0) * 1000)
            break
    with open(f"{scope}/memory.high", "w") as f:
        f.write("max")
lat.sort()
print(f"event-to-log latency over {len(lat)} crossings: median {statistics.median(lat):.1f} ms, "
      f"min {lat[0]:.1f}, max {lat[-1]:.1f} (target median <= 50 ms)")
d.terminate()
d.wait()

# The same cgroups polled once a second, as a loop without inotify would.
poll = subprocess.Popen([sys.executable, "-c", f"""
import time, glob
files = sorted(glob.glob("{CG}/vmmem.slice/vmmem-bench-*.scope/memory.events"))
while True:
    for p in files:
        open(p).read()
    time.sleep(1)
"""])
time.sleep(2)
before = switches(poll.pid)
cpu0 = sum(os.times()[2:4])
t0 = time.monotonic()
time.sleep(idle_s)
after = switches(poll.pid)
with open(f"/proc/{poll.pid}/stat") as f:
    fields = f.read().rsplit(")", 1)[1].split()
cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
print(f"1 s polling loop over the same {n} memory.events: {after - before} wake-ups in {idle_s} s "
      f"({(after - before) / idle_s:.2f}/s), {cpu:.1f} s of CPU since its start")
poll.kill()
maker.stdin.close()
maker.wait()
