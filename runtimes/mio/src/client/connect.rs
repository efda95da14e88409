//! Connecting: TCP with the connect timeout, TLS for `wss://` (within the same timeout),
//! then the opening handshake with the handshake timeout. The request and its checks are the
//! core's [`ClientHandshake`]; this file only moves its bytes.

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Instant;

use bytes::BytesMut;
use http::Response;
use ropeway_common::{ClientConfig, os_seeded_entropy};
use ropeway_core::Error;
use ropeway_core::driver::Driver;
use ropeway_core::handshake::{ClientHandshake, ClientRequest};
use ropeway_core::proxy::{
    Proxy, ProxyError, ProxyHandshake, ProxyKind, check_tunnel_start, io_error,
};

use super::options::Options;
use super::shared::{Shared, State};
use super::websocket::WebSocket;

/// Connects to `url` (`ws://…` or `wss://…`) with the default settings. Returns the
/// connection and the server's 101 response.
pub fn connect(url: &str) -> Result<(WebSocket, Response<()>), Error> {
    connect_with(
        ClientRequest::from_url(url)?,
        &ClientConfig::default(),
        Options::default(),
    )
}

/// Connects as `request` describes (URL, subprotocols, headers such as an auth token), with
/// `config` (connect and handshake timeouts, TLS, extensions, the core's limits and
/// keep-alive) and `options` (read and write timeouts).
///
/// Name resolution happens before the connect timeout starts and is not bounded by it (the
/// standard library's resolver blocks); pass an IP address to avoid it.
///
/// With a proxy ([`ClientConfig::proxy`]), TCP goes to the proxy (whose name is resolved
/// here; the target's name goes to the proxy), the core's proxy handshake opens a tunnel
/// within the connect timeout ([`ProxyError::Timeout`] when it runs out there), and TLS
/// and the WebSocket handshake run inside the tunnel. An `https://` proxy (TLS to the
/// proxy) carries `ws://`, and `wss://` as TLS inside TLS.
pub fn connect_with(
    request: ClientRequest,
    config: &ClientConfig,
    options: Options,
) -> Result<(WebSocket, Response<()>), Error> {
    let proxy = config
        .proxy
        .resolve(request.host(), request.port(), request.is_secure())?;
    // One deadline for TCP, the proxy step and TLS.
    let deadline = Instant::now() + config.connect_timeout;
    let (tcp, buf, proxy_tls) = match &proxy {
        None => {
            let addrs = resolve(request.host(), request.port())?;
            let tcp = open_tcp(&addrs, deadline)?;
            (tcp, BytesMut::new(), None)
        }
        Some(proxy) => {
            // `Display` of a proxy shows no password.
            tracing::debug!(%proxy, "connecting through a proxy");
            let unreachable = |e| Error::Proxy(ProxyError::unreachable(proxy, e));
            let addrs = resolve(proxy.host(), proxy.port()).map_err(unreachable)?;
            let tcp = match open_tcp(&addrs, deadline) {
                Err(Error::Io(e)) => return Err(unreachable(e)),
                other => other?,
            };
            let limits = &config.core.limits;
            let (leftover, proxy_tls) = if proxy.kind() == ProxyKind::Https {
                https_tunnel(&tcp, proxy, &request, config, deadline)?
            } else {
                let leftover = tunnel(&mut &tcp, &tcp, proxy, &request, limits, deadline)?;
                (leftover, None)
            };
            check_tunnel_start(request.is_secure(), &leftover)?;
            (tcp, leftover, proxy_tls)
        }
    };
    tcp.set_nodelay(config.nodelay)?;
    // TLS to the server for wss://, the TLS to an https:// proxy that carries ws://, or
    // both: TLS to the server inside TLS to the proxy.
    #[cfg(feature = "tls")]
    let tls = {
        use super::tls_layers::TlsLayers;
        let host = request.host();
        match proxy_tls {
            Some(mut proxy_tls) if request.is_secure() => {
                let inner =
                    super::tls::handshake_inside(&mut proxy_tls, &tcp, host, config, deadline)?;
                Some(Box::new(TlsLayers::nested(*proxy_tls, inner)))
            }
            Some(proxy_tls) => Some(Box::new(TlsLayers::one(*proxy_tls))),
            None if request.is_secure() => {
                let tls = super::tls::handshake(&tcp, host, config, deadline)?;
                Some(Box::new(TlsLayers::one(tls)))
            }
            None => None,
        }
    };
    #[cfg(not(feature = "tls"))]
    let _ = (deadline, proxy_tls);
    #[cfg(not(feature = "tls"))]
    if request.is_secure() {
        return Err(ropeway_common::tls_not_built());
    }
    #[cfg(feature = "tls")]
    return run_handshake(tcp, buf, tls, &request, config, options);
    #[cfg(not(feature = "tls"))]
    return run_handshake(tcp, buf, &request, config, options);
}

