#!/usr/bin/python3
"""display-client.py (--vnc HOST:PORT | --spice HOST:PORT) [--seconds S]

A display client that attaches to a QEMU display server and keeps it drawing, so that the
server's side of a display (encoders, compression state, per-client buffers) is really used:
what a VM with a viewer attached costs its host.  Runs until the server closes the connection
(the guest powered off) or for S seconds, then prints one summary line; exit 1 when it could
not attach.

VNC: a minimal RFB 3.8 client (security type None) that asks for the encodings real viewers
ask for (Tight, ZRLE, Zlib, Hextile, CopyRect, Raw, JPEG quality and compression levels, and
the cursor, resize and QEMU pseudo-encodings), then sends an incremental
FramebufferUpdateRequest every 50 ms and reads (without decoding) all the server sends.
SPICE: the real SPICE client library (SpiceClientGLib through python3-gi; no X needed), which
connects every channel the server offers, so the display channel streams and is decoded.
"""
import argparse
import select
import socket
import struct
import sys
import time


class Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.exit(f"display-client: {message} "
                 "(usage: display-client.py --vnc HOST:PORT | --spice HOST:PORT [--seconds S])")


def die(msg):
    sys.exit(f"display-client: {msg}")


def host_port(s):
    host, sep, port = s.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"'{s}' is not HOST:PORT")
    return host, int(port)


