"""A WebSocket-over-HTTP/2 client (RFC 8441) made of Python's `h2` and `wsproto`: opens
several WebSockets multiplexed on one HTTP/2 connection (h2c, prior knowledge), echoes text
and binary messages of several sizes on each, pings, closes with 1000, and checks the
server ends each stream with END_STREAM. Prints PASS and a summary, or fails.

usage: client_h2_ws.py HOST PORT [--streams N] [--path /ws]"""

import argparse
import socket
import sys

import h2.config
import h2.connection
import h2.events
import h2.settings
from wsproto.connection import Connection, ConnectionType, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage

from h2ws import Pump, feed

SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20]


def payload(size: int, seed: int) -> bytes:
    return bytes((i * 7 + seed) % 251 for i in range(size))


class Stream:
    def __init__(self, sid: int, index: int):
        self.sid = sid
        self.index = index
        self.ws = Connection(ConnectionType.CLIENT)
        self.status = None
        self.step = 0  # which message is in flight
        self.pieces = []  # message being reassembled
        self.pong = False
        self.closed = False  # the server's close frame arrived
        self.ended = False  # END_STREAM arrived
        self.reset = None
        self.no_error_resets = 0

    def expected(self):
        size = SIZES[self.step // 2]
        if self.step % 2 == 0:
            return ("text", "é" * (size // 2) + "a" * (size % 2))
        return ("bytes", payload(size, self.index))

    def send_current(self, pump: Pump):
        kind, data = self.expected()
        event = TextMessage(data=data) if kind == "text" else BytesMessage(data=data)
        pump.send(self.sid, self.ws.send(event))


def main():
    args = argparse.ArgumentParser()
    args.add_argument("host")
    args.add_argument("port", type=int)
    args.add_argument("--streams", type=int, default=10)
    args.add_argument("--path", default="/ws")
    args = args.parse_args()

    sock = socket.create_connection((args.host, args.port), timeout=60)
    config = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
    conn = h2.connection.H2Connection(config=config)
    conn.initiate_connection()
    pump = Pump(sock, conn)
    pump.flush()

    # The server's SETTINGS must announce extended CONNECT (RFC 8441 §3).
    settings = None
    while settings is None:
        events = pump.receive()
        if events is None:
            sys.exit("FAIL: the connection ended before SETTINGS")
        for event in events:
            if isinstance(event, h2.events.RemoteSettingsChanged):
                settings = event.changed_settings
    code = h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL
    if conn.remote_settings.get(code) != 1:
        sys.exit(f"FAIL: SETTINGS_ENABLE_CONNECT_PROTOCOL not announced: {dict(conn.remote_settings)}")

    streams = {}
    authority = f"{args.host}:{args.port}"
    for index in range(args.streams):
        sid = conn.get_next_available_stream_id()
        conn.send_headers(
            sid,
            [
                (":method", "CONNECT"),
                (":protocol", "websocket"),
                (":scheme", "http"),
                (":path", args.path),
                (":authority", authority),
                ("sec-websocket-version", "13"),
                ("origin", "http://" + authority),
            ],
        )
        streams[sid] = Stream(sid, index)
    pump.flush()

    messages = 0
    total = 0
    while not all(s.ended or s.reset is not None for s in streams.values()):
        events = pump.receive()
        if events is None:
            sys.exit("FAIL: the connection ended early")
        for event in events:
            s = streams.get(getattr(event, "stream_id", None))
            if isinstance(event, h2.events.ResponseReceived):
                s.status = dict(event.headers)[":status"]
                if s.status != "200":
                    sys.exit(f"FAIL: stream {s.sid} answered {s.status}")
                if "sec-websocket-accept" in dict(event.headers):
                    sys.exit("FAIL: Sec-WebSocket-Accept in an HTTP/2 answer")
                # Ping first, then the echoes.
                pump.send(s.sid, s.ws.send(Ping(payload=b"ping %d" % s.index)))
                s.send_current(pump)
            elif isinstance(event, h2.events.DataReceived):
                for ws_event in feed(s.ws, event.data):
                    if isinstance(ws_event, Pong):
                        if ws_event.payload != b"ping %d" % s.index:
                            sys.exit(f"FAIL: pong payload {ws_event.payload!r}")
                        s.pong = True
                    elif isinstance(ws_event, (TextMessage, BytesMessage)):
                        s.pieces.append(ws_event.data)
                        if not ws_event.message_finished:
                            continue
                        kind, want = s.expected()
                        got = ("" if kind == "text" else b"").join(s.pieces)
                        s.pieces = []
                        if got != want:
                            sys.exit(f"FAIL: stream {s.sid} step {s.step}: echo differs ({len(got)} vs {len(want)})")
                        messages += 1
                        total += len(want)
                        s.step += 1
                        if s.step < 2 * len(SIZES):
                            s.send_current(pump)
                        else:
                            pump.send(s.sid, s.ws.send(CloseConnection(code=1000, reason="bye")))
                    elif isinstance(ws_event, CloseConnection):
                        if ws_event.code != 1000:
                            sys.exit(f"FAIL: close code {ws_event.code}")
                        s.closed = True
                        # Our close went first: this is the answer; end our side cleanly.
                        if s.ws.state == ConnectionState.REMOTE_CLOSING:
                            pump.send(s.sid, s.ws.send(ws_event.response()))
                        pump.end(s.sid)
            elif isinstance(event, h2.events.StreamEnded):
                s.ended = True
            elif isinstance(event, h2.events.StreamReset):
                # After its END_STREAM a server may reset with NO_ERROR to say it reads no
                # more (RFC 9113 §8.1): clean once the close handshake is done.
                if not (s.ended and s.closed and event.error_code == 0):
                    s.reset = event.error_code
                else:
                    s.no_error_resets = 1
            elif isinstance(event, h2.events.ConnectionTerminated):
                sys.exit(f"FAIL: GOAWAY {event.error_code}")

    for s in streams.values():
        if s.reset is not None:
            sys.exit(f"FAIL: stream {s.sid} was reset ({s.reset}) instead of ending with END_STREAM")
        if not (s.closed and s.pong):
            sys.exit(f"FAIL: stream {s.sid}: closed={s.closed} pong={s.pong}")
    conn.close_connection()
    pump.flush()
    sock.close()
    after = sum(s.no_error_resets for s in streams.values())
    print(
        f"PASS streams={len(streams)} messages={messages} bytes={total} one HTTP/2 connection; "
        f"every stream ended with END_STREAM ({after} then RST_STREAM NO_ERROR)"
    )


if __name__ == "__main__":
    main()