/// Runs the opening handshake over `tcp`, a TCP stream the application opened itself (a
/// socket bound as it needs, a tunnel its own code opened), and shares the connection:
/// no TLS, whatever the request's scheme (see [`handshake_tls`]). `buffered` holds bytes
/// already read from it (none, usually).
pub fn handshake(
    tcp: TcpStream,
    request: &ClientRequest,
    config: &ClientConfig,
    options: Options,
) -> Result<(WebSocket, Response<()>), Error> {
    #[cfg(feature = "tls")]
    return run_handshake(tcp, BytesMut::new(), None, request, config, options);
    #[cfg(not(feature = "tls"))]
    return run_handshake(tcp, BytesMut::new(), request, config, options);
}

/// TLS for the request's host over `tcp`, a TCP stream the application opened itself
/// (within the connect timeout, with [`ClientConfig::tls`]), then the opening handshake
/// inside it: tokio-tungstenite's `client_async_tls_with_config` for the blocking client.
#[cfg(feature = "tls")]
pub fn handshake_tls(
    tcp: TcpStream,
    request: &ClientRequest,
    config: &ClientConfig,
    options: Options,
) -> Result<(WebSocket, Response<()>), Error> {
    let deadline = Instant::now() + config.connect_timeout;
    let tls = super::tls::handshake(&tcp, request.host(), config, deadline)?;
    let tls = Some(Box::new(super::tls_layers::TlsLayers::one(tls)));
    run_handshake(tcp, BytesMut::new(), tls, request, config, options)
}

/// The opening handshake over `tcp` (through `tls` if set), within the handshake timeout,
/// from `buf` (bytes a proxy passed on); then the shared connection.
fn run_handshake(
    tcp: TcpStream,
    buf: BytesMut,
    #[cfg(feature = "tls")] tls: Option<Box<super::tls_layers::TlsLayers>>,
    request: &ClientRequest,
    config: &ClientConfig,
    options: Options,
) -> Result<(WebSocket, Response<()>), Error> {
    let mut entropy = os_seeded_entropy()?;
    let deadline = Instant::now() + config.handshake_timeout;
    let mut out = BytesMut::new();
    let mut handshake = ClientHandshake::new(
        request,
        config.extensions.clone(),
        &mut entropy,
        &config.core.limits,
        &mut out,
    );
    let mut buf = buf;
    buf.reserve(1024);
    #[cfg(feature = "tls")]
    let accepted = match tls {
        Some(mut tls) => {
            let mut stream = tls.stream(&tcp);
            let accepted = exchange(&mut stream, &tcp, &out, &mut handshake, &mut buf, deadline)?;
            (accepted, Some(tls))
        }
        None => {
            let accepted = exchange(&mut &tcp, &tcp, &out, &mut handshake, &mut buf, deadline)?;
            (accepted, None)
        }
    };
    #[cfg(feature = "tls")]
    let (accepted, tls) = accepted;
    #[cfg(not(feature = "tls"))]
    let accepted = exchange(&mut &tcp, &tcp, &out, &mut handshake, &mut buf, deadline)?;

    let (conn, response) =
        accepted.into_connection(&config.core, Box::new(entropy), Instant::now());
    let state = State {
        driver: Driver::new(conn, buf, config.read_buffer_size),
        #[cfg(feature = "tls")]
        tls,
    };
    let shared = Shared::new(state, tcp, &options)?;
    Ok((WebSocket::new(shared), response))
}

/// The addresses of `host:port`.
fn resolve(host: &str, port: u16) -> io::Result<Vec<std::net::SocketAddr>> {
    Ok((host, port).to_socket_addrs()?.collect())
}

