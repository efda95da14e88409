//! A peer that writes and reads raw bytes over TCP, to test what ropeway does with exactly
//! the bytes a misbehaving, slow or dead peer sends.

use std::net::SocketAddr;

use bytes::{Buf, BytesMut};

use super::frames::RawFrame;
use super::http_head::{header, status, upgrade_request};
use crate::runtime::TestRuntime;

/// A raw TCP peer on runtime `T`.
pub struct RawPeer<T: TestRuntime> {
    /// The connection.
    pub stream: T::Tcp,
    buf: BytesMut,
}

impl<T: TestRuntime> RawPeer<T> {
    /// Wraps a connected stream.
    pub fn new(stream: T::Tcp) -> Self {
        RawPeer {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Opens a TCP connection (no handshake).
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = T::connect_tcp(addr).await.expect("connect");
        T::set_nodelay(&stream).expect("nodelay");
        Self::new(stream)
    }

    /// Opens a WebSocket to `path` as a client and checks the 101.
    pub async fn handshake(addr: SocketAddr, path: &str) -> Self {
        Self::connect(addr).await.upgrade(path).await
    }

    /// Opens a WebSocket to `path` on this connection and checks the 101.
    pub async fn upgrade(mut self, path: &str) -> Self {
        self.write(upgrade_request(path, "").as_bytes()).await;
        let head = self.read_head().await.expect("response head");
        assert_eq!(status(&head), 101, "{head}");
        assert_eq!(
            header(&head, "sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        self
    }

    /// Accepts one connection on `listener` and answers its upgrade request with a 101 (and
    /// `extra` bytes right after the head), as a server.
    pub async fn accept_handshake(listener: &T::Listener, extra: &[u8]) -> Self {
        let stream = T::accept_tcp(listener).await.expect("accept");
        let mut peer = Self::new(stream);
        let head = peer.read_head().await.expect("request head");
        let key = header(&head, "sec-websocket-key").expect("key");
        let accept = ropeway_core::handshake::accept_key(key.as_bytes());
        let mut response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .into_bytes();
        response.extend_from_slice(extra);
        peer.write(&response).await;
        peer
    }

    /// Writes all of `bytes`.
    pub async fn write(&mut self, bytes: &[u8]) {
        T::write_all(&mut self.stream, bytes)
            .await
            .expect("raw write");
    }

    /// Reads more bytes into the buffer; 0 at end of stream. A reset counts as the end.
    async fn fill(&mut self) -> usize {
        let mut chunk = [0; 16 << 10];
        match T::read(&mut self.stream, &mut chunk).await {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("raw read: {e}"),
        }
    }

    /// Reads an HTTP head (up to the blank line); bytes after it stay buffered. `None` if the
    /// stream ended first.
    pub async fn read_head(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = self.buf.split_to(end + 4);
                return Some(String::from_utf8(head.to_vec()).expect("ASCII head"));
            }
            if self.fill().await == 0 {
                return None;
            }
        }
    }

    /// Reads an HTTP response to the end of the stream: its head and body.
    pub async fn read_response(&mut self) -> (String, Vec<u8>) {
        let head = self.read_head().await.expect("response head");
        let body = self.read_to_end().await;
        (head, body)
    }

    /// Reads everything until the end of the stream.
    pub async fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill().await > 0 {}
        self.buf.split().to_vec()
    }

    /// Reads one frame; `None` at a clean end of stream between frames.
    pub async fn read_frame(&mut self) -> Option<RawFrame> {
        loop {
            if let Some(frame) = self.parse_frame() {
                return Some(frame);
            }
            if self.fill().await == 0 {
                assert!(self.buf.is_empty(), "stream ended inside a frame");
                return None;
            }
        }
    }

    /// Reads frames until one with `opcode`, skipping others (e.g. pings); panics at the end.
    pub async fn read_frame_of(&mut self, opcode: u8) -> RawFrame {
        loop {
            let frame = self.read_frame().await.expect("a frame");
            if frame.opcode == opcode {
                return frame;
            }
        }
    }

    fn parse_frame(&mut self) -> Option<RawFrame> {
        let b = &self.buf[..];
        if b.len() < 2 {
            return None;
        }
        let masked = b[1] & 0x80 != 0;
        let (len, mut at) = match b[1] & 0x7f {
            126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 if b.len() >= 10 => (
                u64::from_be_bytes(b[2..10].try_into().unwrap_or_default()) as usize,
                10,
            ),
            126 | 127 => return None,
            n => (n as usize, 2),
        };
        let key = if masked {
            if b.len() < at + 4 {
                return None;
            }
            at += 4;
            Some([b[at - 4], b[at - 3], b[at - 2], b[at - 1]])
        } else {
            None
        };
        if b.len() < at + len {
            return None;
        }
        let (fin, opcode) = (b[0] & 0x80 != 0, b[0] & 0x0f);
        self.buf.advance(at);
        let mut payload = self.buf.split_to(len).to_vec();
        if let Some(key) = key {
            for (i, byte) in payload.iter_mut().enumerate() {
                *byte ^= key[i % 4];
            }
        }
        Some(RawFrame {
            fin,
            opcode,
            masked,
            payload,
        })
    }
}
