//! The opening handshake over loopback: what the application sees of the request, and the
//! HTTP answers to requests that do not become WebSockets (400, 403, 426, 431, timeouts).

use std::time::{Duration, Instant};

use crate::prelude::*;
use http::{HeaderName, HeaderValue, StatusCode};
use ropeway_async::server::plain;
use ropeway_common::ClientConfig;
use ropeway_core::HandshakeError;
use ropeway_core::handshake::{Accept, ClientRequest};
use ropeway_core::{Error, Message, ServerConfig};

pub async fn server_chooses_a_subprotocol_and_sees_the_clients_extra_header<T: TestRuntime>() {
    let (addr, server) = T::serve_one(|tcp| async move {
        let incoming = Incoming::<T>::read(tcp, &ServerConfig::default()).await?;
        assert_eq!(incoming.path(), "/chat");
        assert_eq!(incoming.request().uri().query(), Some("room=7"));
        assert!(incoming.is_websocket());
        let upgrade = incoming.upgrade()?;
        assert_eq!(upgrade.protocols(), ["superchat", "chat"]);
        assert_eq!(
            upgrade.headers().get("x-token").map(|v| v.as_bytes()),
            Some(&b"secret"[..])
        );
        let mut answer = Accept {
            protocol: upgrade.select_protocol(&["chat"]).map(str::to_owned),
            ..Accept::default()
        };
        answer
            .headers
            .insert("x-served-by", HeaderValue::from_static("ropeway"));
        let mut ws = incoming.accept(answer).await?;
        let message = recv(&mut ws).await;
        ws.send(message).await?;
        ws.close(None).await
    })
    .await;
    let request = ClientRequest::from_url(&ws_url(addr, "/chat?room=7"))
        .unwrap()
        .protocol("superchat")
        .protocol("chat")
        .header(
            HeaderName::from_static("x-token"),
            HeaderValue::from_static("secret"),
        );
    let (mut ws, response) = T::connect_with(request, &ClientConfig::default())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(response.headers()["x-served-by"], "ropeway");
    ws.send(Message::text("after the handshake")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("after the handshake"));
    assert_eq!(recv(&mut ws).await, Message::Close(None));
    assert!(ws.recv().await.is_none());
    server.await.unwrap();
}

pub async fn a_subprotocol_the_client_did_not_offer_is_refused_not_accepted<T: TestRuntime>() {
    let (addr, server) = T::serve_one(|tcp| async move {
        let incoming = Incoming::<T>::read(tcp, &ServerConfig::default()).await?;
        let answer = Accept {
            protocol: Some("chat.v2".into()),
            ..Accept::default()
        };
        incoming.accept(answer).await.map(|_| ())
    })
    .await;
    let request = ClientRequest::from_url(&ws_url(addr, "/"))
        .unwrap()
        .protocol("chat.v1");
    let refused = T::connect_with(request, &ClientConfig::default()).await;
    match refused {
        Err(Error::Handshake(HandshakeError::Rejected { status, .. })) => {
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR)
        }
        other => panic!("{other:?}"),
    }
    let served = server.await;
    assert!(
        matches!(
            served,
            Err(Error::Handshake(HandshakeError::ProtocolNotOffered(_)))
        ),
        "{served:?}"
    );
}

pub async fn a_client_offering_no_subprotocol_gets_none<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let (_ws, response) = T::connect(&ws_url(addr, "/")).await.unwrap();
    assert!(response.headers().get("sec-websocket-protocol").is_none());
}

