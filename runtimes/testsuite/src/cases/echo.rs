//! Messages across loopback between a ropeway client and a ropeway server: every length
//! class of the frame header, fragments, pings, and the `Stream`/`Sink` interface.

use crate::prelude::*;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use ropeway_core::{Message, MessageKind, ServerConfig};

/// Lengths at the edges of the 7-bit, 16-bit and 64-bit length encodings, and the default
/// message size limit (16 MiB).
const SIZES: [usize; 8] = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];

pub async fn text_and_binary_messages_of_every_length_class_echo_intact<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let mut ws = connect::<T>(addr, "/").await;
    assert_echoes(&mut ws, &SIZES, "echo").await;
    ws.close(None).await.unwrap();
}

pub async fn many_small_messages_in_flight_arrive_in_order<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let mut ws = connect::<T>(addr, "/").await;
    for i in 0..500 {
        ws.send(Message::text(format!("message {i}")))
            .await
            .unwrap();
    }
    for i in 0..500 {
        assert_eq!(recv(&mut ws).await, Message::text(format!("message {i}")));
    }
}

pub async fn fragmented_messages_arrive_whole<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let mut ws = connect::<T>(addr, "/").await;

    // "héllo wörld": the é is split across two fragments; empty fragments in between;
    // a ping between fragments is allowed and answered.
    let text = "héllo wörld".as_bytes();
    ws.send_fragment(MessageKind::Text, &text[..2], false)
        .await
        .unwrap();
    ws.send_fragment(MessageKind::Text, &text[2..4], false)
        .await
        .unwrap();
    ws.send(Message::Ping(Bytes::from_static(b"mid-message")))
        .await
        .unwrap();
    ws.send_fragment(MessageKind::Text, b"", false)
        .await
        .unwrap();
    ws.send_fragment(MessageKind::Text, &text[4..], true)
        .await
        .unwrap();
    assert_eq!(
        recv(&mut ws).await,
        Message::Pong(Bytes::from_static(b"mid-message"))
    );
    assert_eq!(recv(&mut ws).await, Message::text("héllo wörld"));

    // A 1 MiB binary message in 64 KiB fragments.
    let data = bytes_of_len(1 << 20);
    let chunks: Vec<&[u8]> = data.chunks(64 << 10).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let fin = i + 1 == chunks.len();
        ws.send_fragment(MessageKind::Binary, chunk, fin)
            .await
            .unwrap();
    }
    assert!(recv(&mut ws).await == Message::binary(data));

    // A message of one empty final fragment after a non-empty one.
    ws.send_fragment(MessageKind::Binary, b"abc", false)
        .await
        .unwrap();
    ws.send_fragment(MessageKind::Binary, b"", true)
        .await
        .unwrap();
    assert_eq!(recv(&mut ws).await, Message::binary(&b"abc"[..]));
}

pub async fn a_ping_is_answered_with_a_pong_carrying_its_payload<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let mut ws = connect::<T>(addr, "/").await;
    for payload in [&b""[..], b"hello", &[7u8; 125]] {
        ws.send(Message::Ping(Bytes::copy_from_slice(payload)))
            .await
            .unwrap();
        assert_eq!(
            recv(&mut ws).await,
            Message::Pong(Bytes::copy_from_slice(payload))
        );
    }
}

pub async fn the_server_sees_the_clients_ping_and_the_client_gets_the_pong<T: TestRuntime>() {
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |mut ws| async move {
        let ping = recv(&mut ws).await;
        let next = recv(&mut ws).await;
        (ping, next)
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    ws.send(Message::Ping(Bytes::from_static(b"are you there")))
        .await
        .unwrap();
    ws.send(Message::text("after the ping")).await.unwrap();
    assert_eq!(
        recv(&mut ws).await,
        Message::Pong(Bytes::from_static(b"are you there"))
    );
    let (ping, next) = server.await;
    assert_eq!(ping, Message::Ping(Bytes::from_static(b"are you there")));
    assert_eq!(next, Message::text("after the ping"));
}

pub async fn a_ping_over_125_bytes_is_refused_as_a_usage_error<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let mut ws = connect::<T>(addr, "/").await;
    let result = ws.send(Message::Ping(Bytes::from(vec![0; 126]))).await;
    assert!(
        matches!(result, Err(ropeway_core::Error::Usage(_))),
        "{result:?}"
    );
    // The connection is still usable.
    ws.send(Message::text("still open")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("still open"));
}

pub async fn stream_and_sink_carry_messages<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let mut ws = connect::<T>(addr, "/").await;
    ws.feed(Message::text("one")).await.unwrap();
    ws.feed(Message::binary(vec![2])).await.unwrap();
    ws.send(Message::text("three")).await.unwrap();
    let got: Vec<_> = (&mut ws).take(3).map(Result::unwrap).collect().await;
    assert_eq!(
        got,
        [
            Message::text("one"),
            Message::binary(vec![2]),
            Message::text("three")
        ]
    );
    SinkExt::close(&mut ws).await.unwrap();
    // The server echoes the close frame (1000); then the stream ends.
    let rest: Vec<_> = ws.collect().await;
    assert!(
        matches!(&rest[..], [Ok(Message::Close(Some(frame)))] if frame.code.0 == 1000),
        "{rest:?}"
    );
}
