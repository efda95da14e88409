//! The axum extractor on a loopback `axum::serve` app with a normal route next to the
//! WebSocket route: HTTP/1.1 upgrades from ropeway's client and raw requests, HTTP/2
//! extended CONNECT from hyper's HTTP/2 client (many WebSockets and a normal request on one
//! HTTP/2 connection), subprotocol choice among the offered ones, and every rejection with
//! its status.
#![cfg(feature = "axum")]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::{any, get};
use bytes::{Bytes, BytesMut};
use common::*;
use http::{Method, Request, StatusCode, Version};
use http_body_util::BodyExt;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ropeway_core::Connection;
use ropeway_core::HandshakeError;
use ropeway_tokio::ServerConfig;
use ropeway_tokio::axum::WebSocketUpgrade;
use ropeway_tokio::hyper::UpgradedIo;
use ropeway_tokio::{ClientConfig, ClientRequest, CloseFrame, Error, Message, WebSocket};
use tokio::sync::mpsc;

/// What the server's WebSocket callback saw: the HTTP version and the chosen subprotocol.
type Seen = (Version, Option<String>);

/// The protocols the test server speaks.
const SUPPORTED: &[&str] = &["chat.v2", "chat.v1"];

/// `/` is a normal route; `/ws` picks among [`SUPPORTED`] and echoes, reporting what it saw;
/// `/get-only` is registered for GET alone (the mistake the docs warn about).
fn app(config: ServerConfig, seen: mpsc::UnboundedSender<Seen>) -> Router {
    let config = Arc::new(config);
    let handler = move |ws: WebSocketUpgrade| {
        let (config, seen) = (config.clone(), seen.clone());
        async move { echo_route(ws, config, seen) }
    };
    Router::new()
        .route("/", get(|| async { "a normal route\n" }))
        .route("/ws", any(handler.clone()))
        .route("/get-only", get(handler))
}

fn echo_route(
    ws: WebSocketUpgrade,
    config: Arc<ServerConfig>,
    seen: mpsc::UnboundedSender<Seen>,
) -> Response {
    let ws = ws.config(config).select_protocol(SUPPORTED);
    let report = (ws.http_version(), ws.selected_protocol().map(str::to_owned));
    ws.on_upgrade(move |ws| async move {
        let _ = seen.send(report);
        let _ = echo(ws).await;
    })
}

/// `axum::serve` on 127.0.0.1 (HTTP/1.1, and HTTP/2 by prior knowledge) with [`app`].
async fn spawn_axum(config: ServerConfig) -> (SocketAddr, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (listener, addr) = listen().await;
    tokio::spawn(async move { axum::serve(listener, app(config, tx)).await });
    (addr, rx)
}

async fn next_seen(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    rx.recv().await.expect("the server's callback ran")
}

// ---- HTTP/1.1 ----

#[tokio::test]
async fn http1_picks_the_first_offered_protocol_the_server_speaks_and_echoes() {
    bounded(async {
        let (addr, mut seen) = spawn_axum(ServerConfig::default()).await;
        let request = ClientRequest::from_url(&ws_url(addr, "/ws"))
            .unwrap()
            .protocol("chat.v3")
            .protocol("chat.v1")
            .protocol("chat.v2");
        let (mut ws, response) = ropeway_tokio::connect_with(request, &ClientConfig::default())
            .await
            .unwrap();
        // chat.v1 is the client's first choice among those the server speaks.
        let chosen = response.headers().get("sec-websocket-protocol").unwrap();
        assert_eq!(chosen, "chat.v1");
        assert_eq!(
            next_seen(&mut seen).await,
            (Version::HTTP_11, Some("chat.v1".into()))
        );
        assert_echoes(&mut ws, &[0, 1, 126, 65536, 1 << 20], "axum h1").await;
        ws.close(Some(CloseFrame::new(4000, "bye axum")))
            .await
            .unwrap();
        assert_ends_cleanly(&mut ws).await;
    })
    .await;
}

