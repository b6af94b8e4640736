#!/usr/bin/python3
"""netpeer.py --port P --mb N [--host ADDR] [--once] [--timeout S]

The host side of the toucher guest's network phase (tests/vm/toucher.c, toucher.net_mb=N): a
TCP sink on PORT that reads and discards what a client sends and closes once the client has
shut down its side (so the client knows all of it arrived), and a source on PORT+1 that sends
N MiB to each client and closes.  Listens on ADDR (default 127.0.0.1: QEMU user networking
forwards the guest's connections to 10.0.2.2 there; for a tap NIC, the tap's address).
Prints one line per connection.  Runs until killed, or with --once until one client of each
has been served; --timeout S ends it with exit 1 when that has not happened after S seconds.
"""
import argparse
import socket
import sys
import threading
import time

CHUNK = 64 << 10


class Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.exit(f"netpeer: {message} "
                 "(usage: netpeer.py --port P --mb N [--host ADDR] [--once] [--timeout S])")


def say(msg):
    print(f"netpeer: {msg}", flush=True)


def listener(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except OSError as e:
        sys.exit(f"netpeer: cannot listen on {host}:{port}: {e.strerror}")
    s.listen(4)
    return s


def sink(srv, once, done):
    while True:
        c, peer = srv.accept()
        t0 = time.monotonic()
        total = 0
        with c:
            while True:
                b = c.recv(CHUNK)
                if not b:
                    break
                total += len(b)
        say(f"sink {srv.getsockname()[0]}:{srv.getsockname()[1]}: received {total} bytes "
            f"({total / 1048576:.1f} MiB) from {peer[0]}:{peer[1]} in {time.monotonic() - t0:.2f} s")
        if once:
            done.set()
            return


def source(srv, nbytes, once, done):
    buf = b"\x5a" * CHUNK
    while True:
        c, peer = srv.accept()
        t0 = time.monotonic()
        sent = 0
        with c:
            try:
                while sent < nbytes:
                    sent += c.send(buf[: min(CHUNK, nbytes - sent)])
            except OSError as e:
                say(f"source: {peer[0]}:{peer[1]}: {e.strerror} after {sent} bytes")
        say(f"source {srv.getsockname()[0]}:{srv.getsockname()[1]}: sent {sent} bytes "
            f"({sent / 1048576:.1f} MiB) to {peer[0]}:{peer[1]} in {time.monotonic() - t0:.2f} s")
        if once:
            done.set()
            return


def main():
    ap = Parser(add_help=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--mb", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--once", action="store_true")
    ap.add_argument("--timeout", type=float, default=0)
    a = ap.parse_args()
    if not 1 <= a.port <= 65534 or a.mb < 0:
        ap.error("--port takes 1-65534 (the source is on PORT+1), --mb a whole number of MiB")
    sink_srv = listener(a.host, a.port)
    source_srv = listener(a.host, a.port + 1)
    say(f"listening: sink {a.host}:{a.port}, source {a.host}:{a.port + 1} ({a.mb} MiB)")
    got_sink, got_source = threading.Event(), threading.Event()
    threading.Thread(target=sink, args=(sink_srv, a.once, got_sink), daemon=True).start()
    threading.Thread(target=source, args=(source_srv, a.mb << 20, a.once, got_source),
                     daemon=True).start()
    deadline = time.monotonic() + a.timeout if a.timeout > 0 else None
    while not (a.once and got_sink.is_set() and got_source.is_set()):
        if deadline and time.monotonic() > deadline:
            sys.exit(f"netpeer: timeout: after {a.timeout:g} s the sink "
                     f"{'was' if got_sink.is_set() else 'was not'} used and the source "
                     f"{'was' if got_source.is_set() else 'was not'}")
        time.sleep(0.1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
