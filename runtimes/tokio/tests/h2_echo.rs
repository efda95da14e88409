//! The loopback smoke suite over HTTP/2 (RFC 8441): the ropeway HTTP/2 client against
//! `ropeway_tokio::h2::serve`, every case over an extended CONNECT stream: echoes of every
//! length class, fragments, pings, pieces, close both ways with codes, 100 WebSockets on
//! one connection, TLS with ALPN, HTTP/1.1 on the same port, and the fallback to HTTP/1.1.
#![cfg(feature = "h2")]

mod common;
mod h2_support;

use bytes::Bytes;
use common::*;
use h2_support::*;
use http::Version;
use ropeway_tokio::h2::{H2Client, H2Options, ServeConfig, Transport};
use ropeway_tokio::{
    ClientConfig, CloseFrame, HandshakeError, Message, MessageKind, Piece, ServerConfig,
};

const SIZES: [usize; 8] = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_and_binary_messages_of_every_length_class_echo_over_http2() {
    bounded(async {
        let mut server = spawn_default().await;
        let client = h2_client(server.addr).await;
        let (mut ws, response) = client.websocket("/ws").await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("sec-websocket-accept").is_none());
        assert_echoes(&mut ws, &SIZES, "h2 echo").await;
        ws.close(Some(CloseFrame::new(1000, "done"))).await.unwrap();
        assert_ends_cleanly(&mut ws).await;
        let (version, ended) = server.seen.recv().await.unwrap();
        assert_eq!(version, Version::HTTP_2);
        assert_eq!(ended.unwrap().unwrap().code.0, 1000);
    })
    .await;
}

#[tokio::test]
async fn many_small_messages_fragments_and_pings_over_http2() {
    bounded(async {
        let server = spawn_default().await;
        let client = h2_client(server.addr).await;
        let (mut ws, _) = client.websocket("/ws").await.unwrap();
        for i in 0..500 {
            ws.send(Message::text(format!("message {i}")))
                .await
                .unwrap();
        }
        for i in 0..500 {
            assert_eq!(recv(&mut ws).await, Message::text(format!("message {i}")));
        }
        let text = "héllo wörld".as_bytes();
        ws.send_fragment(MessageKind::Text, &text[..2], false)
            .await
            .unwrap();
        ws.send(Message::Ping(Bytes::from_static(b"mid-message")))
            .await
            .unwrap();
        ws.send_fragment(MessageKind::Text, &text[2..], true)
            .await
            .unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            got.push(recv(&mut ws).await);
        }
        assert!(got.contains(&Message::Pong(Bytes::from_static(b"mid-message"))));
        assert!(got.contains(&Message::text("héllo wörld")));
    })
    .await;
}

