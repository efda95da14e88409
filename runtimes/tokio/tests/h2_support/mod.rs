//! Helpers of the HTTP/2 loopback tests: a `ropeway_tokio::h2::serve` echo server that
//! reports every WebSocket's HTTP version and end to the test, TLS material, and a raw
//! HTTP/2 frame peer for the malformed cases the `h2` crate refuses to send.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Request, Response, Version};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use ropeway_tokio::h2::{H2Client, H2Options, ServeConfig, serve};
use ropeway_tokio::{ClientConfig, CloseFrame, Error, ServerConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

/// What the server saw of one WebSocket: the HTTP version that carried it and how it ended
/// (the peer's close frame, or the error).
pub type Seen = (Version, Result<Option<CloseFrame>, Error>);

/// A running `serve` echo server.
pub struct H2Server {
    pub addr: SocketAddr,
    /// One entry per WebSocket, when it ends.
    pub seen: mpsc::UnboundedReceiver<Seen>,
    /// Ends the server (GOAWAY, drain).
    pub stop: Option<oneshot::Sender<()>>,
    /// The `serve` task: it returns once the drain is over.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Answers `/ws` and every CONNECT (a plain CONNECT has no path: it must reach the
/// WebSocket code to get its 400) as a WebSocket (either HTTP version) that echoes, `/` with
/// a small page, anything else with 404.
async fn handle(
    mut request: Request<Incoming>,
    ws_config: ServerConfig,
    seen: mpsc::UnboundedSender<Seen>,
) -> Response<Full<Bytes>> {
    if request.uri().path() != "/ws" && request.method() != http::Method::CONNECT {
        let status = if request.uri().path() == "/" {
            200
        } else {
            404
        };
        let mut response = Response::new(Full::from(format!("{:?}\n", request.version())));
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        return response;
    }
    match ropeway_tokio::hyper::upgrade::<_, Full<Bytes>>(&mut request, &ws_config) {
        Ok((response, pending)) => {
            tokio::spawn(async move {
                let version = pending.http_version();
                let ended = match pending.await {
                    Ok(ws) => super::common::echo(ws).await,
                    Err(e) => Err(e),
                };
                let _ = seen.send((version, ended));
            });
            response
        }
        Err(e) => ropeway_tokio::hyper::error_response::<String>(&e).map(Full::from),
    }
}

/// Starts an echo server with these settings (`tls`: serve https with ALPN).
pub async fn spawn_server(
    ws_config: ServerConfig,
    serve_config: ServeConfig,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> H2Server {
    let (listener, addr) = super::common::listen().await;
    let (seen_tx, seen) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let handler = move |request| handle(request, ws_config.clone(), seen_tx.clone());
    let task = tokio::spawn(serve(listener, tls, serve_config, handler, async move {
        let _ = stopped.await;
    }));
    H2Server {
        addr,
        seen,
        stop: Some(stop),
        task,
    }
}

/// An echo server with the default settings over plain TCP.
pub async fn spawn_default() -> H2Server {
    spawn_server(ServerConfig::default(), ServeConfig::default(), None).await
}

/// An HTTP/2 client of `addr` (h2c).
pub async fn h2_client(addr: SocketAddr) -> H2Client {
    H2Client::connect(
        &format!("ws://{addr}"),
        &ClientConfig::default(),
        &H2Options::default(),
    )
    .await
    .expect("HTTP/2 connection with extended CONNECT")
}

/// A self-signed certificate for `localhost` and its key.
pub fn localhost_certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    ropeway_testsuite::support::tls::localhost_certificate()
}

/// A TLS server configuration for `cert` (no ALPN set: `serve` adds h2 and http/1.1).
pub fn tls_server(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    ropeway_testsuite::support::tls::server_config(cert, key)
}

/// A client configuration trusting `cert` only.
pub fn trusting(cert: CertificateDer<'static>) -> ClientConfig {
    ClientConfig {
        tls: Some(ropeway_testsuite::support::tls::trusting(cert)),
        ..ClientConfig::default()
    }
}

/// HTTP/2 frame types and flags (RFC 9113 §6).
pub mod frame {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const END_STREAM: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const ACK: u8 = 0x1;
    /// RST_STREAM / GOAWAY error codes.
    pub const STREAM_CLOSED: u32 = 0x5;
    pub const REFUSED_STREAM: u32 = 0x7;
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
}

/// One frame as the raw peer read it.
#[derive(Debug)]
pub struct RawH2Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

/// A hand-written HTTP/2 client: frames written byte by byte, header blocks as HPACK
/// literals without indexing (RFC 7541 §6.2.2), so it can send what a correct library
/// refuses to (DATA after END_STREAM, streams past the limit).
pub struct RawH2 {
    pub tcp: TcpStream,
    /// The server's SETTINGS as (id, value) pairs.
    pub settings: Vec<(u16, u32)>,
}

impl RawH2 {
    /// Connects, sends the preface and empty SETTINGS, reads the server's SETTINGS and
    /// acknowledges them.
    pub async fn connect(addr: SocketAddr) -> RawH2 {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .await
            .unwrap();
        let mut raw = RawH2 {
            tcp,
            settings: Vec::new(),
        };
        raw.send(frame::SETTINGS, 0, 0, &[]).await;
        loop {
            let f = raw.read().await.expect("server SETTINGS");
            if f.kind == frame::SETTINGS && f.flags & frame::ACK == 0 {
                raw.settings = f
                    .payload
                    .chunks(6)
                    .map(|c| {
                        (
                            u16::from_be_bytes([c[0], c[1]]),
                            u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                        )
                    })
                    .collect();
                raw.send(frame::SETTINGS, frame::ACK, 0, &[]).await;
                return raw;
            }
        }
    }

    /// The server's value of a setting.
    pub fn setting(&self, id: u16) -> Option<u32> {
        self.settings
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| *v)
    }

    /// Writes one frame.
    pub async fn send(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let len = payload.len() as u32;
        let mut head = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
        head.extend_from_slice(&stream.to_be_bytes());
        head.extend_from_slice(payload);
        self.tcp.write_all(&head).await.unwrap();
    }

    /// Opens `stream` with a header block of `fields`, END_HEADERS, no END_STREAM.
    pub async fn headers(&mut self, stream: u32, fields: &[(&str, &str)]) {
        let mut block = Vec::new();
        for (name, value) in fields {
            // Literal without indexing, new name; lengths under 127 (7-bit prefix).
            block.push(0x00);
            block.push(name.len() as u8);
            block.extend_from_slice(name.as_bytes());
            block.push(value.len() as u8);
            block.extend_from_slice(value.as_bytes());
        }
        self.send(frame::HEADERS, frame::END_HEADERS, stream, &block)
            .await;
    }

    /// An extended CONNECT for a WebSocket at `/ws`, with `protocol` (None: a plain
    /// CONNECT's pseudo-headers) and `version`.
    pub async fn connect_ws(&mut self, stream: u32, protocol: Option<&str>, version: &str) {
        let mut fields = vec![(":method", "CONNECT")];
        if let Some(protocol) = protocol {
            fields.extend([
                (":protocol", protocol),
                (":scheme", "http"),
                (":path", "/ws"),
            ]);
        }
        fields.extend([
            (":authority", "localhost"),
            ("sec-websocket-version", version),
        ]);
        self.headers(stream, &fields).await;
    }

    /// Reads one frame; `None` at the end of the connection.
    pub async fn read(&mut self) -> Option<RawH2Frame> {
        let mut head = [0u8; 9];
        self.tcp.read_exact(&mut head).await.ok()?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0; len];
        self.tcp.read_exact(&mut payload).await.ok()?;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        Some(RawH2Frame {
            kind: head[3],
            flags: head[4],
            stream,
            payload,
        })
    }

    /// Reads until a frame on `stream` of a kind in `kinds` (answering PINGs and skipping
    /// the rest); `None` at the end of the connection.
    pub async fn read_until(&mut self, stream: u32, kinds: &[u8]) -> Option<RawH2Frame> {
        loop {
            let f = self.read().await?;
            if f.kind == frame::PING && f.flags & frame::ACK == 0 {
                let payload = f.payload.clone();
                self.send(frame::PING, frame::ACK, 0, &payload).await;
                continue;
            }
            if f.kind == frame::GOAWAY || (f.stream == stream && kinds.contains(&f.kind)) {
                return Some(f);
            }
        }
    }

    /// The `:status` of the response HEADERS on `stream` (the server's HPACK encoding of
    /// common statuses is the static table's indexed form; others are decoded from a
    /// literal with an indexed name).
    pub async fn status(&mut self, stream: u32) -> u16 {
        let f = self
            .read_until(stream, &[frame::HEADERS, frame::RST_STREAM])
            .await
            .expect("a response");
        assert_eq!(f.kind, frame::HEADERS, "response on stream {stream}: {f:?}");
        match f.payload[0] {
            0x88 => 200,
            0x89 => 204,
            0x8a => 206,
            0x8b => 304,
            0x8c => 400,
            0x8d => 404,
            0x8e => 500,
            // Literal with the name :status (static index 8), then a 3-digit value (no
            // Huffman: hyper/h2 may use Huffman; both forms are handled).
            b if b & 0x0f == 8 => decode_status(&f.payload[1..]),
            b => panic!("unexpected header block start {b:#x}: {f:?}"),
        }
    }
}

