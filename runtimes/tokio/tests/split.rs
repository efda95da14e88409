//! `split()`: the read half keeps the connection alive (pings answered), write halves
//! cloned into other tasks send, and dropping both halves closes with 1000.

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use ropeway_tokio::server::ServerConfig;
use ropeway_tokio::{CloseFrame, Error, MaybeTlsStream, Message, WebSocket};
use tokio::net::TcpStream;

#[tokio::test]
async fn the_read_half_answers_pings_and_cloned_write_halves_send_from_other_tasks() {
    bounded(async {
        let (addr, server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
                let (mut reader, writer) = ws.split();
                // A background task sends through its own clone of the write half.
                let background = writer.clone();
                let ticker = tokio::spawn(async move {
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
                ticker.await.unwrap();
                seen
            },
        )
        .await;
        let mut ws = connect(addr, "/").await;
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

        let seen = server.await.unwrap();
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
    })
    .await;
}

#[tokio::test]
async fn dropping_both_halves_closes_the_connection_with_1000() {
    bounded(async {
        let (addr, _server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
                let (mut reader, writer) = ws.split();
                writer.send(Message::text("bye")).await.unwrap();
                assert_eq!(reader.recv().await.unwrap().unwrap(), Message::text("ack"));
                drop(reader);
                drop(writer);
            },
        )
        .await;
        let mut ws = connect(addr, "/").await;
        assert_eq!(recv(&mut ws).await, Message::text("bye"));
        ws.send(Message::text("ack")).await.unwrap();
        expect_normal_close(&mut ws).await;
        assert_eq!(ws.connection().error(), None);
    })
    .await;
}

#[tokio::test]
async fn dropping_both_halves_of_an_idle_connection_closes_it_at_once() {
    bounded(async {
        let (addr, _server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
                let (reader, writer) = ws.split();
                tokio::time::sleep(Duration::from_millis(50)).await;
                drop(writer);
                drop(reader);
            },
        )
        .await;
        let mut ws = connect(addr, "/").await;
        // Nothing else happens on the connection: the close must not wait for traffic.
        expect_normal_close(&mut ws).await;
    })
    .await;
}

#[tokio::test]
async fn dropping_the_write_half_first_and_the_read_half_later_closes_with_1000() {
    bounded(async {
        let (addr, _server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
                let (mut reader, writer) = ws.split();
                assert_eq!(reader.recv().await.unwrap().unwrap(), Message::text("hi"));
                drop(writer);
                tokio::time::sleep(Duration::from_millis(50)).await;
                drop(reader);
            },
        )
        .await;
        let mut ws = connect(addr, "/").await;
        ws.send(Message::text("hi")).await.unwrap();
        expect_normal_close(&mut ws).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_write_half_message_goes_out_while_the_reader_is_behind() {
    bounded(async {
        const LARGE: usize = 12 << 20;
        let (arrived_tx, arrived_rx) = tokio::sync::oneshot::channel::<()>();
        // Under the queued-output limit, so nothing but the driver's own flushing moves it.
        let mut config = ServerConfig::default();
        config.core.limits.max_queued_output = 64 << 20;
        let (addr, _server) = serve_one_ws(config, |ws: WebSocket<TcpStream>| async move {
            let (mut reader, writer) = ws.split();
            // Let the peer's small messages fill the read half's queue, then send a message
            // far larger than the socket buffers, and read nothing until it has arrived.
            tokio::time::sleep(Duration::from_millis(200)).await;
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
        let mut ws = connect(addr, "/").await;
        for i in 0..40 {
            ws.send(Message::text(format!("backlog {i}")))
                .await
                .unwrap();
        }
        let large = tokio::time::timeout(Duration::from_secs(5), recv(&mut ws))
            .await
            .expect("the whole message must go out while the server's reader is idle");
        assert!(large == Message::binary(bytes_of_len(LARGE)));
        arrived_tx.send(()).unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_write_half_close_runs_the_close_handshake() {
    // Many times: the write half's view of the end used to lag behind the read half's.
    for _ in 0..20 {
        a_write_half_close_runs_the_close_handshake_once().await;
    }
}

async fn a_write_half_close_runs_the_close_handshake_once() {
    bounded(async {
        let (addr, server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
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
            },
        )
        .await;
        let mut ws = connect(addr, "/").await;
        assert_eq!(
            recv(&mut ws).await,
            Message::Close(Some(CloseFrame::new(4001, "done")))
        );
        assert!(ws.recv().await.is_none());
        let seen = server.await.unwrap();
        assert_eq!(seen, [Message::Close(Some(CloseFrame::new(4001, "done")))]);
    })
    .await;
}

#[tokio::test]
async fn the_read_half_reports_a_vanished_peer() {
    bounded(async {
        let (addr, server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
                let (mut reader, _writer) = ws.split();
                let first = reader.recv().await;
                let second = reader.recv().await;
                (first, second.is_none())
            },
        )
        .await;
        let ws = connect(addr, "/").await;
        drop(ws);
        let (first, ended) = server.await.unwrap();
        assert!(
            matches!(
                first,
                Some(Err(Error::Connection(
                    ropeway_tokio::ConnectionError::Abnormal
                )))
            ),
            "{first:?}"
        );
        assert!(ended);
    })
    .await;
}

/// The next message is a close frame with code 1000, within 2 s (a close that waits for
/// traffic fails), and then the connection ends.
async fn expect_normal_close(ws: &mut WebSocket<MaybeTlsStream>) {
    let closed = tokio::time::timeout(Duration::from_secs(2), ws.recv()).await;
    match closed {
        Ok(Some(Ok(Message::Close(Some(frame))))) => assert_eq!(frame.code.0, 1000),
        other => panic!("expected a 1000 close, got {other:?}"),
    }
    assert!(ws.recv().await.is_none());
}
