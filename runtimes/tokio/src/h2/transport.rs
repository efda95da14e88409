//! The transport of a WebSocket from [`super::connect`]: an HTTP/2 stream, or the
//! connection of an HTTP/1.1 fallback.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::stream::H2Stream;
use crate::tls::MaybeTlsStream;

/// Where a WebSocket from [`super::connect`] runs.
#[derive(Debug)]
pub enum Transport {
    /// One stream of an HTTP/2 connection (RFC 8441).
    H2(H2Stream),
    /// A TCP or TLS connection of its own, after an HTTP/1.1 upgrade (the fallback).
    Http1(MaybeTlsStream),
}

impl Transport {
    /// The HTTP version that carries the WebSocket.
    pub fn http_version(&self) -> http::Version {
        match self {
            Transport::H2(_) => http::Version::HTTP_2,
            Transport::Http1(_) => http::Version::HTTP_11,
        }
    }
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Transport::H2($s) => {
                let $s = Pin::new($s);
                $e
            }
            Transport::Http1($s) => {
                let $s = Pin::new($s);
                $e
            }
        }
    };
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        delegate!(self, s => s.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        delegate!(self, s => s.poll_shutdown(cx))
    }
}
