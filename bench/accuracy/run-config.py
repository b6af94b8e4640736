#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""run-config.py --build DIR --out FILE [--runs N] [--methods M,...] CONFIG

Runs one configuration of the accuracy matrix INSIDE the test VM (bench/accuracy/matrix.py
starts it there through tests/vm/vm-run.sh; the reduced matrix of tests/integration/accuracy.sh
does too), as root, against the VM's real cgroup v2 kernel and real qemu:

1. N runs of the workload guest under `vmmem calibrate --json`: no limit worth the name, the
   VM's real peak overhead measured (must fit, by kind; page cache apart).
2. For vmmem and each peer (bench/accuracy/peers.py): the same guest under that method's
   envelope (guest RAM + its overhead budget, through vmmem-qemu with overhead-min =
   overhead-max = the budget), counting OOM kills (memory.events oom_kill) and stalls: a run
   that has not finished within 3x the median unlimited time is killed and counted as one.

Writes one JSON object to FILE; prints one line per run.
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import configs  # noqa: E402
import peers  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(HERE))
VMTOOLS = os.path.join(SOURCE, "tests", "vm")
CG = "/sys/fs/cgroup"
SCRATCH = "/var/lib/vmmem-bench"
MiB = 1 << 20
STALL_FACTOR = 3


def say(msg):
    print(f"accuracy: {msg}", flush=True)


def die(msg):
    sys.exit(f"accuracy: {msg}")


def sh(*argv, **kw):
    return subprocess.run(list(argv), check=True, **kw)


def net_mb(cfg):
    """MiB the guest sends and receives: user networking's slirp runs in the test VM's qemu under
    TCG at a few MiB/s, a tap with vhost-net at wire speed."""
    return cfg.get("net_mb", 64 if cfg["nics"][0].startswith("tap") else 16)


