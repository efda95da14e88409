//! axum 0.8 integration (feature `axum`): the [`WebSocketUpgrade`] extractor accepts a
//! WebSocket that arrives as an HTTP/1.1 upgrade (`GET` with `Upgrade: websocket`) or as an
//! HTTP/2 extended CONNECT (RFC 8441: `CONNECT` with `:protocol = websocket`) on the same
//! route, and hands the application a ropeway [`WebSocket`].
//!
//! # The route must accept CONNECT as well as GET
//!
//! Over HTTP/2 a browser opens a WebSocket with a `CONNECT` request, not a `GET`: it
//! multiplexes the WebSocket into the HTTP/2 connection that loaded the page, without an
//! extra TCP or TLS handshake. A route registered with `axum::routing::get` alone answers
//! that request with 405 and the browser's WebSocket fails (Chromium then does not retry over
//! HTTP/1.1). Register the handler with `axum::routing::any`, or with both methods:
//! `get(handler).connect(handler)` / `on(MethodFilter::GET.or(MethodFilter::CONNECT), handler)`.
//!
//! `axum::serve` (axum 0.8 with its `http2` feature) announces
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL`, so browsers use HTTP/2 WebSockets with it as soon as
//! the connection is HTTP/2 (over TLS with ALPN `h2`, or HTTP/2 prior knowledge). A server
//! built directly on hyper needs `http2().enable_connect_protocol()` on its builder and
//! `serve_connection_with_upgrades`.
//!
//! # Example
//!
//! ```no_run
//! use axum::{Router, response::Response, routing::{any, get}};
//! use ropeway_tokio::axum::WebSocketUpgrade;
//!
//! async fn echo(ws: WebSocketUpgrade) -> Response {
//!     // The first offered subprotocol this server speaks, or none.
//!     ws.select_protocol(&["chat.v2", "chat.v1"])
//!         .on_upgrade(|mut ws| async move {
//!             while let Some(Ok(message)) = ws.recv().await {
//!                 if message.is_data() && ws.send(message).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         })
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = Router::new()
//!     .route("/", get(|| async { "a normal route" }))
//!     .route("/ws", any(echo)); // GET (HTTP/1.1) and CONNECT (HTTP/2)
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! # Settings and limits
//!
//! [`WebSocketUpgrade::config`] takes the same [`ServerConfig`] as every other ropeway
//! server: origin allow-list (403), permessage-deflate (`extensions`), message and frame
//! limits, keep-alive, read buffer size. The request head itself is bounded by hyper's
//! limits (HTTP/1.1 buffer size, HTTP/2 `max_header_list_size`), not by ropeway's handshake
//! limits.

use std::future::Future;
use std::sync::Arc;

use axum_core::body::Body;
use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use bytes::BytesMut;
use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Version};
use hyper::upgrade::OnUpgrade;
use ropeway_core::handshake::{Accept, HandshakeError, UpgradeRequest, accept_request, reject};
use ropeway_core::{Error, ServerConfig};

use crate::hyper::UpgradedIo;
use crate::{Registry, WebSocket};

/// Extracts a WebSocket request, HTTP/1.1 upgrade or HTTP/2 extended CONNECT, validated as
/// the core validates every WebSocket request. Choose the answer (subprotocol, settings,
/// headers), then [`WebSocketUpgrade::on_upgrade`] returns the response and runs the
/// application's callback with the [`WebSocket`] once hyper has handed the connection (or
/// the HTTP/2 stream) over.
///
/// A request that is not a WebSocket request is rejected with [`WebSocketRejection`] (400,
/// 426 with `Sec-WebSocket-Version: 13` for a wrong version, 501 for an HTTP/2 CONNECT with
/// another `:protocol`). See the [module docs](self) for why the route must accept CONNECT.
pub struct WebSocketUpgrade {
    request: UpgradeRequest,
    on_upgrade: OnUpgrade,
    version: Version,
    config: Option<Arc<ServerConfig>>,
    accept: Accept,
    /// Where the WebSocket registers: the [`Registry`] in the request's extensions (an
    /// `Extension(registry)` layer puts it there), or the one [`WebSocketUpgrade::registry`]
    /// names.
    registry: Option<Registry>,
}

impl std::fmt::Debug for WebSocketUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketUpgrade")
            .field("request", &self.request)
            .field("version", &self.version)
            .field("accept", &self.accept)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WebSocketUpgrade {
    type Rejection = WebSocketRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let request = upgrade_request(parts)?;
        // Taken only once the request is valid: a rejected request leaves it in place.
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or(WebSocketRejection::NotUpgradable)?;
        Ok(WebSocketUpgrade {
            request,
            on_upgrade,
            version: parts.version,
            config: None,
            accept: Accept::default(),
            registry: parts.extensions.get::<Registry>().cloned(),
        })
    }
}

/// Validates the head in `parts`: an HTTP/2 CONNECT as RFC 8441 says, anything else as an
/// HTTP/1.1 upgrade (RFC 6455 §4.2.1).
fn upgrade_request(parts: &Parts) -> Result<UpgradeRequest, WebSocketRejection> {
    let mut head = Request::builder()
        .method(parts.method.clone())
        .uri(parts.uri.clone())
        .version(parts.version)
        .body(())
        .map_err(|e| HandshakeError::MalformedHead(e.to_string()))?;
    *head.headers_mut() = parts.headers.clone();
    if parts.method == Method::CONNECT && parts.version == Version::HTTP_2 {
        // hyper hands the `:protocol` pseudo-header over as an extension; the core tells a
        // plain CONNECT (a tunnel, 400) and another protocol (501) from a WebSocket.
        let protocol = parts.extensions.get::<hyper::ext::Protocol>();
        Ok(UpgradeRequest::from_extended_connect(
            head,
            protocol.map(hyper::ext::Protocol::as_str),
        )?)
    } else {
        Ok(UpgradeRequest::from_request(head)?)
    }
}

