//! hyper 1.x integration: answer a WebSocket request inside an existing hyper (or axum)
//! service and get a ropeway [`WebSocket`] once hyper hands over the connection. The
//! decision (validation, origin, subprotocol, extensions) is the core's
//! [`accept_request`], the same as for raw transports.
//!
//! Two kinds of request open a WebSocket, and the same calls take both:
//! * an HTTP/1.1 upgrade (`GET` with `Upgrade: websocket`), answered 101;
//! * with the `h2` feature, an HTTP/2 extended CONNECT (RFC 8441: `CONNECT` with
//!   `:protocol = websocket`, which hyper passes as [`hyper::ext::Protocol`]), answered 200.
//!   The server must announce SETTINGS_ENABLE_CONNECT_PROTOCOL
//!   (`http2::Builder::enable_connect_protocol`; [`crate::h2::serve`] does), and a router
//!   must send `CONNECT` as well as `GET` to the WebSocket route.
//!
//! [`PendingUpgrade::http_version`] tells which one carried the WebSocket.
//!
//! ```no_run
//! # use ropeway_tokio::{hyper::upgrade, ServerConfig};
//! # async fn service(mut req: hyper::Request<hyper::body::Incoming>) -> Result<hyper::Response<String>, ropeway_tokio::Error> {
//! let (response, pending) = upgrade(&mut req, &ServerConfig::default())?;
//! tokio::spawn(async move {
//!     let mut ws = pending.await?;
//!     while let Some(Ok(message)) = ws.recv().await {
//!         if message.is_data() { ws.send(message).await?; }
//!     }
//!     Ok::<_, ropeway_tokio::Error>(())
//! });
//! Ok(response)
//! # }
//! ```

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use http::{Request, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use ropeway_core::handshake::{Accept, Accepted, UpgradeRequest, accept_request, clone_head};
use ropeway_core::{Error, ServerConfig};

use crate::{Registry, WebSocket};

/// The transport of an upgraded hyper connection: the TCP/TLS connection after an HTTP/1.1
/// upgrade, or one HTTP/2 stream after an extended CONNECT.
///
/// Over HTTP/2, hyper copies each write whole into a channel towards its connection task
/// and reports it written before the stream's flow-control window allows it on the wire, so
/// one write of a 16 MiB message would park 16 MiB in hyper, past the connection's
/// `max_queued_output`. Each write is therefore cut to [`UpgradedIo::MAX_H2_WRITE`]: what
/// hyper holds for a peer that does not read stays at about two such pieces, and the rest
/// waits in the driver's queue, which its output limit bounds.
#[derive(Debug)]
pub struct UpgradedIo {
    inner: TokioIo<Upgraded>,
    max_write: usize,
}

impl UpgradedIo {
    /// The largest write handed to hyper at once over HTTP/2 (64 KiB).
    pub const MAX_H2_WRITE: usize = 64 * 1024;

    /// Wraps hyper's upgraded connection; `version` is the HTTP version that carried the
    /// upgrade (writes are cut to [`UpgradedIo::MAX_H2_WRITE`] over HTTP/2).
    pub fn new(upgraded: Upgraded, version: http::Version) -> UpgradedIo {
        let max_write = match version {
            http::Version::HTTP_2 => Self::MAX_H2_WRITE,
            _ => usize::MAX,
        };
        UpgradedIo {
            inner: TokioIo::new(upgraded),
            max_write,
        }
    }
}

impl tokio::io::AsyncRead for UpgradedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for UpgradedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = buf.len().min(self.max_write);
        Pin::new(&mut self.inner).poll_write(cx, &buf[..n])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.max_write == usize::MAX {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        }
        // hyper's HTTP/2 stream has no vectored write: it writes the first non-empty slice.
        let first = bufs
            .iter()
            .find(|b| !b.is_empty())
            .map_or(&[][..], |b| &b[..]);
        self.poll_write(cx, first)
    }

    fn is_write_vectored(&self) -> bool {
        self.max_write == usize::MAX && self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Validates `request` as a WebSocket upgrade (and its `Origin` against the allow-list) and
/// returns the 101 response to send back, plus a future that yields the [`WebSocket`] once
/// hyper has handed over the connection. On error, answer with [`error_response`] (or at
/// least the error's status, [`status_for`]).
///
/// If the request's extensions hold a [`Registry`] (`h2::serve` puts its own there; a
/// tower or axum layer can add one), the WebSocket joins it, so the registry's graceful
/// shutdown reaches it.
pub fn upgrade<B, R: Default>(
    request: &mut Request<B>,
    config: &ServerConfig,
) -> Result<(Response<R>, PendingUpgrade), Error> {
    upgrade_with(request, config, Accept::default())
}

/// [`upgrade`] with an answer of the application's (a subprotocol the client offered,
/// headers). Pick the subprotocol with [`UpgradeRequest::select_protocol`] on
/// [`upgrade_request`].
pub fn upgrade_with<B, R: Default>(
    request: &mut Request<B>,
    config: &ServerConfig,
    accept: Accept,
) -> Result<(Response<R>, PendingUpgrade), Error> {
    let upgrade = upgrade_request(request)?;
    let mut accepted = accept_request(&upgrade, accept, config)?;
    let response = std::mem::take(&mut accepted.response).map(|()| R::default());
    let pending = PendingUpgrade {
        registry: request.extensions().get::<Registry>().cloned(),
        on_upgrade: hyper::upgrade::on(request),
        config: config.clone(),
        accepted: Some(accepted),
        version: upgrade.http_version(),
    };
    Ok((response, pending))
}

/// The request validated as a WebSocket request, an HTTP/1.1 upgrade or (feature `h2`) an
/// HTTP/2 extended CONNECT: what the client offered (subprotocols, extensions, origin), to
/// decide on before [`upgrade_with`]. A `CONNECT` is judged as an extended CONNECT (400
/// without `:protocol`, 501 for another protocol, 426 for a wrong version), anything else as
/// an HTTP/1.1 upgrade.
pub fn upgrade_request<B>(request: &Request<B>) -> Result<UpgradeRequest, Error> {
    let head = clone_head(request);
    if request.method() == http::Method::CONNECT {
        let protocol = connect_protocol(request);
        return Ok(UpgradeRequest::from_extended_connect(
            head,
            protocol.as_deref(),
        )?);
    }
    Ok(UpgradeRequest::from_request(head)?)
}

/// The `:protocol` of an HTTP/2 extended CONNECT, as hyper passes it.
#[cfg(feature = "h2")]
fn connect_protocol<B>(request: &Request<B>) -> Option<String> {
    let protocol = request.extensions().get::<hyper::ext::Protocol>()?;
    Some(String::from_utf8_lossy(protocol.as_ref()).into_owned())
}

/// Without HTTP/2 support there is no extended CONNECT: a CONNECT is a plain one.
#[cfg(not(feature = "h2"))]
fn connect_protocol<B>(_: &Request<B>) -> Option<String> {
    None
}

/// The HTTP status to answer a failed [`upgrade`] with: 403 for a forbidden origin, the
/// handshake error's own status (400, 426 …), 500 otherwise.
pub fn status_for(error: &Error) -> http::StatusCode {
    match error {
        Error::OriginRejected(_) => http::StatusCode::FORBIDDEN,
        Error::Handshake(e) => e.status(),
        _ => http::StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The whole answer to a failed [`upgrade`]: [`status_for`] the error, a plain-text body
/// naming it, and for a wrong version (426) the `Sec-WebSocket-Version: 13` header that
/// RFC 6455 §4.4 requires, which a response built from the status alone would lack.
pub fn error_response<R: From<String>>(error: &Error) -> Response<R> {
    ropeway_core::handshake::reject(status_for(error)).map(|()| R::from(format!("{error}\n")))
}

/// Resolves to the [`WebSocket`] once hyper has sent the 101 (HTTP/1.1) or the 200 (HTTP/2)
/// and handed over the connection or the stream. Over HTTP/2, hyper's stream respects the
/// stream's flow control both ways: reading gives the window back only as the WebSocket
/// consumes data, and writing waits for window.
pub struct PendingUpgrade {
    on_upgrade: OnUpgrade,
    config: ServerConfig,
    accepted: Option<Accepted>,
    version: http::Version,
    /// The registry found in the request's extensions (`h2::serve` puts one there).
    registry: Option<Registry>,
}

impl PendingUpgrade {
    /// The HTTP version that carried the WebSocket request: `HTTP_11` for an upgrade (the
    /// WebSocket owns the TCP/TLS connection), `HTTP_2` for an extended CONNECT (the
    /// WebSocket is one stream of a shared HTTP/2 connection).
    pub fn http_version(&self) -> http::Version {
        self.version
    }

    /// The subprotocol accepted for this WebSocket, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.accepted.as_ref()?.protocol.as_deref()
    }
}

impl std::fmt::Debug for PendingUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingUpgrade")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl Future for PendingUpgrade {
    type Output = Result<WebSocket<UpgradedIo>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let upgraded = ready!(Pin::new(&mut this.on_upgrade).poll(cx))
            .map_err(|e| Error::Io(std::io::Error::other(e)))?;
        let accepted = this.accepted.take().ok_or(Error::Closed)?;
        let now = tokio::time::Instant::now().into_std();
        let conn = accepted.into_connection(&this.config, now);
        let io = UpgradedIo::new(upgraded, this.version);
        let size = this.config.read_buffer_size;
        let mut ws = WebSocket::from_parts(io, conn, BytesMut::new(), size);
        if let Some(registry) = &this.registry {
            ws.register(registry);
        }
        Poll::Ready(Ok(ws))
    }
}
