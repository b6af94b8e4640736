# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs one configuration of configs.py in its own test VM (tests/vm/vm-run.sh, real cgroup v2
kernel, KVM loaded, a scratch disk for the guests' images) through in-vm.sh and run-config.py,
and keeps its JSON result."""
import os
import subprocess
import sys

import configs

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))


def run_config(name, cfg, build, results, runs, methods="all", rerun=False):
    """Writes RESULTS/NAME.json, unless it is there already; False when the run failed.  With
    @rerun, an existing result keeps its unlimited runs and gets @methods run again.  A test VM
    that fails (a hang of the TCG test VM itself: vm-run.sh's report is in the .run folder it
    keeps, renamed .failed) is tried once more."""
    out = os.path.join(results, f"{name}.json")
    reuse = None
    if os.path.exists(out):
        if not rerun:
            print(f"matrix: {name}: kept from an earlier run ({out})", flush=True)
            return True
        reuse = out + ".earlier"
        os.replace(out, reuse)
    for attempt in (1, 2):
        if boot(name, cfg, build, results, runs, methods, out, reuse):
            if reuse:
                os.unlink(reuse)
            return True
        rundir = os.path.join(results, f"{name}.run")
        failed = f"{rundir}.failed{attempt}"
        if os.path.exists(rundir):
            os.rename(rundir, failed)
        print(f"matrix: {name}: attempt {attempt} failed; its test VM's files: {failed}",
              file=sys.stderr, flush=True)
    if reuse:
        os.replace(reuse, out)
    return False


def boot(name, cfg, build, results, runs, methods, out, reuse=None):
    mem, cpus = configs.vm_resources(cfg)
    n_methods = 6 if methods == "all" else 0 if methods == "none" else len(methods.split(","))
    # Long enough for every run, short enough that a hung test VM is reported within the hour.
    timeout = (600 + 120 * ((0 if reuse else runs) + n_methods)) * (4 if cfg.get("accel") == "tcg"
                                                                   else 1)
    # A sparse file: only what the guests write takes room on the host.
    scratch = 2048 + sum(gib << 10 for _, gib, _, _ in cfg.get("disks", []))
    # The VM's writable results folder: its .vm-run/ keeps the console and the command's output.
    rundir = os.path.join(results, f"{name}.run")
    tmp = os.path.join(rundir, f"{name}.json")
    argv = [os.path.join(SOURCE, "tests", "vm", "vm-run.sh"),
            "--kernel", os.path.join(build, "tests", "vm", "vmlinux"),
            "--initrd", os.path.join(build, "tests", "vm", "vm-initramfs.cpio.gz"),
            "--mem", str(mem), "--smp", str(cpus), "--scratch", str(scratch),
            "--timeout", str(timeout), "--results", rundir,
            "--", os.path.join(HERE, "in-vm.sh"), "--build", build, "--runs", str(runs),
            "--methods", methods, "--out", tmp] + (["--reuse", reuse] if reuse else []) + [name]
    print(f"matrix: {name}: test VM {mem} MiB, {cpus} vCPUs", flush=True)
    r = subprocess.run(argv, cwd=build)
    if r.returncode != 0 or not os.path.exists(tmp):
        print(f"matrix: {name}: FAILED (exit {r.returncode}); see {rundir}/.vm-run",
              file=sys.stderr, flush=True)
        return False
    os.rename(tmp, out)
    return True
