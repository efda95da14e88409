//! The sample's rooms (`/room?name=…`): on every runtime, a member's text reaches every
//! member of its room (itself included) and nobody in another room.
//!
//! Each case starts the real `ropeway-echo` binary on a free port of 127.0.0.1, with
//! ropeway-mio's blocking client as the members. Linux only; loopback only; bounded in time.

#![cfg(target_os = "linux")]

mod sample;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use ropeway_mio::Message;
use ropeway_mio::client::{self, WebSocket};
use sample::Server;

/// How long a case's clients may take: a missing message fails the case instead of
/// hanging it (the servers, owned by the test's thread, are killed as it unwinds).
const CASE_LIMIT: Duration = Duration::from_secs(30);

/// Runs `clients` on a thread of its own, failing if it panics or takes over [`CASE_LIMIT`].
pub fn bounded(clients: impl FnOnce() + Send + 'static) {
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        clients();
        let _ = done_tx.send(());
    });
    done.recv_timeout(CASE_LIMIT)
        .expect("the clients finished in time, without a panic");
}

/// A member of `room` on the server at `addr`.
pub fn member(addr: SocketAddr, room: &str) -> WebSocket {
    let url = format!("ws://{addr}/room?name={room}");
    let (ws, _) = client::connect(&url).expect("join the room");
    ws
}

/// The next text `ws` receives.
pub fn heard(ws: &mut WebSocket) -> String {
    match ws.recv() {
        Some(Ok(Message::Text(text))) => text.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Sends `text` from `from` and waits until `from` hears it back: then every member of the
/// room had it queued.
pub fn say(from: &mut WebSocket, text: &str) {
    from.send(Message::text(text)).expect("send");
    assert_eq!(heard(from), text);
}

fn a_text_reaches_its_room_and_no_other(runtime: &str) {
    let server = Server::start(runtime, None);
    let addr = server.addr;
    bounded(move || {
        let mut alice = member(addr, "kitchen");
        let mut bob = member(addr, "kitchen");
        let mut carol = member(addr, "garden");
        // Joined before the first message: each says hello and hears it back.
        say(&mut carol, "carol is in the garden");
        say(&mut alice, "hello kitchen");
        assert_eq!(heard(&mut bob), "hello kitchen");
        say(&mut bob, "hi alice");
        assert_eq!(heard(&mut alice), "hi alice");
        // Carol heard nothing of the kitchen: her next message is her own.
        say(&mut carol, "quiet here");
        for ws in [&mut alice, &mut bob, &mut carol] {
            ws.close(None).expect("close");
        }
    });
}

#[test]
fn tokio_a_text_reaches_its_room_and_no_other() {
    a_text_reaches_its_room_and_no_other("tokio");
}

#[test]
fn smol_a_text_reaches_its_room_and_no_other() {
    a_text_reaches_its_room_and_no_other("smol");
}

#[test]
fn mio_a_text_reaches_its_room_and_no_other() {
    a_text_reaches_its_room_and_no_other("mio");
}
