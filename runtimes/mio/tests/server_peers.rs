//! A real peer written by others: Python's `websockets` as a client of the event-loop
//! server (tests-peers/README.md). Ignored by default: it needs the peer installed, which
//! `scripts/test` does first.

mod server_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ropeway_core::ServerConfig;
use ropeway_core::deflate::{DeflateConfig, DeflateServer};
use ropeway_mio::server::Config;
use server_support::{Echo, TestServer};

/// How long one check may take (the Python side moves up to 16 MiB twice).
const PEER_TIMEOUT: Duration = Duration::from_secs(120);

/// `tests-peers/python/<name>`.
fn python_peer(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests-peers/python")
        .join(name)
}

/// Runs `client_echo_check.py` against the server with `args`, within the timeout; asserts
/// that every check passed and returns what it printed.
fn python_check(server: &TestServer, args: &[&str]) -> String {
    let python = python_peer(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash tests-peers/python/install.sh` (scripts/test does)",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(python_peer("client_echo_check.py"))
        .arg(server.url("/ws"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > PEER_TIMEOUT {
            let _ = child.kill();
            panic!("client_echo_check.py {args:?} took longer than {PEER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("output");
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

#[test]
#[ignore = "needs Python websockets: run scripts/test"]
fn python_websockets_client_checks_the_event_loop_echo_server() {
    let server = TestServer::start(Config::default(), Echo);
    python_check(&server, &["--large"]);
}

#[test]
#[ignore = "needs Python websockets: run scripts/test"]
fn python_websockets_client_negotiates_compression_with_the_event_loop() {
    let configs = [
        DeflateConfig::default(),
        DeflateConfig::no_context_takeover(),
        DeflateConfig {
            server_max_window_bits: 9,
            ..DeflateConfig::default()
        },
    ];
    for deflate in configs {
        let config = Config {
            websocket: ServerConfig {
                extensions: vec![Arc::new(DeflateServer::new(deflate))],
                ..ServerConfig::default()
            },
            ..Config::default()
        };
        let server = TestServer::start(config, Echo);
        let stdout = python_check(&server, &["--compression"]);
        assert!(stdout.contains("permessage-deflate"), "{stdout}");
        if deflate.server_no_context_takeover {
            assert!(stdout.contains("server_no_context_takeover"), "{stdout}");
        }
    }
}
