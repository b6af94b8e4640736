#!/usr/bin/python3
"""qmp-oracle.py VMMEM CORPUS

QEMU as the parser's oracle: for each command line of CORPUS (one per line, shell words; '#'
comments; @WORKDIR@ stands for a fresh directory, for file-backed memory), asks `VMMEM explain
--json` for the guest RAM vmmem found, then starts the real qemu-system-x86_64 with the same
arguments, stopped (-S), and asks it over QMP how much memory the guest has:
query-memory-size-summary (base memory), query-memory-devices (a pc-dimm's or nvdimm's size; a
virtio-mem device's requested-size, which is all the guest may plug until a manager resizes it,
and then vmmem_scope_update() follows) and query-memdev (every backend, to show which exist).
vmmem's guest_ram + hugetlb_ram must equal it, byte for byte.  TAP on stdout.  Runs in the test
VM (tests/integration/qmp-oracle.sh): qemu maps the guest RAM, hugetlbfs lines need huge pages
reserved there.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp import Qmp  # noqa: E402

QEMU = "/usr/bin/qemu-system-x86_64"


def qemu_memory(args, workdir):
    sock = os.path.join(workdir, "qmp.sock")
    argv = [QEMU] + args + ["-S", "-display", "none", "-nodefaults", "-monitor", "none",
                            "-serial", "none", "-qmp", f"unix:{sock},server=on,wait=off"]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        q = Qmp(sock)
        summary = q.execute("query-memory-size-summary")
        devices = q.execute("query-memory-devices")
        memdevs = q.execute("query-memdev")
        q.execute("quit")
    except (SystemExit, OSError):
        p.kill()
        err = p.communicate()[1].decode(errors="replace").strip()
        raise RuntimeError(f"qemu did not answer: {err}")
    p.wait(timeout=30)
    total = summary["base-memory"]
    parts = [f"base {summary['base-memory']}"]
    for d in devices:
        data = d["data"]
        size = data["requested-size"] if d["type"] == "virtio-mem" else data["size"]
        total += size
        parts.append(f"{d['type']} {size}")
    return total, ", ".join(parts), memdevs


def main():
    vmmem, corpus = sys.argv[1], sys.argv[2]
    n = failed = 0
    with open(corpus) as f:
        lines = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    for line in lines:
        n += 1
        with tempfile.TemporaryDirectory() as workdir:
            args = [a.replace("@WORKDIR@", workdir) for a in shlex.split(line)]
            env = dict(os.environ, VMMEM_CONFIG="/dev/null")
            out = subprocess.run([vmmem, "explain", "--json", "--"] + args, env=env,
                                 capture_output=True, text=True)
            if out.returncode != 0:
                print(f"not ok {n} - {line}: vmmem explain failed: {out.stderr.strip()}")
                failed += 1
                continue
            e = json.loads(out.stdout)
            ours = e["guest_ram"] + e["hugetlb_ram"]
            try:
                theirs, how, memdevs = qemu_memory(args, workdir)
            except RuntimeError as err:
                print(f"not ok {n} - {line}: {err}")
                failed += 1
                continue
        backends = ", ".join(f"{m['id']} {m['size']}" for m in memdevs)
        if ours == theirs:
            print(f"ok {n} - {line}: {ours} bytes ({how}; backends: {backends or 'none'})")
        else:
            print(f"not ok {n} - {line}: vmmem says {ours} (guest_ram {e['guest_ram']} + hugetlb "
                  f"{e['hugetlb_ram']}), qemu {theirs} ({how}; backends: {backends or 'none'})")
            failed += 1
    print(f"1..{n}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
