//! The smol binding of ropeway-async: async-io's clock and `Timer`, smol's global executor,
//! and reads and writes on any futures-io transport. Everything a connection does is decided
//! elsewhere (the core's driver, ropeway-async's one loop); this file only maps it onto
//! smol.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_io::Timer;
use async_net::TcpStream;
use bytes::BytesMut;
use futures_io::{AsyncRead, AsyncWrite};
use ropeway_async::{Connect, Io, Runtime};
use ropeway_common::ClientConfig;
use ropeway_core::Error;
use ropeway_core::driver::READ_SCRATCH;

use crate::tls::MaybeTlsStream;

/// The most of a read buffer's spare capacity one read initializes. futures-io reads into
/// initialized memory only, so the spare room is zeroed before each read; zeroing a large
/// reservation (a 16 MiB frame's) for every read would cost more than the reads. 64 KiB is
/// about what one read of a loopback or LAN socket returns.
const MAX_ZEROED_READ: usize = 64 << 10;

thread_local! {
    /// The scratch reads go into while a connection has nothing buffered: one per thread,
    /// zeroed once, so an idle connection holds no buffer and no read pays for initializing
    /// memory.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_SCRATCH].into_boxed_slice());
}

/// The smol / async-io runtime, as ropeway-async sees it: the `R` of
/// `ropeway_async::WebSocket<S, R>` behind this crate's [`WebSocket`](crate::WebSocket).
#[derive(Clone, Copy, Debug, Default)]
pub struct Smol;

impl Runtime for Smol {
    type Timer = Timer;

    fn now() -> Instant {
        Instant::now()
    }

    fn timer(deadline: Instant) -> Timer {
        Timer::at(deadline)
    }

    fn reset_timer(mut timer: Pin<&mut Timer>, deadline: Instant) {
        timer.set_at(deadline);
    }

    fn poll_timer(timer: Pin<&mut Timer>, cx: &mut Context<'_>) -> Poll<()> {
        timer.poll(cx).map(|_| ())
    }

    /// Spawns on smol's global executor.
    fn spawn<F: Future<Output = ()> + Send + 'static>(task: F) {
        smol::spawn(task).detach();
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Io<S> for Smol {
    fn poll_read_buf(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let filled = buf.len();
        let room = match buf.capacity() - filled {
            0 => READ_SCRATCH,
            spare => spare.min(MAX_ZEROED_READ),
        };
        buf.resize(filled + room, 0);
        let result = io.poll_read(cx, &mut buf[filled..]);
        let n = match &result {
            Poll::Ready(Ok(n)) => *n,
            _ => 0,
        };
        buf.truncate(filled + n);
        result
    }

    /// Reads into the thread's scratch (zeroed once).
    fn poll_read_scratch<F: FnOnce(&[u8])>(
        mut io: Pin<&mut S>,
        cx: &mut Context<'_>,
        got: F,
    ) -> Poll<io::Result<()>> {
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => read_into(io.as_mut(), cx, &mut scratch, got),
            // A transport that polls another connection on this thread from inside its own
            // read: this read gets a scratch of its own.
            Err(_) => read_into(io.as_mut(), cx, &mut vec![0; READ_SCRATCH], got),
        })
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

    /// futures-io cannot tell; one that does not write vectored writes the first buffer,
    /// which is as much as a plain write would.
    fn is_write_vectored(_: &S) -> bool {
        true
    }

    fn poll_flush(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        io.poll_flush(cx)
    }

    fn poll_shutdown(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        io.poll_close(cx)
    }
}

/// One read into `scratch`, handed to `got`.
fn read_into<S: AsyncRead, F: FnOnce(&[u8])>(
    io: Pin<&mut S>,
    cx: &mut Context<'_>,
    scratch: &mut [u8],
    got: F,
) -> Poll<io::Result<()>> {
    io.poll_read(cx, scratch).map_ok(|n| got(&scratch[..n]))
}

impl Connect for Smol {
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
