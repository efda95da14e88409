"""Shared by the RFC 8441 peers: a blocking socket pump around Python's sans-IO `h2`
(HTTP/2) and `wsproto` (WebSocket framing), neither written by the ropeway project.

Each WebSocket is one HTTP/2 stream whose DATA frames carry wsproto's bytes. Outgoing
bytes wait in a per-stream queue until HTTP/2 flow control lets them go."""

import socket

import h2.connection
import h2.events
from wsproto.connection import Connection, ConnectionState


class Pump:
    def __init__(self, sock: socket.socket, conn: h2.connection.H2Connection):
        self.sock = sock
        self.conn = conn
        self.queued = {}  # stream id -> bytearray not yet sent
        self.ending = set()  # streams to end (END_STREAM) once their queue is empty

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send(self, stream_id: int, data: bytes):
        self.queued.setdefault(stream_id, bytearray()).extend(data)
        self.pump()

    def end(self, stream_id: int):
        self.ending.add(stream_id)
        self.pump()

    def pump(self):
        """Sends what flow control allows, in frames the peer accepts."""
        for stream_id, buf in list(self.queued.items()):
            while buf:
                try:
                    window = self.conn.local_flow_control_window(stream_id)
                except Exception:
                    buf.clear()  # the stream is gone
                    break
                n = min(window, self.conn.max_outbound_frame_size, len(buf))
                if n <= 0:
                    break
                self.conn.send_data(stream_id, bytes(buf[:n]))
                del buf[:n]
        for stream_id in list(self.ending):
            if not self.queued.get(stream_id):
                self.ending.discard(stream_id)
                try:
                    self.conn.end_stream(stream_id)
                except Exception:
                    pass
        self.flush()

    def receive(self):
        """Reads once and returns the HTTP/2 events; None at the end of the connection."""
        data = self.sock.recv(65536)
        if not data:
            return None
        events = self.conn.receive_data(data)
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                # The window goes back once wsproto has the bytes (they are processed at once).
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        self.pump()
        return events


def feed(ws: Connection, data: bytes):
    # The empty DATA frame carrying END_STREAM comes after the close handshake.
    if not data or ws.state == ConnectionState.CLOSED:
        return []
    ws.receive_data(data)
    return list(ws.events())
