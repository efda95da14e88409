//! Groups and sends from anywhere through a [`Registry`]: a group message reaches exactly
//! its members (plain and split connections), leaving and ending end membership, all-but-one
//! skips one, a send reaches one connection, and a slow consumer meets the registry's policy
//! with its memory bounded.

use std::time::Duration;

use ropeway_async::{ConnectionId, Delivery, Registry};
use ropeway_core::{
    CloseCode, CloseFrame, Config, Limits, Message, MessageKind, PreparedMessage, ServerConfig,
    SlowConsumer,
};

use crate::prelude::*;

/// One registered server connection: its id, and the task echoing on it.
struct Served<T: TestRuntime> {
    id: ConnectionId,
    _task: T::Task<Result<Option<CloseFrame>, ropeway_core::Error>>,
}

/// Accepts one connection with `config`, registers it, and echoes on it (split when
/// `split`, so that the read half's task is what writes the registry's messages out).
async fn serve<T: TestRuntime>(
    listener: &T::Listener,
    registry: &Registry<T::Rt>,
    config: &ServerConfig,
    split: bool,
) -> Served<T> {
    let tcp = T::accept_tcp(listener).await.expect("accept");
    let mut ws = T::accept_with_config(tcp, config)
        .await
        .expect("server handshake");
    let id = ws.register(registry);
    let task = if split {
        let (mut reader, writer) = ws.split();
        T::spawn(async move {
            while let Some(message) = reader.recv().await {
                if let message @ (Message::Text(_) | Message::Binary(_)) = message? {
                    writer.send(message).await?;
                }
            }
            Ok(None)
        })
    } else {
        T::spawn(echo(ws))
    };
    Served { id, _task: task }
}

fn text(s: &str) -> PreparedMessage {
    PreparedMessage::new(MessageKind::Text, s.to_owned().into_bytes().into())
}

/// Asserts the next data message `client` gets is `expected`: a marker sent to each client
/// after a broadcast shows that a non-member got nothing before it.
async fn expect_next<T: TestRuntime>(client: &mut ClientWs<T>, expected: &str) {
    assert_eq!(recv_data(client).await, Message::text(expected));
}

