#!/usr/bin/env python3
"""Checks an echo server (ropeway's) from a real peer: Python's `websockets` client.

    client_echo_check.py URL [--compression] [--subprotocol P] [--large]
                         [--cafile PEM] [--timeout SECONDS]

The server at URL must send every message back unchanged (same type, same bytes) and
answer a close frame with the same code and reason. Checks, in order:

  handshake        connects; with --subprotocol P the server must select P (without it,
                   none); with --compression the response must accept permessage-deflate
                   (its Sec-WebSocket-Extensions header is printed), without it the
                   response must carry no extension
  text N / binary N
                   echo of a text and a binary message of N bytes, N in 0, 1, 125, 126,
                   65535, 65536, 1 MiB (and 16 MiB with --large); the text mixes 1- to
                   4-byte UTF-8 characters
  fragmented text / fragmented binary
                   a message sent as several frames (empty frames included) comes back
                   as one whole message
  ping             pings (with a payload, with 125 bytes, and empty) each get their pong
  close 4000 bye   a client close with code 4000 and reason "bye" is answered with the
                   same code and reason, and the server then closes the TCP connection

One line per check (`ok   ...` or `FAIL ...`), then `PASS: ...` and exit 0, or exit 1 at
the first failed check with what was expected and what happened. Exit 2: bad arguments.
Every step is bounded by a timeout, and so is the whole run (--timeout).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import ssl
import sys
import time
from collections.abc import AsyncIterator, Awaitable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

KIB = 1024
MIB = 1024 * 1024
SIZES = [0, 1, 125, 126, 65535, 65536, MIB]
LARGE_SIZES = [16 * MIB]
MAX_MESSAGE_SIZE = 64 * MIB
STEP_TIMEOUT = 10.0  # seconds, plus SECONDS_PER_MIB for each MiB moved
SECONDS_PER_MIB = 2.0
CLOSE_TIMEOUT = 5.0
CLOSE_CODE = 4000
CLOSE_REASON = "bye"


class CheckFailed(Exception):
    pass


def text_of_size(n: int) -> str:
    """A str whose UTF-8 encoding is exactly n bytes, with 1-, 2-, 3- and 4-byte characters."""
    unit = "aé✓😀"  # 1 + 2 + 3 + 4 = 10 bytes
    text = unit * (n // 10)
    rest = n - len(text.encode())
    # rest < 10: fill it with whole characters, largest first, then ASCII.
    for ch in ("😀", "✓", "é"):
        if rest >= len(ch.encode()):
            text += ch
            rest -= len(ch.encode())
    text += "a" * rest
    assert len(text.encode()) == n
    return text


def bytes_of_size(n: int) -> bytes:
    return random.Random(n).randbytes(n)


def step_timeout(nbytes: int = 0) -> float:
    return STEP_TIMEOUT + SECONDS_PER_MIB * nbytes / MIB


def describe(message: str | bytes) -> str:
    kind = "text" if isinstance(message, str) else "binary"
    size = len(message.encode()) if isinstance(message, str) else len(message)
    return f"{kind} message of {size} bytes"


def first_difference(a: bytes, b: bytes) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"first difference at byte {i}"
    return f"lengths {len(a)} and {len(b)}"


async def bounded(awaitable: Awaitable, seconds: float, what: str):
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except asyncio.TimeoutError:
        raise CheckFailed(f"{what}: nothing within {seconds:.0f} s") from None


async def expect_echo(ws: ClientConnection, sent: str | bytes, nbytes: int) -> None:
    got = await bounded(ws.recv(), step_timeout(nbytes), f"waiting for the echo of a {describe(sent)}")
    if type(got) is not type(sent):
        raise CheckFailed(f"sent a {describe(sent)}, got back a {describe(got)}")
    if got != sent:
        a = sent.encode() if isinstance(sent, str) else sent
        b = got.encode() if isinstance(got, str) else got
        raise CheckFailed(f"sent a {describe(sent)}, got back different content ({first_difference(a, b)})")


async def check_echo(ws: ClientConnection, message: str | bytes) -> None:
    nbytes = len(message.encode()) if isinstance(message, str) else len(message)
    await bounded(ws.send(message), step_timeout(nbytes), f"sending a {describe(message)}")
    await expect_echo(ws, message, nbytes)


async def fragments(parts: list) -> AsyncIterator:
    for part in parts:
        yield part
        await asyncio.sleep(0)  # let each fragment go out as its own frame


async def check_fragmented(ws: ClientConnection, parts: list) -> None:
    whole = parts[0][:0].join(parts)
    nbytes = len(whole.encode()) if isinstance(whole, str) else len(whole)
    await bounded(ws.send(fragments(parts)), step_timeout(nbytes), f"sending {len(parts)} fragments")
    await expect_echo(ws, whole, nbytes)


async def check_ping(ws: ClientConnection, payload: bytes) -> None:
    pong = await bounded(ws.ping(payload), step_timeout(), "sending a ping")
    await bounded(pong, step_timeout(), f"waiting for the pong to a ping of {len(payload)} bytes")


async def check_close(ws: ClientConnection) -> None:
    started = time.monotonic()
    await bounded(ws.close(CLOSE_CODE, CLOSE_REASON), CLOSE_TIMEOUT + step_timeout(), "closing")
    elapsed = time.monotonic() - started
    if ws.protocol.close_rcvd is None:
        raise CheckFailed(
            f"sent close {CLOSE_CODE} {CLOSE_REASON!r}, the server sent no close frame back "
            f"(connection ended with {ws.close_code})"
        )
    if (ws.close_code, ws.close_reason) != (CLOSE_CODE, CLOSE_REASON):
        raise CheckFailed(
            f"sent close {CLOSE_CODE} {CLOSE_REASON!r}, the server answered "
            f"{ws.close_code} {ws.close_reason!r}"
        )
    # After the closing handshake the server closes TCP first (RFC 6455 7.1.1); had it not,
    # the client would have waited out its close_timeout and dropped the connection itself.
    if elapsed >= CLOSE_TIMEOUT * 0.9:
        raise CheckFailed(
            f"the close handshake completed but the server kept the TCP connection open "
            f"(closing took {elapsed:.1f} s, close_timeout is {CLOSE_TIMEOUT:.0f} s)"
        )


async def run(args: argparse.Namespace) -> int:
    passed = 0

    async def check(name: str, coro) -> None:
        nonlocal passed
        started = time.monotonic()
        try:
            await coro
        except ConnectionClosed as e:
            rcvd = f"{e.rcvd.code} {e.rcvd.reason!r}" if e.rcvd else "no close frame received"
            raise CheckFailed(f"{name}: the connection closed ({rcvd})") from None
        except CheckFailed as e:
            raise CheckFailed(f"{name}: {e}") from None
        passed += 1
        print(f"ok   {name} ({(time.monotonic() - started) * 1000:.0f} ms)", flush=True)

    ssl_context = None
    if args.url.startswith("wss://"):
        ssl_context = ssl.create_default_context(cafile=args.cafile)

    started = time.monotonic()
    try:
        ws = await bounded(
            connect(
                args.url,
                compression="deflate" if args.compression else None,
                subprotocols=[args.subprotocol] if args.subprotocol else None,
                max_size=MAX_MESSAGE_SIZE,
                max_queue=16,
                ping_interval=None,
                open_timeout=STEP_TIMEOUT,
                close_timeout=CLOSE_TIMEOUT,
                ssl=ssl_context,
            ),
            STEP_TIMEOUT + 1,
            "opening handshake",
        )
    except InvalidStatus as e:
        raise CheckFailed(f"handshake: the server answered HTTP {e.response.status_code}") from None
    except (InvalidHandshake, OSError) as e:
        raise CheckFailed(f"handshake: {type(e).__name__}: {e}") from None

    try:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions")
        print(f"     Sec-WebSocket-Extensions: {extensions if extensions is not None else '(none)'}")
        print(f"     subprotocol: {ws.subprotocol or '(none)'}")
        if args.compression and (extensions is None or "permessage-deflate" not in extensions):
            raise CheckFailed("handshake: --compression, but the server did not accept permessage-deflate")
        if not args.compression and extensions is not None:
            raise CheckFailed(f"handshake: no extension was offered, the server answered {extensions!r}")
        if args.subprotocol and ws.subprotocol != args.subprotocol:
            raise CheckFailed(f"handshake: offered subprotocol {args.subprotocol!r}, server selected {ws.subprotocol!r}")
        if not args.subprotocol and ws.subprotocol is not None:
            raise CheckFailed(f"handshake: no subprotocol offered, server selected {ws.subprotocol!r}")
        passed += 1
        print(f"ok   handshake ({(time.monotonic() - started) * 1000:.0f} ms)", flush=True)

        sizes = SIZES + (LARGE_SIZES if args.large else [])
        for n in sizes:
            await check(f"text {n} bytes", check_echo(ws, text_of_size(n)))
            await check(f"binary {n} bytes", check_echo(ws, bytes_of_size(n)))

        await check("fragmented text", check_fragmented(ws, ["frag", "mént ", "", "✓ 😀", " end"]))
        await check(
            "fragmented binary",
            check_fragmented(ws, [bytes_of_size(70_000), b"", bytes_of_size(1), bytes_of_size(130_000)]),
        )
        await check("ping with payload", check_ping(ws, b"ropeway ping"))
        await check("ping with 125 bytes", check_ping(ws, bytes(range(125))))
        await check("empty ping", check_ping(ws, b""))
        await check("echo after pings", check_echo(ws, "still here ✓"))
        await check(f"close {CLOSE_CODE} {CLOSE_REASON}", check_close(ws))
    finally:
        # On a failed check, drop the connection rather than wait for a polite close.
        if not ws.transport.is_closing():
            ws.transport.abort()

    print(f"PASS: {passed} checks against {args.url}", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url", help="ws:// or wss:// URL of the echo endpoint")
    ap.add_argument("--compression", action="store_true", help="offer and require permessage-deflate")
    ap.add_argument("--subprotocol", metavar="P", help="offer P and require the server to select it")
    ap.add_argument("--large", action="store_true", help="also echo 16 MiB messages")
    ap.add_argument("--cafile", help="CA certificate (PEM) to trust for wss://")
    ap.add_argument("--timeout", type=float, help="bound on the whole run in seconds (default 60, 180 with --large)")
    args = ap.parse_args()
    if not args.url.startswith(("ws://", "wss://")):
        ap.error(f"not a ws:// or wss:// URL: {args.url}")
    total = args.timeout or (180.0 if args.large else 60.0)

    async def bounded_run() -> int:
        return await bounded(run(args), total, "the whole run")

    try:
        return asyncio.run(bounded_run())
    except CheckFailed as e:
        print(f"FAIL {e}", flush=True)
        return 1
    except KeyboardInterrupt:
        print("FAIL interrupted", flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
