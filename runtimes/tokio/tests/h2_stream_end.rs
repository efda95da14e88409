//! How a WebSocket's HTTP/2 stream ends (RFC 8441 §5): after a clean close handshake with
//! END_STREAM, in both roles, never with a reset; a client WebSocket dropped before its end
//! resets its stream (RST_STREAM CANCEL).
#![cfg(feature = "h2")]

mod common;
mod h2_support;

use bytes::Bytes;
use common::*;
use h2_support::frame::*;
use h2_support::*;
use ropeway_tokio::{ClientConfig, CloseFrame, Message};

#[tokio::test]
async fn the_server_ends_the_stream_with_end_stream_after_a_clean_close() {
    bounded(async {
        let mut server = spawn_default().await;
        let mut raw = RawH2::connect(server.addr).await;
        raw.connect_ws(1, Some("websocket"), "13").await;
        assert_eq!(raw.status(1).await, 200);
        raw.send(DATA, 0, 1, &ws_frame(op::CLOSE, &close_payload(1000, "")))
            .await;
        let mut saw_close = false;
        loop {
            let f = raw
                .read_until(1, &[DATA, HEADERS, RST_STREAM])
                .await
                .unwrap();
            assert_ne!(f.kind, RST_STREAM, "reset instead of END_STREAM: {f:?}");
            assert_ne!(f.kind, GOAWAY, "{f:?}");
            if f.payload.first() == Some(&0x88) {
                saw_close = true;
            }
            if f.flags & END_STREAM != 0 {
                break;
            }
        }
        assert!(saw_close, "no close frame before END_STREAM");
        raw.send(DATA, END_STREAM, 1, &[]).await;
        assert_eq!(
            server.seen.recv().await.unwrap().1.unwrap().unwrap().code.0,
            1000
        );
    })
    .await;
}

#[tokio::test]
async fn the_client_ends_with_end_stream_after_a_close_and_resets_when_dropped() {
    bounded(async {
        let (listener, addr) = listen().await;
        let (ends_tx, mut ends_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = h2::server::Builder::new()
                .enable_connect_protocol()
                .handshake::<_, Bytes>(tcp)
                .await
                .unwrap();
            while let Some(Ok((request, mut respond))) = conn.accept().await {
                let ends_tx = ends_tx.clone();
                tokio::spawn(async move {
                    let mut body = request.into_body();
                    let mut send = respond
                        .send_response(http::Response::new(()), false)
                        .unwrap();
                    // Until the client's close frame (or the stream's end): answer the close,
                    // then END_STREAM; report how the client's side ended.
                    let mut got = Vec::new();
                    let mut answered = false;
                    let end = loop {
                        match body.data().await {
                            Some(Ok(data)) => {
                                let _ = body.flow_control().release_capacity(data.len());
                                got.extend_from_slice(&data);
                                if !answered && got.first() == Some(&0x88) && got.len() >= 8 {
                                    answered = true;
                                    send.send_data(
                                        Bytes::from_static(&[0x88, 2, 0x03, 0xe8]),
                                        true,
                                    )
                                    .unwrap();
                                }
                            }
                            None => break format!("END_STREAM {}", body.is_end_stream()),
                            Some(Err(e)) => break format!("reset {:?}", e.reason()),
                        }
                    };
                    ends_tx.send(end).unwrap();
                });
            }
        });
        let client = h2_client(addr).await;
        let (mut ws, _) = client.websocket("/ws").await.unwrap();
        ws.close(Some(CloseFrame::new(1000, ""))).await.unwrap();
        while ws.recv().await.is_some() {}
        assert_eq!(ws.connection().error(), None);
        assert_eq!(ends_rx.recv().await.unwrap(), "END_STREAM true");

        let (mut dropped, _) = client.websocket("/ws").await.unwrap();
        dropped.send(Message::text("then gone")).await.unwrap();
        drop(dropped);
        assert_eq!(
            ends_rx.recv().await.unwrap(),
            format!("reset {:?}", Some(h2::Reason::CANCEL))
        );
    })
    .await;
}

