//! The client's transport: plain TCP or TLS over it.

use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_net::TcpStream;
use futures_io::{AsyncRead, AsyncWrite};

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
    Tls(Box<futures_rustls::client::TlsStream<TcpStream>>),
    /// `wss://` through an `https://` proxy: TLS to the server inside TLS to the proxy.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    TlsInTls(Box<futures_rustls::client::TlsStream<MaybeTlsStream>>),
}

/// Opens TLS over `io` for `host` with the client's TLS settings.
#[cfg(feature = "tls")]
pub(crate) async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    host: &str,
    config: &ClientConfig,
) -> Result<futures_rustls::client::TlsStream<S>, Error> {
    let (tls, name) = ropeway_common::tls::client_setup(config, host)?;
    let connect = futures_rustls::TlsConnector::from(tls).connect(name, io);
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

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            MaybeTlsStream::Plain($s) => {
                let $s = Pin::new($s);
                $e
            }
            #[cfg(feature = "tls")]
            MaybeTlsStream::Tls($s) => {
                let $s = Pin::new($s.as_mut());
                $e
            }
            #[cfg(feature = "tls")]
            MaybeTlsStream::TlsInTls($s) => {
                let $s = Pin::new($s.as_mut());
                $e
            }
        }
    };
}

impl AsyncRead for MaybeTlsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_read(cx, buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_read_vectored(cx, bufs))
    }
}

impl AsyncWrite for MaybeTlsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_close(cx))
    }
}
