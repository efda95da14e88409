#!/usr/bin/env python3
"""Measures what a hostile permessage-deflate peer costs the echo sample (issue 15, item 3).

    examples/echo/scripts/amplification.py bomb   [--binary PATH] [--seconds 10] [--inflated BYTES] [-- SAMPLE ARGS]
    examples/echo/scripts/amplification.py idle   [--binary PATH] [--connections 1000] [-- SAMPLE ARGS]

bomb: starts the sample (single-threaded tokio) with --compression, then four clients that
send 16 KiB frames inflating to 16 MiB (zeros, at the message limit) as fast as the server
takes them, reconnecting when it closes, and one more client that echoes a small text
message every 20 ms. Prints the server's CPU share and the echo client's latency (median,
max), and how the bomb messages ended (echoed, or closed with which code).

idle: opens N compressing connections, sends one small message on each (so the server's
compressor and inflater exist), waits for the echoes, and prints the server's memory growth
per connection (VmRSS from /proc) while they sit idle.

Loopback only, bounded in time; the sample is stopped at the end. Standard library only.
A measurement for the note, not a test: compare runs with `-- --max-inflate-ratio 0` (no
ratio, as before it) and the default, or `-- --server-max-window-bits 9` for memory.
"""

import argparse
import base64
import os
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sample(binary, extra):
    port = free_port()
    args = [binary, "--listen", f"127.0.0.1:{port}", "--compression", "--keep-alive", "0"] + extra
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 20
    for line in proc.stdout:
        if line.startswith("listening on"):
            break
        if time.time() > deadline:
            break
    # Keep draining its output so it never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc, port


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def handshake(port, deflate):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" if deflate else ""
    s.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head[:80])
    rest = head.split(b"\r\n\r\n", 1)[1]
    if deflate and b"permessage-deflate" not in head.lower():
        raise ConnectionError("permessage-deflate not agreed")
    return s, rest


def frame(opcode, payload, rsv1=False):
    """A client frame, masked with the zero key (the payload goes as it is)."""
    first = 0x80 | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, 0x80 | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", first, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


def deflate(data):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


class Reader:
    """Reads server frames; returns (opcode, payload) with the payload possibly skipped."""

    def __init__(self, sock, rest):
        self.sock, self.buf = sock, bytearray(rest)

    def need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def next(self, keep=True):
        self.need(2)
        b0, b1 = self.buf[0], self.buf[1]
        n, at = b1 & 0x7F, 2
        if n == 126:
            self.need(4)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self.need(10)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        del self.buf[:at]
        payload = b""
        while n > 0:
            if not self.buf:
                self.need(1)
            take = min(n, len(self.buf))
            if keep:
                payload += bytes(self.buf[:take])
            del self.buf[:take]
            n -= take
        return b0 & 0x0F, b0 & 0x80 != 0, payload


def bomb(args):
    proc, port = start_sample(args.binary, args.sample_args)
    zeros_16m = deflate(bytes(args.inflated))
    bomb_frame = frame(0x2, zeros_16m, rsv1=True)
    stop = threading.Event()
    outcomes = {"echoed": 0, "closed": {}, "errors": 0}
    lock = threading.Lock()

    def bomber():
        while not stop.is_set():
            try:
                s, rest = handshake(port, True)
                reader = Reader(s, rest)
                while not stop.is_set():
                    s.sendall(bomb_frame)
                    # The echo comes back compressed (small); a close ends this connection.
                    while True:
                        op, fin, payload = reader.next()
                        if op == 0x8:
                            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                            with lock:
                                outcomes["closed"][code] = outcomes["closed"].get(code, 0) + 1
                            raise ConnectionError("closed")
                        if fin:
                            with lock:
                                outcomes["echoed"] += 1
                            break
            except (OSError, ConnectionError):
                with lock:
                    outcomes["errors"] += 1
                time.sleep(0.001)

    latencies = []

    def echoer():
        s, rest = handshake(port, False)
        reader = Reader(s, rest)
        message = frame(0x1, b"ping " * 10)
        try:
            while not stop.is_set():
                start = time.perf_counter()
                s.sendall(message)
                reader.next()
                latencies.append(time.perf_counter() - start)
                time.sleep(0.02)
        except (OSError, ConnectionError):
            pass  # the sample was stopped

    threads = [threading.Thread(target=bomber, daemon=True) for _ in range(4)]
    echo_thread = threading.Thread(target=echoer, daemon=True)
    echo_thread.start()
    time.sleep(0.5)
    cpu0, t0 = cpu_seconds(proc.pid), time.time()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    cpu1, t1 = cpu_seconds(proc.pid), time.time()
    stop.set()
    proc.kill()
    proc.wait()
    lat = sorted(latencies[len(latencies) // 20:])  # after the bombers started
    print(f"sample args: {' '.join(args.sample_args) or '(defaults)'}")
    print(f"bomb frame: {len(zeros_16m)} compressed bytes -> {args.inflated} inflated")
    sent = sum(outcomes["closed"].values()) + outcomes["echoed"]
    print(f"server CPU: {100 * (cpu1 - cpu0) / (t1 - t0):.0f} % of a core over {t1 - t0:.1f} s")
    if sent:
        wire = sent * len(bomb_frame) / 1e6
        print(
            f"bomb traffic: {sent} messages, {wire:.1f} MB; server CPU per MB of it: "
            f"{(cpu1 - cpu0) / wire * 1000:.0f} ms"
        )
    if lat:
        print(
            f"echo latency: median {1000 * statistics.median(lat):.1f} ms, "
            f"max {1000 * max(lat):.1f} ms over {len(lat)} echoes"
        )
    print(f"bomb messages: {outcomes['echoed']} echoed, closes by code {outcomes['closed']}")


def idle(args):
    proc, port = start_sample(args.binary, args.sample_args)
    message = frame(0x1, deflate(b'{"event": "hello", "payload": "a small json message"}' * 4), rsv1=True)
    time.sleep(0.3)
    before = rss_bytes(proc.pid)
    conns = []
    for _ in range(args.connections):
        s, rest = handshake(port, True)
        s.sendall(message)
        reader = Reader(s, rest)
        reader.next()
        conns.append(s)
    time.sleep(1.0)
    after = rss_bytes(proc.pid)
    print(f"sample args: {' '.join(args.sample_args) or '(defaults)'}")
    print(
        f"{args.connections} idle compressing connections: server RSS +{(after - before) / 1048576:.1f} MiB, "
        f"{(after - before) / args.connections / 1024:.0f} KiB each"
    )
    for s in conns:
        s.close()
    proc.kill()
    proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["bomb", "idle"])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "ropeway-echo"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument(
        "--inflated", type=int, default=16 << 20, help="bytes a bomb message inflates to (16 MiB)"
    )
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.sample_args = extra
    if not os.path.exists(args.binary):
        sys.exit(f"{args.binary} missing: cargo build --release -p ropeway-echo")
    {"bomb": bomb, "idle": idle}[args.mode](args)


if __name__ == "__main__":
    main()
