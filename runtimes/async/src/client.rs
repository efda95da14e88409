//! The client side: connect to a `ws://` or `wss://` URL, or run the handshake over a
//! transport the application opened itself. The request and its checks are the core's
//! [`ClientHandshake`]; this file writes, reads and times it out on the runtime, which opens
//! the transport ([`Connect`]).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::BytesMut;
use http::Response;
use ropeway_common::{ClientConfig, os_seeded_entropy};
use ropeway_core::Error;
use ropeway_core::handshake::{ClientHandshake, ClientRequest};
use ropeway_core::proxy::{Proxy, ProxyError, ProxyKind, check_tunnel_start};

use crate::io_util::{flush, read_buf, timeout, write_all};
use crate::proxy::tunnel;
use crate::runtime::{Connect, Io};
use crate::websocket::WebSocket;

/// Connects as `request` describes (URL, subprotocols, headers such as an auth token):
/// opens the transport within the connect timeout, then runs the handshake.
///
/// With a proxy ([`ClientConfig::proxy`]), TCP goes to the proxy, the core's proxy
/// handshake opens a tunnel to the target over it, and TLS (for `wss://`) and the WebSocket
/// handshake run inside the tunnel; the proxy step is inside the connect timeout, and when
/// the time runs out there the error is [`ProxyError::Timeout`].
pub async fn connect_with<R: Connect>(
    request: ClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<R::Stream, R>, Response<()>), Error> {
    let (stream, leftover) = open_transport::<R>(&request, config).await?;
    handshake_buffered(stream, &request, config, leftover).await
}

