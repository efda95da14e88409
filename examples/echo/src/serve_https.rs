//! HTTPS on tokio: TLS offering ALPN `h2` and `http/1.1`, hyper serving both HTTP versions
//! (HTTP/2 with extended CONNECT announced, so a browser's WebSocket rides the HTTP/2
//! connection that loaded the page, RFC 8441), and axum routing the same routes as the
//! plain listener, with ropeway's extractor taking WebSockets of either version.
//!
//! It is the sample's own loop rather than `ropeway_tokio::h2::serve` (which has the same
//! settings and more, such as a GOAWAY drain on shutdown) because the sample must tell each
//! request's TCP connection, which that listener does not hand to its handler.
//!
//! Every accepted TCP connection gets a number, and the log names it for each request and
//! each WebSocket: `connection #3: GET / over HTTP/2`, then
//! `websocket on connection #3 over HTTP/2 (extended CONNECT)` shows that the WebSocket
//! rode the connection that served the page.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use http::{Request, StatusCode, Uri, Version};
use hyper::body::Incoming;
use hyper::service::Service as _;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use ropeway_core::HandshakeError;
use ropeway_tokio::axum::{WebSocketRejection, WebSocketUpgrade};
use ropeway_tokio::server::plain;
use ropeway_tokio::{Message, Registry, ServerConfig, Tokio};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::app::{self, version_name};
use crate::serve_async;

/// HTTP/2 streams one connection may have open at once (WebSockets included): a browser
/// needs a handful; the bound keeps one client from holding unbounded server state.
const MAX_CONCURRENT_STREAMS: u32 = 128;

/// The largest HTTP/2 request head (decoded), as `SETTINGS_MAX_HEADER_LIST_SIZE`.
const MAX_HEADER_LIST_SIZE: u32 = 16 * 1024;

/// Streams a client may reset before the server accepts them (the "rapid reset" attack):
/// past it, the connection ends with GOAWAY.
const MAX_PENDING_ACCEPT_RESETS: usize = 20;

/// How long an HTTP/1.1 client may take to send a request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Numbers the accepted TCP connections, for the log.
static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// Which TCP connection a request came on.
#[derive(Clone, Copy, Debug)]
struct ConnectionInfo {
    id: u64,
    peer: SocketAddr,
}

/// Accepts TCP connections on `listener` and serves each over TLS with HTTP/2 or HTTP/1.1,
/// whichever the client picks by ALPN.
pub async fn accept_loop(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    tls: Arc<rustls::ServerConfig>,
    registry: Registry,
) {
    let acceptor = TlsAcceptor::from(with_alpn(&tls));
    let handshake_timeout = config.handshake_timeout;
    // The extractor registers every WebSocket, HTTP/1.1 or HTTP/2, in the registry it finds
    // in the request's extensions: Ctrl-C reaches them all.
    let app = TowerToHyperService::new(router(config).layer(Extension(registry.clone())));
    serve_async::accept_loop::<Tokio, _, _>(listener, registry, move |tcp, peer| {
        let info = ConnectionInfo {
            id: NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
            peer,
        };
        serve_connection(tcp, info, acceptor.clone(), app.clone(), handshake_timeout)
    })
    .await
}

/// The same TLS settings, offering HTTP/2 first and HTTP/1.1 for clients without it.
fn with_alpn(tls: &rustls::ServerConfig) -> Arc<rustls::ServerConfig> {
    let mut tls = tls.clone();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(tls)
}

/// The TLS handshake (bounded in time), then hyper serving the connection until it ends.
async fn serve_connection(
    tcp: TcpStream,
    info: ConnectionInfo,
    acceptor: TlsAcceptor,
    app: TowerToHyperService<Router>,
    handshake_timeout: Duration,
) {
    let ConnectionInfo { id, peer } = info;
    let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return eprintln!("connection #{id} from {peer}: TLS: {e}"),
        Err(_) => return eprintln!("connection #{id} from {peer}: TLS handshake timed out"),
    };
    let alpn = tls.get_ref().1.alpn_protocol().unwrap_or(b"none");
    let alpn = String::from_utf8_lossy(alpn).into_owned();
    println!("connection #{id} from {peer}: TLS, ALPN {alpn}");
    // Every request learns which connection it came on, and the log says so.
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let version = version_name(request.version());
        println!(
            "connection #{id}: {} {} over {version}",
            request.method(),
            request.uri().path()
        );
        request.extensions_mut().insert(info);
        app.call(request)
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder
        .http2()
        .timer(TokioTimer::new())
        .enable_connect_protocol()
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(MAX_HEADER_LIST_SIZE)
        .max_pending_accept_reset_streams(MAX_PENDING_ACCEPT_RESETS);
    let served = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
    if let Err(e) = served.await {
        eprintln!("connection #{id}: {e}");
    }
}

/// The routes of the plain listener (`app::route`): the page, the echo, 400 and 404. The
/// echo route takes GET (an HTTP/1.1 upgrade) and CONNECT (an HTTP/2 extended CONNECT).
fn router(config: Arc<ServerConfig>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/index.html", get(page))
        .route("/ws", any(websocket))
        .fallback(not_found)
        .with_state(config)
}

async fn page() -> Response {
    app::page_response().map(|()| Body::from(app::PAGE))
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
    let ConnectionInfo { id, peer } = info;
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
