"""A WebSocket-over-HTTP/2 server (RFC 8441) made of Python's `h2` and `wsproto`: announces
SETTINGS_ENABLE_CONNECT_PROTOCOL, answers an extended CONNECT with `:protocol websocket`
and version 13 with 200 (400 for a plain CONNECT, 501 for another protocol, 426 for another
version), then echoes text and binary messages on each stream, answers pings, and answers a
close with the same code before ending the stream with END_STREAM.

Prints the port it listens on (127.0.0.1, a free port) as its first line; serves until its
stdin closes. One line per ended stream goes to stderr."""

import socket
import sys
import threading

import h2.config
import h2.connection
import h2.events
import h2.settings
from wsproto.connection import Connection, ConnectionType, ConnectionState
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from h2ws import Pump, feed


def serve_connection(sock: socket.socket):
    config = h2.config.H2Configuration(client_side=False, header_encoding="utf-8")
    conn = h2.connection.H2Connection(config=config)
    conn.local_settings = h2.settings.Settings(
        client=False,
        initial_values={
            h2.settings.SettingCodes.ENABLE_CONNECT_PROTOCOL: 1,
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100,
        },
    )
    conn.initiate_connection()
    pump = Pump(sock, conn)
    pump.flush()
    sockets = {}  # stream id -> [wsproto connection, message pieces]
    while True:
        try:
            events = pump.receive()
        except (ConnectionError, OSError):
            return
        if events is None:
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                headers = dict(event.headers)
                status = "200"
                if headers.get(":method") != "CONNECT" or ":protocol" not in headers:
                    status = "400"
                elif headers[":protocol"] != "websocket":
                    status = "501"
                elif headers.get("sec-websocket-version") != "13":
                    status = "426"
                answer = [(":status", status)]
                if status == "426":
                    answer.append(("sec-websocket-version", "13"))
                offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
                if status == "200" and "chat" in offered:
                    answer.append(("sec-websocket-protocol", "chat"))
                conn.send_headers(event.stream_id, answer, end_stream=status != "200")
                if status == "200":
                    sockets[event.stream_id] = [Connection(ConnectionType.SERVER), []]
                pump.flush()
            elif isinstance(event, h2.events.DataReceived):
                entry = sockets.get(event.stream_id)
                if entry is None:
                    continue
                ws, pieces = entry
                for ws_event in feed(ws, event.data):
                    if isinstance(ws_event, (TextMessage, BytesMessage)):
                        pieces.append(ws_event.data)
                        if ws_event.message_finished:
                            data = ("" if isinstance(ws_event, TextMessage) else b"").join(pieces)
                            pieces.clear()
                            kind = TextMessage if isinstance(ws_event, TextMessage) else BytesMessage
                            pump.send(event.stream_id, ws.send(kind(data=data)))
                    elif isinstance(ws_event, Ping):
                        pump.send(event.stream_id, ws.send(ws_event.response()))
                    elif isinstance(ws_event, CloseConnection):
                        if ws.state == ConnectionState.REMOTE_CLOSING:
                            pump.send(event.stream_id, ws.send(ws_event.response()))
                        print(f"stream {event.stream_id} closed {ws_event.code}", file=sys.stderr, flush=True)
                        pump.end(event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                print(f"stream {event.stream_id} END_STREAM", file=sys.stderr, flush=True)
            elif isinstance(event, h2.events.StreamReset):
                print(f"stream {event.stream_id} RST_STREAM {event.error_code}", file=sys.stderr, flush=True)
                sockets.pop(event.stream_id, None)
            elif isinstance(event, h2.events.ConnectionTerminated):
                return


def main():
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    print(listener.getsockname()[1], flush=True)

    def accept_loop():
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_connection, args=(sock,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    sys.stdin.read()  # until the test closes our stdin


if __name__ == "__main__":
    main()
