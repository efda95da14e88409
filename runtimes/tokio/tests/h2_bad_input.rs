//! Bad input over HTTP/2 against `ropeway_tokio::h2::serve`: wrong extended CONNECTs get
//! their statuses, protocol violations on one stream end that stream only, a reset
//! mid-message is an abnormal closure for that WebSocket only, and a flood of streams past
//! the limit is refused while the connection and its other streams go on.
#![cfg(feature = "h2")]

mod common;
mod h2_support;

use std::time::Duration;

use bytes::Bytes;
use common::*;
use h2_support::frame::*;
use h2_support::*;
use http::Version;
use ropeway_tokio::h2::ServeConfig;
use ropeway_tokio::{ConnectionError, Error, Message, ServerConfig};

/// Opens a WebSocket on `stream` of a raw connection and checks it echoes.
async fn assert_stream_echoes(raw: &mut RawH2, stream: u32) {
    raw.connect_ws(stream, Some("websocket"), "13").await;
    assert_eq!(raw.status(stream).await, 200, "stream {stream}");
    raw.send(DATA, 0, stream, &ws_frame(op::TEXT, b"ping?"))
        .await;
    let f = raw.read_until(stream, &[DATA, RST_STREAM]).await.unwrap();
    assert_eq!(f.kind, DATA, "{f:?}");
    // An unmasked server frame: FIN+text, length 5, the payload.
    assert_eq!(f.payload, [&[0x81, 5][..], b"ping?"].concat());
}

#[tokio::test]
async fn the_server_announces_extended_connect_and_its_stream_limit() {
    bounded(async {
        let server = spawn_default().await;
        let raw = RawH2::connect(server.addr).await;
        assert_eq!(raw.setting(ENABLE_CONNECT_PROTOCOL), Some(1));
        assert_eq!(raw.setting(MAX_CONCURRENT_STREAMS), Some(128));
    })
    .await;
}

#[tokio::test]
async fn wrong_extended_connects_get_their_status_and_the_connection_goes_on() {
    bounded(async {
        let mut server = spawn_default().await;
        let mut raw = RawH2::connect(server.addr).await;
        // No `:protocol`: a plain CONNECT (a proxy tunnel) is no WebSocket request.
        raw.connect_ws(1, None, "13").await;
        assert_eq!(raw.status(1).await, 400);
        // An unknown protocol: 501.
        raw.connect_ws(3, Some("webtransport"), "13").await;
        assert_eq!(raw.status(3).await, 501);
        // A wrong version: 426 (with Sec-WebSocket-Version: 13, checked in the core).
        raw.connect_ws(5, Some("websocket"), "8").await;
        assert_eq!(raw.status(5).await, 426);
        // The same connection still opens a good WebSocket.
        assert_stream_echoes(&mut raw, 7).await;
        raw.send(DATA, 0, 7, &ws_frame(op::CLOSE, &close_payload(1000, "")))
            .await;
        let (version, ended) = server.seen.recv().await.unwrap();
        assert_eq!(version, Version::HTTP_2);
        assert_eq!(ended.unwrap().unwrap().code.0, 1000);
    })
    .await;
}

#[tokio::test]
async fn data_after_the_end_of_a_stream_resets_that_stream_only() {
    bounded(async {
        let mut server = spawn_default().await;
        let mut raw = RawH2::connect(server.addr).await;
        assert_stream_echoes(&mut raw, 1).await;
        // END_STREAM, then more DATA on the same stream: a stream error (RFC 9113 §5.1,
        // half-closed (remote) → STREAM_CLOSED).
        raw.send(DATA, END_STREAM, 1, &[]).await;
        raw.send(DATA, 0, 1, &ws_frame(op::TEXT, b"too late")).await;
        let f = raw.read_until(1, &[RST_STREAM]).await.unwrap();
        assert_eq!(f.kind, RST_STREAM, "{f:?}");
        assert_eq!(
            u32::from_be_bytes(f.payload[..4].try_into().unwrap()),
            STREAM_CLOSED
        );
        // The WebSocket on that stream ended without a close handshake.
        let (_, ended) = server.seen.recv().await.unwrap();
        assert!(ended.is_err(), "{ended:?}");
        // The connection and a new stream are unharmed.
        assert_stream_echoes(&mut raw, 3).await;
    })
    .await;
}

