//! Real peers written by others: Python's `websockets` as a client of a ropeway server and
//! as a server for the ropeway client (tests-peers/README.md). Ignored by default: they need
//! the peers installed, which `scripts/test` does first.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::prelude::*;
use bytes::Bytes;
use futures_lite::AsyncBufReadExt;
use futures_lite::io::BufReader;
use ropeway_common::ClientConfig;
use ropeway_core::handshake::ClientRequest;
use ropeway_core::{CloseFrame, Message, MessageKind, ServerConfig};
use smol::process::{Child, Command};

/// How long a whole real-peer test may take (the Python side moves up to 16 MiB twice).
pub const PEER_TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// `tests-peers/python/<name>`.
fn python_peer(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests-peers/python")
        .join(name)
}

/// The Python interpreter of the peers' venv (created by tests-peers/python/install.sh).
fn python() -> PathBuf {
    let python = python_peer(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash tests-peers/python/install.sh` (scripts/test does)",
        python.display()
    );
    python
}

/// Runs `client_echo_check.py` against the echo server at `addr` with `args`; asserts that
/// every check passed and returns what it printed.
async fn python_check(addr: std::net::SocketAddr, args: &[&str]) -> String {
    let output = Command::new(python())
        .arg(python_peer("client_echo_check.py"))
        .arg(ws_url(addr, "/ws"))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "client_echo_check.py {args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("PASS"), "{stdout}");
    stdout
}

pub async fn python_websockets_client_checks_a_ropeway_echo_server<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    python_check(addr, &["--large"]).await;
}

/// `server_echo.py` running on a free port; it exits when dropped (stdin closes, and the
/// process is killed if it lingers).
struct PythonServer {
    child: Child,
    port: u16,
}

impl PythonServer {
    async fn start(args: &[&str]) -> Self {
        let mut child = Command::new(python())
            .arg(python_peer("server_echo.py"))
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).await.unwrap();
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("server_echo.py said {line:?}, not READY <port>"));
        PythonServer { child, port }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// Closes its stdin and waits for it to exit.
    async fn stop<T: TestRuntime>(mut self) {
        drop(self.child.stdin.take());
        let status = timeout::<T, _>(Duration::from_secs(10), self.child.status())
            .await
            .expect("server_echo.py exits when its stdin closes")
            .unwrap();
        assert!(status.success(), "server_echo.py exited with {status}");
    }
}

pub async fn a_ropeway_client_echoes_with_a_python_websockets_server<T: TestRuntime>() {
    let server = PythonServer::start(&[]).await;
    let (mut ws, _) = T::connect(&server.url()).await.unwrap();
    assert_echoes(
        &mut ws,
        &[0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20],
        "python server",
    )
    .await;
    // Fragments, with a code point split across them and a ping in between.
    let text = "fragmenté ✓".as_bytes();
    ws.send_fragment(MessageKind::Text, &text[..9], false)
        .await
        .unwrap();
    ws.send(Message::Ping(Bytes::from_static(b"py")))
        .await
        .unwrap();
    ws.send_fragment(MessageKind::Text, &text[9..], true)
        .await
        .unwrap();
    assert_eq!(
        recv(&mut ws).await,
        Message::Pong(Bytes::from_static(b"py"))
    );
    assert_eq!(recv(&mut ws).await, Message::text("fragmenté ✓"));
    // A close answered in kind; the client ends once the server closed the TCP.
    ws.send(Message::Close(Some(CloseFrame::new(4000, "bye"))))
        .await
        .unwrap();
    assert_eq!(
        recv(&mut ws).await,
        Message::Close(Some(CloseFrame::new(4000, "bye")))
    );
    assert_ends_cleanly(&mut ws).await;
    server.stop::<T>().await;
}

pub async fn a_python_websockets_server_selects_the_offered_subprotocol<T: TestRuntime>() {
    let server = PythonServer::start(&["--subprotocol", "chat"]).await;
    let request = ClientRequest::from_url(&server.url())
        .unwrap()
        .protocol("superchat")
        .protocol("chat");
    let (mut ws, response) = T::connect_with(request, &ClientConfig::default())
        .await
        .unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    ws.send(Message::text("in chat")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("in chat"));
    ws.close(None).await.unwrap();
    server.stop::<T>().await;
}

pub async fn a_python_websockets_server_that_closes_first_is_answered<T: TestRuntime>() {
    let server = PythonServer::start(&["--close-after-echo"]).await;
    let (mut ws, _) = T::connect(&server.url()).await.unwrap();
    ws.send(Message::text("once")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("once"));
    assert_eq!(
        recv(&mut ws).await,
        Message::Close(Some(CloseFrame::new(1000, "close after echo")))
    );
    assert_ends_cleanly(&mut ws).await;
    server.stop::<T>().await;
}

pub async fn python_websockets_client_negotiates_compression_with_a_ropeway_server<
    T: TestRuntime,
>() {
    use ropeway_core::deflate::{DeflateConfig, DeflateServer};
    let configs = [
        DeflateConfig::default(),
        DeflateConfig::no_context_takeover(),
        DeflateConfig {
            server_max_window_bits: 9,
            ..DeflateConfig::default()
        },
    ];
    for deflate in configs {
        let config = ServerConfig {
            extensions: vec![std::sync::Arc::new(DeflateServer::new(deflate))],
            ..ServerConfig::default()
        };
        let addr = spawn_echo_server::<T>(config).await;
        let stdout = python_check(addr, &["--compression"]).await;
        // The check prints the negotiated header; it must be permessage-deflate with
        // what this server asked for.
        assert!(stdout.contains("permessage-deflate"), "{stdout}");
        if deflate.server_no_context_takeover {
            assert!(stdout.contains("server_no_context_takeover"), "{stdout}");
        }
    }
}

pub async fn a_ropeway_client_compresses_with_a_python_websockets_server<T: TestRuntime>() {
    use ropeway_core::deflate::DeflateClient;
    let modes = [
        ("default", "server_max_window_bits=12"),
        ("rfc-default", "permessage-deflate"),
        ("no-context-takeover", "server_no_context_takeover"),
    ];
    for (mode, expected) in modes {
        let server = PythonServer::start(&["--compression", mode]).await;
        let config = ClientConfig {
            extensions: vec![std::sync::Arc::new(DeflateClient::default())],
            ..ClientConfig::default()
        };
        let request = ClientRequest::from_url(&server.url()).unwrap();
        let (mut ws, response) = T::connect_with(request, &config).await.unwrap();
        let header = response.headers()["sec-websocket-extensions"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            header.contains("permessage-deflate") && header.contains(expected),
            "{mode}: {header}"
        );
        assert!(
            ws.connection().extension().is_some(),
            "{mode}: no extension in use"
        );
        assert_echoes(&mut ws, &[0, 1, 125, 65536, 1 << 20], mode).await;
        ws.close(Some(CloseFrame::new(1000, "done"))).await.unwrap();
        assert_eq!(ws.connection().error(), None, "{mode}");
        server.stop::<T>().await;
    }
}
