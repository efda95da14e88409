//! hyper 1.x integration: a `http1` server with upgrades whose service hands WebSocket
//! requests to `ropeway_tokio::hyper::upgrade` and answers the rest itself.
#![cfg(feature = "hyper")]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ropeway_tokio::hyper::{error_response, status_for, upgrade};
use ropeway_tokio::server::ServerConfig;
use ropeway_tokio::{CloseFrame, Error, Message};

/// The service: `/ws` upgrades and echoes; a failed upgrade gets its error status; anything
/// else is a 200 page.
async fn service(
    mut request: Request<Incoming>,
    config: Arc<ServerConfig>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if request.uri().path() != "/ws" {
        return Ok(Response::new(Full::from("a page\n")));
    }
    match upgrade(&mut request, &config) {
        Ok((response, pending)) => {
            tokio::spawn(async move {
                if let Ok(ws) = pending.await {
                    let _ = echo(ws).await;
                }
            });
            Ok(response)
        }
        Err(e) => Ok(error_response(&e)),
    }
}

/// A hyper server on 127.0.0.1 serving [`service`] on every connection.
async fn spawn_hyper_server(config: ServerConfig) -> SocketAddr {
    let config = Arc::new(config);
    let (listener, addr) = listen().await;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let config = config.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| service(request, config.clone()));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn a_ropeway_client_echoes_through_a_hyper_upgrade() {
    bounded(async {
        let addr = spawn_hyper_server(ServerConfig::default()).await;
        let mut ws = connect(addr, "/ws").await;
        assert_echoes(&mut ws, &[0, 1, 126, 65536, 1 << 20], "hyper").await;
        ws.send(Message::Ping(Bytes::from_static(b"p")))
            .await
            .unwrap();
        assert_eq!(recv(&mut ws).await, Message::Pong(Bytes::from_static(b"p")));
        ws.close(Some(CloseFrame::new(4000, "bye hyper")))
            .await
            .unwrap();
        assert_ends_cleanly(&mut ws).await;
    })
    .await;
}

#[tokio::test]
async fn frames_sent_with_the_request_survive_the_hyper_handover() {
    bounded(async {
        let addr = spawn_hyper_server(ServerConfig::default()).await;
        let mut peer = RawPeer::connect(addr).await;
        let mut bytes = upgrade_request("/ws", "").into_bytes();
        bytes.extend(client_frame(op::TEXT, true, b"read ahead by hyper"));
        peer.write(&bytes).await;
        let head = peer.read_head().await.unwrap();
        assert_eq!(status(&head), 101, "{head}");
        let echoed = peer.read_frame().await.unwrap();
        assert_eq!(echoed.opcode, op::TEXT);
        assert_eq!(echoed.payload, b"read ahead by hyper");
    })
    .await;
}

#[tokio::test]
async fn a_plain_request_to_the_websocket_route_gets_400() {
    bounded(async {
        let addr = spawn_hyper_server(ServerConfig::default()).await;
        let mut peer = RawPeer::connect(addr).await;
        peer.write(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await;
        let (head, _) = peer.read_response().await;
        assert_eq!(status(&head), 400, "{head}");
        // And a ropeway client is told so.
        let refused = ropeway_tokio::connect(&ws_url(addr, "/"))
            .await
            .unwrap_err();
        assert!(matches!(
            refused,
            Error::Handshake(ropeway_core::HandshakeError::Rejected { status, .. }) if status == 200
        ));
    })
    .await;
}

#[tokio::test]
async fn a_wrong_version_gets_426_with_version_13() {
    bounded(async {
        let addr = spawn_hyper_server(ServerConfig::default()).await;
        let mut peer = RawPeer::connect(addr).await;
        let request = upgrade_request("/ws", "")
            .replace("Version: 13", "Version: 8")
            .replace("Connection: Upgrade", "Connection: Upgrade, close");
        peer.write(request.as_bytes()).await;
        let (head, _) = peer.read_response().await;
        assert_eq!(status(&head), 426, "{head}");
        assert_eq!(header(&head, "sec-websocket-version"), Some("13"), "{head}");
    })
    .await;
}

#[tokio::test]
async fn a_forbidden_origin_gets_403_through_hyper() {
    bounded(async {
        let config = ServerConfig {
            allowed_origins: vec!["https://good.example".into()],
            ..ServerConfig::default()
        };
        let addr = spawn_hyper_server(config).await;
        let request = ropeway_tokio::ClientRequest::from_url(&ws_url(addr, "/ws"))
            .unwrap()
            .header(
                http::header::ORIGIN,
                http::HeaderValue::from_static("https://evil.example"),
            );
        let refused = ropeway_tokio::connect_with(request, &Default::default())
            .await
            .unwrap_err();
        assert!(matches!(
            refused,
            Error::Handshake(ropeway_core::HandshakeError::Rejected { status, .. }) if status == StatusCode::FORBIDDEN
        ));
        assert_eq!(
            status_for(&Error::OriginRejected(None)),
            StatusCode::FORBIDDEN
        );
    })
    .await;
}
