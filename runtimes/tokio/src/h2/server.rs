//! The library-owned listener: HTTP/1.1 and HTTP/2 on one port (hyper's HTTP/2 through
//! hyper-util's auto builder), SETTINGS_ENABLE_CONNECT_PROTOCOL announced, every HTTP/2
//! limit explicit, a graceful GOAWAY on shutdown, the accept loop paced by
//! [`AcceptBackoff`].

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use ropeway_common::{AcceptAction, AcceptBackoff};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::{CloseFrame, Registry, going_away};

/// The HTTP/2 (and HTTP/1.1) settings of [`serve`]. Every limit on what a peer can make this
/// side hold is here, with a safe default.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams (WebSockets and requests) one client may have
    /// open at once on one connection. Streams past it are refused with RST_STREAM
    /// (REFUSED_STREAM); the connection and its other streams go on. Default 128.
    pub max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE: how much a client may send on one stream before this
    /// side reads it, so the most unread data one WebSocket can make the server hold.
    /// Default 256 KiB.
    pub initial_stream_window_size: u32,
    /// The connection's receive window: the most unread data all streams of one connection
    /// can make the server hold together. Default 1 MiB.
    pub initial_connection_window_size: u32,
    /// The most output hyper buffers per stream before a write waits. Default 256 KiB.
    pub max_send_buf_size: usize,
    /// SETTINGS_MAX_FRAME_SIZE: the largest DATA frame a client may send (16 KiB to
    /// 16 MiB - 1). Default 16 KiB, the protocol's default (64 KiB measured no faster for
    /// 16 KiB echoes); buffering is bounded by the windows, not by this.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE: the largest request head (decoded). Default 16 KiB.
    pub max_header_list_size: u32,
    /// Streams a client may reset before the server has accepted them (the "rapid reset"
    /// attack bound): past it, the connection ends with GOAWAY. Default 20.
    pub max_pending_accept_reset_streams: usize,
    /// Streams the server may reset for a client's errors before it ends the connection
    /// (a client provoking resets on purpose). Default 1024.
    pub max_local_error_reset_streams: usize,
    /// How long an HTTP/1.1 client may take to send a request head. Default 10 s.
    pub header_read_timeout: Duration,
    /// How long a TLS handshake may take. Default 10 s.
    pub tls_handshake_timeout: Duration,
    /// How long shutdown waits for open connections and their WebSockets to end (the close
    /// handshakes included) before dropping them. Default 10 s.
    pub drain_timeout: Duration,
    /// The close frame every open WebSocket gets on shutdown. Default 1001, "going away".
    pub going_away: CloseFrame,
    /// The registry the served WebSockets join: the application's own, to send to its
    /// groups (see [`Registry::join`]), or a new one of `serve`'s when `None` (the
    /// default). Either way `serve`'s shutdown closes the WebSockets in it.
    pub registry: Option<Registry>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_concurrent_streams: 128,
            initial_stream_window_size: 256 * 1024,
            initial_connection_window_size: 1024 * 1024,
            max_send_buf_size: 256 * 1024,
            max_frame_size: 16 * 1024,
            max_header_list_size: 16 * 1024,
            max_pending_accept_reset_streams: 20,
            max_local_error_reset_streams: 1024,
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            drain_timeout: Duration::from_secs(10),
            going_away: going_away(),
            registry: None,
        }
    }
}

impl ServeConfig {
    fn builder(&self) -> auto::Builder<TokioExecutor> {
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout);
        builder
            .http2()
            .timer(TokioTimer::new())
            .enable_connect_protocol()
            .max_concurrent_streams(self.max_concurrent_streams)
            .initial_stream_window_size(window(self.initial_stream_window_size))
            .initial_connection_window_size(window(self.initial_connection_window_size))
            .max_send_buf_size(self.max_send_buf_size.min(u32::MAX as usize))
            .max_frame_size(frame_size(self.max_frame_size))
            .max_header_list_size(self.max_header_list_size)
            .max_pending_accept_reset_streams(self.max_pending_accept_reset_streams)
            .max_local_error_reset_streams(self.max_local_error_reset_streams);
        builder
    }
}

/// A frame size HTTP/2 allows (RFC 9113 §6.5.2: 2^14 to 2^24 - 1); h2 would panic on others.
pub(super) fn frame_size(size: u32) -> u32 {
    size.clamp(1 << 14, (1 << 24) - 1)
}

/// A window HTTP/2 allows (at most 2^31 - 1, RFC 9113 §6.9.1).
pub(super) fn window(size: u32) -> u32 {
    size.min((1 << 31) - 1)
}

/// Which connection a request came on: [`serve`] puts it in every request's extensions
/// (`request.extensions().get::<ConnectionInfo>()`). WebSockets whose requests carry the
/// same `id` share one HTTP/2 connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The connection's number, counting from 1 in accept order on this listener.
    pub id: u64,
    /// The client's address.
    pub peer: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// The ALPN protocols [`serve`] offers over TLS, in order of preference.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Serves HTTP/1.1 and HTTP/2 on `listener` until `shutdown` resolves, calling `handler` for
