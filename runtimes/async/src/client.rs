//! The client side: connect to a `ws://` or `wss://` URL, or run the handshake over a
//! transport the application opened itself. The request and its checks are the core's
//! [`ClientHandshake`]; this file writes, reads and times it out on the runtime, which opens
//! the transport ([`Connect`]).

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::BytesMut;
use http::Response;
use ropeway_common::{ClientConfig, os_seeded_entropy};
use ropeway_core::Error;
use ropeway_core::handshake::{ClientHandshake, ClientRequest};
use ropeway_core::proxy::{ProxyError, check_tunnel_start};

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
    let (host, port) = (request.host(), request.port());
    let proxy = config.proxy.resolve(host, port, request.is_secure())?;
    // Set while the proxy answers, so that a timeout there says the proxy did not answer.
    let in_proxy_step = AtomicBool::new(false);
    let open = Box::pin(async {
        let (tcp, leftover) = match &proxy {
            None => (R::tcp(host, port, config.nodelay).await?, BytesMut::new()),
            Some(proxy) => {
                let mut tcp = R::tcp(proxy.host(), proxy.port(), config.nodelay)
                    .await
                    .map_err(|e| ProxyError::unreachable(proxy, e))?;
                in_proxy_step.store(true, Ordering::Relaxed);
                let limits = &config.core.limits;
                let leftover = tunnel::<R, R::Tcp>(&mut tcp, proxy, host, port, limits).await?;
                in_proxy_step.store(false, Ordering::Relaxed);
                check_tunnel_start(request.is_secure(), &leftover)?;
                (tcp, leftover)
            }
        };
        let stream = if request.is_secure() {
            R::tls(tcp, host, config).await?
        } else {
            R::plain(tcp)
        };
        Ok::<_, Error>((stream, leftover))
    });
    let (stream, leftover) = match timeout::<R, _>(config.connect_timeout, open).await {
        Some(opened) => opened?,
        None if in_proxy_step.load(Ordering::Relaxed) => return Err(ProxyError::Timeout.into()),
        None => return Err(Error::ConnectTimeout),
    };
    Box::pin(handshake_unboxed(stream, &request, config, leftover)).await
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
    Box::pin(handshake_unboxed(io, request, config, BytesMut::new())).await
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
