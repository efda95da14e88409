//! The echo sample in a real browser: runs the `ropeway-echo` binary on a free port of
//! 127.0.0.1 and drives its page in headless Chromium with tests-peers/browser/echo-page.mjs
//! (Connect, the server's word on the HTTP version, send a non-ASCII message, see it echoed,
//! Close Socket with 1000), on each runtime (`--runtime tokio`, `--runtime smol`, `--runtime
//! mio`), over http:// and over https:// (`--self-signed`), where tokio serves HTTP/2: there
//! the test proves from the server's log that the WebSocket rode the page's HTTP/2 connection.
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
/// is listening. The receiver gets every later line of its output.
fn start_echo_server(port: u16, extra: &[&str]) -> (KillOnDrop, mpsc::Receiver<String>) {
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
    // Its first lines say what it set up (compression, TLS, the backplane), then where it
    // listens: the page can load from then on.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .expect("ropeway-echo prints where it listens");
        if line.starts_with("listening on") {
            break;
        }
        let known = ["compression", "tls:", "backplane:"];
        assert!(known.iter().any(|start| line.starts_with(start)), "{line}");
    }
    (server, rx)
}

/// Drives the page on a sample started with `server_args`; `page_args` go to the script.
/// Returns what the sample printed meanwhile.
fn run_page(server_args: &[&str], page_args: &[&str]) -> Vec<String> {
    let port = free_port();
    let scheme = if server_args.contains(&"--self-signed") {
        "https"
    } else {
        "http"
    };
    let (_server, output) = start_echo_server(port, server_args);
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests-peers/browser/echo-page.mjs");
    let mut browser = KillOnDrop(
        Command::new("node")
            .arg(&script)
            .arg(format!("{scheme}://127.0.0.1:{port}/"))
            .args(page_args)
            .stdin(Stdio::null())
            .spawn()
            .expect("start node (is Node.js installed?)"),
    );
    // echo-page.mjs bounds itself to 60 s; this is the backstop.
    let status = wait_bounded(&mut browser, Duration::from_secs(90));
    assert!(status.success(), "echo-page.mjs failed: {status}");
    // The sample logs a WebSocket's end after the page has seen it closed: give it a moment.
    std::thread::sleep(Duration::from_millis(200));
    output.try_iter().collect()
}

/// The page on the sample served by `runtime`.
fn echo_page_works(runtime: &str) {
    run_page(
        &["--runtime", runtime],
        &["--expect-http-version", "HTTP/1.1"],
    );
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

/// The number of the connection in a line of the sample's log such as
/// `connection #3: GET / over HTTP/2`, if the line starts with `prefix` and ends with
/// `suffix` around it.
fn connection_number(line: &str, prefix: &str, suffix: &str) -> Option<u64> {
    let rest = line.strip_prefix(prefix)?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    let (number, tail) = rest.split_at(digits);
    if tail.starts_with(suffix) {
        number.parse().ok()
    } else {
        None
    }
}

/// Over https:// with `--self-signed`, Chromium loads the page over HTTP/2, and its
/// WebSocket rides that same connection as an extended CONNECT stream (RFC 8441). The page
/// says "HTTP/2" (the server's first message), and the server's log proves it: the page's
/// `GET /` and the WebSocket's CONNECT arrived over HTTP/2 on the same numbered TCP
/// connection, and no request used another connection.
#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn chromium_runs_the_websocket_over_the_pages_http2_connection() {
    let log = run_page(
        &["--runtime", "tokio", "--self-signed"],
        &["--expect-http-version", "HTTP/2"],
    );
    let page = log
        .iter()
        .find_map(|line| connection_number(line, "connection #", ": GET / over HTTP/2"))
        .unwrap_or_else(|| panic!("no GET / over HTTP/2 in the log: {log:#?}"));
    let websocket = log
        .iter()
        .find_map(|line| {
            let suffix = " over HTTP/2 (extended CONNECT)";
            connection_number(line, "websocket on connection #", suffix)
        })
        .unwrap_or_else(|| panic!("no WebSocket over HTTP/2 in the log: {log:#?}"));
    assert_eq!(
        page, websocket,
        "the WebSocket rode another connection: {log:#?}"
    );
    let ws_requests = log
        .iter()
        .filter(|line| line.starts_with(&format!("connection #{page}: CONNECT /ws over HTTP/2")))
        .count();
    assert_eq!(ws_requests, 1, "{log:#?}");
    // Chromium may open a spare connection ahead of need; every request still went over
    // the page's connection.
    let elsewhere: Vec<&String> = log
        .iter()
        .filter(|line| line.starts_with("connection #") && line.contains(" over HTTP/"))
        .filter(|line| !line.starts_with(&format!("connection #{page}: ")))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "requests on other connections: {elsewhere:#?}"
    );
}

/// With HTTP/2 turned off in Chromium, the same https:// page gets its WebSocket as an
/// HTTP/1.1 upgrade over TLS, and the page says so: the version it shows is the server's
/// knowledge, not a constant.
#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn chromium_without_http2_gets_the_websocket_over_http11_tls() {
    let log = run_page(
        &["--runtime", "tokio", "--self-signed"],
        &[
            "--expect-http-version",
            "HTTP/1.1",
            "--chromium-arg",
            "--disable-http2",
        ],
    );
    assert!(
        log.iter()
            .any(|line| line.contains(" over HTTP/1.1 (upgrade)") && line.starts_with("websocket")),
        "{log:#?}"
    );
    assert!(
        !log.iter().any(|line| line.contains("over HTTP/2")),
        "{log:#?}"
    );
}

/// The smol runtime serves https:// over HTTP/1.1 only (no ALPN `h2`): the page works and
/// says HTTP/1.1.
#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn the_echo_page_works_over_https_on_smol() {
    run_page(
        &["--runtime", "smol", "--self-signed"],
        &["--expect-http-version", "HTTP/1.1"],
    );
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

#[path = "../../../backplane/redis/tests/support/redis_server.rs"]
mod redis_server;

/// Issue #23: the room page in two tabs, each on another sample process (tokio and mio),
/// both joined to a real redis-server by `--backplane`: what one tab says, the other shows.
#[test]
#[ignore = "needs Chromium: run scripts/test"]
fn two_tabs_on_two_processes_share_a_room_over_redis() {
    let Some(redis) = redis_server::RedisServer::start() else {
        return;
    };
    let url = redis.url();
    let ports = [free_port(), free_port()];
    let (_tokio, _) = start_echo_server(ports[0], &["--runtime", "tokio", "--backplane", &url]);
    let (_mio, _) = start_echo_server(ports[1], &["--runtime", "mio", "--backplane", &url]);
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests-peers/browser/room-page.mjs");
    let mut browser = KillOnDrop(
        Command::new("node")
            .arg(&script)
            .args(ports.map(|port| format!("http://127.0.0.1:{port}/room")))
            .stdin(Stdio::null())
            .spawn()
            .expect("start node (is Node.js installed?)"),
    );
    // room-page.mjs bounds itself to 60 s; this is the backstop.
    let status = wait_bounded(&mut browser, Duration::from_secs(90));
    assert!(status.success(), "room-page.mjs failed: {status}");
}