#[tokio::test]
async fn a_stream_reset_mid_message_is_an_abnormal_closure_for_that_websocket_only() {
    bounded(async {
        let mut server = spawn_default().await;
        let client = h2_client(server.addr).await;
        let (mut healthy, _) = client.websocket("/ws").await.unwrap();
        // A second WebSocket on the same connection, through the h2 crate directly: half a
        // frame (a 1000-byte text frame, 10 bytes of it), then RST_STREAM.
        let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let (send, conn) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(conn);
        // The server's SETTINGS have to arrive before an extended CONNECT is allowed.
        let mut send = send.ready().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut request = http::Request::builder()
            .method("CONNECT")
            .uri(format!("http://{}/ws", server.addr))
            .header("sec-websocket-version", "13")
            .body(())
            .unwrap();
        request
            .extensions_mut()
            .insert(h2::ext::Protocol::from_static("websocket"));
        let (response, mut stream) = send.send_request(request, false).unwrap();
        assert_eq!(response.await.unwrap().status(), 200);
        let mut frame = client_frame(op::TEXT, true, &[b'a'; 1000]);
        frame.truncate(18);
        stream.send_data(Bytes::from(frame), false).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.send_reset(h2::Reason::CANCEL);
        let (version, ended) = server.seen.recv().await.unwrap();
        assert_eq!(version, Version::HTTP_2);
        assert!(
            matches!(
                ended,
                Err(Error::Connection(ConnectionError::Abnormal)) | Err(Error::Io(_))
            ),
            "{ended:?}"
        );
        // The other WebSocket, on its own connection's... and on the first client's
        // connection, keeps working.
        healthy.send(Message::text("fine")).await.unwrap();
        assert_eq!(recv(&mut healthy).await, Message::text("fine"));
        let (mut another, _) = client.websocket("/ws").await.unwrap();
        another.send(Message::text("new")).await.unwrap();
        assert_eq!(recv(&mut another).await, Message::text("new"));
    })
    .await;
}

#[tokio::test]
async fn a_client_websocket_sees_a_server_reset_as_an_abnormal_closure() {
    bounded(async {
        // A server that resets the stream in the middle of a message it sends.
        let (listener, addr) = listen().await;
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut conn = h2::server::Builder::new()
                .enable_connect_protocol()
                .handshake::<_, Bytes>(tcp)
                .await
                .unwrap();
            let (_request, mut respond) = conn.accept().await.unwrap().unwrap();
            tokio::spawn(async move { while conn.accept().await.is_some() {} });
            let mut send = respond
                .send_response(http::Response::new(()), false)
                .unwrap();
            // A 1000-byte server frame, 10 bytes of payload, then the reset.
            send.send_data(Bytes::from(vec![0x81, 126, 0x03, 0xe8, b'a', b'a']), false)
                .unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            send.send_reset(h2::Reason::INTERNAL_ERROR);
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let client = h2_client(addr).await;
        let (mut ws, _) = client.websocket("/ws").await.unwrap();
        match ws.recv().await {
            Some(Err(Error::Io(e))) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset),
            Some(Err(Error::Connection(ConnectionError::Abnormal))) => {}
            other => panic!("expected an abnormal end, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn a_flood_of_streams_past_the_limit_is_refused_and_the_rest_go_on() {
    bounded(async {
        let serve = ServeConfig {
            max_concurrent_streams: 4,
            ..ServeConfig::default()
        };
        let server = spawn_server(ServerConfig::default(), serve, None).await;
        let mut raw = RawH2::connect(server.addr).await;
        assert_eq!(raw.setting(MAX_CONCURRENT_STREAMS), Some(4));
        // Four WebSockets open and stay open.
        for stream in [1, 3, 5, 7] {
            assert_stream_echoes(&mut raw, stream).await;
        }
        // Ten more at once: each refused with RST_STREAM(REFUSED_STREAM).
        for stream in (9..29).step_by(2) {
            raw.connect_ws(stream, Some("websocket"), "13").await;
        }
        for stream in (9..29).step_by(2) {
            let f = raw
                .read_until(stream, &[RST_STREAM, HEADERS])
                .await
                .unwrap();
            assert_eq!(f.kind, RST_STREAM, "stream {stream}: {f:?}");
            let code = u32::from_be_bytes(f.payload[..4].try_into().unwrap());
            assert_eq!(code, REFUSED_STREAM, "stream {stream}");
        }
        // The open ones still echo.
        for stream in [1, 3, 5, 7] {
            raw.send(DATA, 0, stream, &ws_frame(op::BINARY, b"still"))
                .await;
            let f = raw.read_until(stream, &[DATA, RST_STREAM]).await.unwrap();
            assert_eq!(
                f.payload,
                [&[0x82, 5][..], b"still"].concat(),
                "stream {stream}"
            );
        }
        // Once one closes, a new stream is accepted.
        raw.send(DATA, 0, 1, &ws_frame(op::CLOSE, &close_payload(1000, "")))
            .await;
        let f = raw.read_until(1, &[DATA]).await.unwrap();
        assert_eq!(f.payload[0], 0x88);
        raw.send(DATA, END_STREAM, 1, &[]).await;
        let mut opened = false;
        for attempt in 0..20 {
            let stream = 41 + 2 * attempt;
            raw.connect_ws(stream, Some("websocket"), "13").await;
            let f = raw
                .read_until(stream, &[RST_STREAM, HEADERS])
                .await
                .unwrap();
            if f.kind == HEADERS {
                opened = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(opened, "no stream accepted after one ended");
    })
    .await;
}