#[tokio::test]
async fn a_server_websocket_dropped_mid_connection_ends_its_stream_without_a_close_frame() {
    bounded(async {
        // The handler drops its WebSocket after the first message: no close handshake.
        let (listener, addr) = listen().await;
        let handler = |mut request: http::Request<hyper::body::Incoming>| async move {
            let (response, pending) =
                ropeway_tokio::hyper::upgrade::<_, http_body_util::Empty<Bytes>>(
                    &mut request,
                    &ropeway_tokio::ServerConfig::default(),
                )
                .unwrap();
            tokio::spawn(async move {
                let mut ws = pending.await.unwrap();
                let _ = ws.recv().await;
                drop(ws);
            });
            response
        };
        tokio::spawn(ropeway_tokio::h2::serve(
            listener,
            None,
            ropeway_tokio::h2::ServeConfig::default(),
            handler,
            std::future::pending(),
        ));
        let mut raw = RawH2::connect(addr).await;
        raw.connect_ws(1, Some("websocket"), "13").await;
        assert_eq!(raw.status(1).await, 200);
        raw.send(DATA, 0, 1, &ws_frame(op::TEXT, b"bye")).await;
        let mut seen = Vec::new();
        loop {
            let f = raw.read_until(1, &[DATA, RST_STREAM]).await.unwrap();
            assert_ne!(f.payload.first(), Some(&0x88), "a close frame: {f:?}");
            if f.kind == RST_STREAM {
                seen.push(format!("RST_STREAM {:?}", f.payload));
                break;
            }
            if f.flags & END_STREAM != 0 {
                seen.push("END_STREAM".to_owned());
                break;
            }
        }
        // hyper ends a dropped upgraded stream with END_STREAM (it has no reset for it); the
        // peer's WebSocket sees the end without a close frame: 1006.
        println!("the stream ended with {seen:?}");
    })
    .await;
}

#[tokio::test]
async fn a_client_websocket_aborted_for_a_stalled_peer_resets_its_stream() {
    bounded(async {
        // A server that accepts the WebSocket and never reads from it.
        let (listener, addr) = listen().await;
        let (ends_tx, mut ends_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = h2::server::Builder::new()
                .enable_connect_protocol()
                .initial_window_size(64 * 1024)
                .handshake::<_, Bytes>(tcp)
                .await
                .unwrap();
            let (request, mut respond) = conn.accept().await.unwrap().unwrap();
            let _send = respond
                .send_response(http::Response::new(()), false)
                .unwrap();
            let mut body = request.into_body();
            let watcher = tokio::spawn(async move {
                // Never releasing window (so the client stalls), only watching how the
                // client ends the stream.
                let end = loop {
                    match body.data().await {
                        Some(Ok(_)) => {}
                        Some(Err(e)) => break format!("{:?}", e.reason()),
                        None => break "END_STREAM".to_owned(),
                    }
                };
                let _ = respond;
                ends_tx.send(end).unwrap();
            });
            while conn.accept().await.is_some() {}
            let _ = watcher.await;
        });
        let mut config = ClientConfig::default();
        config.core.write_stall_timeout = Some(std::time::Duration::from_millis(300));
        let client = ropeway_tokio::h2::H2Client::connect(
            &format!("ws://{addr}"),
            &config,
            &ropeway_tokio::h2::H2Options::default(),
        )
        .await
        .unwrap();
        let (mut ws, _) = client.websocket("/ws").await.unwrap();
        let message = Message::binary(vec![7u8; 64 * 1024]);
        let ended = loop {
            match ws.send(message.clone()).await {
                Ok(()) => continue,
                Err(e) => break e,
            }
        };
        // The stall is the connection's error (a send may see only that it has ended).
        assert_eq!(
            ws.connection().error(),
            Some(&ropeway_tokio::ConnectionError::WriteStalled),
            "{ended:?}"
        );
        drop(ws);
        assert_eq!(
            ends_rx.recv().await.unwrap(),
            format!("{:?}", Some(h2::Reason::CANCEL))
        );
    })
    .await;
}
