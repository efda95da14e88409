//! The cross-thread handle, its bounded queue, broadcast to all and to groups (within a loop
//! and across loops), and the slow-consumer policy.

mod server_support;

use std::io::Write;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ropeway_core::{Config as CoreConfig, Limits, ServerConfig};
use ropeway_mio::client::{self, WebSocket};
use ropeway_mio::server::{
    Closed, Config, ConnId, Context, Decision, HandleError, Handler, Incoming, SendError,
    SlowConsumer,
};
use ropeway_mio::{Bytes, CloseFrame, Message, MessageKind, PreparedMessage};
use server_support::{TestServer, raw, read_head, upgrade_request};

/// What the tests learn from the handler.
#[derive(Debug)]
enum Seen {
    Open(ConnId),
    Dropped(ConnId),
    Closed(ConnId, Closed),
    Queued(usize),
}

/// Joins the group named by the query; "shout X" broadcasts X to the group; a text
/// "block" makes the handler wait for the gate (to fill the loop's queue).
#[derive(Clone)]
struct Rooms {
    seen: Sender<Seen>,
    gate: Arc<Mutex<Option<Receiver<()>>>>,
}

impl Handler for Rooms {
    type Conn = Option<String>;

    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<Option<String>> {
        Decision::accept(request.query().map(str::to_owned))
    }

    fn on_open(&mut self, cx: &mut Context<'_>, id: ConnId, room: &mut Option<String>) {
        if let Some(room) = room {
            assert!(cx.join(id, room));
        }
        let _ = self.seen.send(Seen::Open(id));
    }

    fn on_message(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        room: &mut Option<String>,
        message: Message,
    ) {
        match message.as_text() {
            Some("block") => {
                if let Some(gate) = self.gate.lock().expect("lock").as_ref() {
                    let _ = gate.recv_timeout(Duration::from_secs(10));
                }
            }
            Some(text) if text.starts_with("shout ") => {
                let line =
                    PreparedMessage::new(MessageKind::Text, Bytes::from(text[6..].to_owned()));
                let group = room.clone().unwrap_or_default();
                cx.broadcast_to(&group, &line);
            }
            Some("queued") => {
                let queued = cx.queued_output(id).unwrap_or(usize::MAX);
                let _ = self.seen.send(Seen::Queued(queued));
            }
            _ => {
                let _ = cx.send(id, message);
            }
        }
    }

    fn on_dropped(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut Option<String>) {
        let queued = cx.queued_output(id).unwrap_or(0);
        let _ = self.seen.send(Seen::Queued(queued));
        let _ = self.seen.send(Seen::Dropped(id));
    }

    fn on_close(&mut self, _: &mut Context<'_>, id: ConnId, _: Option<String>, closed: Closed) {
        let _ = self.seen.send(Seen::Closed(id, closed));
    }
}

fn start(config: Config) -> (TestServer, Receiver<Seen>, Sender<()>) {
    let (seen, rx) = channel();
    let (open_gate, gate) = channel();
    let handler = Rooms {
        seen,
        gate: Arc::new(Mutex::new(Some(gate))),
    };
    (TestServer::start(config, handler), rx, open_gate)
}

fn opened(rx: &Receiver<Seen>) -> ConnId {
    loop {
        match rx.recv_timeout(Duration::from_secs(10)).expect("an event") {
            Seen::Open(id) => return id,
            _ => continue,
        }
    }
}

fn connect(server: &TestServer, query: &str) -> WebSocket {
    client::connect(&server.url(&format!("/ws{query}")))
        .expect("connect")
        .0
}

/// The next data message (pings skipped).
fn recv_data(ws: &mut WebSocket) -> Message {
    loop {
        match ws.recv().expect("a message").expect("ok") {
            Message::Ping(_) | Message::Pong(_) => continue,
            message => return message,
        }
    }
}

#[test]
fn a_handle_sends_to_and_closes_a_connection_from_another_thread() {
    let (server, seen, _gate) = start(Config::default());
    let mut ws = connect(&server, "");
    let id = opened(&seen);
    let handle = server.handle.clone();
    std::thread::spawn(move || {
        handle.send(id, Message::text("from afar")).expect("queued");
        handle
            .close(id, Some(CloseFrame::new(4002, "done")))
            .expect("queued");
    })
    .join()
    .expect("the sending thread");
    assert_eq!(recv_data(&mut ws), Message::text("from afar"));
    match ws.recv() {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4002),
        other => panic!("expected the close, got {other:?}"),
    }
}

