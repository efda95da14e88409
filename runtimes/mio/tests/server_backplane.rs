//! Two event-loop servers (two loops each) joined over a real redis-server, each with its
//! own RedisBackplane and server id, blocking clients on both: a group spans the servers,
//! a member that left gets nothing, a connection on the other server is reached by its
//! GlobalId, and a broadcast is published once, not once per loop. And, without Redis, a
//! recording backplane: what a server tells its backplane, and what it does with what the
//! backplane delivers.

#[path = "../../../backplane/redis/tests/support/redis_server.rs"]
mod redis_server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis_server::{RedisServer, eventually};
use ropeway_core::backplane::{Backplane, GlobalId, LocalDelivery, ServerId, Target};
use ropeway_mio::client::{self, ClientConfig, ClientRequest, Options, WebSocket};
use ropeway_mio::server::{Config, ConnId, Context, Decision, Handler, Incoming, Running, Server};
use ropeway_mio::{Bytes, Message, MessageKind, PreparedMessage};
use ropeway_redis::{RedisBackplane, RedisOptions};

const WAIT: Duration = Duration::from_secs(5);

/// Text commands: `join G`, `leave G` (answered `joined G` / `left G`), `say G TEXT` (to
/// the group on every server), `all TEXT`, `to SERVER CONN TEXT` (one connection, maybe on
/// the other server). Each connection is told its global id first: `id SERVER CONN`.
#[derive(Clone)]
struct Rooms;

impl Handler for Rooms {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_open(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut ()) {
        let global = cx.global_id(id).expect("joined to a backplane");
        let hello = format!("id {} {}", global.server.0, global.connection);
        let _ = cx.send(id, Message::text(hello));
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        let Some(text) = message.as_text() else {
            return;
        };
        let words: Vec<&str> = text.splitn(4, ' ').collect();
        let prepared =
            |text: &str| PreparedMessage::new(MessageKind::Text, Bytes::from(text.to_owned()));
        match words.as_slice() {
            ["join", group] => {
                assert!(cx.join(id, group));
                let _ = cx.send(id, Message::text(format!("joined {group}")));
            }
            ["leave", group] => {
                cx.leave(id, group);
                let _ = cx.send(id, Message::text(format!("left {group}")));
            }
            ["say", group, rest @ ..] => {
                let sent = cx.broadcast_to(group, &prepared(&rest.join(" ")));
                assert!(sent.published);
            }
            ["all", rest @ ..] => {
                cx.broadcast(&prepared(&rest.join(" ")));
            }
            ["to", server, connection, rest] => {
                let to = GlobalId {
                    server: ServerId(server.parse().expect("server")),
                    connection: connection.parse().expect("connection"),
                };
                cx.send_to(to, &prepared(rest)).expect("sent");
            }
            _ => panic!("unknown command {text}"),
        }
    }
}

/// One server and its backplane.
struct Node {
    backplane: RedisBackplane,
    running: Option<Running>,
    url: String,
}

impl Node {
    fn start(redis: &RedisServer) -> Node {
        let server = Server::bind(
            "127.0.0.1:0",
            Config {
                loops: 2,
                ..Config::default()
            },
        )
        .expect("bind");
        let url = format!("ws://{}/", server.local_addr().expect("addr"));
        let options = RedisOptions {
            prefix: "mio-test".into(),
            ..RedisOptions::default()
        };
        let backplane = RedisBackplane::start(&redis.url(), options, Arc::new(server.handle()))
            .expect("backplane");
        assert!(backplane.wait_connected(WAIT), "{:?}", backplane.stats());
        let running = server
            .with_backplane(Arc::new(backplane.clone()))
            .spawn(Rooms)
            .expect("spawn");
        Node {
            backplane,
            running: Some(running),
            url,
        }
    }