pub async fn a_plain_get_is_answered_with_400_by_accept<T: TestRuntime>() {
    let (addr, server) = T::serve_one(T::accept).await;
    let mut peer = RawPeer::<T>::connect(addr).await;
    peer.write(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await;
    let (head, body) = peer.read_response().await;
    assert_eq!(status(&head), 400, "{head}");
    assert!(!body.is_empty());
    assert!(matches!(
        server.await,
        Err(Error::Handshake(HandshakeError::NotWebSocket))
    ));
}

pub async fn a_wrong_websocket_version_is_answered_with_426_naming_version_13<T: TestRuntime>() {
    let (addr, server) = T::serve_one(T::accept).await;
    let mut peer = RawPeer::<T>::connect(addr).await;
    let request = upgrade_request("/", "").replace("Version: 13", "Version: 8");
    peer.write(request.as_bytes()).await;
    let (head, _) = peer.read_response().await;
    assert_eq!(status(&head), 426, "{head}");
    assert_eq!(header(&head, "sec-websocket-version"), Some("13"), "{head}");
    assert!(matches!(
        server.await,
        Err(Error::Handshake(HandshakeError::UnsupportedVersion(_)))
    ));
}

pub async fn a_request_without_a_key_is_answered_with_400<T: TestRuntime>() {
    let (addr, server) = T::serve_one(T::accept).await;
    let mut peer = RawPeer::<T>::connect(addr).await;
    let request = upgrade_request("/", "").replace(SAMPLE_KEY, "short");
    peer.write(request.as_bytes()).await;
    let (head, _) = peer.read_response().await;
    assert_eq!(status(&head), 400, "{head}");
    assert!(matches!(
        server.await,
        Err(Error::Handshake(HandshakeError::InvalidKey))
    ));
}

/// A server with an origin allow-list that reports every `Incoming::read` outcome: the
/// application "gets the connection" only when the outcome is `Ok`.
async fn origin_checking_server<T: TestRuntime>(
    allowed: &[&str],
) -> (
    std::net::SocketAddr,
    async_channel::Receiver<Result<(), Error>>,
) {
    let config = ServerConfig {
        allowed_origins: allowed.iter().map(|s| s.to_string()).collect(),
        ..ServerConfig::default()
    };
    let (listener, addr) = listen::<T>().await;
    let (tx, rx) = async_channel::unbounded();
    T::detach(async move {
        while let Ok(tcp) = T::accept_tcp(&listener).await {
            match Incoming::<T>::read(tcp, &config).await {
                Ok(incoming) => {
                    let _ = tx.send(Ok(())).await;
                    if let Ok(ws) = incoming.accept(Accept::default()).await {
                        T::detach(echo(ws));
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e)).await;
                }
            }
        }
    });
    (addr, rx)
}

fn with_origin(addr: std::net::SocketAddr, origin: &'static str) -> ClientRequest {
    ClientRequest::from_url(&ws_url(addr, "/ws"))
        .unwrap()
        .header(http::header::ORIGIN, HeaderValue::from_static(origin))
}

pub async fn a_forbidden_origin_gets_403_and_never_reaches_the_application<T: TestRuntime>() {
    let (addr, outcomes) = origin_checking_server::<T>(&["https://good.example"]).await;
    let config = ClientConfig::default();

    let refused = T::connect_with(with_origin(addr, "https://evil.example"), &config)
        .await
        .unwrap_err();
    match refused {
        Error::Handshake(HandshakeError::Rejected { status, .. }) => {
            assert_eq!(status, StatusCode::FORBIDDEN)
        }
        other => panic!("expected a 403 rejection, got {other:?}"),
    }
    match outcomes.recv().await.unwrap() {
        Err(Error::OriginRejected(origin)) => {
            assert_eq!(origin.as_deref(), Some("https://evil.example"))
        }
        other => panic!("the application must not get the connection: {other:?}"),
    }

    // No Origin at all is refused too once there is an allow-list.
    let refused = T::connect(&ws_url(addr, "/ws")).await.unwrap_err();
    assert!(
        matches!(refused, Error::Handshake(HandshakeError::Rejected { status, .. }) if status == 403)
    );
    assert!(matches!(
        outcomes.recv().await.unwrap(),
        Err(Error::OriginRejected(None))
    ));

    // The allowed origin (compared case-insensitively) gets through and echoes.
    let (mut ws, _) = T::connect_with(with_origin(addr, "https://GOOD.example"), &config)
        .await
        .unwrap();
    assert!(outcomes.recv().await.unwrap().is_ok());
    ws.send(Message::text("allowed")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("allowed"));
}

pub async fn a_plain_request_from_any_origin_is_not_refused_with_403<T: TestRuntime>() {
    // The allow-list protects WebSockets only; plain requests reach the application.
    let (addr, outcomes) = origin_checking_server::<T>(&["https://good.example"]).await;
    let mut peer = RawPeer::<T>::connect(addr).await;
    peer.write(b"GET / HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n\r\n")
        .await;
    assert!(outcomes.recv().await.unwrap().is_ok());
}

pub async fn an_oversized_request_head_is_answered_with_431<T: TestRuntime>() {
    let (addr, server) = T::serve_one(T::accept).await;
    let mut peer = RawPeer::<T>::connect(addr).await;
    // 16 KiB of headers, over the default limit of 8 KiB.
    let filler = format!("X-Filler: {}\r\n", "f".repeat(16 << 10));
    peer.write(upgrade_request("/", &filler).as_bytes()).await;
    let (head, _) = peer.read_response().await;
    assert_eq!(status(&head), 431, "{head}");
    assert!(matches!(
        server.await,
        Err(Error::Handshake(HandshakeError::HeadTooLarge { .. }))
    ));
}