def connect(host, port, what):
    """A TCP connection to a server that may still be starting: retried for 10 s."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection((host, port), timeout=10)
        except OSError as e:
            if time.monotonic() > deadline or not isinstance(e, ConnectionRefusedError):
                die(f"cannot connect to the {what} server {host}:{port}: {e.strerror or e}")
            time.sleep(0.2)


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        part = s.recv(n - len(b))
        if not part:
            die(f"the VNC server closed the connection during the handshake ({len(b)} of {n} bytes)")
        b += part
    return b


# What TigerVNC and QEMU's own clients ask for, best first: the server picks.
VNC_ENCODINGS = [
    7,  # Tight
    16,  # ZRLE
    6,  # Zlib
    5,  # Hextile
    1,  # CopyRect
    0,  # Raw
    -23 - 3,  # JPEG quality level 6
    -256 + 2,  # compression level 2
    -239,  # Cursor
    -224,  # LastRect
    -223,  # DesktopSize
    -308,  # ExtendedDesktopSize
    -257,  # QEMU pointer motion change
    -258,  # QEMU extended key event
    -261,  # QEMU LED state
]


def vnc(host, port, seconds):
    t0 = time.monotonic()
    s = connect(host, port, "VNC")
    version = recv_exact(s, 12)
    if not version.startswith(b"RFB 003."):
        die(f"{host}:{port} is not a VNC server (it said {version!r})")
    s.sendall(b"RFB 003.008\n")
    n = recv_exact(s, 1)[0]
    if n == 0:
        (length,) = struct.unpack(">I", recv_exact(s, 4))
        die(f"the VNC server refused: {recv_exact(s, length).decode(errors='replace')}")
    types = list(recv_exact(s, n))
    if 1 not in types:
        die(f"the VNC server offers no security type None (1), only {types}: "
            "start qemu with -vnc HOST:N (no password, no TLS)")
    s.sendall(b"\x01")
    (result,) = struct.unpack(">I", recv_exact(s, 4))
    if result != 0:
        die("the VNC server failed security type None")
    s.sendall(b"\x01")  # ClientInit: shared
    width, height = struct.unpack(">HH", recv_exact(s, 4))
    recv_exact(s, 16)  # the server's pixel format: kept, so nothing is converted for us
    (length,) = struct.unpack(">I", recv_exact(s, 4))
    name = recv_exact(s, length).decode(errors="replace")
    s.sendall(struct.pack(">BxH", 2, len(VNC_ENCODINGS)) +
              b"".join(struct.pack(">i", e) for e in VNC_ENCODINGS))
    s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
    s.setblocking(False)
    received = requests = 0
    end = t0 + seconds if seconds > 0 else None
    next_request = time.monotonic() + 0.05
    closed = False
    while not closed:
        now = time.monotonic()
        if end and now >= end:
            break
        if now >= next_request:
            # QEMU sends what changed since the last update, whatever the region.
            try:
                s.sendall(struct.pack(">BBHHHH", 3, 1, 0, 0, width, height))
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                pass
            requests += 1
            next_request = now + 0.05
        ready, _, _ = select.select([s], [], [], max(0.0, next_request - time.monotonic()))
        while ready:
            try:
                b = s.recv(1 << 20)
            except BlockingIOError:
                break
            except ConnectionResetError:
                b = b""
            if not b:
                closed = True
                break
            received += len(b)
    s.close()
    print(f"display-client: vnc {host}:{port} '{name}' ({width}x{height} at connect): "
          f"received {received} bytes for {requests} update requests in {time.monotonic() - t0:.1f} s"
          f"{', server closed' if closed else ''}", flush=True)


def spice(host, port, seconds):
    try:
        import gi

        gi.require_version("SpiceClientGLib", "2.0")
        from gi.repository import GLib, GObject, SpiceClientGLib
    except (ImportError, ValueError) as e:
        die(f"no SPICE client library ({e}): apt-get install python3-gi gir1.2-spiceclientglib-2.0")
    t0 = time.monotonic()
    connect(host, port, "SPICE").close()
    loop = GLib.MainLoop()
    state = {"error": None, "opened": 0, "displays": [], "invalidates": 0, "pixels": 0,
             "surface": None, "closed": False}
    channels = []

    def on_event(channel, event):
        kind = channel.get_property("channel-type")
        if event == SpiceClientGLib.ChannelEvent.OPENED:
            state["opened"] += 1
        elif event == SpiceClientGLib.ChannelEvent.CLOSED:
            state["closed"] = True
            loop.quit()
        elif event != SpiceClientGLib.ChannelEvent.NONE:
            if state["opened"] == 0 or kind == SpiceClientGLib.ChannelType.MAIN:
                state["error"] = f"channel {kind}: {event.value_nick}"
            state["closed"] = True
            loop.quit()

    def on_invalidate(channel, x, y, w, h):
        state["invalidates"] += 1
        state["pixels"] += w * h

    def on_primary(channel, fmt, width, height, stride, shmid, imgdata):
        state["surface"] = (width, height)

    def on_new(session, channel):
        channels.append(channel)
        GObject.Object.connect(channel, "channel-event", on_event)
        if isinstance(channel, SpiceClientGLib.DisplayChannel):
            state["displays"].append(channel)
            GObject.Object.connect(channel, "display-invalidate", on_invalidate)
            GObject.Object.connect(channel, "display-primary-create", on_primary)
        # The session connects only its main channel; a viewer connects the others.
        if not isinstance(channel, SpiceClientGLib.MainChannel):
            channel.connect()

    session = SpiceClientGLib.Session()
    session.set_property("uri", f"spice://{host}:{port}")
    session.set_property("enable-audio", False)
    session.set_property("enable-usbredir", False)
    GObject.Object.connect(session, "channel-new", on_new)
    if not session.connect():
        die(f"cannot start a SPICE session to {host}:{port}")
    if seconds > 0:
        GLib.timeout_add(int(seconds * 1000), loop.quit)
    loop.run()
    read = sum(c.get_property("total-read-bytes") for c in channels)
    session.disconnect()
    if state["error"] or not state["displays"]:
        die(f"SPICE {host}:{port}: {state['error'] or 'no display channel'} "
            f"({state['opened']} channels opened)")
    surface = "%dx%d" % state["surface"] if state["surface"] else "no primary surface"
    print(f"display-client: spice {host}:{port}: {state['opened']} channels, display {surface}, "
          f"{state['invalidates']} updates ({state['pixels'] / 1e6:.1f} Mpixel), {read} bytes read "
          f"in {time.monotonic() - t0:.1f} s{', server closed' if state['closed'] else ''}",
          flush=True)


def main():
    ap = Parser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--vnc", type=host_port, metavar="HOST:PORT")
    g.add_argument("--spice", type=host_port, metavar="HOST:PORT")
    ap.add_argument("--seconds", type=float, default=0,
                    help="stop after S seconds (default: when the server closes)")
    a = ap.parse_args()
    if a.vnc:
        vnc(*a.vnc, a.seconds)
    else:
        spice(*a.spice, a.seconds)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
