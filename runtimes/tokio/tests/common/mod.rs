//! Helpers shared by the loopback tests: a bounded test body, servers on 127.0.0.1, a raw
//! TCP peer that speaks frames byte by byte, and payload generators.
//!
//! Every test file includes this module but uses only part of it.
#![allow(dead_code)]
// Likewise for the shared helpers re-exported below.
#![allow(unused_imports)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use ropeway_tokio::server::{ServerConfig, accept_with_config};
use ropeway_tokio::{CloseFrame, Error, MaybeTlsStream, Message, WebSocket};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The longest any test body may run.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs a test body and fails the test if it takes longer than [`TEST_TIMEOUT`].
pub async fn bounded<F: Future>(body: F) -> F::Output {
    bounded_for(TEST_TIMEOUT, body).await
}

/// Runs `body` and panics if it takes longer than `limit`.
pub async fn bounded_for<F: Future>(limit: Duration, body: F) -> F::Output {
    match tokio::time::timeout(limit, body).await {
        Ok(output) => output,
        Err(_) => panic!("test body took longer than {limit:?}"),
    }
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
    let task = tokio::spawn(async move {
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

/// A server that echoes on every connection it accepts, until the test's runtime ends.
pub async fn spawn_echo_server(config: ServerConfig) -> SocketAddr {
    let (listener, addr) = listen().await;
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let _ = tcp.set_nodelay(true);
            let config = config.clone();
            tokio::spawn(async move {
                if let Ok(ws) = accept_with_config(tcp, &config).await {
                    let _ = echo(ws).await;
                }
            });
        }
    });
    addr
}

/// Connects a ropeway client to `path` on `addr` with the default settings.
pub async fn connect(addr: SocketAddr, path: &str) -> WebSocket<MaybeTlsStream> {
    let (ws, response) = ropeway_tokio::connect(&ws_url(addr, path))
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

// The raw-peer helpers (frame builders, HTTP heads, a byte-level peer) and the payload
// generators are the shared runtime suite's, so they are written once.
pub use ropeway_testsuite::support::frames::{
    MASK, RawFrame, client_frame, close_payload, frame, op,
};
pub use ropeway_testsuite::support::http_head::{SAMPLE_KEY, header, status, upgrade_request};
pub use ropeway_testsuite::support::payloads::{bytes_of_len, text_of_len};

/// A peer that speaks raw bytes over tokio's TCP.
pub type RawPeer = ropeway_testsuite::support::raw_peer::RawPeer<ropeway_testsuite::Tokio>;
