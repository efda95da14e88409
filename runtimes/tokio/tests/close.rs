//! Every way a connection ends: a close handshake started by either side or both at once,
//! a peer that vanishes, a peer that breaks the protocol, a close that is never answered.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ropeway_core::ProtocolError;
use ropeway_tokio::server::ServerConfig;
use ropeway_tokio::{CloseFrame, ConnectionError, Error, Message};

#[tokio::test]
async fn a_client_close_is_echoed_with_its_code_and_reason() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), echo).await;
        let mut ws = connect(addr, "/").await;
        ws.send(Message::text("before closing")).await.unwrap();
        assert_eq!(recv(&mut ws).await, Message::text("before closing"));
        ws.close(Some(CloseFrame::new(4000, "bye"))).await.unwrap();
        assert!(ws.recv().await.is_none(), "recv after close() must be None");
        assert!(ws.recv().await.is_none(), "and stay None");
        assert_eq!(ws.connection().error(), None);
        // The server saw the close frame, with code and reason, and ended cleanly.
        let seen = server.await.unwrap().unwrap();
        assert_eq!(seen, Some(CloseFrame::new(4000, "bye")));
    })
    .await;
}

#[tokio::test]
async fn the_client_sees_the_echo_of_its_close_frame() {
    bounded(async {
        let (addr, _server) = serve_one_ws(ServerConfig::default(), echo).await;
        let mut ws = connect(addr, "/").await;
        // Sending the close frame as a message: recv then shows the server's answer.
        ws.send(Message::Close(Some(CloseFrame::new(4001, "done"))))
            .await
            .unwrap();
        assert_eq!(
            recv(&mut ws).await,
            Message::Close(Some(CloseFrame::new(4001, "done")))
        );
        assert!(ws.recv().await.is_none());
    })
    .await;
}

#[tokio::test]
async fn a_server_close_is_answered_by_the_client() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), |mut ws| async move {
            ws.send(Message::text("last words")).await?;
            ws.close(Some(CloseFrame::new(1001, "going away"))).await?;
            Ok::<_, Error>(ws.recv().await.is_none())
        })
        .await;
        let mut ws = connect(addr, "/").await;
        assert_eq!(recv(&mut ws).await, Message::text("last words"));
        assert_eq!(
            recv(&mut ws).await,
            Message::Close(Some(CloseFrame::new(1001, "going away")))
        );
        assert_ends_cleanly(&mut ws).await;
        assert!(server.await.unwrap().unwrap(), "server recv after close()");
        // Sending after the end fails.
        let late = ws.send(Message::text("too late")).await;
        assert!(matches!(late, Err(Error::Closed)), "{late:?}");
    })
    .await;
}

#[tokio::test]
async fn both_sides_closing_at_once_completes_on_both() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), |mut ws| async move {
            // Wait for the client's go, then close while the client closes too.
            assert_eq!(recv(&mut ws).await, Message::text("go"));
            let result = ws.close(Some(CloseFrame::new(4002, "server"))).await;
            (result, ws.recv().await.is_none())
        })
        .await;
        let mut ws = connect(addr, "/").await;
        ws.send(Message::text("go")).await.unwrap();
        let client = ws.close(Some(CloseFrame::new(4003, "client"))).await;
        assert!(client.is_ok(), "{client:?}");
        assert!(ws.recv().await.is_none());
        let (server_result, server_done) = server.await.unwrap();
        assert!(server_result.is_ok(), "{server_result:?}");
        assert!(server_done);
    })
    .await;
}

#[tokio::test]
async fn a_client_that_vanishes_is_an_abnormal_closure_for_the_server() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), echo).await;
        let mut ws = connect(addr, "/").await;
        ws.send(Message::text("hi")).await.unwrap();
        assert_eq!(recv(&mut ws).await, Message::text("hi"));
        drop(ws); // TCP closed without a close frame
        let result = server.await.unwrap();
        assert!(
            matches!(result, Err(Error::Connection(ConnectionError::Abnormal))),
            "{result:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_server_that_vanishes_is_an_abnormal_closure_for_the_client() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), |mut ws| async move {
            let _ = ws.recv().await;
            drop(ws);
        })
        .await;
        let mut ws = connect(addr, "/").await;
        ws.send(Message::text("bye, server")).await.unwrap();
        server.await.unwrap();
        let result = ws.recv().await;
        assert!(
            matches!(
                result,
                Some(Err(Error::Connection(ConnectionError::Abnormal)))
            ),
            "{result:?}"
        );
        assert!(ws.recv().await.is_none(), "the error is reported once");
    })
    .await;
}

#[tokio::test]
async fn an_unmasked_frame_fails_the_connection_with_1002() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), |mut ws| async move {
            let first = ws.recv().await;
            let after = ws.recv().await;
            (first, after.is_none())
        })
        .await;
        let mut peer = RawPeer::handshake(addr, "/").await;
        peer.write(&frame(op::TEXT, true, b"unmasked", None)).await;
        let close = peer.read_frame().await.expect("a close frame");
        assert_eq!(close.opcode, op::CLOSE);
        assert_eq!(close.close_code(), Some(1002));
        assert!(!close.masked, "a server never masks");
        let (first, ended) = server.await.unwrap();
        assert!(
            matches!(
                first,
                Some(Err(Error::Connection(ConnectionError::Protocol(
                    ProtocolError::UnmaskedFrame
                ))))
            ),
            "{first:?}"
        );
        assert!(ended, "recv after the error is None");
        // Nothing after the close frame, and the server ends the transport.
        assert!(peer.read_frame().await.is_none());
    })
    .await;
}

