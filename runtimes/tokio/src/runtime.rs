//! The tokio binding of ropeway-async: tokio's clock and `Sleep`, `tokio::spawn`, and reads
//! and writes on any tokio transport. Everything a connection does is decided elsewhere (the
//! core's driver, ropeway-async's one loop); this file only maps it onto tokio.

use std::future::Future;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use ropeway_async::{Connect, Io, Runtime};
use ropeway_common::ClientConfig;
use ropeway_core::Error;
use ropeway_core::driver::READ_SCRATCH;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Sleep;

use crate::tls::MaybeTlsStream;

/// The tokio runtime, as ropeway-async sees it: the `R` of `ropeway_async::WebSocket<S, R>`
/// behind this crate's [`WebSocket`](crate::WebSocket).
#[derive(Clone, Copy, Debug, Default)]
pub struct Tokio;

impl Runtime for Tokio {
    type Timer = Sleep;

    /// tokio's clock, which tests can pause and advance.
    fn now() -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn timer(deadline: Instant) -> Sleep {
        tokio::time::sleep_until(deadline.into())
    }

    fn reset_timer(timer: Pin<&mut Sleep>, deadline: Instant) {
        timer.reset(deadline.into());
    }

    fn poll_timer(timer: Pin<&mut Sleep>, cx: &mut Context<'_>) -> Poll<()> {
        timer.poll(cx)
    }

    /// Spawns on the current tokio runtime (panics outside one, as `tokio::spawn` does).
    fn spawn<F: Future<Output = ()> + Send + 'static>(task: F) {
        tokio::spawn(task);
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Io<S> for Tokio {
    fn poll_read_buf(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        tokio_util::io::poll_read_buf(io, cx, buf)
    }

    /// Reads into the stack: tokio reads into uninitialized memory, so the scratch costs
    /// nothing to set up.
    fn poll_read_scratch<F: FnOnce(&[u8])>(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        got: F,
    ) -> Poll<io::Result<()>> {
        let mut scratch = [MaybeUninit::<u8>::uninit(); READ_SCRATCH];
        let mut scratch = ReadBuf::uninit(&mut scratch);
        io.poll_read(cx, &mut scratch)
            .map_ok(|()| got(scratch.filled()))
    }

    fn poll_write(io: Pin<&mut S>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        io.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(io: &S) -> bool {
        io.is_write_vectored()
    }

    fn poll_flush(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        io.poll_flush(cx)
    }

    fn poll_shutdown(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        io.poll_shutdown(cx)
    }
}

impl Connect for Tokio {
    type Tcp = TcpStream;
    type Stream = MaybeTlsStream;

    async fn tcp(host: &str, port: u16, nodelay: bool) -> io::Result<TcpStream> {
        let tcp = TcpStream::connect((host, port)).await?;
        tcp.set_nodelay(nodelay).map(|()| tcp)
    }

    fn plain(tcp: TcpStream) -> MaybeTlsStream {
        MaybeTlsStream::Plain(tcp)
    }

    async fn tls(
        tcp: TcpStream,
        host: &str,
        config: &ClientConfig,
    ) -> Result<MaybeTlsStream, Error> {
        crate::tls::connect(tcp, host, config).await
    }

    async fn tls_in_tunnel(
        stream: MaybeTlsStream,
        host: &str,
        config: &ClientConfig,
    ) -> Result<MaybeTlsStream, Error> {
        crate::tls::connect_inside(stream, host, config).await
    }
}
