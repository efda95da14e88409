//! Real peers written by others: the blocking client against Python's `websockets` as a
//! server (tests-peers/README.md). Ignored by default: they need the peer installed, which
//! `scripts/test` does first.

mod client_common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use client_common::*;
use ropeway_core::deflate::DeflateClient;
use ropeway_mio::client::{
    self, ClientConfig, ClientRequest, CloseFrame, Message, MessageKind, Options,
};

/// How long a whole real-peer test may take (the Python side moves up to 16 MiB twice).
const PEER_TEST_TIMEOUT: Duration = Duration::from_secs(120);

/// `tests-peers/python/<name>`.
fn python_peer(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests-peers/python")
        .join(name)
}

/// `server_echo.py` on a free port; it exits when dropped (its stdin closes; killed if it
/// lingers).
struct PythonServer {
    child: Child,
    stdin: Option<ChildStdin>,
    port: u16,
}

impl PythonServer {
    fn start(args: &[&str]) -> Self {
        let python = python_peer(".venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run `bash tests-peers/python/install.sh` (scripts/test does)",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(python_peer("server_echo.py"))
            .args(["--port", "0"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("server_echo.py said {line:?}, not READY <port>"));
        PythonServer { child, stdin, port }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }
}

impl Drop for PythonServer {
    fn drop(&mut self) {
        drop(self.stdin.take());
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "needs Python websockets: run scripts/test"]
fn the_blocking_client_echoes_with_a_python_websockets_server() {
    bounded_for(PEER_TEST_TIMEOUT, || {
        let server = PythonServer::start(&[]);
        let (mut ws, _) = client::connect(&server.url()).unwrap();
        assert_echoes(&mut ws, &[0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20]);
        // Fragments, with a code point split across them.
        let text = "fragmenté ✓".as_bytes();
        ws.send_fragment(MessageKind::Text, &text[..9], false)
            .unwrap();
        ws.send_fragment(MessageKind::Text, &text[9..], true)
            .unwrap();
        assert_eq!(recv(&mut ws), Message::text("fragmenté ✓"));
        ws.close(Some(CloseFrame::new(1000, "done"))).unwrap();
        assert!(ws.recv().is_none());
    });
}

#[test]
#[ignore = "needs Python websockets: run scripts/test"]
fn split_halves_hammer_a_python_websockets_server() {
    bounded_for(PEER_TEST_TIMEOUT, || {
        let server = PythonServer::start(&[]);
        let (ws, _) = client::connect(&server.url()).unwrap();
        let (reader, writer) = ws.split();
        hammer(reader, writer, 3, 100);
    });
}

#[test]
#[ignore = "needs Python websockets: run scripts/test"]
fn a_python_websockets_server_that_closes_first_is_answered() {
    bounded_for(PEER_TEST_TIMEOUT, || {
        let server = PythonServer::start(&["--close-after-echo"]);
        let (mut ws, _) = client::connect(&server.url()).unwrap();
        ws.send(Message::text("once")).unwrap();
        assert_eq!(recv(&mut ws), Message::text("once"));
        assert_eq!(
            recv(&mut ws),
            Message::Close(Some(CloseFrame::new(1000, "close after echo")))
        );
        assert!(ws.recv().is_none());
    });
}

#[test]
#[ignore = "needs Python websockets: run scripts/test"]
fn the_blocking_client_compresses_with_a_python_websockets_server() {
    bounded_for(PEER_TEST_TIMEOUT, || {
        let modes = [
            ("default", "server_max_window_bits=12"),
            ("rfc-default", "permessage-deflate"),
            ("no-context-takeover", "server_no_context_takeover"),
        ];
        for (mode, expected) in modes {
            let server = PythonServer::start(&["--compression", mode]);
            let config = ClientConfig {
                extensions: vec![Arc::new(DeflateClient::default())],
                ..ClientConfig::default()
            };
            let request = ClientRequest::from_url(&server.url()).unwrap();
            let (mut ws, response) =
                client::connect_with(request, &config, Options::default()).unwrap();
            let header = response.headers()["sec-websocket-extensions"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                header.contains("permessage-deflate") && header.contains(expected),
                "{mode}: {header}"
            );
            assert_echoes(&mut ws, &[0, 1, 125, 65536, 1 << 20]);
            ws.close(Some(CloseFrame::new(1000, "done"))).unwrap();
        }
    });
}