#[tokio::test]
async fn a_1_mib_message_arrives_in_4_kib_pieces_over_http2() {
    bounded(async {
        let server = spawn_default().await;
        let client = h2_client(server.addr).await;
        let (mut ws, _) = client.websocket("/ws").await.unwrap();
        let payload = bytes_of_len(1 << 20);
        ws.send(Message::binary(payload.clone())).await.unwrap();
        let mut buf = [0u8; 4096];
        let mut got = Vec::new();
        loop {
            match ws.recv_piece(&mut buf).await.unwrap().unwrap() {
                Piece::Data {
                    len,
                    end_of_message,
                    ..
                } => {
                    assert!(len <= buf.len());
                    got.extend_from_slice(&buf[..len]);
                    if end_of_message {
                        break;
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(got == payload);
    })
    .await;
}

#[tokio::test]
async fn close_both_ways_with_codes_over_http2() {
    bounded(async {
        let mut server = spawn_default().await;
        let client = h2_client(server.addr).await;
        // Client-initiated: the server sees the code and reason; the stream ends cleanly.
        let (mut ws, _) = client.websocket("/ws").await.unwrap();
        ws.close(Some(CloseFrame::new(4001, "client bye")))
            .await
            .unwrap();
        assert_ends_cleanly(&mut ws).await;
        let (_, ended) = server.seen.recv().await.unwrap();
        let frame = ended.unwrap().unwrap();
        assert_eq!((frame.code.0, &*frame.reason), (4001, "client bye"));

        // Server-initiated, on a server that closes with 4002 on the first message.
        let ws_config = ServerConfig::default();
        let (listener, addr) = listen().await;
        let handler = move |mut request: http::Request<hyper::body::Incoming>| {
            let ws_config = ws_config.clone();
            async move {
                let (response, pending) = ropeway_tokio::hyper::upgrade::<
                    _,
                    http_body_util::Empty<Bytes>,
                >(&mut request, &ws_config)
                .unwrap();
                tokio::spawn(async move {
                    let mut ws = pending.await.unwrap();
                    let _ = ws.recv().await;
                    ws.close(Some(CloseFrame::new(4002, "server bye")))
                        .await
                        .unwrap();
                    while ws.recv().await.is_some() {}
                });
                response
            }
        };
        tokio::spawn(ropeway_tokio::h2::serve(
            listener,
            None,
            ServeConfig::default(),
            handler,
            std::future::pending(),
        ));
        let client = h2_client(addr).await;
        let (mut ws, _) = client.websocket("/ws").await.unwrap();
        ws.send(Message::text("hi")).await.unwrap();
        match recv(&mut ws).await {
            Message::Close(Some(frame)) => {
                assert_eq!((frame.code.0, &*frame.reason), (4002, "server bye"))
            }
            other => panic!("{other:?}"),
        }
        assert_ends_cleanly(&mut ws).await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_websockets_share_one_http2_connection() {
    bounded(async {
        let mut server = spawn_default().await;
        let client = h2_client(server.addr).await;
        let mut tasks = Vec::new();
        for i in 0..100 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let (mut ws, _) = client.websocket(&format!("/ws?n={i}")).await.unwrap();
                for j in 0..20 {
                    let m = Message::text(format!("{i}:{j}"));
                    ws.send(m.clone()).await.unwrap();
                    assert_eq!(recv(&mut ws).await, m);
                }
                ws.close(None).await.unwrap();
                assert_ends_cleanly(&mut ws).await;
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        for _ in 0..100 {
            let (version, ended) = server.seen.recv().await.unwrap();
            assert_eq!(version, Version::HTTP_2);
            ended.unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn wss_over_http2_with_alpn_and_http11_on_the_same_port() {
    bounded(async {
        let (cert, key) = localhost_certificate();
        let mut server = spawn_server(
            ServerConfig::default(),
            ServeConfig::default(),
            Some(tls_server(cert.clone(), key)),
        )
        .await;
        let config = trusting(cert);
        let url = format!("wss://localhost:{}/ws", server.addr.port());
        // HTTP/2 chosen by ALPN.
        let (mut ws, response) = ropeway_tokio::h2::connect(&url, &config, &H2Options::default())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(ws.get_ref().http_version(), Version::HTTP_2);
        assert!(matches!(ws.get_ref(), Transport::H2(_)));
        assert_echoes(&mut ws, &[0, 126, 65536], "wss h2").await;
        ws.close(None).await.unwrap();
        assert_ends_cleanly(&mut ws).await;
        assert_eq!(server.seen.recv().await.unwrap().0, Version::HTTP_2);
        // The plain HTTP/1.1 client (no ALPN) on the same port.
        let (mut ws, response) = ropeway_tokio::connect_with(
            ropeway_tokio::ClientRequest::from_url(&url).unwrap(),
            &config,
        )
        .await
        .unwrap();
        assert_eq!(response.status(), 101);
        assert_echoes(&mut ws, &[0, 126, 65536], "wss h1").await;
        ws.close(None).await.unwrap();
        assert_ends_cleanly(&mut ws).await;
        assert_eq!(server.seen.recv().await.unwrap().0, Version::HTTP_11);
    })
    .await;
}

#[tokio::test]
async fn http11_upgrades_are_served_on_the_h2c_port_too() {
    bounded(async {
        let mut server = spawn_default().await;
        let mut ws = connect(server.addr, "/ws").await;
        assert_echoes(&mut ws, &[0, 70000], "h1 on serve").await;
        ws.close(None).await.unwrap();
        assert_ends_cleanly(&mut ws).await;
        assert_eq!(server.seen.recv().await.unwrap().0, Version::HTTP_11);
    })
    .await;
}

#[tokio::test]
async fn connect_falls_back_to_http11_when_the_server_has_no_http2() {
    bounded(async {
        // A server that speaks HTTP/1.1 only (the plain ropeway accept loop).
        let addr = spawn_echo_server(ServerConfig::default()).await;
        let url = ws_url(addr, "/ws");
        let (mut ws, response) =
            ropeway_tokio::h2::connect(&url, &ClientConfig::default(), &H2Options::default())
                .await
                .unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(ws.get_ref().http_version(), Version::HTTP_11);
        assert_echoes(&mut ws, &[5, 70000], "fallback").await;
        ws.close(None).await.unwrap();
        // Without the fallback: an_h2_client_for_ws_to_a_server_without_http2_…
    })
    .await;
}

#[tokio::test]
async fn an_h2_client_for_ws_to_a_server_without_http2_reports_http2_unavailable() {
    bounded(async {
        // h2c with prior knowledge to an HTTP/1.1-only server: it answers the preface with
        // 400 and closes, which the client must report as no HTTP/2, not as an I/O error.
        let addr = spawn_echo_server(ServerConfig::default()).await;
        let url = ws_url(addr, "/ws");
        let strict = H2Options {
            fallback_to_http1: false,
            ..H2Options::default()
        };
        let unavailable = |err: ropeway_tokio::Error| {
            assert!(
                matches!(
                    err,
                    ropeway_tokio::Error::Handshake(HandshakeError::Http2Unavailable(_))
                ),
                "{err:?}"
            );
        };
        for _ in 0..20 {
            unavailable(
                H2Client::connect(&url, &ClientConfig::default(), &strict)
                    .await
                    .unwrap_err(),
            );
            unavailable(
                ropeway_tokio::h2::connect(&url, &ClientConfig::default(), &strict)
                    .await
                    .unwrap_err(),
            );
        }
    })
    .await;
}

#[tokio::test]
async fn connect_falls_back_when_h2_is_offered_without_extended_connect() {
    bounded(async {
        // hyper's HTTP/2 server without enable_connect_protocol: h2 yes, WebSockets no.
        let (listener, addr) = listen().await;
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(http::Response::new(
                            http_body_util::Empty::<Bytes>::new(),
                        ))
                    });
                    let _ = hyper::server::conn::http2::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .await;
                });
            }
        });
        let url = ws_url(addr, "/ws");
        let strict = H2Options {
            fallback_to_http1: false,
            ..H2Options::default()
        };
        let err = H2Client::connect(&url, &ClientConfig::default(), &strict)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("SETTINGS_ENABLE_CONNECT_PROTOCOL"),
            "{err}"
        );
    })
    .await;
}

#[tokio::test]
async fn requests_carry_their_connection_so_the_server_sees_websockets_share_one() {
    bounded(async {
        let (listener, addr) = listen().await;
        let (ids_tx, mut ids_rx) = tokio::sync::mpsc::unbounded_channel();
        let handler = move |mut request: http::Request<hyper::body::Incoming>| {
            let info = *request
                .extensions()
                .get::<ropeway_tokio::h2::ConnectionInfo>()
                .expect("serve sets ConnectionInfo");
            ids_tx.send((info, request.version())).unwrap();
            async move {
                let (response, pending) = ropeway_tokio::hyper::upgrade::<
                    _,
                    http_body_util::Empty<Bytes>,
                >(&mut request, &ServerConfig::default())
                .unwrap();
                tokio::spawn(async move {
                    let _ = echo(pending.await.unwrap()).await;
                });
                response
            }
        };
        tokio::spawn(ropeway_tokio::h2::serve(
            listener,
            None,
            ServeConfig::default(),
            handler,
            std::future::pending(),
        ));
        let first = h2_client(addr).await;
        let second = h2_client(addr).await;
        let mut open = Vec::new();
        for client in [&first, &first, &first, &second] {
            open.push(client.websocket("/ws").await.unwrap().0);
        }
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.push(ids_rx.recv().await.unwrap());
        }
        assert!(
            seen.iter()
                .all(|(info, v)| *v == Version::HTTP_2 && !info.tls)
        );
        assert!(seen.iter().all(|(info, _)| info.peer.ip().is_loopback()));
        assert_eq!(seen[0].0.id, seen[1].0.id);
        assert_eq!(seen[1].0.id, seen[2].0.id);
        assert_ne!(seen[2].0.id, seen[3].0.id);
    })
    .await;
}
