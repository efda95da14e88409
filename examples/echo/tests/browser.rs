//! The echo sample in a real browser: runs the `ropeway-echo` binary on a free port of
//! 127.0.0.1 and drives its page in headless Chromium with tests-peers/browser/echo-page.mjs
//! (Connect, send a non-ASCII message, see it echoed, Close Socket with 1000), on each
//! runtime (`--runtime tokio`, `--runtime smol`, `--runtime mio`).
//!
//! Ignored by default: it needs Chromium and playwright-core, which `scripts/test` installs.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A child process that is killed when dropped, so a failing test leaves nothing behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local_addr").port()
}

/// Waits for `child` to exit, killing it after `limit`.
fn wait_bounded(child: &mut KillOnDrop, limit: Duration) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.0.try_wait().expect("try_wait") {
            return status;
        }
        assert!(start.elapsed() < limit, "still running after {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Starts the sample on 127.0.0.1:`port` (with `extra` options) and waits until it says it
/// is listening.
fn start_echo_server(port: u16, extra: &[&str]) -> KillOnDrop {
    let mut server = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_ropeway-echo"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start ropeway-echo"),
    );
    let stdout = server.0.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    // Keeps draining the server's output after the first line, so it never blocks on it.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            eprintln!("ropeway-echo: {line}");
            let _ = tx.send(line);
        }
    });
    let first = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("ropeway-echo prints where it listens");
    assert!(
        first.starts_with("listening on") || first.starts_with("compression"),
        "{first}"
    );
    server
}

/// Drives the page on a sample started with `server_args`; `page_args` go to the script.
fn run_page(server_args: &[&str], page_args: &[&str]) {
    let port = free_port();
    let _server = start_echo_server(port, server_args);
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests-peers/browser/echo-page.mjs");
    let mut browser = KillOnDrop(
        Command::new("node")
            .arg(&script)
            .arg(format!("http://127.0.0.1:{port}/"))
            .args(page_args)
            .stdin(Stdio::null())
            .spawn()
            .expect("start node (is Node.js installed?)"),
    );
    // echo-page.mjs bounds itself to 60 s; this is the backstop.
    let status = wait_bounded(&mut browser, Duration::from_secs(90));
    assert!(status.success(), "echo-page.mjs failed: {status}");
}

/// The page on the sample served by `runtime`.
fn echo_page_works(runtime: &str) {
    run_page(&["--runtime", runtime], &[]);
}

/// Chromium offers `permessage-deflate; client_max_window_bits`; with --compression the
/// sample accepts it, and the page must report the negotiated extension, not only the echo.
fn chromium_negotiates_compression(runtime: &str) {
    run_page(
        &["--runtime", runtime, "--compression"],
        &["--expect-extensions", "permessage-deflate"],
    );
    run_page(
        &[
            "--runtime",
            runtime,
            "--compression",
            "--server-no-context-takeover",
            "--server-max-window-bits",
            "10",
        ],
        &["--expect-extensions", "server_max_window_bits=10"],
    );
}

#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn the_echo_page_works_in_headless_chromium() {
    echo_page_works("tokio");
}

#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn chromium_negotiates_compression_with_the_sample() {
    chromium_negotiates_compression("tokio");
}

#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn the_echo_page_works_in_headless_chromium_on_smol() {
    echo_page_works("smol");
}

#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn chromium_negotiates_compression_with_the_sample_on_smol() {
    chromium_negotiates_compression("smol");
}

#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn the_echo_page_works_in_headless_chromium_on_mio() {
    echo_page_works("mio");
}

#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn chromium_negotiates_compression_with_the_sample_on_mio() {
    chromium_negotiates_compression("mio");
}