/// Opens a tunnel to the request's target through `proxy` over `tcp`, before `deadline`;
/// returns the bytes the proxy sent past its answer. The core's [`ProxyHandshake`] decides;
/// this only moves its bytes.
fn tunnel(
    io: &mut impl ReadWrite,
    tcp: &TcpStream,
    proxy: &Proxy,
    request: &ClientRequest,
    limits: &ropeway_core::Limits,
    deadline: Instant,
) -> Result<BytesMut, Error> {
    let timed = |e: io::Error| {
        if is_timeout(&e) {
            Error::Proxy(ProxyError::Timeout)
        } else {
            io_error(e)
        }
    };
    let mut out = BytesMut::new();
    let mut handshake =
        ProxyHandshake::new(proxy, request.host(), request.port(), limits, &mut out)?;
    let mut input = BytesMut::new();
    let mut chunk = [0; 512];
    loop {
        time_left(tcp, deadline)?.ok_or(Error::Proxy(ProxyError::Timeout))?;
        if !out.is_empty() {
            io.write_all(&out).map_err(timed)?;
            io.flush().map_err(timed)?;
            out.clear();
        }
        let n = io.read(&mut chunk).map_err(timed)?;
        if n == 0 {
            return Err(handshake.handle_eof().into());
        }
        input.extend_from_slice(&chunk[..n]);
        if handshake.recv(&mut input, &mut out)? {
            return Ok(input);
        }
    }
}

/// The TLS to an `https://` proxy: TLS with the proxy, then the tunnel through it. The TLS
/// connection then carries the WebSocket (`ws://`) or the TLS to the server (`wss://`).
#[cfg(feature = "tls")]
fn https_tunnel(
    tcp: &TcpStream,
    proxy: &Proxy,
    request: &ClientRequest,
    config: &ClientConfig,
    deadline: Instant,
) -> Result<(BytesMut, Option<ClientTls>), Error> {
    let mut tls = super::tls::handshake(tcp, proxy.host(), config, deadline)?;
    let mut tcp_ref = tcp;
    let mut stream = rustls::Stream::new(&mut tls, &mut tcp_ref);
    let limits = &config.core.limits;
    let leftover = tunnel(&mut stream, tcp, proxy, request, limits, deadline)?;
    Ok((leftover, Some(Box::new(tls))))
}

#[cfg(not(feature = "tls"))]
fn https_tunnel(
    _: &TcpStream,
    _: &Proxy,
    _: &ClientRequest,
    _: &ClientConfig,
    _: Instant,
) -> Result<(BytesMut, Option<ClientTls>), Error> {
    Err(ropeway_common::tls_not_built())
}

/// The client's TLS connection (none in a build without TLS).
#[cfg(feature = "tls")]
type ClientTls = Box<rustls::ClientConnection>;
#[cfg(not(feature = "tls"))]
type ClientTls = std::convert::Infallible;

/// Connects to the first address that answers before `deadline`.
fn open_tcp(addrs: &[std::net::SocketAddr], deadline: Instant) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::ConnectTimeout);
        }
        match TcpStream::connect_timeout(addr, left) {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) if e.kind() == io::ErrorKind::TimedOut => Err(Error::ConnectTimeout),
        Some(e) => Err(Error::Io(e)),
        None => Err(Error::Io(io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolved to no address",
        ))),
    }
}

/// Sets the socket's timeouts to what is left until `deadline`; `None` if it has passed.
pub(crate) fn time_left(tcp: &TcpStream, deadline: Instant) -> io::Result<Option<()>> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Ok(None);
    }
    tcp.set_read_timeout(Some(left))?;
    tcp.set_write_timeout(Some(left))?;
    Ok(Some(()))
}

/// Whether `e` is a socket timeout (`WouldBlock` on Unix, `TimedOut` on Windows).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Writes the request and reads until the core accepts the response, within `deadline`.
fn exchange(
    io: &mut impl ReadWrite,
    tcp: &TcpStream,
    request: &[u8],
    handshake: &mut ClientHandshake,
    buf: &mut BytesMut,
    deadline: Instant,
) -> Result<ropeway_core::handshake::ClientAccepted, Error> {
    let timed = |e: io::Error| {
        if is_timeout(&e) {
            Error::HandshakeTimeout
        } else {
            Error::Io(e)
        }
    };
    time_left(tcp, deadline)?.ok_or(Error::HandshakeTimeout)?;
    io.write_all(request).map_err(timed)?;
    io.flush().map_err(timed)?;
    let mut chunk = [0; 1024];
    loop {
        if let Some(accepted) = handshake.recv(buf)? {
            return Ok(accepted);
        }
        time_left(tcp, deadline)?.ok_or(Error::HandshakeTimeout)?;
        // Small reads: the response is small, and bytes past it are kept as the first frames.
        let n = io.read(&mut chunk).map_err(timed)?;
        if n == 0 {
            return Err(io::Error::from(io::ErrorKind::UnexpectedEof).into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A byte stream both ways: the TCP socket or the TLS stream over it.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}