#[test]
fn the_handle_queue_is_bounded_and_reports_full() {
    let config = Config {
        queue_capacity: 4,
        ..Config::default()
    };
    let (server, seen, gate) = start(config);
    let mut ws = connect(&server, "");
    let id = opened(&seen);
    // The loop is stuck in the handler: nothing drains its queue.
    ws.send(Message::text("block")).expect("send");
    std::thread::sleep(Duration::from_millis(100));
    let mut accepted = 0;
    let mut full = false;
    for n in 0..100 {
        match server.handle.send(id, Message::text(format!("{n}"))) {
            Ok(()) => accepted += 1,
            Err(HandleError::Full) => {
                full = true;
                break;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(full, "the queue never filled");
    assert_eq!(accepted, 4);
    gate.send(()).expect("release the loop");
    for n in 0..accepted {
        assert_eq!(recv_data(&mut ws), Message::text(format!("{n}")));
    }
}

#[test]
fn broadcast_reaches_every_connection_on_every_loop_encoded_once() {
    let config = Config {
        loops: 2,
        ..Config::default()
    };
    let (server, seen, _gate) = start(config);
    // Connect until both loops serve someone (the loops share the listener: whichever
    // wakes first accepts), bounded.
    let mut clients = Vec::new();
    let mut loops = std::collections::HashSet::new();
    while loops.len() < 2 && clients.len() < 40 {
        clients.push(connect(&server, ""));
        loops.insert(opened(&seen).loop_index());
    }
    assert_eq!(loops.len(), 2, "every connection went to one loop");
    let message = PreparedMessage::new(MessageKind::Text, Bytes::from_static(b"to all"));
    server.handle.broadcast(&message).expect("queued");
    for ws in &mut clients {
        assert_eq!(recv_data(ws), Message::text("to all"));
    }
}

#[test]
fn a_group_broadcast_reaches_its_members_only_within_a_loop_and_across_loops() {
    let config = Config {
        loops: 2,
        ..Config::default()
    };
    let (server, seen, _gate) = start(config);
    let mut members: Vec<WebSocket> = (0..4).map(|_| connect(&server, "?red")).collect();
    let mut others: Vec<WebSocket> = (0..2).map(|_| connect(&server, "?blue")).collect();
    for _ in 0..6 {
        opened(&seen);
    }
    // Across loops, from the handle.
    let red = PreparedMessage::new(MessageKind::Text, Bytes::from_static(b"red news"));
    server.handle.broadcast_to("red", &red).expect("queued");
    // From a handler: member 0 shouts to the red members (every loop's).
    members[0]
        .send(Message::text("shout loop news"))
        .expect("send");
    let everyone = PreparedMessage::new(MessageKind::Text, Bytes::from_static(b"marker"));
    std::thread::sleep(Duration::from_millis(200));
    server.handle.broadcast(&everyone).expect("queued");
    for ws in &mut members {
        let mut got = Vec::new();
        loop {
            let message = recv_data(ws);
            if message == Message::text("marker") {
                break;
            }
            got.push(message);
        }
        assert!(got.contains(&Message::text("red news")), "{got:?}");
    }
    for ws in &mut others {
        // Nothing for the red group came before the marker.
        assert_eq!(recv_data(ws), Message::text("marker"));
    }
}

#[test]
fn a_group_broadcast_from_a_handler_reaches_its_members_on_every_loop() {
    let config = Config {
        loops: 2,
        ..Config::default()
    };
    let (server, seen, _gate) = start(config);
    // Members of one room until they span both loops (whichever loop wakes first accepts),
    // bounded; the README's chat did this with `loops: 2` and split into silent halves.
    let mut members = Vec::new();
    let mut loops = std::collections::HashSet::new();
    while loops.len() < 2 && members.len() < 40 {
        members.push(connect(&server, "?red"));
        loops.insert(opened(&seen).loop_index());
    }
    assert_eq!(loops.len(), 2, "every connection went to one loop");
    let mut outsider = connect(&server, "?blue");
    opened(&seen);
    members[0]
        .send(Message::text("shout to the room"))
        .expect("send");
    for ws in &mut members {
        assert_eq!(recv_data(ws), Message::text("to the room"));
    }
    let everyone = PreparedMessage::new(MessageKind::Text, Bytes::from_static(b"marker"));
    server.handle.broadcast(&everyone).expect("queued");
    assert_eq!(recv_data(&mut outsider), Message::text("marker"));
}

fn small_output_limit(policy: SlowConsumer) -> Config {
    Config {
        websocket: ServerConfig {
            core: CoreConfig {
                limits: Limits {
                    max_queued_output: 64 << 10,
                    ..Limits::default()
                },
                write_stall_timeout: Some(Duration::from_millis(500)),
                ..CoreConfig::default()
            },
            ..ServerConfig::default()
        },
        slow_consumer: policy,
        ..Config::default()
    }
}

/// A raw, upgraded peer that never reads.
fn never_reading(server: &TestServer) -> std::net::TcpStream {
    let mut tcp = raw(server.addr);
    tcp.write_all(upgrade_request("/ws", "").as_bytes())
        .expect("write");
    assert!(read_head(&mut tcp).starts_with("HTTP/1.1 101"));
    tcp
}

#[test]
fn a_slow_consumer_loses_messages_not_memory_with_the_drop_policy() {
    let (server, seen, _gate) = start(small_output_limit(SlowConsumer::Drop));
    let _peer = never_reading(&server);
    let id = opened(&seen);
    let chunk = Message::Binary(Bytes::from(vec![7u8; 16 << 10]));
    // Far more than the socket buffers and the limit hold together.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut dropped = 0;
    let mut max_queued = 0;
    while dropped < 3 && Instant::now() < deadline {
        match server.handle.send(id, chunk.clone()) {
            Ok(()) | Err(HandleError::Full) => {}
            Err(e) => panic!("{e}"),
        }
        while let Ok(event) = seen.try_recv() {
            match event {
                Seen::Dropped(dropped_id) => {
                    assert_eq!(dropped_id, id);
                    dropped += 1;
                }
                Seen::Queued(queued) => max_queued = max_queued.max(queued),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(dropped >= 3, "no message was dropped");
    // The limit plus at most one message.
    assert!(max_queued <= (64 << 10) + (16 << 10), "{max_queued}");
    assert!(max_queued > 0);
}

#[test]
fn a_slow_consumer_is_closed_with_the_close_policy() {
    let (server, seen, _gate) = start(small_output_limit(SlowConsumer::Close(1008.into())));
    let _peer = never_reading(&server);
    let id = opened(&seen);
    let chunk = Message::Binary(Bytes::from(vec![7u8; 16 << 10]));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(
            Instant::now() < deadline,
            "the slow consumer was never closed"
        );
        match server.handle.send(id, chunk.clone()) {
            Ok(()) | Err(HandleError::Full) => {}
            Err(e) => panic!("{e}"),
        }
        if let Ok(Seen::Closed(closed_id, closed)) = seen.try_recv() {
            assert_eq!(closed_id, id);
            // The peer never read the close frame: the write stall timeout ended it.
            assert!(closed.error.is_some());
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn send_reports_a_connection_that_is_gone() {
    #[derive(Clone)]
    struct Stale(Arc<Mutex<Vec<Result<(), String>>>>);
    impl Handler for Stale {
        type Conn = ();
        fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
            Decision::accept(())
        }
        fn on_message(&mut self, _: &mut Context<'_>, _: ConnId, _: &mut (), _: Message) {}
        fn on_close(&mut self, cx: &mut Context<'_>, id: ConnId, _: (), _: Closed) {
            let result = cx
                .send(id, Message::text("too late"))
                .map_err(|e| e.to_string());
            assert!(matches!(
                cx.send(id, Message::text("x")),
                Err(SendError::NotOpen)
            ));
            self.0.lock().expect("lock").push(result);
        }
    }
    let results = Arc::new(Mutex::new(Vec::new()));
    let server = TestServer::start(Config::default(), Stale(results.clone()));
    let (mut ws, _) = client::connect(&server.url("/ws")).expect("connect");
    ws.close(None).expect("close");
    let deadline = Instant::now() + Duration::from_secs(10);
    while results.lock().expect("lock").is_empty() {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(results.lock().expect("lock")[0].is_err());
}
