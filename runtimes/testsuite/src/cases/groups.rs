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
