//! HTTPS on tokio with `ropeway_tokio::h2::serve`: TLS offering ALPN `h2` and `http/1.1`,
//! hyper serving both HTTP versions (HTTP/2 with extended CONNECT announced, so a browser's
//! WebSocket rides the HTTP/2 connection that loaded the page, RFC 8441), and axum routing
//! the same routes as the plain listener, with ropeway's extractor taking WebSockets of
//! either version. This is the recipe for axum over TLS with HTTP/2: a `Router` as
//! `h2::serve`'s handler.
//!
//! `h2::serve` numbers its connections and puts a `ConnectionInfo` in every request, so the
//! log names the connection of each request and each WebSocket: `connection #3: GET / over
//! HTTP/2`, then `websocket on connection #3 over HTTP/2 (extended CONNECT)` shows that the
//! WebSocket rode the connection that served the page.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use http::{Request, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::service::TowerToHyperService;
use ropeway_core::HandshakeError;
use ropeway_tokio::axum::{WebSocketRejection, WebSocketUpgrade};
use ropeway_tokio::h2::{self, ConnectionInfo, ServeConfig};
use ropeway_tokio::server::plain;
use ropeway_tokio::{Message, Registry, ServerConfig};
use tokio::net::TcpListener;

use crate::app::{self, version_name};

/// Serves https:// and wss:// on `listener` with HTTP/2 or HTTP/1.1, whichever the client
/// picks by ALPN, until the sample's shutdown begins (`registry` closing).
pub async fn accept_loop(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    tls: Arc<rustls::ServerConfig>,
    registry: Registry,
) {
    let serve_config = ServeConfig {
        tls_handshake_timeout: config.handshake_timeout,
        drain_timeout: app::SHUTDOWN_TIMEOUT,
        ..ServeConfig::default()
    };
    // The extractor registers every WebSocket, HTTP/1.1 or HTTP/2, in the registry it finds
    // in the request's extensions: the sample's, so that Ctrl-C reaches them all (the plain
    // listeners' too) and the sample's shutdown waits for their close handshakes.
    let app = TowerToHyperService::new(router(config).layer(Extension(registry.clone())));
    let handler = move |request: Request<Incoming>| {
        if let Some(info) = request.extensions().get::<ConnectionInfo>() {
            println!(
                "connection #{}: {} {} over {} (from {})",
                info.id,
                request.method(),
                request.uri().path(),
                version_name(request.version()),
                info.peer
            );
        }
        let routed = app.call(request);
        async move {
            match routed.await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    };
    // h2::serve stops accepting, says GOAWAY and lets its connections drain when this ends.
    let shutdown = async move { registry.closing().await };
    if let Err(e) = h2::serve(listener, Some(tls), serve_config, handler, shutdown).await {
        eprintln!("https listener: {e}");
    }
}

/// The routes of the plain listener (`app::route`): the page, the echo, 400 and 404. The
/// echo route takes GET (an HTTP/1.1 upgrade) and CONNECT (an HTTP/2 extended CONNECT).
fn router(config: Arc<ServerConfig>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/index.html", get(page))
        .route("/ws", any(websocket))
        .route("/room", any(room))
        .fallback(not_found)
        .with_state(config)
}

async fn page() -> Response {
    app::page_response().map(|()| Body::from(app::PAGE))
}

/// The room page, or a room's WebSocket (HTTP/1.1 upgrade or HTTP/2 extended CONNECT).
async fn room(
    State(config): State<Arc<ServerConfig>>,
    Extension(registry): Extension<Registry>,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(WebSocketRejection::Handshake(HandshakeError::NotWebSocket)) => {
            return app::page_response().map(|()| Body::from(app::ROOM_PAGE));
        }
        Err(rejection) => return rejection.into_response(),
    };
    let room = app::room_name(uri.query());
    ws.config(config).on_upgrade(move |ws| async move {
        if let Err(e) = crate::room::serve(ws, &room, &registry).await {
            eprintln!("room {room}: {e}");
        }
    })
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND).map(|()| Body::from(app::NOT_FOUND))
}

/// Accepts the WebSocket with the sample's settings and echoes, after saying which HTTP
/// version carried it if the client asked (`?announce`).
async fn websocket(
    State(config): State<Arc<ServerConfig>>,
    Extension(info): Extension<ConnectionInfo>,
    uri: Uri,
    ws: Result<WebSocketUpgrade, WebSocketRejection>,
) -> Response {
    let ConnectionInfo { id, peer, .. } = info;
    let ws = match ws {
        Ok(ws) => ws,
        Err(WebSocketRejection::Handshake(HandshakeError::NotWebSocket)) => {
            return plain(StatusCode::BAD_REQUEST).map(|()| Body::from(app::NOT_WEBSOCKET));
        }
        Err(rejection) => {
            eprintln!("connection #{id} from {peer}: {rejection}");
            return rejection.into_response();
        }
    };
    let version = ws.http_version();
    let how = match version {
        Version::HTTP_2 => "extended CONNECT",
        _ => "upgrade",
    };
    let announcement = app::announcement(uri.query(), version);
    ws.config(config).on_upgrade(move |mut ws| async move {
        let name = version_name(version);
        println!("websocket on connection #{id} over {name} ({how}) from {peer}");
        if let Some(text) = announcement
            && let Err(e) = ws.send(Message::text(text)).await
        {
            return eprintln!("connection #{id}: {e}");
        }
        if let Err(e) = crate::connection::echo_messages(&mut ws).await {
            eprintln!("connection #{id}: {e}");
        }
    })
}
