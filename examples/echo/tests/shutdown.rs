//! The sample on Ctrl-C (issue #20, bug 5): on every runtime, SIGINT closes every client's
//! WebSocket with 1001 and a clean close handshake, then the process exits with 0.
//!
//! Each case starts the real `ropeway-echo` binary on a free port of 127.0.0.1 and sends it
//! SIGINT with `kill -INT`. Linux only; loopback only; bounded in time.

#![cfg(target_os = "linux")]

mod sample;

use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ropeway_mio::client;
use ropeway_mio::{CloseCode, CloseFrame, Message};
use sample::Server;

/// Clients connected when Ctrl-C comes.
const CLIENTS: usize = 3;

/// The longest the sample may take to exit after SIGINT: its shutdown timeout is 5 s, and
/// clients that answer at once need far less.
const EXIT_LIMIT: Duration = Duration::from_secs(15);

/// How one client's WebSocket ended: the close frame received, and whether `recv` then
/// said `None` (the close handshake done) or an error.
type Ending = (Option<Message>, Result<(), String>);

fn ctrl_c_closes_every_client_with_1001_and_exits_0(runtime: &str) {
    let mut server = Server::start(runtime, None);
    let url = format!("ws://{}/ws", server.addr);
    let (ready_tx, ready) = mpsc::channel();
    let (ended_tx, ended) = mpsc::channel::<Ending>();
    for _ in 0..CLIENTS {
        let (url, ready_tx, ended_tx) = (url.clone(), ready_tx.clone(), ended_tx.clone());
        thread::spawn(move || {
            let (mut ws, _) = client::connect(&url).expect("connect");
            ws.send(Message::text("hello")).expect("send");
            assert_eq!(
                ws.recv().expect("echo").expect("ok"),
                Message::text("hello")
            );
            ready_tx.send(()).expect("ready");
            let mut close = None;
            let end = loop {
                match ws.recv() {
                    Some(Ok(message @ Message::Close(_))) => close = Some(message),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break Err(format!("{e:?}")),
                    None => break Ok(()),
                }
            };
            let _ = ended_tx.send((close, end));
        });
    }
    for _ in 0..CLIENTS {
        ready
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|e| {
                panic!(
                    "{runtime}: a client did not connect ({e}): {:?}",
                    server.log()
                )
            });
    }
    let interrupted = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(interrupted.success());
    let going_away = Message::Close(Some(CloseFrame::new(CloseCode::GOING_AWAY, "going away")));
    for _ in 0..CLIENTS {
        let (close, end) = ended.recv_timeout(EXIT_LIMIT).unwrap_or_else(|e| {
            panic!("{runtime}: a client never ended ({e}): {:?}", server.log())
        });
        assert_eq!(close.as_ref(), Some(&going_away), "{runtime}: {end:?}");
        assert_eq!(
            end,
            Ok(()),
            "{runtime}: the close handshake did not complete"
        );
    }
    // No event tells a parent that its child exited short of a blocking wait: poll.
    let start = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            start.elapsed() < EXIT_LIMIT,
            "{runtime}: still running after SIGINT: {:?}",
            server.log()
        );
        thread::sleep(Duration::from_millis(20));
    };
    assert!(
        status.success(),
        "{runtime}: {status:?}: {:?}",
        server.log()
    );
}

#[test]
fn ctrl_c_on_tokio_closes_every_client_with_1001_and_exits_0() {
    ctrl_c_closes_every_client_with_1001_and_exits_0("tokio");
}

#[test]
fn ctrl_c_on_smol_closes_every_client_with_1001_and_exits_0() {
    ctrl_c_closes_every_client_with_1001_and_exits_0("smol");
}

#[test]
fn ctrl_c_on_mio_closes_every_client_with_1001_and_exits_0() {
    ctrl_c_closes_every_client_with_1001_and_exits_0("mio");
}

/// A client that completes the opening handshake and then never answers: Ctrl-C's close
/// handshake with it runs until the shutdown timeout (5 s).
fn silent_client(addr: std::net::SocketAddr) -> std::net::TcpStream {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.write_all(
        b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .expect("request");
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        tcp.read_exact(&mut byte).expect("the 101");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
    tcp
}

fn ctrl_c_closes_the_listener_while_close_handshakes_run(runtime: &str) {
    use std::io::Read;
    let server = Server::start(runtime, None);
    let mut silent = silent_client(server.addr);
    let interrupted = Command::new("kill")
        .args(["-INT", &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(interrupted.success());
    // The 1001 arrives: the shutdown has begun, and the server waits for an answer.
    let mut close = [0; 2];
    silent.read_exact(&mut close).expect("the close frame");
    assert_eq!(close[0], 0x88, "a close frame");
    // A moment for the accept loops to see the shutdown (it began before the 1001 went
    // out); then a new client is refused, not accepted by a listener nobody serves any more.
    thread::sleep(Duration::from_millis(200));
    let refused = std::net::TcpStream::connect(server.addr);
    assert!(
        matches!(&refused, Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused),
        "{runtime}: still listening during the shutdown: {refused:?}: {:?}",
        server.log()
    );
}

#[test]
fn ctrl_c_on_tokio_closes_the_listener_while_close_handshakes_run() {
    ctrl_c_closes_the_listener_while_close_handshakes_run("tokio");
}

#[test]
fn ctrl_c_on_smol_closes_the_listener_while_close_handshakes_run() {
    ctrl_c_closes_the_listener_while_close_handshakes_run("smol");
}

#[test]
fn ctrl_c_on_mio_closes_the_listener_while_close_handshakes_run() {
    ctrl_c_closes_the_listener_while_close_handshakes_run("mio");
}
