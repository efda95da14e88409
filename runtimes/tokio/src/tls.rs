//! The client's transport: plain TCP or TLS over it.

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
}

/// Opens TLS over `tcp` for `host`.
#[cfg(feature = "tls")]
pub(crate) async fn connect(
    tcp: TcpStream,
    host: &str,
    config: &ClientConfig,
) -> Result<MaybeTlsStream, Error> {
    let (tls, name) = ropeway_common::tls::client_setup(config, host)?;
    let connect = tokio_rustls::TlsConnector::from(tls).connect(name, tcp);
    let stream = connect
        .await
        .map_err(ropeway_common::tls::handshake_error)?;
    Ok(MaybeTlsStream::Tls(Box::new(stream)))
}

#[cfg(not(feature = "tls"))]
pub(crate) async fn connect(
    _: TcpStream,
    _: &str,
    _: &ClientConfig,
) -> Result<MaybeTlsStream, Error> {
    Err(ropeway_common::tls_not_built())
}

crate::delegate_io::delegate_io!(MaybeTlsStream {
    Plain(s) => std::pin::Pin::new(s),
    #[cfg(feature = "tls")]
    Tls(s) => std::pin::Pin::new(s.as_mut()),
});