#[tokio::test]
async fn http1_without_a_common_protocol_answers_with_none() {
    bounded(async {
        let (addr, mut seen) = spawn_axum(ServerConfig::default()).await;
        let request = ClientRequest::from_url(&ws_url(addr, "/ws"))
            .unwrap()
            .protocol("chat.v9");
        let (mut ws, response) = ropeway_tokio::connect_with(request, &ClientConfig::default())
            .await
            .unwrap();
        assert!(response.headers().get("sec-websocket-protocol").is_none());
        assert_eq!(next_seen(&mut seen).await, (Version::HTTP_11, None));
        assert_echoes(&mut ws, &[5], "no protocol").await;
    })
    .await;
}

#[tokio::test]
async fn the_normal_route_next_to_the_websocket_route_still_answers() {
    bounded(async {
        let (addr, _seen) = spawn_axum(ServerConfig::default()).await;
        let mut peer = RawPeer::connect(addr).await;
        peer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await;
        let (head, body) = peer.read_response().await;
        assert_eq!(status(&head), 200, "{head}");
        assert_eq!(body, b"a normal route\n");
    })
    .await;
}

/// Sends `request` on a fresh connection and returns the response head and body (read to
/// the end: the request asks the server to close after answering).
async fn raw_response(addr: SocketAddr, request: &str) -> (String, Vec<u8>) {
    let request = request.replace("Connection: Upgrade", "Connection: Upgrade, close");
    let mut peer = RawPeer::connect(addr).await;
    peer.write(request.as_bytes()).await;
    peer.read_response().await
}

#[tokio::test]
async fn http1_rejections_get_their_status() {
    bounded(async {
        let config = ServerConfig {
            allowed_origins: vec!["https://good.example".into()],
            ..ServerConfig::default()
        };
        let (addr, _seen) = spawn_axum(config).await;
        // A plain request on the WebSocket route: 400.
        let plain = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        let (head, body) = raw_response(addr, plain).await;
        assert_eq!(status(&head), 400, "{head}");
        assert_eq!(body, b"not a WebSocket upgrade request\n");
        // A wrong version: 426 with the version this server speaks.
        let request = upgrade_request("/ws", "Origin: https://good.example\r\n")
            .replace("Version: 13", "Version: 8");
        let (head, _) = raw_response(addr, &request).await;
        assert_eq!(status(&head), 426, "{head}");
        assert_eq!(header(&head, "sec-websocket-version"), Some("13"), "{head}");
        // A missing key: 400.
        let request = upgrade_request("/ws", "Origin: https://good.example\r\n")
            .replace("Sec-WebSocket-Key", "X-Not-The-Key");
        let (head, _) = raw_response(addr, &request).await;
        assert_eq!(status(&head), 400, "{head}");
        // Another method with the upgrade headers: 405.
        let request = upgrade_request("/ws", "").replacen("GET", "POST", 1);
        let (head, _) = raw_response(addr, &request).await;
        assert_eq!(status(&head), 405, "{head}");
        // A forbidden origin: 403, and ropeway's client is told so.
        let request = ClientRequest::from_url(&ws_url(addr, "/ws"))
            .unwrap()
            .header(
                http::header::ORIGIN,
                http::HeaderValue::from_static("https://evil.example"),
            );
        let refused = ropeway_tokio::connect_with(request, &ClientConfig::default())
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, Error::Handshake(HandshakeError::Rejected { status, .. }) if *status == StatusCode::FORBIDDEN),
            "{refused:?}"
        );
        // The allowed origin opens.
        let request = ClientRequest::from_url(&ws_url(addr, "/ws"))
            .unwrap()
            .header(
                http::header::ORIGIN,
                http::HeaderValue::from_static("https://good.example"),
            );
        let (mut ws, _) = ropeway_tokio::connect_with(request, &ClientConfig::default())
            .await
            .unwrap();
        assert_echoes(&mut ws, &[3], "allowed origin").await;
    })
    .await;
}

// ---- HTTP/2 ----

