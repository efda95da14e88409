//! `split()`: the read half keeps the connection alive (pings answered), write halves
//! cloned into other tasks send, and dropping both halves closes with 1000.

use std::time::Duration;

use crate::prelude::*;
use bytes::Bytes;
use ropeway_core::{CloseFrame, Error, Message, ServerConfig};

pub async fn the_read_half_answers_pings_and_cloned_write_halves_send_from_other_tasks<
    T: TestRuntime,
>() {
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |ws: ServerWs<T>| async move {
        let (mut reader, writer) = ws.split();
        // A background task sends through its own clone of the write half.
        let background = writer.clone();
        let ticker = T::spawn(async move {
            for i in 0..5 {
                background
                    .send(Message::text(format!("tick {i}")))
                    .await
                    .unwrap();
            }
        });
        // The application reads through the read half only; pings are answered for it.
        let mut seen = Vec::new();
        while let Some(message) = reader.recv().await {
            let message = message.unwrap();
            if let Message::Text(text) = &message {
                writer
                    .send(Message::text(format!("echo {text}")))
                    .await
                    .unwrap();
            }
            seen.push(message);
        }
        ticker.await;
        seen
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    let mut ticks = Vec::new();
    for i in 0..3 {
        let payload = Bytes::from(format!("ping {i}"));
        ws.send(Message::Ping(payload.clone())).await.unwrap();
        // Ticks may come before the pong.
        loop {
            match recv(&mut ws).await {
                Message::Pong(p) => {
                    assert_eq!(p, payload);
                    break;
                }
                Message::Text(t) => ticks.push(t.to_string()),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    ws.send(Message::text("hello")).await.unwrap();
    loop {
        match recv(&mut ws).await {
            Message::Text(t) if &*t == "echo hello" => break,
            Message::Text(t) => ticks.push(t.to_string()),
            other => panic!("unexpected {other:?}"),
        }
    }
    while ticks.len() < 5 {
        match recv(&mut ws).await {
            Message::Text(t) => ticks.push(t.to_string()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        ticks,
        (0..5).map(|i| format!("tick {i}")).collect::<Vec<_>>()
    );
    ws.close(Some(CloseFrame::new(1000, "thanks")))
        .await
        .unwrap();
    assert!(ws.recv().await.is_none());

    let seen = server.await;
    let pings = seen
        .iter()
        .filter(|m| matches!(m, Message::Ping(_)))
        .count();
    assert_eq!(pings, 3, "the read half sees the pings too: {seen:?}");
    assert!(seen.contains(&Message::text("hello")));
    assert_eq!(
        seen.last(),
        Some(&Message::Close(Some(CloseFrame::new(1000, "thanks"))))
    );
}

pub async fn dropping_both_halves_closes_the_connection_with_1000<T: TestRuntime>() {
    let (addr, _server) = T::serve_one_ws(ServerConfig::default(), |ws: ServerWs<T>| async move {
        let (mut reader, writer) = ws.split();
        writer.send(Message::text("bye")).await.unwrap();
        assert_eq!(reader.recv().await.unwrap().unwrap(), Message::text("ack"));
        drop(reader);
        drop(writer);
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    assert_eq!(recv(&mut ws).await, Message::text("bye"));
    ws.send(Message::text("ack")).await.unwrap();
    expect_normal_close::<T>(&mut ws).await;
    assert_eq!(ws.connection().error(), None);
}

pub async fn dropping_both_halves_of_an_idle_connection_closes_it_at_once<T: TestRuntime>() {
    let (addr, _server) = T::serve_one_ws(ServerConfig::default(), |ws: ServerWs<T>| async move {
        let (reader, writer) = ws.split();
        T::sleep(Duration::from_millis(50)).await;
        drop(writer);
        drop(reader);
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    // Nothing else happens on the connection: the close must not wait for traffic.
    expect_normal_close::<T>(&mut ws).await;
}

pub async fn dropping_the_write_half_first_and_the_read_half_later_closes_with_1000<
    T: TestRuntime,
>() {
    let (addr, _server) = T::serve_one_ws(ServerConfig::default(), |ws: ServerWs<T>| async move {
        let (mut reader, writer) = ws.split();
        assert_eq!(reader.recv().await.unwrap().unwrap(), Message::text("hi"));
        drop(writer);
        T::sleep(Duration::from_millis(50)).await;
        drop(reader);
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    ws.send(Message::text("hi")).await.unwrap();
    expect_normal_close::<T>(&mut ws).await;
}

pub async fn a_large_write_half_message_goes_out_while_the_reader_is_behind<T: TestRuntime>() {
    const LARGE: usize = 12 << 20;
    let (arrived_tx, arrived_rx) = futures_channel::oneshot::channel::<()>();
    // Under the queued-output limit, so nothing but the driver's own flushing moves it.
    let mut config = ServerConfig::default();
    config.core.limits.max_queued_output = 64 << 20;
    let (addr, _server) = T::serve_one_ws(config, |ws: ServerWs<T>| async move {
        let (mut reader, writer) = ws.split();
        // Let the peer's small messages fill the read half's queue, then send a message
        // far larger than the socket buffers, and read nothing until it has arrived.
        T::sleep(Duration::from_millis(200)).await;
        writer
            .send(Message::binary(bytes_of_len(LARGE)))
            .await
            .unwrap();
        let _ = arrived_rx.await;
        let arrived = reader.recv().await;
        assert_eq!(arrived.unwrap().unwrap(), Message::text("backlog 0"));
        // Keep both halves until the peer is done.
        while reader.recv().await.is_some() {}
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    for i in 0..40 {
        ws.send(Message::text(format!("backlog {i}")))
            .await
            .unwrap();
    }
    let large = timeout::<T, _>(Duration::from_secs(5), recv(&mut ws))
        .await
        .expect("the whole message must go out while the server's reader is idle");
    assert!(large == Message::binary(bytes_of_len(LARGE)));
    arrived_tx.send(()).unwrap();
}

pub async fn a_write_half_close_runs_the_close_handshake<T: TestRuntime>() {
    // Many times: the write half's view of the end used to lag behind the read half's.
    for _ in 0..20 {
        a_write_half_close_runs_the_close_handshake_once::<T>().await;
    }
}

async fn a_write_half_close_runs_the_close_handshake_once<T: TestRuntime>() {
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |ws: ServerWs<T>| async move {
        let (mut reader, writer) = ws.split();
        writer
            .close(Some(CloseFrame::new(4001, "done")))
            .await
            .unwrap();
        let mut seen = Vec::new();
        while let Some(message) = reader.recv().await {
            seen.push(message.unwrap());
        }
        // Once the read half has seen the end, the write half knows it too, at once
        // (it used to report success for a while, the message going nowhere).
        assert!(writer.is_closed());
        let late = writer.send(Message::text("late")).await;
        assert!(matches!(late, Err(Error::Closed)), "{late:?}");
        seen
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    assert_eq!(
        recv(&mut ws).await,
        Message::Close(Some(CloseFrame::new(4001, "done")))
    );
    assert!(ws.recv().await.is_none());
    let seen = server.await;
    assert_eq!(seen, [Message::Close(Some(CloseFrame::new(4001, "done")))]);
}

pub async fn the_read_half_reports_a_vanished_peer<T: TestRuntime>() {
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |ws: ServerWs<T>| async move {
        let (mut reader, _writer) = ws.split();
        let first = reader.recv().await;
        let second = reader.recv().await;
        (first, second.is_none())
    })
    .await;
    let ws = connect::<T>(addr, "/").await;
    drop(ws);
    let (first, ended) = server.await;
    assert!(
        matches!(
            first,
            Some(Err(Error::Connection(
                ropeway_core::ConnectionError::Abnormal
            )))
        ),
        "{first:?}"
    );
    assert!(ended);
}

/// The next message is a close frame with code 1000, within 2 s (a close that waits for
/// traffic fails), and then the connection ends.
async fn expect_normal_close<T: TestRuntime>(ws: &mut ClientWs<T>) {
    let closed = timeout::<T, _>(Duration::from_secs(2), ws.recv()).await;
    match closed {
        Some(Some(Ok(Message::Close(Some(frame))))) => assert_eq!(frame.code.0, 1000),
        other => panic!("expected a 1000 close, got {other:?}"),
    }
    assert!(ws.recv().await.is_none());
}
