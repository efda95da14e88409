//! `split()`: the read half keeps the connection alive (pings answered), write halves
//! cloned into other tasks send, and dropping both halves closes with 1000.

mod common;

use std::time::Duration;

use async_net::TcpStream;
use bytes::Bytes;
use common::*;
use ropeway_smol::server::ServerConfig;
use ropeway_smol::{CloseFrame, Error, MaybeTlsStream, Message, WebSocket};

#[test]
fn the_read_half_answers_pings_and_cloned_write_halves_send_from_other_tasks() {
    run(async {
        let (addr, server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
                let (mut reader, writer) = ws.split();
                // A background task sends through its own clone of the write half.
                let background = writer.clone();
                let ticker = spawn(async move {
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
    });
}

#[test]
fn dropping_both_halves_closes_the_connection_with_1000() {
    run(async {
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
    });
}

#[test]
fn dropping_both_halves_of_an_idle_connection_closes_it_at_once() {
    run(async {
        let (addr, _server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
                let (reader, writer) = ws.split();
                sleep(Duration::from_millis(50)).await;
                drop(writer);
                drop(reader);
            },
        )
        .await;
        let mut ws = connect(addr, "/").await;
        // Nothing else happens on the connection: the close must not wait for traffic.
        expect_normal_close(&mut ws).await;
    });
}

#[test]
fn dropping_the_write_half_first_and_the_read_half_later_closes_with_1000() {
    run(async {
        let (addr, _server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
                let (mut reader, writer) = ws.split();
                assert_eq!(reader.recv().await.unwrap().unwrap(), Message::text("hi"));
                drop(writer);
                sleep(Duration::from_millis(50)).await;
                drop(reader);
            },
        )
        .await;
        let mut ws = connect(addr, "/").await;
        ws.send(Message::text("hi")).await.unwrap();
        expect_normal_close(&mut ws).await;
    });
}

#[test]
fn a_large_write_half_message_goes_out_while_the_reader_is_behind() {
    run(async {
        const LARGE: usize = 12 << 20;
        let (arrived_tx, arrived_rx) = futures_channel::oneshot::channel::<()>();
        // Under the queued-output limit, so nothing but the driver's own flushing moves it.
        let mut config = ServerConfig::default();
        config.core.limits.max_queued_output = 64 << 20;
        let (addr, _server) = serve_one_ws(config, |ws: WebSocket<TcpStream>| async move {
            let (mut reader, writer) = ws.split();
            // Let the peer's small messages fill the read half's queue, then send a message
            // far larger than the socket buffers, and read nothing until it has arrived.
            sleep(Duration::from_millis(200)).await;
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
        let large = timeout(Duration::from_secs(5), recv(&mut ws))
            .await
            .expect("the whole message must go out while the server's reader is idle");
        assert!(large == Message::binary(bytes_of_len(LARGE)));
        arrived_tx.send(()).unwrap();
    });
}

#[test]
fn a_write_half_close_runs_the_close_handshake() {
    run(async {
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
                // Once the connection has ended, sending fails.
                timeout(Duration::from_secs(1), async {
                    while !writer.is_closed() {
                        futures_lite::future::yield_now().await;
                    }
                })
                .await
                .expect("the write half sees the end");
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
        let seen = server.await;
        assert_eq!(seen, [Message::Close(Some(CloseFrame::new(4001, "done")))]);
    });
}

#[test]
fn the_read_half_reports_a_vanished_peer() {
    run(async {
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
        let (first, ended) = server.await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Connection(
                    ropeway_smol::ConnectionError::Abnormal
                )))
            ),
            "{first:?}"
        );
        assert!(ended);
    });
}

#[test]
fn split_task_drives_the_halves_on_an_executor_of_the_applications() {
    run(async {
        let (addr, server) = serve_one_ws(
            ServerConfig::default(),
            |ws: WebSocket<TcpStream>| async move {
                let (mut reader, writer, task) = ws.split_task();
                let executor = smol::Executor::new();
                executor
                    .run(async {
                        executor.spawn(task).detach();
                        let message = reader.recv().await.unwrap().unwrap();
                        writer.send(message).await.unwrap();
                        reader.recv().await
                    })
                    .await
            },
        )
        .await;
        let mut ws = connect(addr, "/").await;
        ws.send(Message::text("local")).await.unwrap();
        assert_eq!(recv(&mut ws).await, Message::text("local"));
        ws.close(None).await.unwrap();
        let seen = server.await;
        assert!(matches!(seen, Some(Ok(Message::Close(None)))), "{seen:?}");
    });
}

/// The next message is a close frame with code 1000, within 2 s (a close that waits for
/// traffic fails), and then the connection ends.
async fn expect_normal_close(ws: &mut WebSocket<MaybeTlsStream>) {
    let closed = timeout(Duration::from_secs(2), ws.recv()).await;
    match closed {
        Some(Some(Ok(Message::Close(Some(frame))))) => assert_eq!(frame.code.0, 1000),
        other => panic!("expected a 1000 close, got {other:?}"),
    }
    assert!(ws.recv().await.is_none());
}
