//! The API details of issue 14: the agreed subprotocol and extensions in both roles, the
//! write half's `try_send` and `send_fragment`, limits reported as limits, a dead peer
//! reported to `send`, and the wrong scheme for a port (ws:// to TLS, wss:// to plain).

use std::sync::Arc;
use std::time::Duration;

use crate::prelude::*;
use crate::support::tls;
use ropeway_common::{ClientConfig, TrySendError};
use ropeway_core::HandshakeError;
use ropeway_core::deflate::{DeflateClient, DeflateConfig, DeflateServer};
use ropeway_core::driver::TlsErrorKind;
use ropeway_core::handshake::{Accept, ClientRequest};
use ropeway_core::{ConnectionError, Error, Message, MessageKind, ServerConfig};

/// Both ends see the subprotocol the server chose and the extension with its parameters.
pub async fn protocol_and_extensions_are_visible_in_both_roles<T: TestRuntime>() {
    let mut config = ServerConfig::default();
    let deflate = DeflateConfig {
        server_no_context_takeover: true,
        ..DeflateConfig::default()
    };
    config
        .extensions
        .push(Arc::new(DeflateServer::new(deflate)));
    let (addr, server) = T::serve_one(move |tcp| async move {
        let incoming = Incoming::<T>::read(tcp, &config).await.expect("request");
        let upgrade = incoming.upgrade().expect("an upgrade");
        let protocol = upgrade
            .select_protocol(&["chat.v2", "chat.v1"])
            .map(str::to_owned);
        let accept = Accept {
            protocol,
            ..Accept::default()
        };
        let mut ws = incoming.accept(accept).await.expect("accept");
        let seen = format!(
            "{:?} {:?}",
            ws.protocol(),
            ws.extensions()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
        ws.send(Message::text(seen)).await.expect("send");
        let _ = ws.recv().await;
    })
    .await;
    let request = ClientRequest::from_url(&ws_url(addr, "/"))
        .unwrap()
        .protocol("chat.v1");
    let client_config = ClientConfig {
        extensions: vec![Arc::new(DeflateClient::new(DeflateConfig::default()))],
        ..ClientConfig::default()
    };
    let (mut ws, _) = T::connect_with(request, &client_config)
        .await
        .expect("connect");
    assert_eq!(ws.protocol(), Some("chat.v1"));
    assert_eq!(ws.extensions().len(), 1);
    assert_eq!(ws.extensions()[0].name, "permessage-deflate");
    assert!(
        ws.extensions()[0]
            .params
            .iter()
            .any(|(name, _)| name == "server_no_context_takeover"),
        "{:?}",
        ws.extensions()
    );
    let seen = recv(&mut ws).await;
    assert_eq!(
        seen.as_text(),
        Some("Some(\"chat.v1\") [\"permessage-deflate; server_no_context_takeover\"]")
    );
    ws.close(None).await.expect("close");
    server.await;
}

/// Without a subprotocol or extension, both are empty.
pub async fn nothing_agreed_is_none_and_empty<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let mut ws = connect::<T>(addr, "/").await;
    assert_eq!(ws.protocol(), None);
    assert!(ws.extensions().is_empty());
    ws.close(None).await.expect("close");
}

/// `try_send` never waits: once the write half's queue is full the message comes back, and
/// after the end it comes back as `Closed`.
pub async fn try_send_gives_the_message_back_when_full_and_after_the_end<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let ws = connect::<T>(addr, "/").await;
    // The driving task is spawned after the loop, so the queue fills and stays full.
    let (mut reader, writer, task) = ws.split_task();
    let mut full = None;
    for i in 0..100 {
        match writer.try_send(Message::text(format!("m{i}"))) {
            Ok(()) => {}
            Err(e) => {
                full = Some((i, e));
                break;
            }
        }
    }
    let (sent, error) = full.expect("the queue filled");
    assert!(error.is_full(), "{error}");
    assert_eq!(error.into_message(), Message::text(format!("m{sent}")));
    T::detach(task);
    // Everything queued goes out and comes back in order.
    for i in 0..sent {
        let echoed = reader.recv().await.expect("echo").expect("echo");
        assert_eq!(echoed, Message::text(format!("m{i}")));
    }
    // An invalid message comes back with its error.
    let ping = Message::Ping(vec![0; 200].into());
    assert!(matches!(
        writer.try_send(ping),
        Err(TrySendError::Invalid(Message::Ping(_), _))
    ));
    writer.close(None).await.expect("close");
    while let Some(item) = reader.recv().await {
        item.expect("a clean end");
    }
    assert_eq!(
        writer.try_send(Message::text("late")),
        Err(TrySendError::Closed(Message::text("late")))
    );
}