/// Opens the way to `request`'s host within the connect timeout, without TLS to the host:
/// TCP to it, or to the proxy [`ClientConfig::proxy`] names for it with the tunnel opened
/// (over TLS to the proxy for an `https://` one). Returns the stream and the bytes the
/// proxy passed on after its answer (the tunnel's first bytes: hand them to the protocol
/// that runs next; for `wss://` there are none). For clients that run their own TLS and
/// protocol over the tunnel (the HTTP/2 client, which offers ALPN `h2`).
pub async fn open_tunnel<R: Connect>(
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<(R::Stream, BytesMut), Error> {
    let in_proxy_step = AtomicBool::new(false);
    let open = async {
        let proxy = config
            .proxy
            .resolve(request.host(), request.port(), request.is_secure())?;
        match proxy {
            Some(proxy) if proxy.kind() == ProxyKind::Https => {
                https_tunnel::<R>(&proxy, request, config, &in_proxy_step).await
            }
            Some(proxy) => {
                let mut tcp = proxy_tcp::<R>(&proxy, config).await?;
                let leftover =
                    through::<R, R::Tcp>(&mut tcp, &proxy, request, config, &in_proxy_step).await?;
                Ok((R::plain(tcp), leftover))
            }
            None => Ok((
                R::plain(direct_tcp::<R>(request, config).await?),
                BytesMut::new(),
            )),
        }
    };
    within_connect_timeout::<R, _>(config, &in_proxy_step, open).await
}

/// The client's transport for `request` within the connect timeout, as
/// [`connect_with`] opens it (TCP or a proxy's tunnel, and TLS to the host for `wss://`),
/// and what a proxy passed on after its answer: for a client that runs the WebSocket
/// handshake itself ([`handshake_buffered`]).
pub async fn open_transport<R: Connect>(
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<(R::Stream, BytesMut), Error> {
    let in_proxy_step = AtomicBool::new(false);
    let open = Box::pin(open_stream::<R>(request, config, &in_proxy_step));
    within_connect_timeout::<R, _>(config, &in_proxy_step, open).await
}

/// TLS to an `https://` proxy and the tunnel to `request`'s host inside it.
async fn https_tunnel<R: Connect>(
    proxy: &Proxy,
    request: &ClientRequest,
    config: &ClientConfig,
    in_proxy_step: &AtomicBool,
) -> Result<(R::Stream, BytesMut), Error> {
    let tcp = proxy_tcp::<R>(proxy, config).await?;
    let mut stream = R::tls(tcp, proxy.host(), config).await?;
    let leftover =
        through::<R, R::Stream>(&mut stream, proxy, request, config, in_proxy_step).await?;
    Ok((stream, leftover))
}

/// The client's transport for `request`: TCP (to the host or through a proxy's tunnel), TLS
/// for `wss://`; and what a proxy passed on after its answer.
async fn open_stream<R: Connect>(
    request: &ClientRequest,
    config: &ClientConfig,
    in_proxy_step: &AtomicBool,
) -> Result<(R::Stream, BytesMut), Error> {
    let (host, secure) = (request.host(), request.is_secure());
    let proxy = config.proxy.resolve(host, request.port(), secure)?;
    let (tcp, leftover) = match proxy {
        // TLS to the proxy, CONNECT inside it, and TLS to the target inside that.
        Some(proxy) if proxy.kind() == ProxyKind::Https => {
            let (mut stream, leftover) =
                https_tunnel::<R>(&proxy, request, config, in_proxy_step).await?;
            if secure {
                stream = R::tls_in_tunnel(stream, host, config).await?;
            }
            return Ok((stream, leftover));
        }
        Some(proxy) => {
            let mut tcp = proxy_tcp::<R>(&proxy, config).await?;
            let leftover =
                through::<R, R::Tcp>(&mut tcp, &proxy, request, config, in_proxy_step).await?;
            (tcp, leftover)
        }
        None => (direct_tcp::<R>(request, config).await?, BytesMut::new()),
    };
    let stream = if secure {
        R::tls(tcp, host, config).await?
    } else {
        R::plain(tcp)
    };
    Ok((stream, leftover))
}

/// TCP to `request`'s host.
async fn direct_tcp<R: Connect>(
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<R::Tcp, Error> {
    Ok(R::tcp(request.host(), request.port(), config.nodelay).await?)
}

/// TCP to `proxy`; a failure is [`ProxyError::Unreachable`].
async fn proxy_tcp<R: Connect>(proxy: &Proxy, config: &ClientConfig) -> Result<R::Tcp, Error> {
    // `Display` of a proxy shows no password.
    tracing::debug!(%proxy, "connecting through a proxy");
    R::tcp(proxy.host(), proxy.port(), config.nodelay)
        .await
        .map_err(|e| ProxyError::unreachable(proxy, e).into())
}

/// Opens the tunnel to `request`'s host through `proxy` over `io`, with `in_proxy_step` set
/// while the proxy answers; returns what the proxy passed on after its answer (none may
/// come before TLS).
async fn through<R: Io<S>, S: Unpin>(
    io: &mut S,
    proxy: &Proxy,
    request: &ClientRequest,
    config: &ClientConfig,
    in_proxy_step: &AtomicBool,
) -> Result<BytesMut, Error> {
    in_proxy_step.store(true, Ordering::Relaxed);
    let limits = &config.core.limits;
    let leftover = tunnel::<R, S>(io, proxy, request.host(), request.port(), limits).await?;
    in_proxy_step.store(false, Ordering::Relaxed);
    check_tunnel_start(request.is_secure(), &leftover)?;
    Ok(leftover)
}

/// `open`'s output if it completes within the connect timeout; else
/// [`ProxyError::Timeout`] if the time ran out while the proxy answered, or
/// [`Error::ConnectTimeout`].
async fn within_connect_timeout<R: Connect, T>(
    config: &ClientConfig,
    in_proxy_step: &AtomicBool,
    open: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match timeout::<R, _>(config.connect_timeout, open).await {
        Some(opened) => opened,
        None if in_proxy_step.load(Ordering::Relaxed) => Err(ProxyError::Timeout.into()),
        None => Err(Error::ConnectTimeout),
    }
}

/// Runs the client handshake over a transport the application opened itself (a socket, a
/// proxy tunnel, a TLS stream, an in-memory pipe), within the handshake timeout.
pub async fn handshake<R: Io<S>, S: Unpin>(
    io: S,
    request: &ClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<S, R>, Response<()>), Error> {
    // The handshake's state is large and short-lived; boxed, it stays out of the caller's
    // future, which lives as long as the connection.
    handshake_buffered(io, request, config, BytesMut::new()).await
}

/// [`handshake`] over a transport from which `buffered` was already read (the bytes a proxy
/// passed on after its answer, as [`open_tunnel`] returns them): the handshake reads them
/// first.
pub async fn handshake_buffered<R: Io<S>, S: Unpin>(
    io: S,
    request: &ClientRequest,
    config: &ClientConfig,
    buffered: BytesMut,
) -> Result<(WebSocket<S, R>, Response<()>), Error> {
    Box::pin(handshake_unboxed(io, request, config, buffered)).await
}

/// The handshake, with `buf` holding what the transport already delivered (the bytes a
/// proxy passed on after its answer).
async fn handshake_unboxed<R: Io<S>, S: Unpin>(
    mut io: S,
    request: &ClientRequest,
    config: &ClientConfig,
    mut buf: BytesMut,
) -> Result<(WebSocket<S, R>, Response<()>), Error> {
    let mut entropy = os_seeded_entropy()?;
    let exchange = async {
        let mut out = BytesMut::new();
        let limits = &config.core.limits;
        let extensions = config.extensions.clone();
        let mut handshake =
            ClientHandshake::new(request, extensions, &mut entropy, limits, &mut out);
        write_all::<R, S>(&mut io, &out).await?;
        flush::<R, S>(&mut io).await?;
        buf.reserve(1024);
        loop {
            if let Some(accepted) = handshake.recv(&mut buf)? {
                return Ok::<_, Error>((accepted, buf));
            }
            if read_buf::<R, S>(&mut io, &mut buf).await? == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
            }
        }
    };
    let (accepted, buffered) = timeout::<R, _>(config.handshake_timeout, exchange)
        .await
        .ok_or(Error::HandshakeTimeout)??;
    let (conn, response) = accepted.into_connection(&config.core, Box::new(entropy), R::now());
    let ws = WebSocket::from_parts(io, conn, buffered, config.read_buffer_size);
    Ok((ws, response))
}