#[tokio::test]
async fn invalid_utf8_in_a_text_message_fails_with_1007() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), |mut ws| async move {
            let first = ws.recv().await;
            let _ = ws.recv().await;
            first
        })
        .await;
        let mut peer = RawPeer::handshake(addr, "/").await;
        // A valid first fragment, then one that breaks UTF-8.
        peer.write(&client_frame(op::TEXT, false, "hé".as_bytes()))
            .await;
        peer.write(&client_frame(op::CONTINUATION, true, &[0xff, 0xfe]))
            .await;
        let close = peer.read_frame().await.expect("a close frame");
        assert_eq!(close.close_code(), Some(1007));
        let first = server.await.unwrap();
        assert!(
            matches!(
                first,
                Some(Err(Error::Connection(ConnectionError::Protocol(
                    ProtocolError::InvalidUtf8
                ))))
            ),
            "{first:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_message_over_the_limit_is_refused_with_1009() {
    bounded(async {
        let mut config = ServerConfig::default();
        config.core.limits.max_message_size = 1024;
        let (addr, server) = serve_one_ws(config, echo).await;
        let mut ws = connect(addr, "/").await;
        ws.send(Message::binary(vec![0; 1024])).await.unwrap();
        assert_eq!(recv(&mut ws).await, Message::binary(vec![0; 1024]));
        ws.send(Message::binary(vec![0; 1025])).await.unwrap();
        match recv(&mut ws).await {
            Message::Close(Some(frame)) => assert_eq!(frame.code.0, 1009),
            other => panic!("expected a 1009 close, got {other:?}"),
        }
        assert!(ws.recv().await.is_none());
        let result = server.await.unwrap();
        assert!(
            matches!(
                result,
                Err(Error::Connection(ConnectionError::Protocol(
                    ProtocolError::MessageTooLarge { max: 1024 }
                )))
            ),
            "{result:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn an_unanswered_close_ends_after_the_close_timeout() {
    bounded(async {
        let mut config = ServerConfig::default();
        config.core.close_timeout = Duration::from_millis(300);
        let (addr, server) = serve_one_ws(config, |mut ws| async move {
            let start = Instant::now();
            let result = ws.close(Some(CloseFrame::new(1000, ""))).await;
            (result, start.elapsed(), ws.recv().await.is_none())
        })
        .await;
        // A raw peer that reads the close frame but never answers it.
        let mut peer = RawPeer::handshake(addr, "/").await;
        let close = peer.read_frame().await.expect("close frame");
        assert_eq!(close.close_code(), Some(1000));
        let (result, elapsed, ended) = server.await.unwrap();
        assert!(result.is_ok(), "{result:?}");
        assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
        assert!(ended);
        assert!(peer.read_frame().await.is_none(), "the server ends the TCP");
    })
    .await;
}

#[tokio::test]
async fn a_client_whose_server_keeps_the_tcp_open_ends_after_the_close_timeout() {
    bounded(async {
        let (listener, addr) = listen().await;
        let raw_server = tokio::spawn(async move {
            // Answers the close frame but never closes the TCP connection.
            let mut peer = RawPeer::accept_handshake(&listener, &[]).await;
            let close = peer.read_frame().await.unwrap();
            peer.write(&frame(op::CLOSE, true, &close.payload, None))
                .await;
            peer.read_to_end().await
        });
        let mut config = ropeway_tokio::ClientConfig::default();
        config.core.close_timeout = Duration::from_millis(300);
        let request = ropeway_tokio::ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
        let (mut ws, _) = ropeway_tokio::connect_with(request, &config).await.unwrap();
        let start = Instant::now();
        ws.close(Some(CloseFrame::new(1000, "done"))).await.unwrap();
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
        // The client then ended the TCP itself.
        assert!(raw_server.await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_close_frame_without_a_code_is_echoed_without_one() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), echo).await;
        let mut peer = RawPeer::handshake(addr, "/").await;
        peer.write(&client_frame(op::CLOSE, true, b"")).await;
        let close = peer.read_frame().await.unwrap();
        assert_eq!(close.opcode, op::CLOSE);
        assert!(close.payload.is_empty());
        assert!(peer.read_frame().await.is_none());
        assert_eq!(server.await.unwrap().unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn a_raw_client_close_gets_the_same_code_back_and_then_the_end_of_tcp() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), echo).await;
        let mut peer = RawPeer::handshake(addr, "/").await;
        peer.write(&client_frame(op::CLOSE, true, &close_payload(4000, "bye")))
            .await;
        let close = peer.read_frame().await.unwrap();
        assert_eq!(close.payload, close_payload(4000, "bye"));
        assert!(peer.read_frame().await.is_none());
        assert_eq!(
            server.await.unwrap().unwrap(),
            Some(CloseFrame::new(4000, "bye"))
        );
    })
    .await;
}

/// A client streaming a message past the server's limit reads the server's 1009 close, not
/// the reset that follows it (the server drains before it closes; the client reads what
/// arrived before the reset when its write fails).
#[tokio::test]
async fn an_upload_over_the_limit_gets_its_1009_close_not_a_reset() {
    bounded(async {
        let (addr, server) = serve_one_ws(ServerConfig::default(), echo).await;
        let mut ws = connect(addr, "/").await;
        let fragment = vec![7u8; 64 << 10];
        let total = 20 << 20;
        let mut sent = 0;
        while sent < total {
            let fin = sent + fragment.len() >= total;
            match ws
                .send_fragment(ropeway_tokio::MessageKind::Binary, &fragment, fin)
                .await
            {
                Ok(()) => sent += fragment.len(),
                Err(_) => break,
            }
        }
        let answer = ws.recv().await;
        match answer {
            Some(Ok(Message::Close(Some(frame)))) => assert_eq!(frame.code.0, 1009),
            other => panic!("sent {sent} bytes, then {other:?}"),
        }
        let _ = server.await;
    })
    .await;
}