/// A message streamed through the write half in fragments arrives whole.
pub async fn write_half_streams_fragments<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let ws = connect::<T>(addr, "/").await;
    let (mut reader, writer) = ws.split();
    let piece = vec![7u8; 64 * 1024];
    for i in 0..8 {
        writer
            .send_fragment(MessageKind::Binary, &piece, i == 7)
            .await
            .expect("fragment");
    }
    let echoed = reader.recv().await.expect("echo").expect("echo");
    assert_eq!(echoed.into_data().len(), 8 * 64 * 1024);
    writer.close(None).await.expect("close");
}

/// The read half streams a large message in pieces through a small buffer, then switches
/// back to whole messages at the next message.
pub async fn read_half_streams_pieces_then_messages<T: TestRuntime>() {
    const LEN: usize = 4 << 20;
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |mut ws| async move {
        let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
        for i in 0..LEN / chunk.len() {
            let fin = (i + 1) * chunk.len() == LEN;
            ws.send_fragment(MessageKind::Binary, &chunk, fin)
                .await
                .expect("fragment");
        }
        ws.send(Message::text("after")).await.expect("send");
        while let Some(Ok(_)) = ws.recv().await {}
    })
    .await;
    let ws = connect::<T>(addr, "/").await;
    let (mut reader, writer) = ws.split();
    let mut buf = vec![0u8; 10_000];
    let mut total = 0;
    loop {
        match reader
            .recv_piece(&mut buf)
            .await
            .expect("a piece")
            .expect("a piece")
        {
            ropeway_core::driver::Piece::Data {
                kind,
                len,
                end_of_message,
            } => {
                assert_eq!(kind, MessageKind::Binary);
                assert!(len <= buf.len());
                for (i, b) in buf[..len].iter().enumerate() {
                    assert_eq!(*b, (((total + i) % (64 * 1024)) % 251) as u8);
                }
                total += len;
                if end_of_message {
                    break;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(total, LEN);
    let after = reader.recv().await.expect("a message").expect("a message");
    assert_eq!(after, Message::text("after"));
    writer.close(None).await.expect("close");
    while let Some(item) = reader.recv().await {
        item.expect("a clean end");
    }
    server.await;
}

/// A message over the server's limit is reported there as a limit and reaches the client
/// as a 1009 close.
pub async fn over_limit_is_reported_as_a_limit<T: TestRuntime>() {
    let mut config = ServerConfig::default();
    config.core.limits.max_message_size = 1024;
    let (addr, server) = T::serve_one_ws(config, |mut ws| async move {
        match ws.recv().await {
            Some(Err(Error::Connection(e))) => e,
            other => panic!("expected the limit, got {other:?}"),
        }
    })
    .await;
    let mut ws = connect::<T>(addr, "/").await;
    ws.send(Message::binary(vec![0; 4096])).await.expect("send");
    let error = server.await;
    assert!(matches!(&error, ConnectionError::Protocol(e) if e.is_over_limit()));
    assert_eq!(
        error.to_string(),
        "message over the limit of 1024 bytes (closed with 1009)"
    );
    match recv(&mut ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(frame.code, ropeway_core::CloseCode::MESSAGE_TOO_BIG)
        }
        other => panic!("expected a 1009 close, got {other:?}"),
    }
}

/// A peer that never answers is declared dead by keep-alive (while the application waits in
/// `recv`); `recv` says why once, and every `send` after it fails instead of succeeding
/// silently. Split, the read half says why and the write half's sends fail.
pub async fn send_after_the_peer_was_declared_dead_reports_it<T: TestRuntime>() {
    for split in [false, true] {
        let mut config = ServerConfig::default();
        config.core.keep_alive_interval = Some(Duration::from_millis(50));
        config.core.keep_alive_timeout = Some(Duration::from_millis(100));
        let (addr, server) = T::serve_one_ws(config, move |mut ws| async move {
            if split {
                let (mut reader, writer) = ws.split();
                let why = reader.recv().await;
                let send = writer.send(Message::text("late")).await;
                let try_send = writer.try_send(Message::text("late"));
                (format!("{why:?}"), send, try_send.is_err())
            } else {
                let why = ws.recv().await;
                let send = ws.send(Message::text("late")).await;
                (format!("{why:?}"), send, true)
            }
        })
        .await;
        // A peer that completes the handshake, then neither reads nor writes.
        let mut tcp = T::connect_tcp(addr).await.unwrap();
        T::write_all(&mut tcp, UPGRADE).await.unwrap();
        let (why, send, try_send_failed) = server.await;
        assert_eq!(
            why, "Some(Err(Connection(KeepAliveTimeout)))",
            "split: {split}"
        );
        assert!(
            matches!(send, Err(Error::Closed)),
            "split: {split}: {send:?}"
        );
        assert!(try_send_failed, "split: {split}");
        drop(tcp);
    }
}

/// A client's upgrade request for `/`.
const UPGRADE: &[u8] =
    b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// `ws://` to a port that speaks TLS says to use `wss://`.
pub async fn ws_to_a_tls_port_says_use_wss<T: TestRuntime>() {
    let (cert, key) = tls::localhost_certificate();
    let tls = tls::server_config(cert, key);
    let (addr, _server) = T::serve_one(move |tcp| async move {
        // Fails on the HTTP request; the TLS acceptor writes rustls' alert first.
        let _ = T::tls_accept(tls, tcp).await;
    })
    .await;
    let result = T::connect(&ws_url(addr, "/")).await;
    match result {
        Err(Error::Handshake(e @ HandshakeError::ServerSpeaksTls)) => {
            assert!(e.to_string().contains("use wss://"), "{e}");
        }
        other => panic!("expected ServerSpeaksTls, got {other:?}"),
    }
}

/// `wss://` to a port that speaks plain HTTP says to use `ws://`.
pub async fn wss_to_a_plain_port_says_use_ws<T: TestRuntime>() {
    // What a plain HTTP server does with a TLS ClientHello: 400, then close.
    let (addr, _server) = T::serve_one(|mut tcp| async move {
        let mut buf = [0; 1024];
        let _ = T::read(&mut tcp, &mut buf).await;
        let _ = T::write_all(
            &mut tcp,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        )
        .await;
        let _ = T::shutdown(&mut tcp).await;
    })
    .await;
    let request = ClientRequest::from_url(&format!("wss://localhost:{}/", addr.port())).unwrap();
    let result = T::connect_with(request, &ClientConfig::default()).await;
    match result {
        Err(Error::Tls(e)) => {
            assert_eq!(e.kind(), TlsErrorKind::ServerSpeaksPlain, "{e}");
            assert!(e.to_string().contains("use ws://"), "{e}");
            let source = e.get_ref().expect("the rustls error");
            assert!(source.downcast_ref::<rustls::Error>().is_some());
        }
        other => panic!("expected ServerSpeaksPlain, got {other:?}"),
    }
}

/// `wss://` to a ropeway server on a plain port: the server answers the ClientHello with
/// 400 at once, and the client says to use `ws://` (well before any timeout).
pub async fn wss_to_a_ropeway_plain_server_says_use_ws<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let request = ClientRequest::from_url(&format!("wss://localhost:{}/", addr.port())).unwrap();
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(5),
        ..ClientConfig::default()
    };
    match T::connect_with(request, &config).await {
        Err(Error::Tls(e)) => assert_eq!(e.kind(), TlsErrorKind::ServerSpeaksPlain, "{e}"),
        other => panic!("expected ServerSpeaksPlain, got {other:?}"),
    }
}
