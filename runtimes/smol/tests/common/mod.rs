//! Helpers shared by the loopback tests: a bounded test body, tasks on threads of their own,
//! servers on 127.0.0.1, a raw TCP peer that speaks frames byte by byte, and payload
//! generators.
//!
//! Every test file includes this module but uses only part of it.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use bytes::{Buf, BytesMut};
use futures_channel::oneshot;
use futures_io::{AsyncRead, AsyncWrite};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use ropeway_smol::server::{ServerConfig, accept_with_config};
use ropeway_smol::{CloseFrame, Error, MaybeTlsStream, Message, WebSocket};

/// The longest any test body may run.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs a test body on this thread and fails the test if it takes longer than
/// [`TEST_TIMEOUT`].
pub fn run<F: Future>(body: F) -> F::Output {
    run_for(TEST_TIMEOUT, body)
}

/// Runs `body` on this thread and panics if it takes longer than `limit`.
pub fn run_for<F: Future>(limit: Duration, body: F) -> F::Output {
    smol::block_on(async {
        match timeout(limit, body).await {
            Some(output) => output,
            None => panic!("test body took longer than {limit:?}"),
        }
    })
}

/// `future`'s output, or `None` if `limit` passed first (the future is then dropped).
pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    futures_lite::future::or(async { Some(future.await) }, async {
        sleep(limit).await;
        None
    })
    .await
}

/// Waits `duration`.
pub async fn sleep(duration: Duration) {
    async_io::Timer::after(duration).await;
}

/// A task running on a thread of its own (so tests running at once do not share an
/// executor thread and disturb each other's timing). Awaiting it yields the task's output,
/// or re-raises its panic; dropping it lets the task run on.
pub struct JoinHandle<T> {
    rx: oneshot::Receiver<std::thread::Result<T>>,
}

impl<T> Future for JoinHandle<T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(Ok(Ok(output))) => Poll::Ready(output),
            Poll::Ready(Ok(Err(panic))) => resume_unwind(panic),
            Poll::Ready(Err(_)) => panic!("the task's thread ended without an outcome"),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Runs `future` on a new thread.
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let outcome = catch_unwind(AssertUnwindSafe(|| smol::block_on(future)));
        let _ = tx.send(outcome);
    });
    JoinHandle { rx }
}

/// A listener on a free port of 127.0.0.1.
pub async fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local_addr");
    (listener, addr)
}

/// `ws://` URL for `path` on `addr`.
pub fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// Accepts exactly one TCP connection on a fresh port and hands it to `handler` in a task;
/// the task's handle yields what the handler returned.
pub async fn serve_one<F, Fut>(handler: F) -> (SocketAddr, JoinHandle<Fut::Output>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let (listener, addr) = listen().await;
    let task = spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        tcp.set_nodelay(true).expect("nodelay");
        handler(tcp).await
    });
    (addr, task)
}

/// Accepts exactly one WebSocket (any path) with `config` and hands it to `handler`.
pub async fn serve_one_ws<F, Fut>(
    config: ServerConfig,
    handler: F,
) -> (SocketAddr, JoinHandle<Fut::Output>)
where
    F: FnOnce(WebSocket<TcpStream>) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    serve_one(move |tcp| async move {
        let ws = accept_with_config(tcp, &config)
            .await
            .expect("server handshake");
        handler(ws).await
    })
    .await
}

/// Echoes every text and binary message until the connection ends. Returns the close frame
/// the peer sent (if it sent one), or the error the connection ended with.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    mut ws: WebSocket<S>,
) -> Result<Option<CloseFrame>, Error> {
    let mut close = None;
    while let Some(message) = ws.recv().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Close(frame) => close = frame,
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    Ok(close)
}

/// A server that echoes on every connection it accepts, each on a task of its own, until
/// the test process ends.
pub async fn spawn_echo_server(config: ServerConfig) -> SocketAddr {
    let (listener, addr) = listen().await;
    spawn(async move {
        let executor = smol::Executor::new();
        executor
            .run(async {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        return;
                    };
                    let _ = tcp.set_nodelay(true);
                    let config = config.clone();
                    executor
                        .spawn(async move {
                            if let Ok(ws) = accept_with_config(tcp, &config).await {
                                let _ = echo(ws).await;
                            }
                        })
                        .detach();
                }
            })
            .await
    });
    addr
}