/// every request. A WebSocket route calls [`crate::hyper::upgrade`] (or `upgrade_with`) in
/// the handler, which takes an HTTP/1.1 upgrade and an HTTP/2 extended CONNECT alike.
///
/// * Plain TCP: HTTP/1.1, or HTTP/2 with prior knowledge (h2c: the client starts with the
///   HTTP/2 preface).
/// * `tls`: ALPN decides; `h2` and `http/1.1` are offered (set in a copy of the config when
///   it names no protocols).
///
/// Every request carries a [`ConnectionInfo`] in its extensions (which connection, which
/// peer). HTTP/2 connections announce SETTINGS_ENABLE_CONNECT_PROTOCOL and the limits of
/// `config`.
/// Every WebSocket [`crate::hyper::upgrade`] or the axum extractor hands out for these
/// requests joins a [`Registry`] ([`ServeConfig::registry`], or one of `serve`'s), found in
/// each request's extensions: the application sends to groups through it.
///
/// On shutdown (a graceful shutdown, as Python websockets' `server.close()`): the listener
/// closes; every open WebSocket, over HTTP/1.1 or HTTP/2, gets
/// [`ServeConfig::going_away`] (1001) and its close handshake must end within
/// [`ServeConfig::drain_timeout`] (the application's `recv` sees the client's answer, then
/// the end); every connection gets a GOAWAY (HTTP/2) or closes after its current request
/// (HTTP/1.1). `serve` returns once every connection and WebSocket has ended, or the drain
/// timeout has passed and the rest were dropped.
pub async fn serve<H, F, B>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    config: ServeConfig,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let acceptor = tls.map(|tls| {
        let mut tls = (*tls).clone();
        if tls.alpn_protocols.is_empty() {
            tls.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        }
        tokio_rustls::TlsAcceptor::from(Arc::new(tls))
    });
    let config = Arc::new(config);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut backoff = AcceptBackoff::new();
    let mut next_id = 0u64;
    let registry = config.registry.clone().unwrap_or_default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            // Finished connection tasks are reaped as they end, so the set stays small.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(accepted) => {
                if let Some(failures) = backoff.on_success() {
                    tracing::info!("accepting again after {failures} failures");
                }
                accepted
            }
            Err(e) => {
                match backoff.on_error(&e) {
                    AcceptAction::Retry => tracing::debug!("accept failed: {e}"),
                    AcceptAction::Pause { delay, first } => {
                        if first {
                            tracing::warn!("accept failed ({e}): pausing the listener");
                        }
                        tokio::time::sleep(delay).await;
                    }
                }
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        next_id += 1;
        let info = ConnectionInfo {
            id: next_id,
            peer,
            tls: acceptor.is_some(),
        };
        let handler = handler.clone();
        let config = config.clone();
        let acceptor = acceptor.clone();
        let stop = stop_rx.clone();
        let registry = registry.clone();
        connections.spawn(async move {
            let on = On {
                info,
                registry,
                stop,
            };
            if let Err(e) = serve_tcp(tcp, on, acceptor, &config, handler).await {
                tracing::debug!("connection ended: {e}");
            }
        });
    }
    drop(listener);
    // The WebSockets first (an HTTP/1.1 one has left its connection's task), then the
    // GOAWAYs; both drain within the one timeout.
    let websockets = registry.shutdown(config.going_away.clone(), config.drain_timeout);
    let _ = stop_tx.send(true);
    let connections_ended = tokio::time::timeout(config.drain_timeout, async {
        while connections.join_next().await.is_some() {}
    });
    let (still_open, drained) = tokio::join!(websockets, connections_ended);
    if still_open > 0 {
        tracing::debug!("{still_open} WebSockets not polled by the drain's end");
    }
    if drained.is_err() {
        tracing::debug!(
            "{} connections still open after the drain",
            connections.len()
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// What one connection's task carries besides its transport.
struct On {
    info: ConnectionInfo,
    /// Every request gets it in its extensions: the WebSockets join it.
    registry: Registry,
    stop: watch::Receiver<bool>,
}

async fn serve_tcp<H, F, B>(
    tcp: TcpStream,
    on: On,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    config: &ServeConfig,
    handler: H,
) -> Result<(), Box<dyn StdError + Send + Sync>>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let Some(acceptor) = acceptor else {
        return serve_io(tcp, on, config.builder(), handler).await;
    };
    let tls = tokio::time::timeout(config.tls_handshake_timeout, acceptor.accept(tcp))
        .await
        .map_err(|_| "TLS handshake timed out")??;
    let mut builder = config.builder();
    if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
        // ALPN chose HTTP/2: no need to sniff the preface.
        builder = builder.http2_only();
    }
    serve_io(tls, on, builder, handler).await
}

async fn serve_io<I, H, F, B>(
    io: I,
    on: On,
    builder: auto::Builder<TokioExecutor>,
    handler: H,
) -> Result<(), Box<dyn StdError + Send + Sync>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let On {
        info,
        registry,
        mut stop,
    } = on;
    let service = service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(info);
        request.extensions_mut().insert(registry.clone());
        let response = handler(request);
        async move { Ok::<_, Infallible>(response.await) }
    });
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => return result,
        _ = stop.wait_for(|stop| *stop) => {}
    }
    // GOAWAY (HTTP/2) or close after the current request (HTTP/1.1); streams already open
    // finish.
    conn.as_mut().graceful_shutdown();
    conn.await
}
