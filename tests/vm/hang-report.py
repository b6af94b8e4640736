#!/usr/bin/python3
"""hang-report.py MONITOR_SOCKET [KALLSYMS]
hang-report.py --pending MONITOR_SOCKET

What the test VM's vCPUs are doing, asked of its qemu over the human monitor (vm-run.sh calls it
when a VM runs past its timeout, before killing it): for each vCPU its state, RIP and the kernel
text addresses found in the top of its stack, named from KALLSYMS (/proc/kallsyms of the same
kernel booted with nokaslr, which vm-run.sh keeps in its cache) when given.  A guest that hangs
with interrupts off prints nothing on its console; this is where such a hang shows.

--pending prints one line per vCPU, "N INITIAL CURRENT V1 V2...": its LAPIC timer's initial and
current count ("- -" when the timer is not in one-shot or periodic mode) and the vectors its LAPIC
holds in IRR.  vm-run.sh's watchdog samples it: a timer that fired and was never armed again, with
its vector pending all along, is the emulator's lost interrupt even while the vCPU threads go on
running.
"""
import bisect
import re
import socket
import sys
import time

STACK_WORDS = 96


def hmp(sock, cmd, timeout=10.0):
    """Sends one monitor command (None: none, read the banner), returns its output (up to the
    next prompt)."""
    if cmd is not None:
        sock.sendall((cmd + "\n").encode())
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.rstrip().endswith(b"(qemu)"):
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    text = buf.decode(errors="replace").replace("\r", "")
    # The monitor echoes the command, with terminal escapes.
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text)
    lines = [line for line in text.split("\n") if not line.startswith("(qemu)")]
    if cmd and lines and lines[0].strip().endswith(cmd):
        lines = lines[1:]
    return "\n".join(lines).strip()


def load_kallsyms(path):
    addrs, names = [], []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":
                    addrs.append(int(parts[0], 16))
                    names.append(parts[2])
    except OSError:
        return None
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    return [addrs[i] for i in order], [names[i] for i in order]


def symbol(syms, addr):
    if not syms or not syms[0] or addr < syms[0][0]:
        return None
    i = bisect.bisect_right(syms[0], addr) - 1
    off = addr - syms[0][i]
    return f"{syms[1][i]}+{off:#x}" if off < 0x10000 else None


def connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError as e:
        sys.exit(f"hang-report: cannot reach the monitor {path}: {e.strerror}")
    hmp(sock, None)  # the banner
    return sock


def cpu_numbers(sock):
    return re.findall(r"CPU #(\d+):", hmp(sock, "info cpus"))


def pending(path):
    sock = connect(path)
    for n in cpu_numbers(sock):
        hmp(sock, f"cpu {n}")
        lapic = hmp(sock, "info lapic")
        irr = re.search(r"^IRR\s+(.*)$", lapic, re.M)
        timer = re.search(r"initial_count = (\d+) current_count = (\d+)", lapic)
        vectors = irr.group(1).split() if irr else []
        print(" ".join([n] + (list(timer.groups()) if timer else ["-", "-"]) +
                       [v for v in vectors if v.isdigit()]))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--pending":
        pending(sys.argv[2])
        return
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: hang-report.py MONITOR_SOCKET [KALLSYMS] | --pending MONITOR_SOCKET")
    syms = load_kallsyms(sys.argv[2]) if len(sys.argv) == 3 else None
    sock = connect(sys.argv[1])
    print("== info cpus\n" + hmp(sock, "info cpus"))
    regs = hmp(sock, "info registers -a")
    cpus = re.split(r"\n(?=CPU#\d+)", regs)
    for block in cpus:
        m = re.match(r"CPU#(\d+)", block)
        rip = re.search(r"RIP=([0-9a-f]+)", block)
        rsp = re.search(r"RSP=([0-9a-f]+)", block)
        if not (m and rip and rsp):
            continue
        n, rip_v, rsp_v = m.group(1), int(rip.group(1), 16), int(rsp.group(1), 16)
        print(f"== CPU#{n} RIP={rip_v:#x} {symbol(syms, rip_v) or ''} RSP={rsp_v:#x}")
        hmp(sock, f"cpu {n}")
        words = hmp(sock, f"x /{STACK_WORDS}gx {rsp_v:#x}")
        seen = []
        for w in re.findall(r"0x(ffffffff[0-9a-f]{8})\b", words):
            s = symbol(syms, int(w, 16))
            if s and s not in seen:
                seen.append(s)
        if seen:
            print("   on its stack: " + " < ".join(seen[:16]))
        # An interrupt pending in IRR while the vCPU sits in HLT with IF set is the
        # lost-wakeup hang vm-run.sh's progress check catches.
        lapic = hmp(sock, "info lapic")
        for line in lapic.split("\n"):
            if line.startswith(("IRR", "ISR", "APR", "Timer")):
                print("   lapic: " + line.strip())
    print("== info registers -a\n" + regs)


if __name__ == "__main__":
    main()
