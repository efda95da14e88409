//! TLS for `wss://`: the rustls client handshake, blocking, within the connect timeout. After
//! it, the connection's records are read and written by [`super::shared`].

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

use ropeway_common::ClientConfig;
pub use ropeway_common::tls::default_client_config;
use ropeway_core::Error;
use ropeway_core::driver::{TlsError, TlsErrorKind};

use super::connect::{is_timeout, time_left};

/// Runs the TLS handshake for `host` over `tcp` until `deadline`: the caller's
/// `rustls::ClientConfig` if it set one, else the webpki roots.
pub(crate) fn handshake(
    tcp: &TcpStream,
    host: &str,
    config: &ClientConfig,
    deadline: Instant,
) -> Result<rustls::ClientConnection, Error> {
    handshake_over(&mut { tcp }, tcp, host, config, deadline)
}

/// Runs the TLS handshake for `host` inside `proxy_tls`, the TLS to an `https://` proxy
/// whose tunnel leads to `host`, until `deadline`: TLS inside TLS.
pub(crate) fn handshake_inside(
    proxy_tls: &mut rustls::ClientConnection,
    tcp: &TcpStream,
    host: &str,
    config: &ClientConfig,
    deadline: Instant,
) -> Result<rustls::ClientConnection, Error> {
    let mut tcp_ref = tcp;
    let mut tunnel = rustls::Stream::new(proxy_tls, &mut tcp_ref);
    handshake_over(&mut tunnel, tcp, host, config, deadline)
}

/// The handshake over `io`, which `tcp` carries (its timeouts bound each step).
fn handshake_over(
    mut io: &mut (impl Read + Write),
    tcp: &TcpStream,
    host: &str,
    config: &ClientConfig,
    deadline: Instant,
) -> Result<rustls::ClientConnection, Error> {
    let tls_config = config.tls.clone().unwrap_or_else(default_client_config);
    let name = ropeway_common::tls::server_name(host)?;
    let mut tls = rustls::ClientConnection::new(tls_config, name)
        .map_err(|e| Error::Tls(TlsError::new(TlsErrorKind::Handshake, e)))?;
    while tls.is_handshaking() {
        time_left(tcp, deadline)?.ok_or(Error::ConnectTimeout)?;
        match tls.complete_io(&mut io) {
            Ok(_) => {}
            Err(e) if is_timeout(&e) => return Err(Error::ConnectTimeout),
            // rustls reports its own failures (a bad certificate, an alert) as InvalidData.
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(ropeway_common::tls::handshake_error(e));
            }
            Err(e) => return Err(Error::Io(e)),
        }
    }
    // The driver bounds what is queued; rustls need not refuse plaintext on top of that.
    tls.set_buffer_limit(None);
    Ok(tls)
}
