//! The client's transport: plain TCP or TLS over it.

#[cfg(feature = "tls")]
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use ropeway_common::ClientConfig;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub use ropeway_common::tls::default_client_config;
use ropeway_core::Error;

/// A TCP connection, with TLS for `wss://`.
#[derive(Debug)]
pub enum MaybeTlsStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// `wss://` through an `https://` proxy: TLS to the server inside TLS to the proxy.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    TlsInTls(Box<tokio_rustls::client::TlsStream<MaybeTlsStream>>),
}

/// Opens TLS over `io` for `host` with the client's TLS settings.
#[cfg(feature = "tls")]
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    host: &str,
    config: &ClientConfig,
) -> Result<tokio_rustls::client::TlsStream<S>, Error> {
    let (tls, name) = ropeway_common::tls::client_setup(config, host)?;
    let connect = tokio_rustls::TlsConnector::from(tls).connect(name, io);
    connect.await.map_err(ropeway_common::tls::handshake_error)
}

/// Opens TLS over `tcp` for `host`.
#[cfg(feature = "tls")]
pub(crate) async fn connect(
    tcp: TcpStream,
    host: &str,
    config: &ClientConfig,
) -> Result<MaybeTlsStream, Error> {
    let stream = handshake(tcp, host, config).await?;
    Ok(MaybeTlsStream::Tls(Box::new(stream)))
}

/// Opens TLS for `host` inside `stream` (TLS to an `https://` proxy).
#[cfg(feature = "tls")]
pub(crate) async fn connect_inside(
    stream: MaybeTlsStream,
    host: &str,
    config: &ClientConfig,
) -> Result<MaybeTlsStream, Error> {
    let stream = handshake(stream, host, config).await?;
    Ok(MaybeTlsStream::TlsInTls(Box::new(stream)))
}

#[cfg(not(feature = "tls"))]
pub(crate) async fn connect(
    _: TcpStream,
    _: &str,
    _: &ClientConfig,
) -> Result<MaybeTlsStream, Error> {
    Err(ropeway_common::tls_not_built())
}

#[cfg(not(feature = "tls"))]
pub(crate) async fn connect_inside(
    _: MaybeTlsStream,
    _: &str,
    _: &ClientConfig,
) -> Result<MaybeTlsStream, Error> {
    Err(ropeway_common::tls_not_built())
}

crate::delegate_io::delegate_io!(MaybeTlsStream {
    Plain(s) => std::pin::Pin::new(s),
    #[cfg(feature = "tls")]
    Tls(s) => std::pin::Pin::new(s.as_mut()),
    #[cfg(feature = "tls")]
    TlsInTls(s) => std::pin::Pin::new(s.as_mut()),
});
