//! The client side: connect to a `ws://` or `wss://` URL, or run the handshake over a
//! transport the application opened itself. The request and its checks are the core's
//! [`ClientHandshake`]; this file writes, reads and times it out on the runtime, which opens
//! the transport ([`Connect`]).

use bytes::BytesMut;
use http::Response;
use ropeway_common::{ClientConfig, os_seeded_entropy};
use ropeway_core::Error;
use ropeway_core::handshake::{ClientHandshake, ClientRequest};

use crate::io_util::{flush, read_buf, timeout, write_all};
use crate::runtime::{Connect, Io};
use crate::websocket::WebSocket;

/// Connects as `request` describes (URL, subprotocols, headers such as an auth token):
/// opens the transport within the connect timeout, then runs the handshake.
pub async fn connect_with<R: Connect>(
    request: ClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<R::Stream, R>, Response<()>), Error> {
    let open = Box::pin(async {
        let tcp = R::tcp(request.host(), request.port(), config.nodelay).await?;
        if request.is_secure() {
            R::tls(tcp, request.host(), config).await
        } else {
            Ok(R::plain(tcp))
        }
    });
    let stream = timeout::<R, _>(config.connect_timeout, open)
        .await
        .ok_or(Error::ConnectTimeout)??;
    handshake::<R, _>(stream, &request, config).await
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
    Box::pin(handshake_unboxed(io, request, config)).await
}

async fn handshake_unboxed<R: Io<S>, S: Unpin>(
    mut io: S,
    request: &ClientRequest,
    config: &ClientConfig,
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
        let mut buf = BytesMut::with_capacity(1024);
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