/// An HTTP/2 connection (prior knowledge) to `addr` from hyper's client, once the server
/// has announced SETTINGS_ENABLE_CONNECT_PROTOCOL.
async fn h2_connect(addr: SocketAddr) -> SendRequest<Body> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .handshake(TokioIo::new(tcp))
        .await
        .unwrap();
    let mut conn = Box::pin(conn);
    // The server's SETTINGS arrive with its first bytes; poll the connection until then.
    let announced = async {
        while !conn.is_extended_connect_protocol_enabled() {
            tokio::select! {
                result = conn.as_mut() => panic!("the HTTP/2 connection ended: {result:?}"),
                () = tokio::task::yield_now() => {}
            }
        }
    };
    bounded_for(std::time::Duration::from_secs(5), announced).await;
    tokio::spawn(conn);
    send
}

/// An extended CONNECT request for a WebSocket on `path` (RFC 8441 §4).
fn h2_websocket_request(path: &str, protocol: &str, extra: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::CONNECT)
        .uri(format!("http://127.0.0.1{path}"))
        .version(Version::HTTP_2)
        .extension(hyper::ext::Protocol::from(protocol))
        .header("sec-websocket-version", "13");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

/// Opens a WebSocket over a new stream of `send`'s connection: the 200 response, and a
/// ropeway client WebSocket over the stream (no HTTP/1.1 handshake: the stream is the
/// transport once the server has answered 200).
async fn h2_websocket(
    send: &mut SendRequest<Body>,
    protocols: &str,
) -> (http::Response<hyper::body::Incoming>, WebSocket<UpgradedIo>) {
    let request =
        h2_websocket_request("/ws", "websocket", &[("sec-websocket-protocol", protocols)]);
    let mut response = send.send_request(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let upgraded = hyper::upgrade::on(&mut response).await.unwrap();
    let config = ClientConfig::default();
    let entropy = ropeway_common::os_seeded_entropy().unwrap();
    let now = tokio::time::Instant::now().into_std();
    let conn = Connection::client(config.core, Box::new(entropy), now);
    let io = UpgradedIo::new(upgraded, http::Version::HTTP_2);
    let ws = WebSocket::from_parts(io, conn, BytesMut::new(), config.read_buffer_size);
    (response, ws)
}

#[tokio::test]
async fn http2_extended_connect_picks_a_protocol_and_echoes() {
    bounded(async {
        let (addr, mut seen) = spawn_axum(ServerConfig::default()).await;
        let mut send = h2_connect(addr).await;
        let (response, mut ws) = h2_websocket(&mut send, "chat.v2, chat.v1").await;
        let chosen = response.headers().get("sec-websocket-protocol").unwrap();
        assert_eq!(chosen, "chat.v2");
        // RFC 8441 §5: no Sec-WebSocket-Accept over HTTP/2.
        assert!(response.headers().get("sec-websocket-accept").is_none());
        assert_eq!(
            next_seen(&mut seen).await,
            (Version::HTTP_2, Some("chat.v2".into()))
        );
        assert_echoes(&mut ws, &[0, 1, 126, 65536, 1 << 20], "axum h2").await;
        ws.send(Message::Ping(Bytes::from_static(b"p")))
            .await
            .unwrap();
        assert_eq!(recv(&mut ws).await, Message::Pong(Bytes::from_static(b"p")));
        ws.close(Some(CloseFrame::new(4000, "bye h2")))
            .await
            .unwrap();
        assert_ends_cleanly(&mut ws).await;
    })
    .await;
}

#[tokio::test]
async fn many_websockets_and_a_normal_request_share_one_http2_connection() {
    bounded(async {
        let (addr, mut seen) = spawn_axum(ServerConfig::default()).await;
        let mut send = h2_connect(addr).await;
        let mut sockets = Vec::new();
        for _ in 0..8 {
            sockets.push(h2_websocket(&mut send, "chat.v1").await.1);
            assert_eq!(
                next_seen(&mut seen).await,
                (Version::HTTP_2, Some("chat.v1".into()))
            );
        }
        // The normal route on the same connection, while the WebSockets are open.
        let page = Request::get("http://127.0.0.1/")
            .version(Version::HTTP_2)
            .body(Body::empty())
            .unwrap();
        let response = send.send_request(page).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"a normal route\n");
        // Each stream carries its own messages, interleaved with the others'.
        for round in 0..3 {
            for (i, ws) in sockets.iter_mut().enumerate() {
                let text = format!("socket {i} round {round}");
                ws.send(Message::text(text.clone())).await.unwrap();
            }
            for (i, ws) in sockets.iter_mut().enumerate() {
                let expected = format!("socket {i} round {round}");
                assert_eq!(recv_data(ws).await, Message::text(expected));
            }
        }
        for ws in &mut sockets {
            ws.close(None).await.unwrap();
            assert_ends_cleanly(ws).await;
        }
    })
    .await;
}

