#!/usr/bin/env python3
"""Echo server on 127.0.0.1, built on Python's `websockets`, for ropeway's client tests.

    server_echo.py --port P [--compression none|default|rfc-default|no-context-takeover]
                   [--close-after-echo] [--subprotocol P]... [--ignore-stdin]

Every text or binary message a client sends comes back unchanged, with the same type.
Pings are answered by the library (it sends no pings of its own). A close frame from the
client is answered with the same code and reason.

--port 0 picks a free port. When listening, prints `READY <port>` on stdout (one line,
flushed), so a test can wait for that line and read the port from it.

--compression (permessage-deflate, RFC 7692; offers from clients are only accepted):
  none                 no extension (the default)
  default              what `websockets` negotiates by default:
                       server_max_window_bits=12; client_max_window_bits=12 (if offered)
  rfc-default          the RFC's defaults: 15-bit windows, context takeover both ways
  no-context-takeover  server_no_context_takeover; client_no_context_takeover

--subprotocol P (repeatable): subprotocols the server accepts, in order of preference;
without it the server selects none.

--close-after-echo: after echoing the first message, the server starts the closing
handshake itself with code 1000 and reason "close after echo".

The server exits on SIGTERM or SIGINT, and when its standard input reaches EOF (so it
cannot outlive a test that spawned it with a piped stdin); --ignore-stdin turns the
latter off, for running it by hand with stdin at /dev/null.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

MAX_MESSAGE_SIZE = 64 * 1024 * 1024
CLOSE_AFTER_ECHO_REASON = "close after echo"


def extensions_for(mode: str):
    if mode == "none":
        return None
    if mode == "default":
        return [
            ServerPerMessageDeflateFactory(
                server_max_window_bits=12,
                client_max_window_bits=12,
                compress_settings={"memLevel": 5},
            )
        ]
    if mode == "rfc-default":
        return [ServerPerMessageDeflateFactory()]
    if mode == "no-context-takeover":
        return [
            ServerPerMessageDeflateFactory(
                server_no_context_takeover=True,
                client_no_context_takeover=True,
            )
        ]
    raise ValueError(mode)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1 (0: any free port)")
    ap.add_argument(
        "--compression",
        choices=["none", "default", "rfc-default", "no-context-takeover"],
        default="none",
    )
    ap.add_argument("--close-after-echo", action="store_true")
    ap.add_argument(
        "--subprotocol",
        action="append",
        default=[],
        metavar="P",
        help="accept subprotocol P when a client offers it (repeatable; order is preference)",
    )
    ap.add_argument("--ignore-stdin", action="store_true", help="do not exit when stdin reaches EOF")
    return ap.parse_args(argv)


def watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Future) -> None:
    """Blocks in a daemon thread until stdin reaches EOF, then stops the server."""

    def run() -> None:
        # os.read, not sys.stdin: a daemon thread blocked in a buffered read aborts
        # the interpreter at shutdown.
        try:
            while os.read(0, 65536):
                pass
        except OSError:
            pass
        loop.call_soon_threadsafe(lambda: stop.done() or stop.set_result("stdin closed"))

    threading.Thread(target=run, name="stdin-watch", daemon=True).start()


async def main(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop: asyncio.Future = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda s=sig: stop.done() or stop.set_result(s.name))

    async def echo(ws: ServerConnection) -> None:
        try:
            async for message in ws:
                await ws.send(message)
                if args.close_after_echo:
                    await ws.close(1000, CLOSE_AFTER_ECHO_REASON)
                    return
        except ConnectionClosed:
            # The client went away without a clean close: nothing to echo any more.
            pass

    async with serve(
        echo,
        "127.0.0.1",
        args.port,
        compression=None,
        subprotocols=args.subprotocol or None,
        extensions=extensions_for(args.compression),
        max_size=MAX_MESSAGE_SIZE,
        max_queue=16,
        ping_interval=None,
        open_timeout=10,
        close_timeout=5,
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"READY {port}", flush=True)
        if not args.ignore_stdin:
            watch_stdin(loop, stop)
        reason = await stop
        # Leaving the block closes open connections with 1001 and waits for them.
        print(f"server_echo.py: stopping ({reason})", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    try:
        sys.exit(asyncio.run(main(args)))
    except OSError as e:
        print(f"server_echo.py: cannot listen on 127.0.0.1:{args.port}: {e.strerror or e}", file=sys.stderr)
        sys.exit(1)