class Setup:
    """Everything a configuration needs around its qemu: disk images on a real filesystem, tap
    devices, hugepages, the page cache warmed from the root cgroup, and per run the network
    peer, the display client and the vCPU hotplug."""

    def __init__(self, name, cfg, build):
        self.name, self.cfg, self.build = name, cfg, build
        self.kernel = f"/boot/vmlinuz-{os.uname().release}"
        self.initrd = os.path.join(build, "tests", "vm", "toucher-initramfs.cpio.gz")
        self.workdir = os.path.join(SCRATCH, name)
        self.procs = []

    def new_disks(self):
        """Fresh images for every run: the page cache of an image written before belongs to
        the run that wrote it (and, once its scope is gone, to the parent), so a second run on
        the same image would not be charged for its own buffered writes."""
        for i, (fmt, gib, _, _) in enumerate(self.cfg.get("disks", [])):
            path = self.disk_path(i, fmt)
            if os.path.exists(path):
                os.unlink(path)
            if fmt == "qcow2":
                sh("qemu-img", "create", "-q", "-f", "qcow2", path, f"{gib}G")
            else:
                with open(path, "wb") as f:
                    f.truncate(gib << 30)

    def prepare(self):
        os.makedirs(self.workdir, exist_ok=True)
        taps = [n for n in self.cfg.get("nics", []) if n.startswith("tap")]
        if taps:
            sh("modprobe", "vhost_net")
            for i, nic in enumerate(taps):
                queues = int(nic.split(":")[1]) if ":" in nic else 1
                tap = f"vmmemtap{i}"
                subprocess.run(["ip", "link", "del", tap], stderr=subprocess.DEVNULL)
                argv = ["ip", "tuntap", "add", "dev", tap, "mode", "tap"]
                if queues > 1:
                    argv.append("multi_queue")
                sh(*argv)
                sh("ip", "addr", "add", f"10.0.{3 + i}.1/24", "dev", tap)
                sh("ip", "link", "set", tap, "up")
        thp = "/sys/kernel/mm/transparent_hugepage"
        if self.cfg.get("thp"):
            # "never": every guest page costs a 4 KiB page-table entry in qemu and in KVM's
            # secondary page tables, the worst case, which a fragmented host reaches too.
            with open(f"{thp}/enabled", "w") as f:
                f.write(self.cfg["thp"])
        # Debian's kernel has THP "always": khugepaged collapses qemu's own heap, malloc arenas
        # and stacks into 2 MiB pages as it gets to them, 4096 pages every 10 s, so a VM's
        # overhead grows for its first half hour or so.  Scanning all the time gets a run of a
        # minute to where a long-running VM ends up.
        with open(f"{thp}/khugepaged/scan_sleep_millisecs", "w") as f:
            f.write("100")
        with open(f"{thp}/khugepaged/pages_to_scan", "w") as f:
            f.write("65536")
        if self.cfg.get("hugepages"):
            pages = self.cfg["ram"] // 2
            with open("/proc/sys/vm/nr_hugepages", "w") as f:
                f.write(str(pages))
            with open("/proc/sys/vm/nr_hugepages") as f:
                got = int(f.read())
            if got < pages:
                die(f"only {got} of {pages} 2 MiB hugepages could be reserved")
            os.makedirs("/dev/hugepages", exist_ok=True)
            if not os.path.ismount("/dev/hugepages"):
                sh("mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "none", "/dev/hugepages")
        self.warm()

    def warm(self):
        """qemu's binary, libraries, firmware, the guest kernel and initramfs into the page
        cache from the root cgroup: every run then starts from the same, production-like warm
        state instead of the first one paying for the cold page cache."""
        files = [shutil.which("qemu-system-x86_64"), self.kernel, self.initrd]
        out = subprocess.run(["ldd", files[0]], capture_output=True, text=True).stdout
        files += [w for line in out.splitlines() for w in line.split() if w.startswith("/")]
        for d in ("/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe/qemu"):
            if os.path.isdir(d):
                files += [os.path.join(d, f) for f in os.listdir(d)]
        for f in files:
            try:
                with open(f, "rb") as fh:
                    while fh.read(1 << 20):
                        pass
            except OSError:
                pass

    def disk_path(self, i, fmt):
        return os.path.join(self.workdir, f"disk{i}.{fmt}")

    def console(self):
        # In the results folder (shared with the host): kept when a run goes wrong.
        return os.path.join(os.environ.get("VMMEM_VM_RESULTS", self.workdir),
                            f"{self.name}.console.log")

    def reset(self):
        """Before each run: no console left from the run before, fresh disk images."""
        try:
            os.unlink(self.console())
        except FileNotFoundError:
            pass
        self.new_disks()

    def qmp(self):
        return os.path.join(self.workdir, "qmp.sock")

    def argv(self):
        """The qemu-system-x86_64 arguments (without the program name)."""
        c = self.cfg
        accel = c.get("accel", "kvm")
        a = ["-name", f"guest={self.name}", "-machine", "q35"]
        if accel == "kvm":
            a += ["-accel", "kvm", "-cpu", "host"]
        else:
            a += ["-accel", f"tcg,tb-size={c['tb']}" if c.get("tb") else "tcg", "-cpu", "max"]
        smp = str(c["smp"]) + (f",maxcpus={c['maxcpus']}" if c.get("maxcpus") else "")
        a += ["-m", f"{c['ram']}M", "-smp", smp]
        if c.get("prealloc"):
            a.append("-mem-prealloc")
        if c.get("hugepages"):
            a += ["-object", f"memory-backend-file,id=ram0,size={c['ram']}M,"
                  "mem-path=/dev/hugepages,share=on,prealloc=on", "-machine", "memory-backend=ram0"]
        elif c.get("memfd"):
            a += ["-object", f"memory-backend-memfd,id=ram0,size={c['ram']}M,share=on",
                  "-machine", "memory-backend=ram0"]
        elif c.get("numa"):
            n = c["numa"]
            for i in range(n):
                a += ["-object", f"memory-backend-ram,id=ram{i},size={c['ram'] // n}M",
                      "-numa", f"node,nodeid={i},memdev=ram{i}"]
        a += ["-nodefaults", "-no-reboot", "-serial", f"file:{self.console()}"]
        for i in range(c.get("iothreads", 0)):
            a += ["-object", f"iothread,id=io{i}"]
        scsi = False
        for i, (fmt, _, cache, bus) in enumerate(c.get("disks", [])):
            a += ["-drive", f"file={self.disk_path(i, fmt)},format={fmt},if=none,id=d{i},"
                  f"cache={cache}"]
            if bus == "scsi":
                if not scsi:
                    a += ["-device", "virtio-scsi-pci,id=scsi0"]
                    scsi = True
                a += ["-device", f"scsi-hd,drive=d{i},bus=scsi0.0"]
            else:
                dev = f"virtio-blk-pci,drive=d{i}"
                if c.get("iothreads"):
                    dev += f",iothread=io{i % c['iothreads']}"
                a += ["-device", dev]
        taps = 0
        for i, nic in enumerate(c.get("nics", [])):
            if nic == "user":
                a += ["-netdev", f"user,id=n{i}", "-device", f"virtio-net-pci,netdev=n{i}"]
            else:
                queues = int(nic.split(":")[1]) if ":" in nic else 1
                nd = (f"tap,id=n{i},ifname=vmmemtap{taps},script=no,downscript=no,vhost=on")
                dev = f"virtio-net-pci,netdev=n{i}"
                if queues > 1:
                    nd += f",queues={queues}"
                    dev += f",mq=on,vectors={2 * queues + 2}"
                a += ["-netdev", nd, "-device", dev]
                taps += 1
        display = c.get("display")
        if display == "vnc-vga":
            a += ["-vga", "std", "-vnc", "127.0.0.1:0"]
        elif display == "vnc-virtio-gpu":
            a += ["-device", "virtio-gpu-pci", "-vnc", "127.0.0.1:0"]
        elif display == "spice-qxl":
            a += ["-vga", "qxl", "-spice", "port=5930,addr=127.0.0.1,disable-ticketing=on"]
        else:
            a += ["-display", "none"]
        if c.get("maxcpus"):
            a += ["-qmp", f"unix:{self.qmp()},server=on,wait=off"]
        a += ["-kernel", self.kernel, "-initrd", self.initrd, "-append", self.cmdline()]
        return a

    def cmdline(self):
        c = self.cfg
        opts = ["console=ttyS0", "panic=-1", "quiet"]
        if c.get("disks"):
            # 256 MiB per disk (more for a disk over 128 GiB), spread over all of it (the
            # largest disk sets the stride): the I/O path is used as much as by more, and each
            # 512 MiB a qcow2 L2 table covers is reached, while nested I/O (the test VM's own
            # virtio emulation runs under TCG) stays at a few seconds per disk.
            largest = max(gib for _, gib, _, _ in c["disks"]) << 10
            blocks = c.get("disk_mb", max(256, largest // 512))
            opts.append(f"toucher.disk_mb={blocks}")
            opts.append(f"toucher.disk_stride_mb={c.get('disk_stride', max(1, largest // blocks))}")
        nics = c.get("nics", [])
        if nics:
            opts.append(f"toucher.net_mb={net_mb(c)}")
            if nics[0].startswith("tap"):
                opts += ["toucher.ip=10.0.3.15/24", "toucher.gw=10.0.3.1",
                         "toucher.peer=10.0.3.1:5001"]
        if c.get("display"):
            opts.append(f"toucher.fb_frames={c.get('fb_frames', 200)}")
        if c.get("code_kb"):
            opts.append(f"toucher.code_kb={c['code_kb']}")
        if c.get("maxcpus") and c.get("hotplug", True):
            opts.append("toucher.hold_s=15")
        return " ".join(opts)

    def start_helpers(self):
        """Before qemu: the network peer.  After qemu: the display client and the hotplug."""
        c = self.cfg
        if c.get("nics"):
            host = "10.0.3.1" if c["nics"][0].startswith("tap") else "127.0.0.1"
            self.spawn([os.path.join(VMTOOLS, "netpeer.py"), "--host", host, "--port", "5001",
                        "--mb", str(net_mb(c))])

    def after_start(self):
        c = self.cfg
        if c.get("display") and c.get("client", True):
            flag = "--spice" if c["display"].startswith("spice") else "--vnc"
            port = 5930 if flag == "--spice" else 5900
            self.spawn([os.path.join(VMTOOLS, "display-client.py"), flag, f"127.0.0.1:{port}"])
        if c.get("maxcpus") and c.get("hotplug", True):
            self.spawn(["/bin/sh", "-c", f"until grep -q 'toucher: holding' {self.console()} "
                        "2>/dev/null; do sleep 0.2; done; exec " +
                        shlex.join([os.path.join(VMTOOLS, "qmp.py"), self.qmp(), "hotplug-cpus"])])

    def spawn(self, argv):
        logdir = os.environ.get("VMMEM_VM_RESULTS", self.workdir)
        log = open(os.path.join(logdir, f"{self.name}.{os.path.basename(argv[0])}.log"), "a")
        self.procs.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))

    def stop_helpers(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []

    def finished(self):
        try:
            with open(self.console(), errors="replace") as f:
                return "toucher: done" in f.read()
        except OSError:
            return False


def facts(explain, cfg):
    """What the peers' formulas take, from vmmem's own reading of the command line."""
    vm = explain["vm"]
    video = sum(t["bytes"] for t in explain["components"] if t["name"] == "video")
    return {
        "ram": explain["guest_ram"] + explain["hugetlb_ram"],
        "vcpus": vm["vcpus"],
        "maxcpus": vm["maxcpus"],
        "iothreads": vm["iothreads"],
        "graphics": bool(cfg.get("display")),
        "video_ram": video,
    }


# A nested KVM guest under the test VM's TCG now and then stops making progress (a vCPU spins)
# or resets early in boot (qemu, with -no-reboot, then exits 0 before the guest printed
# anything): nested virtualization, seen in about one run in fifty on a loaded machine.  Such a
# run measures nothing: it is run again, and the result counts how often that happened.
UNLIMITED_TIMEOUT_S = 600
FLAKE_TRIES = 3


def flake(setup, flakes, what):
    """Counts a nested-virtualization flake, keeps its console, gives up after too many."""
    flakes.append(what)
    kept = f"{setup.console()}.flake{len(flakes)}"
    if os.path.exists(setup.console()):
        os.rename(setup.console(), kept)
    say(f"{setup.name}: {what} (console kept in {kept}); running it again")
    if len(flakes) >= FLAKE_TRIES:
        die(f"{setup.name}: {len(flakes)} runs went wrong the same way: {'; '.join(flakes)}")


def measure(setup, vmmem, runs):
    results, flakes = [], []
    while len(results) < runs:
        i = len(results) + 1
        setup.reset()
        setup.start_helpers()
        t0 = time.monotonic()
        p = subprocess.Popen([vmmem, "calibrate", "--json", "--", *setup.argv()],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        setup.after_start()
        try:
            out, err = p.communicate(timeout=UNLIMITED_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)  # calibrate stops qemu and removes its scope
            p.communicate()
            setup.stop_helpers()
            flake(setup, flakes, f"unlimited run {i} made no progress in {UNLIMITED_TIMEOUT_S} s")
            continue
        elapsed = time.monotonic() - t0
        setup.stop_helpers()
        if p.returncode != 0:
            die(f"{setup.name}: unlimited run {i} failed (exit {p.returncode}): {err.strip()}")
        if not setup.finished():
            flake(setup, flakes, f"unlimited run {i}: qemu exited 0 before the guest printed "
                  "'toucher: done'")
            continue
        cal = json.loads(out)
        cal["elapsed_s"] = round(elapsed, 2)
        results.append(cal)
        say(f"{setup.name}: unlimited run {i}: {elapsed:.1f} s, peak overhead "
            f"{peak_of(cal) / MiB:.1f} MiB, page cache {cal['reclaimable']['peak'] / MiB:.1f} MiB")
    return results, flakes


def peak_of(cal):
    """The measured peak overhead of one calibration: what must fit (page cache apart)."""
    return cal["peak_overhead"]


def run_method(setup, launcher, vmmem, overhead, timeout):
    """The workload under guest RAM + @overhead: (outcome, elapsed s, events)."""
    conf = os.path.join(setup.workdir, "method.conf")
    with open(conf, "w") as f:
        f.write(f"[vmmem]\noverhead-min = {overhead}B\noverhead-max = {overhead}B\n")
    env = dict(os.environ, VMMEM_CONFIG=conf)
    scope = os.path.join(CG, "vmmem.slice", f"vmmem-{setup.name}.scope")
    setup.reset()
    setup.start_helpers()
    t0 = time.monotonic()
    p = subprocess.Popen([launcher, *setup.argv()], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    setup.after_start()
    stalled = False
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stalled = True
        os.killpg(p.pid, signal.SIGKILL)
        _, err = p.communicate()
    elapsed = time.monotonic() - t0
    setup.stop_helpers()
    events = {}
    try:
        with open(os.path.join(scope, "memory.events")) as f:
            events = {k: int(v) for k, v in (line.split() for line in f)}
        with open(os.path.join(scope, "memory.peak")) as f:
            events["memory_peak"] = int(f.read())
        with open(os.path.join(scope, "memory.max")) as f:
            events["memory_max"] = int(f.read())
    except OSError as e:
        die(f"{setup.name}: cannot read the envelope's scope {scope}: {e.strerror} "
            f"(launcher: {err.strip()})")
    subprocess.run([vmmem, "gc"], stdout=subprocess.DEVNULL, check=True)
    if events.get("oom_kill", 0) > 0:
        outcome = "oom"
    elif stalled:
        outcome = "stall"
    elif p.returncode == 0 and setup.finished():
        outcome = "ok"
    else:
        outcome = "failed"
    return outcome, round(elapsed, 2), events, err.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--methods", default="all")
    ap.add_argument("--reuse", help="an earlier result of this configuration: keep its unlimited "
                    "runs and its methods' runs, run only --methods again")
    ap.add_argument("config")
    args = ap.parse_args()
    cfg = configs.find(args.config)
    if cfg is None:
        die(f"unknown configuration '{args.config}'")
    vmmem = os.path.join(args.build, "launcher", "vmmem")
    launcher = os.path.join(args.build, "launcher", "vmmem-qemu")
    os.environ["VMMEM_CONFIG"] = "/dev/null"

    setup = Setup(args.config, cfg, args.build)
    setup.prepare()
    # The images exist when a user launches a VM: vmmem sizes qemu's qcow2 caches from their
    # headers, so they must be there when it plans.  Every run makes them fresh again.
    setup.new_disks()
    explain = json.loads(subprocess.run([vmmem, "explain", "--json", "--", *setup.argv()],
                                        check=True, capture_output=True, text=True).stdout)
    earlier = None
    if args.reuse:
        with open(args.reuse) as f:
            earlier = json.load(f)
        cals, flakes = earlier["calibrations"], earlier.get("flakes", [])
    else:
        cals, flakes = measure(setup, vmmem, args.runs)
    unlimited = statistics.median(c["elapsed_s"] for c in cals)
    measured = max(peak_of(c) for c in cals)

    budgets = {"vmmem": explain["overhead"], **peers.budgets(facts(explain, cfg))}
    if args.methods == "all":
        wanted = list(budgets)
    elif args.methods == "none":
        wanted = []
    else:
        wanted = args.methods.split(",")
        for m in wanted:
            if m not in budgets:
                die(f"unknown method '{m}' (known: {', '.join(budgets)}, all, none)")
    runs = dict(earlier["runs"]) if earlier else {}
    for method in wanted:
        method_flakes = []
        while True:
            outcome, elapsed, events, err = run_method(setup, launcher, vmmem, budgets[method],
                                                       STALL_FACTOR * unlimited)
            # A run that never reached memory.max (memory.events max 0) and still did not end
            # well was not held back by its envelope: a nested-virtualization flake.
            if outcome in ("stall", "failed") and events.get("max", 0) == 0:
                flake(setup, method_flakes, f"{method}: {outcome} without ever reaching "
                      "memory.max")
                continue
            break
        runs[method] = {"outcome": outcome, "elapsed_s": elapsed, "events": events,
                        "stderr": err[-500:], "flakes": method_flakes}
        say(f"{args.config}: {method}: budget {budgets[method] / MiB:.1f} MiB "
            f"({budgets[method] / measured:.2f}x measured): {outcome} in {elapsed:.1f} s "
            f"(oom_kill {events.get('oom_kill', 0)})")

    result = {
        "config": args.config,
        "spec": cfg,
        "argv": setup.argv(),
        "kernel_release": os.uname().release,
        "measured_peak": measured,
        "unlimited_s": unlimited,
        "flakes": flakes,
        "calibrations": cals,
        "budgets": budgets,
        "runs": runs,
        "explain": explain,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
