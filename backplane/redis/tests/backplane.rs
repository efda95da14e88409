//! Two backplanes on one real redis-server, each with a recorder for what reaches its
//! server: who gets what, what is refused, and what happens when Redis goes away.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ropeway_core::backplane::{Backplane, Envelope, GlobalId, LocalDelivery, ServerId, Target};
use ropeway_core::{MessageKind, PreparedMessage};
use ropeway_redis::{RedisBackplane, RedisEvent, RedisOptions};
use support::redis_server::{RedisServer, eventually};

const WAIT: Duration = Duration::from_secs(5);

/// What reached one server: (target, payload) in order.
#[derive(Default)]
struct Recorder(Mutex<Vec<(Target, String)>>);

impl LocalDelivery for Recorder {
    fn deliver(&self, target: &Target, message: &PreparedMessage) {
        let text = String::from_utf8_lossy(message.payload()).into_owned();
        self.0.lock().unwrap().push((target.clone(), text));
    }
}

impl Recorder {
    fn taken(&self) -> Vec<(Target, String)> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

/// Short timeouts and backoff: the tests see a dead Redis and its return in a second.
fn options() -> RedisOptions {
    RedisOptions {
        prefix: "test".into(),
        io_timeout: Duration::from_millis(500),
        connect_timeout: Duration::from_millis(500),
        reconnect: ropeway_core::reconnect::ReconnectPolicy {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(300),
            ..Default::default()
        },
        ..RedisOptions::default()
    }
}

fn start(url: &str, options: RedisOptions) -> (RedisBackplane, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let backplane = RedisBackplane::start(url, options, recorder.clone()).expect("start");
    assert!(
        backplane.wait_connected(WAIT),
        "not connected: {:?}",
        backplane.stats()
    );
    (backplane, recorder)
}

fn text(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

#[test]
fn all_group_and_connection_messages_reach_the_right_server_and_never_echo() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (a, a_got) = start(&redis.url(), options());
    let (b, b_got) = start(&redis.url(), options());
    b.join("room");
    b.join("room"); // two local members: one subscription
    assert!(eventually(WAIT, || b.stats().subscribed_channels == 3));

    let to_b = GlobalId {
        server: b.server_id(),
        connection: 7,
    };
    let elsewhere = GlobalId {
        server: ServerId(1),
        connection: 7,
    };
    a.publish(Target::All, MessageKind::Text, text("all"));
    a.publish(
        Target::Group("room".into()),
        MessageKind::Text,
        text("room"),
    );
    a.publish(
        Target::Group("hall".into()),
        MessageKind::Text,
        text("hall"),
    );
    a.publish(
        Target::Connection(elsewhere),
        MessageKind::Text,
        text("elsewhere"),
    );
    a.publish(Target::Connection(to_b), MessageKind::Text, text("one"));
    a.publish(Target::AllExcept(to_b), MessageKind::Text, text("others"));
    assert!(eventually(WAIT, || b_got.len() == 4), "{:?}", b.stats());
    assert_eq!(
        b_got.taken(),
        [
            (Target::All, "all".to_owned()),
            (Target::Group("room".into()), "room".to_owned()),
            (Target::Connection(to_b), "one".to_owned()),
            (Target::AllExcept(to_b), "others".to_owned()),
        ]
    );
    // a hears its own `all` messages back from Redis, and skips them.
    assert!(eventually(WAIT, || a.stats().own_skipped == 2));
    assert!(a_got.taken().is_empty());
    assert_eq!(a.stats().published, 6);

    // One member leaves: still subscribed. The last leaves: the group's messages stop.
    b.leave("room");
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(b.stats().subscribed_channels, 3);
    b.leave("room");
    assert!(eventually(WAIT, || b.stats().subscribed_channels == 2));
    a.publish(
        Target::Group("room".into()),
        MessageKind::Text,
        text("late"),
    );
    a.publish(Target::All, MessageKind::Text, text("marker"));
    // Messages from one server keep their order: once the marker is in, the group
    // message would have been too.
    assert!(eventually(WAIT, || b_got.len() == 1));
    assert_eq!(b_got.taken(), [(Target::All, "marker".to_owned())]);
    a.stop();
    b.stop();
}

#[test]
fn broken_foreign_and_oversized_envelopes_are_counted_not_delivered() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let (b, b_got) = start(
        &redis.url(),
        RedisOptions {
            max_envelope_size: 1024,
            ..options()
        },
    );
    let mut raw = redis.client();
    let publish = |raw: &mut redis::Connection, channel: &str, bytes: Vec<u8>| {
        redis::cmd("PUBLISH")
            .arg(channel)
            .arg(bytes)
            .exec(raw)
            .unwrap();
    };
    let envelope = |target: Target, payload: Vec<u8>| {
        Envelope {
            origin: ServerId(99),
            target,
            kind: MessageKind::Binary,
            payload: payload.into(),
        }
        .encode()
    };
    publish(&mut raw, "test:all", b"not an envelope".to_vec());
    publish(
        &mut raw,
        "test:all",
        envelope(Target::Group("room".into()), vec![1]),
    );
    publish(&mut raw, "test:all", envelope(Target::All, vec![0; 2000]));
    let mut bad_text = envelope(Target::All, b"ok".to_vec());
    bad_text[10] = 1; // kind: text
    bad_text.push(0xff);
    publish(&mut raw, "test:all", bad_text);
    publish(
        &mut raw,
        "test:all",
        envelope(Target::All, b"good".to_vec()),
    );
    assert!(eventually(WAIT, || b_got.len() == 1), "{:?}", b.stats());
    let stats = b.stats();
    assert_eq!(
        (stats.decode_errors, stats.too_large, stats.delivered),
        (3, 1, 1),
        "{stats:?}"
    );
    assert_eq!(b_got.taken(), [(Target::All, "good".to_owned())]);
}