pub async fn a_group_message_reaches_exactly_its_members_until_they_leave_or_end<T: TestRuntime>() {
    let registry = Registry::<T::Rt>::new();
    let (listener, addr) = listen::<T>().await;
    let config = ServerConfig::default();
    let mut clients = Vec::new();
    let mut served = Vec::new();
    for i in 0..4 {
        let (client, server) = futures_util::future::join(
            connect::<T>(addr, "/"),
            serve::<T>(&listener, &registry, &config, i % 2 == 1),
        )
        .await;
        clients.push(client);
        served.push(server);
    }
    let ids: Vec<ConnectionId> = served.iter().map(|s| s.id).collect();
    for &id in &ids[..3] {
        assert!(registry.join(id, "room"));
    }
    assert_eq!(registry.group_len("room"), 3);
    assert_eq!(registry.groups_of(ids[0]), vec!["room".to_owned()]);

    let delivered = registry.broadcast_to("room", &text("to the room"));
    assert_eq!(delivered.queued, 3);
    for id in &ids {
        assert_eq!(registry.send(*id, &text("marker")), Delivery::Queued);
    }
    for client in &mut clients[..3] {
        expect_next::<T>(client, "to the room").await;
    }
    for client in &mut clients {
        expect_next::<T>(client, "marker").await;
    }

    // One leaves; all-but-one skips the sender.
    assert!(registry.leave(ids[1], "room"));
    assert!(!registry.leave(ids[1], "room"), "not in it any more");
    assert_eq!(registry.broadcast_to("room", &text("fewer")).queued, 2);
    assert_eq!(
        registry.broadcast_except(ids[0], &text("not to 0")).queued,
        3
    );
    assert_eq!(
        registry
            .broadcast_to_except("room", ids[2], &text("room but 2"))
            .queued,
        1
    );
    for id in &ids {
        registry.send(*id, &text("marker"));
    }
    expect_next::<T>(&mut clients[0], "fewer").await;
    expect_next::<T>(&mut clients[0], "room but 2").await;
    expect_next::<T>(&mut clients[1], "not to 0").await;
    expect_next::<T>(&mut clients[2], "fewer").await;
    expect_next::<T>(&mut clients[2], "not to 0").await;
    expect_next::<T>(&mut clients[3], "not to 0").await;
    for client in &mut clients {
        expect_next::<T>(client, "marker").await;
    }

    // A member that ends leaves every group; its id is no longer open.
    let mut gone = clients.remove(2);
    gone.close(None).await.expect("a clean close");
    drop(gone);
    let left = timeout::<T, _>(Duration::from_secs(5), async {
        while registry.group_len("room") != 1 {
            T::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(left.is_some(), "the ended member left the group");
    assert_eq!(registry.members("room"), vec![ids[0]]);
    assert_eq!(registry.send(ids[2], &text("late")), Delivery::NotOpen);
    assert_eq!(registry.broadcast(&text("everyone")).queued, 3);
    for client in &mut clients {
        expect_next::<T>(client, "everyone").await;
    }
}

/// A server whose connections hold at most 64 KiB of output, with a client that does not
/// read: what a broadcast of 1,000 × 16 KiB meets (more than the kernel's loopback buffers
/// take, which grow to a few MiB).
async fn broadcast_to_a_client_that_does_not_read<T: TestRuntime>(
    policy: SlowConsumer,
) -> (Registry<T::Rt>, ClientWs<T>, Served<T>, u64) {
    let registry = Registry::<T::Rt>::with_slow_consumer(policy);
    let (listener, addr) = listen::<T>().await;
    let config = ServerConfig {
        core: Config {
            limits: Limits {
                max_queued_output: 64 << 10,
                ..Limits::default()
            },
            ..Config::default()
        },
        ..ServerConfig::default()
    };
    let (client, server) = futures_util::future::join(
        connect::<T>(addr, "/"),
        serve::<T>(&listener, &registry, &config, false),
    )
    .await;
    registry.join(server.id, "feed");
    let message = PreparedMessage::new(MessageKind::Binary, vec![7; 16 << 10].into());
    let mut over = 0;
    for _ in 0..1000 {
        let delivered = registry.broadcast_to("feed", &message);
        over += (delivered.dropped + delivered.closing) as u64;
        // Let the connection's task write what it can.
        T::sleep(Duration::from_micros(50)).await;
    }
    (registry, client, server, over)
}

pub async fn a_slow_consumer_loses_messages_not_memory_and_the_sender_is_told<T: TestRuntime>() {
    let (registry, mut client, server, over) =
        broadcast_to_a_client_that_does_not_read::<T>(SlowConsumer::Drop).await;
    // 16 MiB sent at a connection that holds 64 KiB plus the kernel's buffers.
    assert!(over >= 100, "dropped {over} of 1,000");
    assert_eq!(registry.dropped(), over);
    // Every message either arrives whole or was counted.
    let mut received = 0;
    while received + over < 1000 {
        match recv_data(&mut client).await {
            Message::Binary(payload) => assert_eq!(payload.len(), 16 << 10),
            other => panic!("unexpected {other:?}"),
        }
        received += 1;
    }
    // Drained, the connection is served again.
    assert_eq!(
        registry.send(server.id, &text("still here")),
        Delivery::Queued
    );
    expect_next::<T>(&mut client, "still here").await;
}

pub async fn a_slow_consumer_under_the_close_policy_is_closed_with_its_code<T: TestRuntime>() {
    let (registry, mut client, _server, over) =
        broadcast_to_a_client_that_does_not_read::<T>(SlowConsumer::Close(CloseCode(1013))).await;
    assert!(over > 0);
    assert_eq!(
        registry.dropped(),
        0,
        "nothing is dropped under the close policy"
    );
    loop {
        match recv(&mut client).await {
            Message::Binary(_) => {}
            Message::Close(frame) => {
                assert_eq!(frame, Some(CloseFrame::new(1013, "slow consumer")));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_ends_cleanly(&mut client).await;
}

/// One server of two behind a backplane: its registry (joined to a RedisBackplane of its
/// own, with its own server id) and its listener.
struct Node<T: TestRuntime> {
    registry: Registry<T::Rt>,
    listener: T::Listener,
    addr: std::net::SocketAddr,
    backplane: ropeway_redis::RedisBackplane,
}

async fn node<T: TestRuntime>(url: &str) -> Node<T> {
    let registry = Registry::<T::Rt>::new();
    let backplane = ropeway_redis::RedisBackplane::start(
        url,
        ropeway_redis::RedisOptions::default(),
        registry.local_delivery(),
    )
    .expect("start the backplane");
    assert!(
        backplane.wait_connected(Duration::from_secs(5)),
        "connected"
    );
    assert!(registry.attach_backplane(std::sync::Arc::new(backplane.clone())));
    let (listener, addr) = listen::<T>().await;
    Node {
        registry,
        listener,
        addr,
        backplane,
    }
}

async fn client_of<T: TestRuntime>(node: &Node<T>) -> (ClientWs<T>, Served<T>) {
    client_with::<T>(node, &ServerConfig::default()).await
}

async fn client_with<T: TestRuntime>(
    node: &Node<T>,
    config: &ServerConfig,
) -> (ClientWs<T>, Served<T>) {
    futures_util::future::join(
        connect::<T>(node.addr, "/"),
        serve::<T>(&node.listener, &node.registry, config, false),
    )
    .await
}

/// Says probes to `group` from `from` until `member` hears one (the other server's channel
/// for the group is subscribed moments after its first member joined), then drains the
/// probes still on their way.
async fn until_it_crosses<T: TestRuntime>(from: &Node<T>, group: &str, member: &mut ClientWs<T>) {
    for attempt in 1..50 {
        let said = format!("probe #{attempt}");
        from.registry.broadcast_to(group, &text(&said));
        if let Some(heard) = next_within::<T>(member, Duration::from_millis(100)).await {
            assert!(heard.as_text().is_some_and(|t| t.starts_with("probe #")));
            while next_within::<T>(member, Duration::from_millis(100))
                .await
                .is_some()
            {}
            return;
        }
    }
    panic!("the group never crossed to the other server");
}

/// The next data message within a moment, if any.
async fn next_within<T: TestRuntime>(client: &mut ClientWs<T>, limit: Duration) -> Option<Message> {
    timeout::<T, _>(limit, recv_data(client)).await
}

pub async fn groups_and_connections_span_two_registries_over_redis<T: TestRuntime>() {
    let Some(redis) = crate::support::redis_server::RedisServer::start() else {
        return;
    };
    let (one, two) = (node::<T>(&redis.url()).await, node::<T>(&redis.url()).await);
    assert_ne!(one.registry.server_id(), two.registry.server_id());
    let (mut member_one, served_one) = client_of::<T>(&one).await;
    let (mut outsider, served_outsider) = client_of::<T>(&one).await;
    let (mut member_two, served_two) = client_of::<T>(&two).await;
    one.registry.join(served_one.id, "room");
    two.registry.join(served_two.id, "room");

    // The room spans both servers once server two's backplane has subscribed its channel
    // (moments after the first member joined; until then messages for it are lost).
    let mut attempt = 0;
    loop {
        attempt += 1;
        assert!(attempt < 50, "the room never crossed to server two");
        let said = format!("hello #{attempt}");
        assert_eq!(one.registry.broadcast_to("room", &text(&said)).queued, 1);
        expect_next::<T>(&mut member_one, &said).await;
        if let Some(heard) = next_within::<T>(&mut member_two, Duration::from_millis(100)).await {
            assert_eq!(heard, Message::text(said));
            break;
        }
    }
    // One connection on the other server, by its global id.
    let global = two.registry.global_id(served_two.id);
    assert_eq!(
        one.registry.send_global(global, &text("just you")),
        Delivery::Queued
    );
    expect_next::<T>(&mut member_two, "just you").await;
    // All but one, across servers: the sender's own server skips it.
    one.registry
        .broadcast_except(served_one.id, &text("all but member one"));
    expect_next::<T>(&mut outsider, "all but member one").await;
    expect_next::<T>(&mut member_two, "all but member one").await;

    // A member that left hears nothing more of the room.
    assert!(two.registry.leave(served_two.id, "room"));
    one.registry.broadcast_to("room", &text("after the leave"));
    expect_next::<T>(&mut member_one, "after the leave").await;
    // Markers sent on each server after a moment: what arrives first is the marker.
    T::sleep(Duration::from_millis(200)).await;
    two.registry.send(served_two.id, &text("marker"));
    one.registry.send(served_outsider.id, &text("marker"));
    expect_next::<T>(&mut member_two, "marker").await;
    expect_next::<T>(&mut outsider, "marker").await;
    let stats = (one.backplane.stats(), two.backplane.stats());
    assert_eq!(
        stats.0.decode_errors + stats.1.decode_errors,
        0,
        "{stats:?}"
    );
    one.backplane.stop();
    two.backplane.stop();
}

pub async fn a_slow_member_on_one_server_loses_messages_and_slows_nobody<T: TestRuntime>() {
    let Some(redis) = crate::support::redis_server::RedisServer::start() else {
        return;
    };
    let (one, two) = (node::<T>(&redis.url()).await, node::<T>(&redis.url()).await);
    let small_output = ServerConfig {
        core: Config {
            limits: Limits {
                max_queued_output: 64 << 10,
                ..Limits::default()
            },
            ..Config::default()
        },
        ..ServerConfig::default()
    };
    let (mut reader, served_reader) = client_of::<T>(&two).await;
    let (_slow, served_slow) = client_with::<T>(&two, &small_output).await;
    two.registry.join(served_reader.id, "feed");
    until_it_crosses::<T>(&one, "feed", &mut reader).await;
    two.registry.join(served_slow.id, "feed");
    // 400 messages of 16 KiB (6.4 MiB) from server one; the slow member never reads. The
    // reader on the same server gets every one, in order (the publisher keeps at most 32
    // ahead of it: 512 KiB, within its output limit), while the slow member's share is
    // dropped once its 64 KiB output is full: the backplane's delivery never waits for it.
    let count = 400;
    let received = std::sync::atomic::AtomicUsize::new(0);
    let reading = async {
        for i in 0..count {
            match recv_data(&mut reader).await {
                Message::Binary(payload) => {
                    assert_eq!(payload.len(), 16 << 10);
                    assert_eq!(payload[0], (i % 251) as u8, "message {i} in order");
                }
                other => panic!("unexpected {other:?}"),
            }
            received.store(i + 1, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let publishing = async {
        for i in 0..count {
            while i >= received.load(std::sync::atomic::Ordering::Relaxed) + 32 {
                T::sleep(Duration::from_millis(1)).await;
            }
            let payload = vec![(i % 251) as u8; 16 << 10];
            one.registry
                .broadcast_to("feed", &PreparedMessage::binary(payload));
        }
    };
    futures_util::future::join(reading, publishing).await;
    assert!(
        two.registry.dropped() > 0,
        "the slow member's share was dropped, not held"
    );
    let lost = one.backplane.stats().publish_dropped;
    assert_eq!(lost, 0, "nothing was lost on the way");
    one.backplane.stop();
    two.backplane.stop();
}