/// Sends `request` on `send`'s connection and returns the status, the headers and the body.
async fn h2_answer(
    send: &mut SendRequest<Body>,
    request: Request<Body>,
) -> (StatusCode, http::HeaderMap, Bytes) {
    let response = send.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

#[tokio::test]
async fn http2_rejections_get_their_status_and_the_connection_lives_on() {
    bounded(async {
        let config = ServerConfig {
            allowed_origins: vec!["https://good.example".into()],
            ..ServerConfig::default()
        };
        let (addr, mut seen) = spawn_axum(config).await;
        let mut send = h2_connect(addr).await;
        let good = ("origin", "https://good.example");
        // Another `:protocol`: 501.
        let request = h2_websocket_request("/ws", "not-websocket", &[good]);
        let (status, _, body) = h2_answer(&mut send, request).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{body:?}");
        // A wrong WebSocket version: 426 with the version this server speaks.
        let mut request = h2_websocket_request("/ws", "websocket", &[good]);
        request
            .headers_mut()
            .insert("sec-websocket-version", http::HeaderValue::from_static("8"));
        let (status, headers, _) = h2_answer(&mut send, request).await;
        assert_eq!(status, StatusCode::UPGRADE_REQUIRED);
        assert_eq!(headers.get("sec-websocket-version").unwrap(), "13");
        // A forbidden origin: 403.
        let evil = ("origin", "https://evil.example");
        let request = h2_websocket_request("/ws", "websocket", &[evil]);
        let (status, _, _) = h2_answer(&mut send, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // A plain GET on the WebSocket route: 400.
        let request = Request::get("http://127.0.0.1/ws")
            .version(Version::HTTP_2)
            .body(Body::empty())
            .unwrap();
        let (status, _, _) = h2_answer(&mut send, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // A route registered for GET alone refuses the HTTP/2 WebSocket: the mistake the
        // module docs warn about.
        let request = h2_websocket_request("/get-only", "websocket", &[good]);
        let (status, _, _) = h2_answer(&mut send, request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        // None of them reached the callback, and the connection still opens a WebSocket.
        assert!(seen.try_recv().is_err());
        let request = h2_websocket_request("/ws", "websocket", &[good]);
        let mut response = send.send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let _stream = hyper::upgrade::on(&mut response).await.unwrap();
        assert_eq!(next_seen(&mut seen).await, (Version::HTTP_2, None));
    })
    .await;
}

// ---- Settings through the extractor ----

/// Compression and a small message limit, handed to the extractor in its `ServerConfig`.
fn deflating_small_limit() -> ServerConfig {
    let mut config = ServerConfig::default();
    config.core.limits.max_message_size = 1024;
    config.core.limits.max_frame_size = 1024;
    let deflate = ropeway_core::deflate::DeflateServer::new(Default::default());
    config.extensions.push(Arc::new(deflate));
    config
}

/// The peer's 1009 close after an over-limit message: whatever `ws` reads until its end.
async fn assert_closed_with_1009<S>(ws: &mut WebSocket<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    ws.send(Message::text(text_of_len(4096))).await.unwrap();
    match ws.recv().await {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 1009, "{frame:?}");
        }
        other => panic!("expected the 1009 close, got {other:?}"),
    }
}

#[tokio::test]
async fn the_config_brings_compression_and_limits_over_http1() {
    bounded(async {
        let (addr, _seen) = spawn_axum(deflating_small_limit()).await;
        let mut config = ClientConfig::default();
        let deflate = ropeway_core::deflate::DeflateClient::new(Default::default());
        config.extensions.push(Arc::new(deflate));
        let request = ClientRequest::from_url(&ws_url(addr, "/ws")).unwrap();
        let (mut ws, response) = ropeway_tokio::connect_with(request, &config).await.unwrap();
        let extensions = response.headers().get("sec-websocket-extensions").unwrap();
        assert!(
            extensions
                .to_str()
                .unwrap()
                .starts_with("permessage-deflate"),
            "{extensions:?}"
        );
        assert_echoes(&mut ws, &[0, 1000], "deflated").await;
        assert_closed_with_1009(&mut ws).await;
    })
    .await;
}

#[tokio::test]
async fn the_config_brings_compression_and_limits_over_http2() {
    bounded(async {
        let (addr, _seen) = spawn_axum(deflating_small_limit()).await;
        let mut send = h2_connect(addr).await;
        let offer = ("sec-websocket-extensions", "permessage-deflate");
        let request = h2_websocket_request("/ws", "websocket", &[offer]);
        let response = send.send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let extensions = response.headers().get("sec-websocket-extensions").unwrap();
        assert!(
            extensions
                .to_str()
                .unwrap()
                .starts_with("permessage-deflate"),
            "{extensions:?}"
        );
        // Without compression on this client side the limit still holds for plain frames.
        let (_, mut ws) = h2_websocket(&mut send, "chat.v1").await;
        assert_echoes(&mut ws, &[0, 1000], "h2 small").await;
        assert_closed_with_1009(&mut ws).await;
    })
    .await;
}

// ---- ropeway's own HTTP/2 client (feature `h2`) against axum ----

/// ropeway's `H2Client` (built on the `h2` crate, not hyper) opens WebSockets on one h2c
/// connection to `axum::serve`: the extractor picks the subprotocol and echoes on each.
#[cfg(feature = "h2")]
#[tokio::test]
async fn ropeway_h2_client_multiplexes_websockets_into_axum() {
    use ropeway_tokio::h2::{H2Client, H2Options};
    bounded(async {
        let (addr, mut seen) = spawn_axum(ServerConfig::default()).await;
        let url = ws_url(addr, "/ws");
        let client = H2Client::connect(&url, &ClientConfig::default(), &H2Options::default())
            .await
            .unwrap();
        let request = ClientRequest::from_url(&url)
            .unwrap()
            .protocol("chat.v1")
            .protocol("chat.v2");
        let (mut a, response) = client.websocket_with(&request).await.unwrap();
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            "chat.v1"
        );
        let (mut b, _) = client.websocket("/ws").await.unwrap();
        // The server's callbacks run on their own tasks: in either order.
        let mut both = [next_seen(&mut seen).await, next_seen(&mut seen).await];
        both.sort();
        let expected = [
            (Version::HTTP_2, None),
            (Version::HTTP_2, Some("chat.v1".into())),
        ];
        assert_eq!(both, expected);
        assert_echoes(&mut a, &[0, 1, 65536, 1 << 20], "h2 client a").await;
        assert_echoes(&mut b, &[7, 70000], "h2 client b").await;
        a.close(None).await.unwrap();
        assert_ends_cleanly(&mut a).await;
        b.close(None).await.unwrap();
        assert_ends_cleanly(&mut b).await;
    })
    .await;
}

// ---- graceful shutdown ----

#[tokio::test]
async fn websockets_join_the_registry_an_extension_layer_provides_and_its_shutdown_closes_them() {
    bounded(async {
        let registry = ropeway_tokio::Registry::new();
        let (tx, mut seen) = mpsc::unbounded_channel();
        let (listener, addr) = listen().await;
        let router = app(ServerConfig::default(), tx).layer(axum::Extension(registry.clone()));
        tokio::spawn(async move { axum::serve(listener, router).await });
        let mut ws = connect(addr, "/ws").await;
        next_seen(&mut seen).await;
        assert_echoes(&mut ws, &[5], "before").await;
        assert_eq!(registry.len(), 1, "the extractor registered the WebSocket");
        let shutdown = registry.shutdown(
            ropeway_tokio::going_away(),
            std::time::Duration::from_secs(10),
        );
        let client = async {
            assert_eq!(
                recv(&mut ws).await,
                Message::Close(Some(CloseFrame::new(1001, "going away")))
            );
            assert_ends_cleanly(&mut ws).await;
        };
        let (still_open, ()) = tokio::join!(shutdown, client);
        assert_eq!(still_open, 0);
    })
    .await;
}
