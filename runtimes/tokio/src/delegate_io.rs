//! tokio's `AsyncRead` and `AsyncWrite` for an enum of streams, by delegating each call to
//! the variant's stream: written once for the client's `MaybeTlsStream` and the HTTP/2
//! client's `Transport`.

/// Implements `AsyncRead` and `AsyncWrite` for `$ty`, each variant holding a stream that
/// `$pin` pins (`Pin::new(s)`, or `Pin::new(s.as_mut())` for a boxed one). A variant may
/// carry attributes (`#[cfg(feature = "tls")]`).
macro_rules! delegate_io {
    ($ty:ident { $($(#[$attr:meta])* $variant:ident($s:ident) => $pin:expr),+ $(,)? }) => {
        impl tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $($(#[$attr])* $ty::$variant($s) => tokio::io::AsyncRead::poll_read($pin, cx, buf),)+
                }
            }
        }

        impl tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                match self.get_mut() {
                    $($(#[$attr])* $ty::$variant($s) => tokio::io::AsyncWrite::poll_write($pin, cx, buf),)+
                }
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $($(#[$attr])* $ty::$variant($s) => tokio::io::AsyncWrite::poll_flush($pin, cx),)+
                }
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                match self.get_mut() {
                    $($(#[$attr])* $ty::$variant($s) => tokio::io::AsyncWrite::poll_shutdown($pin, cx),)+
                }
            }
        }
    };
}

pub(crate) use delegate_io;