    /// A client and its global id.
    fn connect(&self) -> (WebSocket, String) {
        let request = ClientRequest::from_url(&self.url).expect("url");
        let options = Options::default().read_timeout(Some(WAIT));
        let (mut ws, _) =
            client::connect_with(request, &ClientConfig::default(), options).expect("connect");
        let hello = next(&mut ws);
        let id = hello.strip_prefix("id ").expect("an id first").to_owned();
        (ws, id)
    }

    fn channels(&self) -> usize {
        self.backplane.stats().subscribed_channels
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop();
        }
        self.backplane.stop();
    }
}

/// The next text message (a read times out after WAIT: a message that never came fails).
fn next(ws: &mut WebSocket) -> String {
    loop {
        match ws.recv().expect("open").expect("a message in time") {
            Message::Text(text) => return text.as_str().to_owned(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn command(ws: &mut WebSocket, text: &str) {
    ws.send(Message::text(text.to_owned())).expect("send");
}

#[test]
fn groups_and_connections_span_two_mio_servers_over_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let a = Node::start(&redis);
    let b = Node::start(&redis);
    let (mut a_member, _) = a.connect();
    let (mut a_other, _) = a.connect();
    let (mut b_member, _) = b.connect();
    let (mut b_left, _) = b.connect();
    let (mut b_other, b_other_id) = b.connect();

    for ws in [&mut a_member, &mut b_member, &mut b_left] {
        command(ws, "join red");
        assert_eq!(next(ws), "joined red");
    }
    command(&mut b_left, "leave red");
    assert_eq!(next(&mut b_left), "left red");
    // all, the server's channel and red, on both; red stays on b with one member left.
    assert!(eventually(WAIT, || a.channels() == 3 && b.channels() == 3));

    command(&mut a_member, "say red hello");
    assert_eq!(next(&mut a_member), "hello");
    assert_eq!(next(&mut b_member), "hello");

    // To one connection on the other server.
    command(&mut a_other, &format!("to {b_other_id} psst"));
    assert_eq!(next(&mut b_other), "psst");

    // A marker to everyone: whoever got nothing above sees it first (messages from one
    // server keep their order), and nobody sees anything twice.
    command(&mut a_other, "all marker");
    for ws in [
        &mut a_member,
        &mut a_other,
        &mut b_member,
        &mut b_left,
        &mut b_other,
    ] {
        assert_eq!(next(ws), "marker");
    }
    command(&mut b_other, "all back");
    for ws in [
        &mut a_member,
        &mut a_other,
        &mut b_member,
        &mut b_left,
        &mut b_other,
    ] {
        assert_eq!(next(ws), "back");
    }
    // Each broadcast published once, whatever the number of loops. The count goes up when
    // Redis answers the PUBLISH, which may come after the subscribers got the message.
    assert!(
        eventually(WAIT, || a.backplane.stats().published == 3
            && b.backplane.stats().published == 1),
        "{:?} {:?}",
        a.backplane.stats(),
        b.backplane.stats()
    );
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert_eq!(
        a.backplane.stats().published,
        3,
        "published once, not per loop"
    );
    assert_eq!(
        b.backplane.stats().published,
        1,
        "published once, not per loop"
    );

    // The last member on b goes away: b lets go of red's channel.
    drop(b_member);
    assert!(
        eventually(WAIT, || b.channels() == 2),
        "{:?}",
        b.backplane.stats()
    );
    assert_eq!(a.channels(), 3);
}

/// What a server told its backplane.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Publish(Target, String),
    Join(String),
    Leave(String),
}

#[derive(Default)]
struct Recording(Mutex<Vec<Call>>);

impl Recording {
    fn taken(&self) -> Vec<Call> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Backplane for Recording {
    fn server_id(&self) -> ServerId {
        ServerId(7)
    }

    fn publish(&self, target: Target, _: MessageKind, payload: Bytes) {
        let text = String::from_utf8_lossy(&payload).into_owned();
        self.0.lock().unwrap().push(Call::Publish(target, text));
    }

    fn join(&self, group: &str) {
        self.0.lock().unwrap().push(Call::Join(group.to_owned()));
    }

    fn leave(&self, group: &str) {
        self.0.lock().unwrap().push(Call::Leave(group.to_owned()));
    }
}

#[test]
fn a_server_tells_its_backplane_once_per_broadcast_and_membership_and_delivers_by_target() {
    let recording = Arc::new(Recording::default());
    let server = Server::bind(
        "127.0.0.1:0",
        Config {
            loops: 2,
            ..Config::default()
        },
    )
    .expect("bind");
    let url = format!("ws://{}/", server.local_addr().expect("addr"));
    let handle = server.handle();
    let running = server
        .with_backplane(recording.clone())
        .spawn(Rooms)
        .expect("spawn");
    let connect = || {
        let request = ClientRequest::from_url(&url).expect("url");
        let options = Options::default().read_timeout(Some(WAIT));
        let (mut ws, _) =
            client::connect_with(request, &ClientConfig::default(), options).expect("connect");
        let id = next(&mut ws)
            .strip_prefix("id ")
            .expect("an id first")
            .to_owned();
        (ws, id)
    };
    let (mut first, first_id) = connect();
    let (mut second, _) = connect();
    let (mut third, _) = connect();
    assert!(first_id.starts_with("7 "), "{first_id}");

    // One join per membership, whatever the calls; a leave when it ends, by leaving or by
    // the connection's end.
    for ws in [&mut first, &mut second] {
        command(ws, "join red");
        assert_eq!(next(ws), "joined red");
    }
    command(&mut first, "join red");
    assert_eq!(next(&mut first), "joined red");
    command(&mut first, "leave red");
    assert_eq!(next(&mut first), "left red");
    drop(second);
    assert!(eventually(WAIT, || recording.0.lock().unwrap().len() == 4));
    assert_eq!(
        recording.taken(),
        [
            Call::Join("red".into()),
            Call::Join("red".into()),
            Call::Leave("red".into()),
            Call::Leave("red".into()),
        ]
    );

    // One publish per broadcast (two loops), and one for a connection elsewhere.
    command(&mut third, "all one");
    assert_eq!(next(&mut first), "one");
    assert_eq!(next(&mut third), "one");
    command(&mut third, "to 8 42 psst");
    command(&mut third, "all two");
    assert_eq!(next(&mut third), "two");
    assert_eq!(next(&mut first), "two");
    assert_eq!(
        recording.taken(),
        [
            Call::Publish(Target::All, "one".into()),
            Call::Publish(
                Target::Connection(GlobalId {
                    server: ServerId(8),
                    connection: 42
                }),
                "psst".into()
            ),
            Call::Publish(Target::All, "two".into()),
        ]
    );

    // What other servers publish reaches the loops, and is not published again.
    let (server, connection) = first_id.split_once(' ').expect("two numbers");
    let first_global = GlobalId {
        server: ServerId(server.parse().unwrap()),
        connection: connection.parse().unwrap(),
    };
    let text = |t: &str| PreparedMessage::new(MessageKind::Text, Bytes::from(t.to_owned()));
    handle.deliver(&Target::AllExcept(first_global), &text("not first"));
    handle.deliver(&Target::Connection(first_global), &text("only first"));
    handle.deliver(
        &Target::Connection(GlobalId {
            server: ServerId(8),
            connection: first_global.connection,
        }),
        &text("another server's"),
    );
    handle.deliver(&Target::All, &text("everyone"));
    assert_eq!(next(&mut third), "not first");
    assert_eq!(next(&mut third), "everyone");
    assert_eq!(next(&mut first), "only first");
    assert_eq!(next(&mut first), "everyone");
    assert!(recording.taken().is_empty());
    // The clients go first: a stop waits for open connections' close handshakes.
    drop((first, third));
    running.stop().expect("stop");
}
