#!/usr/bin/env python3
"""Measures what a flooding peer costs the other clients of the echo sample (issue 21, item 3).

    examples/echo/scripts/flood_latency.py [--binary PATH] [--seconds 10] [--kind pong|ping|data]
                                           [-- SAMPLE ARGS]

Starts the sample on a free loopback port, then one client that floods it with frames of
one kind without ever reading (pongs, pings, or tiny text frames), and one normal client
that sends a 16-byte text message every 20 ms and waits for its echo. Prints the normal
client's echo latency (median, p90, max) and how many echoes failed, and the server's CPU
share. Loopback only, bounded in time; the sample is stopped at the end. Standard library
only. A measurement for the note, not a test.
"""

import argparse
import base64
import multiprocessing
import os
import socket
import struct
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def handshake(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            raise RuntimeError("closed during the handshake")
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def frame(opcode, payload):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


def read_frame(sock):
    def exact(n):
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise RuntimeError("closed")
            data += chunk
        return data

    first, second = exact(2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack(">H", exact(2))[0]
    elif length == 127:
        length = struct.unpack(">Q", exact(8))[0]
    return first & 0x0F, exact(length)


def flood(port, kind, stop):
    opcode, payload = {"pong": (0xA, b"p" * 16), "ping": (0x9, b"p" * 16), "data": (0x1, b"x")}[kind]
    chunk = frame(opcode, payload) * 4096
    while not stop.is_set():
        try:
            sock = handshake(port)
            sock.settimeout(1)
            while not stop.is_set():
                sock.sendall(chunk)
        except (OSError, RuntimeError):
            time.sleep(0.05)  # dropped by the server: come back, as an attacker would


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default="target/release/ropeway-echo")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--kind", choices=["pong", "ping", "data"], default="pong")
    args, extra = parser.parse_known_args()
    extra = [a for a in extra if a != "--"]
    port = free_port()
    server = subprocess.Popen(
        [args.binary, "--listen", f"127.0.0.1:{port}", "--keep-alive", "0"] + extra,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("the sample does not listen")
                time.sleep(0.05)
        # The flooder is a process of its own: as a thread it would share the interpreter
        # lock with the measuring client, and against a server that reads the flood as fast
        # as it comes (never blocking the flooder's sendall) it would hold the lock for
        # hundreds of milliseconds, which would show up as server latency.
        stop = multiprocessing.Event()
        flooder = multiprocessing.Process(target=flood, args=(port, args.kind, stop), daemon=True)
        flooder.start()
        time.sleep(1)  # the flood is on
        echo = handshake(port)
        echo.settimeout(5)
        latencies, failed = [], 0
        ticks_before, started = cpu_ticks(server.pid), time.time()
        while time.time() - started < args.seconds:
            sent = time.perf_counter()
            try:
                echo.sendall(frame(0x1, b"0123456789abcdef"))
                opcode, payload = read_frame(echo)
                assert (opcode, payload) == (1, b"0123456789abcdef")
                latencies.append((time.perf_counter() - sent) * 1000)
            except (OSError, RuntimeError):
                failed += 1
                echo = handshake(port)
                echo.settimeout(5)
            time.sleep(0.02)
        elapsed = time.time() - started
        cpu = (cpu_ticks(server.pid) - ticks_before) / os.sysconf("SC_CLK_TCK") / elapsed
        stop.set()
        flooder.join(timeout=2)
        if flooder.is_alive():
            flooder.kill()
        latencies.sort()
        at = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))]
        print(f"sample args: {' '.join(extra) or '(default)'}; flood: {args.kind}")
        print(
            f"echo latency ms: median {at(0.5):.1f}, p90 {at(0.9):.1f}, max {latencies[-1]:.1f} "
            f"({len(latencies)} echoes, {failed} failed); server CPU {cpu * 100:.0f} %"
        )
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