#[test]
fn redis_killed_and_restarted_loss_is_counted_and_delivery_resumes() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let on_event: ropeway_redis::EventCallback =
        Arc::new(move |event: &RedisEvent| sink.lock().unwrap().push(event.clone()));
    let (a, _) = start(
        &redis.url(),
        RedisOptions {
            on_event: Some(on_event),
            ..options()
        },
    );
    let (b, b_got) = start(&redis.url(), options());
    a.publish(Target::All, MessageKind::Text, text("before"));
    assert!(eventually(WAIT, || b_got.len() == 1));

    redis.kill();
    assert!(eventually(WAIT, || !a.stats().connected && !b.stats().connected));
    let dropped_before = a.stats().publish_dropped;
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let started = Instant::now();
        a.publish(Target::All, MessageKind::Text, text(&format!("down {i}")));
        slowest = slowest.max(started.elapsed());
        std::thread::sleep(Duration::from_millis(20));
    }
    // A publish that waited on the dead link would take the I/O or connect timeout (500 ms);
    // the margin below is for a busy machine descheduling the test thread.
    assert!(
        slowest < Duration::from_millis(200),
        "a publish blocked for {slowest:?}"
    );
    assert_eq!(a.stats().publish_dropped - dropped_before, 20);

    let restarted = Instant::now();
    redis.restart();
    assert!(
        a.wait_connected(WAIT) && b.wait_connected(WAIT),
        "{:?} {:?}",
        a.stats(),
        b.stats()
    );
    a.publish(Target::All, MessageKind::Text, text("after"));
    assert!(eventually(WAIT, || b_got.len() == 2));
    eprintln!(
        "delivery resumed {:?} after the restart",
        restarted.elapsed()
    );
    let got: Vec<String> = b_got.taken().into_iter().map(|(_, text)| text).collect();
    assert_eq!(got, ["before", "after"]);
    assert!(a.stats().reconnects >= 2 && b.stats().reconnects >= 2);

    // The loss is reported in an event, once the publisher notices (at most a second).
    assert!(eventually(WAIT, || {
        let lost: u64 = events
            .lock()
            .unwrap()
            .iter()
            .map(|e| match e {
                RedisEvent::Lost { messages } => *messages,
                _ => 0,
            })
            .sum();
        lost == a.stats().publish_dropped
    }));
    let events = events.lock().unwrap();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RedisEvent::Disconnected { .. }))
    );
    assert!(matches!(
        events.last(),
        Some(RedisEvent::Connected { .. } | RedisEvent::Lost { .. })
    ));
}

#[test]
fn without_redis_start_returns_at_once_publish_drops_and_stop_is_prompt() {
    // A port nothing listens on: no redis-server needed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://user:sekrit@127.0.0.1:{port}");
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let options = RedisOptions {
        on_event: Some(Arc::new(move |event: &RedisEvent| {
            sink.lock().unwrap().push(event.clone())
        })),
        ..options()
    };
    let backplane = RedisBackplane::start(&url, options, Arc::new(Recorder::default())).unwrap();
    assert!(!backplane.url().contains("sekrit"));
    assert!(eventually(WAIT, || events.lock().unwrap().len() >= 2));
    backplane.publish(Target::All, MessageKind::Text, text("nobody"));
    assert_eq!(backplane.stats().publish_dropped, 1);
    assert!(!backplane.stats().connected);
    for event in events.lock().unwrap().iter() {
        assert!(
            matches!(event, RedisEvent::Disconnected { .. }),
            "{event:?}"
        );
        assert!(!format!("{event:?}").contains("sekrit"), "{event:?}");
    }
    let started = Instant::now();
    backplane.stop();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "stop took {:?}",
        started.elapsed()
    );
    assert!(
        RedisBackplane::start(
            "no-scheme",
            RedisOptions::default(),
            Arc::new(Recorder::default())
        )
        .is_err()
    );
}