/// A 3-digit status as an HPACK string literal, plain or Huffman-coded.
fn decode_status(s: &[u8]) -> u16 {
    let huffman = s[0] & 0x80 != 0;
    let len = (s[0] & 0x7f) as usize;
    let bytes = &s[1..1 + len];
    if !huffman {
        return std::str::from_utf8(bytes).unwrap().parse().unwrap();
    }
    // The Huffman codes of the digits (RFC 7541 Appendix B): '0' '1' '2' are 5 bits
    // (0x0, 0x1, 0x2), '3'..'9' are 6 bits (0x19..0x1f).
    let mut bits = 0u64;
    let mut nbits = 0;
    for &b in bytes {
        bits = (bits << 8) | b as u64;
        nbits += 8;
    }
    let mut out = 0u16;
    let mut pos = nbits;
    for _ in 0..3 {
        let five = (bits >> (pos - 5)) & 0x1f;
        if five <= 2 {
            out = out * 10 + five as u16;
            pos -= 5;
        } else {
            let six = (bits >> (pos - 6)) & 0x3f;
            out = out * 10 + (six - 0x19 + 3) as u16;
            pos -= 6;
        }
    }
    out
}

/// A masked WebSocket frame from a client.
pub fn ws_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    super::common::client_frame(opcode, true, payload)
}
