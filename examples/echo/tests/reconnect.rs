//! The reconnecting clients against the real `ropeway-echo` process: start it on a free port
//! of 127.0.0.1, connect, kill the process, start it again on the same port, and see the
//! client come back by itself, the application seeing the drop and the reconnect. Short
//! backoff settings keep each case within seconds; every wait is bounded.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ropeway_core::reconnect::{Disconnect, Reconnect, ReconnectPolicy};
use ropeway_core::{HandshakeError, Message};

/// How long the server may take to listen, and the client to come back.
const LIMIT: Duration = Duration::from_secs(15);

/// A running `ropeway-echo`, killed when dropped.
struct Server(Child);

impl Server {
    /// Starts the sample on `addr` with `runtime` and waits until it says it listens.
    fn start(addr: SocketAddr, runtime: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ropeway-echo"))
            .args(["--listen", &addr.to_string(), "--runtime", runtime])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ropeway-echo");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, listening) = mpsc::channel();
        // Drains stdout for the process's whole life, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("listening on") {
                    let _ = tx.send(());
                }
            }
        });
        let server = Server(child);
        listening
            .recv_timeout(LIMIT)
            .expect("ropeway-echo says it listens");
        server
    }

    /// Kills the process (SIGKILL: no close frames, the connections just end) and reaps it.
    fn kill(mut self) {
        self.0.kill().expect("kill ropeway-echo");
        self.0.wait().expect("reap ropeway-echo");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local_addr")
}

fn fast() -> ReconnectPolicy {
    ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        ..ReconnectPolicy::default()
    }
}

/// What the application saw, in order, for the assertions.
#[derive(Debug, PartialEq)]
enum Seen {
    Connected,
    Echo(String),
    /// Dropped from an open connection (the kill).
    Dropped,
    /// An attempt refused while the server was down.
    Refused,
}

fn seen(event: &Reconnect) -> Seen {
    match event {
        Reconnect::Connected(response) => {
            assert_eq!(response.status(), 101);
            Seen::Connected
        }
        Reconnect::Message(message) => Seen::Echo(message.as_text().unwrap_or("?").to_owned()),
        Reconnect::Disconnected {
            cause: Disconnect::Failed(ropeway_core::Error::Io(e)),
            ..
        } if e.kind() == std::io::ErrorKind::ConnectionRefused => Seen::Refused,
        Reconnect::Disconnected { .. } => Seen::Dropped,
        Reconnect::Stopped { cause, .. } => panic!("the client gave up: {cause}"),
    }
}

/// The script both clients follow, written once over `recv` and `send` closures: echo, the
/// kill (of `server`, up on `addr` with `runtime`), a few refusals, the restart, the way back, echo again. Returns the restarted
/// server, to keep it up while the client closes.
fn kill_and_restart(
    (server, addr, runtime): (Server, SocketAddr, &str),
    mut recv: impl FnMut() -> Reconnect,
    mut send: impl FnMut(Message),
) -> Server {
    assert_eq!(seen(&recv()), Seen::Connected);
    send(Message::text("before"));
    assert_eq!(seen(&recv()), Seen::Echo("before".into()));

    server.kill();
    assert_eq!(seen(&recv()), Seen::Dropped, "the kill is a drop");
    // Down: the attempts are refused (at 50, 100, 200 ms …) until the server is back.
    assert_eq!(seen(&recv()), Seen::Refused);

    let server = Server::start(addr, runtime);
    let started = Instant::now();
    loop {
        match seen(&recv()) {
            Seen::Connected => break,
            Seen::Refused => assert!(started.elapsed() < LIMIT, "never came back"),
            other => panic!("expected refusals then Connected, got {other:?}"),
        }
    }
    // Within a few capped waits (200 ms) of the restart, not the default 30 s.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    send(Message::text("after"));
    assert_eq!(seen(&recv()), Seen::Echo("after".into()));
    server
}

#[test]
#[ignore = "starts the real ropeway-echo binary: run scripts/test"]
fn the_tokio_client_comes_back_after_the_echo_process_is_killed_and_restarted() {
    let addr = free_addr();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let request =
        ropeway_tokio::ClientRequest::from_url(&format!("ws://{addr}/ws")).expect("a URL");
    let client = std::cell::RefCell::new(ropeway_tokio::Reconnecting::new(
        request,
        Default::default(),
        fast(),
    ));
    let bounded = |event: Option<Reconnect>| event.expect("an event");
    let server = Server::start(addr, "tokio");
    let _server = kill_and_restart(
        (server, addr, "tokio"),
        || {
            let mut client = client.borrow_mut();
            bounded(runtime.block_on(async {
                tokio::time::timeout(LIMIT, client.recv())
                    .await
                    .expect("an event in time")
            }))
        },
        |message| {
            let mut client = client.borrow_mut();
            runtime
                .block_on(client.send(message))
                .expect("sent while connected");
        },
    );
    runtime
        .block_on(client.borrow_mut().close(None))
        .expect("close");
}

#[test]
#[ignore = "starts the real ropeway-echo binary: run scripts/test"]
fn the_blocking_client_comes_back_after_the_echo_process_is_killed_and_restarted() {
    let addr = free_addr();
    let server = Server::start(addr, "mio");
    // The blocking client runs on a thread of its own, so that a hang fails the test in time.
    let (events_tx, events) = mpsc::channel();
    let (sends, sends_rx) = mpsc::channel::<Message>();
    std::thread::spawn(move || {
        let request =
            ropeway_mio::client::ClientRequest::from_url(&format!("ws://{addr}/ws")).unwrap();
        let mut client = ropeway_mio::client::Reconnecting::new(
            request,
            Default::default(),
            Default::default(),
            fast(),
        );
        while let Some(event) = client.recv() {
            let connected = matches!(event, Reconnect::Connected(_));
            if events_tx.send(event).is_err() {
                break;
            }
            // The script sends once after each Connected and each echo: wait for it here.
            if connected && let Ok(message) = sends_rx.recv() {
                client.send(message).expect("sent while connected");
            }
        }
    });
    let _server = kill_and_restart(
        (server, addr, "mio"),
        || events.recv_timeout(LIMIT).expect("an event in time"),
        |message| sends.send(message).expect("the client thread runs"),
    );
}

#[test]
#[ignore = "starts the real ropeway-echo binary: run scripts/test"]
fn a_path_the_echo_process_does_not_serve_stops_the_client() {
    let addr = free_addr();
    let _server = Server::start(addr, "smol");
    let request = ropeway_mio::client::ClientRequest::from_url(&format!("ws://{addr}/nowhere"))
        .expect("a URL");
    let mut client = ropeway_mio::client::Reconnecting::new(
        request,
        Default::default(),
        Default::default(),
        fast(),
    );
    match client.recv() {
        Some(Reconnect::Stopped {
            cause:
                Disconnect::Failed(ropeway_core::Error::Handshake(HandshakeError::Rejected {
                    status,
                    ..
                })),
            ..
        }) => assert!(status.is_client_error(), "{status}"),
        other => panic!("expected to stop on the 4xx, got {other:?}"),
    }
    assert!(client.recv().is_none());
}