/// Connects a ropeway client to `path` on `addr` with the default settings.
pub async fn connect(addr: SocketAddr, path: &str) -> WebSocket<MaybeTlsStream> {
    let (ws, response) = ropeway_smol::connect(&ws_url(addr, path))
        .await
        .expect("client handshake");
    assert_eq!(response.status(), 101);
    ws
}

/// Receives the next message, failing the test on an error or the end of the connection.
pub async fn recv<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocket<S>) -> Message {
    match ws.recv().await {
        Some(Ok(message)) => message,
        Some(Err(e)) => panic!("expected a message, got the error {e:?}"),
        None => panic!("expected a message, the connection ended"),
    }
}

/// The connection ends (`recv` gives `None`) without an error: the close handshake completed.
pub async fn assert_ends_cleanly<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocket<S>) {
    assert!(
        ws.recv().await.is_none(),
        "expected the end of the connection"
    );
    assert_eq!(ws.connection().error(), None);
}

/// Receives the next text or binary message, skipping pings and pongs.
pub async fn recv_data<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocket<S>) -> Message {
    loop {
        match recv(ws).await {
            Message::Ping(_) | Message::Pong(_) => {}
            message => return message,
        }
    }
}

/// A UTF-8 string of exactly `n` bytes mixing 1- to 4-byte characters.
pub fn text_of_len(n: usize) -> String {
    const UNIT: &str = "aé✓😀"; // 1 + 2 + 3 + 4 bytes
    let mut text = UNIT.repeat(n / UNIT.len());
    for ch in ['😀', '✓', 'é'] {
        if n - text.len() >= ch.len_utf8() {
            text.push(ch);
        }
    }
    while text.len() < n {
        text.push('a');
    }
    assert_eq!(text.len(), n);
    text
}

/// `n` bytes of a pattern that a shifted or truncated copy does not match.
pub fn bytes_of_len(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8 ^ (i >> 12) as u8).collect()
}

/// Sends a text and a binary message of each size to an echoing peer and asserts that each
/// comes back intact; `label` says which run failed.
pub async fn assert_echoes<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocket<S>,
    sizes: &[usize],
    label: &str,
) {
    for &size in sizes {
        let text = Message::text(text_of_len(size));
        ws.send(text.clone()).await.unwrap();
        assert!(
            recv(ws).await == text,
            "{label}: text of {size} bytes came back changed"
        );
        let binary = Message::binary(bytes_of_len(size));
        ws.send(binary.clone()).await.unwrap();
        assert!(
            recv(ws).await == binary,
            "{label}: binary of {size} bytes came back changed"
        );
    }
}

/// Frame opcodes (RFC 6455 §5.2).
pub mod op {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// The mask key raw clients use.
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Encodes one frame; `mask` is `Some` for a client's frame.
pub fn frame(opcode: u8, fin: bool, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    let masked = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(masked | len as u8);
    } else if len <= 0xffff {
        out.push(masked | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(masked | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// A masked frame, as a client sends it.
pub fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    frame(opcode, fin, payload, Some(MASK))
}

/// The payload of a close frame.
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    payload
}

/// A frame as a raw peer read it (unmasked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub fin: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl RawFrame {
    /// The status code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, op::CLOSE, "not a close frame: {self:?}");
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// The request a raw client sends to open a WebSocket (the RFC's sample key).
pub const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// An upgrade request for `path`, with `extra` header lines (each ending in `\r\n`).
pub fn upgrade_request(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {SAMPLE_KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// The value of header `name` in an HTTP head, case-insensitively.
pub fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The status code of an HTTP response head.
pub fn status(head: &str) -> u16 {
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

/// A peer that writes and reads raw bytes over TCP, to test what ropeway does with exactly
/// the bytes a misbehaving, slow or dead peer sends.
pub struct RawPeer {
    pub stream: TcpStream,
    buf: BytesMut,
}

impl RawPeer {
    /// Wraps a connected stream.
    pub fn new(stream: TcpStream) -> Self {
        RawPeer {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Opens a TCP connection (no handshake).
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
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
    pub async fn accept_handshake(listener: &TcpListener, extra: &[u8]) -> Self {
        let (stream, _) = listener.accept().await.expect("accept");
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
        self.stream.write_all(bytes).await.expect("raw write");
    }

    /// Reads more bytes into the buffer; 0 at end of stream. A reset counts as the end.
    async fn fill(&mut self) -> usize {
        let mut chunk = [0; 16 << 10];
        match self.stream.read(&mut chunk).await {
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