pub async fn a_stalled_request_head_times_out_within_the_handshake_timeout<T: TestRuntime>() {
    let timeout = Duration::from_millis(300);
    let config = ServerConfig {
        handshake_timeout: timeout,
        ..ServerConfig::default()
    };
    let (addr, server) = T::serve_one(move |tcp| async move {
        let start = Instant::now();
        let result = Incoming::<T>::read(tcp, &config).await.map(drop);
        (result, start.elapsed())
    })
    .await;
    let mut peer = RawPeer::<T>::connect(addr).await;
    peer.write(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: web")
        .await;
    let (result, elapsed) = server.await;
    assert!(matches!(result, Err(Error::HandshakeTimeout)), "{result:?}");
    assert!(elapsed >= timeout, "gave up early: {elapsed:?}");
    assert!(elapsed < timeout * 4, "gave up late: {elapsed:?}");
    // The stalled client is dropped.
    assert!(peer.read_to_end().await.is_empty());
}

pub async fn a_server_that_never_answers_times_out_the_client_handshake<T: TestRuntime>() {
    let (listener, addr) = listen::<T>().await;
    let _silent = T::spawn(async move {
        let tcp = T::accept_tcp(&listener).await.unwrap();
        T::sleep(Duration::from_secs(30)).await;
        drop(tcp);
    });
    let config = ClientConfig {
        handshake_timeout: Duration::from_millis(300),
        ..ClientConfig::default()
    };
    let start = Instant::now();
    let request = ClientRequest::from_url(&ws_url(addr, "/")).unwrap();
    let result = T::connect_with(request, &config).await;
    assert!(matches!(result, Err(Error::HandshakeTimeout)), "{result:?}");
    assert!(start.elapsed() < Duration::from_millis(1200));
}

pub async fn the_client_reports_a_plain_answer_with_its_status<T: TestRuntime>() {
    let (addr, _server) = T::serve_one(|tcp| async move {
        let incoming = Incoming::<T>::read(tcp, &ServerConfig::default())
            .await
            .unwrap();
        incoming
            .respond(plain(StatusCode::NOT_FOUND), b"not here\n")
            .await
            .unwrap();
    })
    .await;
    match T::connect(&ws_url(addr, "/nowhere")).await {
        Err(Error::Handshake(HandshakeError::Rejected { status, .. })) => {
            assert_eq!(status, StatusCode::NOT_FOUND)
        }
        other => panic!("expected a 404 rejection, got {other:?}"),
    }
}

pub async fn the_client_rejects_a_wrong_accept_key<T: TestRuntime>() {
    let (listener, addr) = listen::<T>().await;
    T::detach(async move {
        let tcp = T::accept_tcp(&listener).await.unwrap();
        let mut peer = RawPeer::<T>::new(tcp);
        peer.read_head().await.unwrap();
        peer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
        )
        .await;
        peer.read_to_end().await;
    });
    let result = T::connect(&ws_url(addr, "/")).await;
    assert!(
        matches!(result, Err(Error::Handshake(HandshakeError::InvalidAccept))),
        "{result:?}"
    );
}

pub async fn frames_sent_with_the_request_are_not_lost<T: TestRuntime>() {
    let (addr, server) = T::serve_one_ws(ServerConfig::default(), |mut ws| async move {
        let first = recv(&mut ws).await;
        let second = recv(&mut ws).await;
        (first, second)
    })
    .await;
    let mut peer = RawPeer::<T>::connect(addr).await;
    // The request and two frames in one write: the server reads them together.
    let mut bytes = upgrade_request("/", "").into_bytes();
    bytes.extend(client_frame(op::TEXT, true, b"early"));
    bytes.extend(client_frame(op::BINARY, true, &[1, 2, 3]));
    peer.write(&bytes).await;
    let head = peer.read_head().await.unwrap();
    assert_eq!(status(&head), 101);
    let (first, second) = server.await;
    assert_eq!(first, Message::text("early"));
    assert_eq!(second, Message::binary(vec![1, 2, 3]));
}

pub async fn frames_sent_with_the_101_are_not_lost<T: TestRuntime>() {
    let (listener, addr) = listen::<T>().await;
    T::detach(async move {
        // The 101 and a frame in one write: the client reads them together.
        let greeting = frame(op::TEXT, true, b"welcome", None);
        let mut peer = RawPeer::<T>::accept_handshake(&listener, &greeting).await;
        peer.read_to_end().await;
    });
    let mut ws = connect::<T>(addr, "/").await;
    assert_eq!(recv(&mut ws).await, Message::text("welcome"));
}

pub async fn the_server_accepts_a_request_arriving_byte_by_byte<T: TestRuntime>() {
    let (addr, server) = T::serve_one(|tcp| async move {
        let mut ws = T::accept_with_config(tcp, &ServerConfig::default()).await?;
        let message = recv(&mut ws).await;
        Ok::<_, Error>(message)
    })
    .await;
    let mut peer = RawPeer::<T>::connect(addr).await;
    let mut bytes = upgrade_request("/", "").into_bytes();
    bytes.extend(client_frame(op::TEXT, true, b"slow"));
    for byte in bytes {
        peer.write(&[byte]).await;
    }
    assert_eq!(server.await.unwrap(), Message::text("slow"));
}