impl WebSocketUpgrade {
    /// The validated request: path, query, headers, origin, offered subprotocols and
    /// extensions.
    pub fn request(&self) -> &UpgradeRequest {
        &self.request
    }

    /// The subprotocols the client offered, in its order of preference.
    pub fn protocols(&self) -> &[String] {
        self.request.protocols()
    }

    /// The HTTP version that carried the request: `HTTP_11` for an upgrade, `HTTP_2` for an
    /// extended CONNECT (the WebSocket then rides one stream of that HTTP/2 connection).
    pub fn http_version(&self) -> Version {
        self.version
    }

    /// Answers with the first subprotocol the client offered that `supported` contains (in
    /// the client's order of preference), or with none if there is no such protocol; a
    /// server may pick only among the offered ones (RFC 6455 §4.2.2).
    pub fn select_protocol(mut self, supported: &[&str]) -> Self {
        self.accept.protocol = self.request.select_protocol(supported).map(str::to_owned);
        self
    }

    /// The subprotocol the answer will name, if any.
    pub fn selected_protocol(&self) -> Option<&str> {
        self.accept.protocol.as_deref()
    }

    /// The settings of the WebSocket: origin allow-list, compression, limits, keep-alive.
    /// Without it, [`ServerConfig::default`].
    pub fn config(mut self, config: impl Into<Arc<ServerConfig>>) -> Self {
        self.config = Some(config.into());
        self
    }

    /// Registers the WebSocket in `registry` (instead of the one in the request's
    /// extensions, if any), so the registry's graceful shutdown reaches it.
    pub fn registry(mut self, registry: &Registry) -> Self {
        self.registry = Some(registry.clone());
        self
    }

    /// Adds a header to the accepting response.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.accept.headers.append(name, value);
        self
    }

    /// Decides the answer: the accepting response (101 over HTTP/1.1, 200 over HTTP/2) and,
    /// once hyper hands the connection over, `callback` runs on a new task with the
    /// [`WebSocket`]. A request from an origin not on the allow-list gets 403 and the
    /// callback never runs. If the hand-over fails (the client went away) the callback does
    /// not run either.
    pub fn on_upgrade<F, Fut>(self, callback: F) -> Response
    where
        F: FnOnce(WebSocket<UpgradedIo>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let config = self.config.unwrap_or_default();
        let mut accepted = match accept_request(&self.request, self.accept, &config) {
            Ok(accepted) => accepted,
            Err(e) => return WebSocketRejection::from(e).into_response(),
        };
        let (parts, ()) = std::mem::take(&mut accepted.response).into_parts();
        let on_upgrade = self.on_upgrade;
        let version = self.version;
        let registry = self.registry;
        tokio::spawn(async move {
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(e) => {
                    tracing::debug!("WebSocket hand-over failed: {e}");
                    return;
                }
            };
            let now = tokio::time::Instant::now().into_std();
            let conn = accepted.into_connection(&config, now);
            let size = config.read_buffer_size;
            let io = UpgradedIo::new(upgraded, version);
            let mut ws = WebSocket::from_parts(io, conn, BytesMut::new(), size);
            if let Some(registry) = &registry {
                ws.register(registry);
            }
            callback(ws).await;
        });
        Response::from_parts(parts, Body::empty())
    }
}

/// Why a request could not become a WebSocket; as a response, the status the RFCs ask for
/// and a plain-text body naming the reason.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebSocketRejection {
    /// The request is not a valid WebSocket request, or its origin is not allowed: the
    /// handshake error's own status (400, 403, 405, 426 with `Sec-WebSocket-Version: 13`,
    /// 501 for an HTTP/2 extended CONNECT naming another `:protocol`).
    Handshake(HandshakeError),
    /// The server cannot hand this connection over (no `hyper::upgrade::OnUpgrade` in the
    /// request: a server without upgrades, or a service called outside hyper): 500.
    NotUpgradable,
}

impl WebSocketRejection {
    /// The status this rejection is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            WebSocketRejection::Handshake(e) => e.status(),
            WebSocketRejection::NotUpgradable => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl std::fmt::Display for WebSocketRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebSocketRejection::Handshake(e) => e.fmt(f),
            WebSocketRejection::NotUpgradable => {
                f.write_str("the server cannot hand this connection over")
            }
        }
    }
}

impl std::error::Error for WebSocketRejection {}

impl From<HandshakeError> for WebSocketRejection {
    fn from(error: HandshakeError) -> Self {
        WebSocketRejection::Handshake(error)
    }
}

impl From<WebSocketRejection> for Error {
    fn from(rejection: WebSocketRejection) -> Self {
        match rejection {
            WebSocketRejection::Handshake(e) => e.into(),
            other => Error::Io(std::io::Error::other(other.to_string())),
        }
    }
}

impl IntoResponse for WebSocketRejection {
    fn into_response(self) -> Response {
        // `reject` adds `Sec-WebSocket-Version: 13` to a 426, as RFC 6455 §4.4 asks.
        reject(self.status()).map(|()| Body::from(format!("{self}\n")))
    }
}
