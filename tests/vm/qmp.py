#!/usr/bin/python3
"""qmp.py SOCKET hotplug-cpus

Talks to a running qemu over its QMP socket (-qmp unix:SOCKET,server=on,wait=off).
  hotplug-cpus   adds every vCPU that is not plugged yet (query-hotpluggable-cpus, then
                 device_add with the properties qemu gives for each slot; -smp N,maxcpus=M
                 leaves M-N) and prints how many; the guest still has to online them
                 (tests/vm/toucher.c does it while it holds).
Exit 1 with one line when qemu refuses or cannot be reached.
"""
import json
import socket
import sys
import time

USAGE = "usage: qmp.py SOCKET hotplug-cpus"


def die(msg):
    sys.exit(f"qmp: {msg}")


class Qmp:
    def __init__(self, path):
        # The socket appears once qemu has parsed its command line: wait for it.
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if time.monotonic() > deadline:
                    die(f"cannot connect to {path}: {e.strerror}")
                time.sleep(0.1)
        self.f = self.sock.makefile("rwb")
        greeting = self.read()
        if "QMP" not in greeting:
            die(f"{path} is not a QMP socket (it said {greeting})")
        self.execute("qmp_capabilities")

    def read(self):
        while True:
            line = self.f.readline()
            if not line:
                die("qemu closed the QMP connection")
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def execute(self, cmd, **args):
        req = {"execute": cmd}
        if args:
            req["arguments"] = args
        self.f.write(json.dumps(req).encode() + b"\n")
        self.f.flush()
        reply = self.read()
        if "error" in reply:
            die(f"{cmd} {json.dumps(args)}: {reply['error'].get('desc', reply['error'])}")
        return reply["return"]


def hotplug_cpus(q):
    slots = q.execute("query-hotpluggable-cpus")
    free = sorted((s for s in slots if "qom-path" not in s),
                  key=lambda s: sorted(s["props"].items()))
    for i, slot in enumerate(free):
        q.execute("device_add", driver=slot["type"], id=f"hotcpu{i}", **slot["props"])
    total = len(q.execute("query-cpus-fast"))
    print(f"qmp: hot-added {len(free)} vCPUs ({len(slots) - len(free)} were plugged, now {total})",
          flush=True)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("hotplug-cpus",):
        die(f"{' '.join(sys.argv[1:]) or 'no arguments'}: {USAGE}")
    q = Qmp(sys.argv[1])
    hotplug_cpus(q)


if __name__ == "__main__":
    main()
