//! What the async WebSocket needs from a runtime: a clock, one resettable timer per
//! connection, a way to spawn a task, and how its transports read and write.
//!
//! Everything else (what to read, write, flush or wait for next, what an error means, how a
//! connection ends) is decided by the core's [`Driver`](ropeway_core::driver::Driver); a
//! binding only maps these calls onto its runtime, the way quinn's runtimes implement its
//! `Runtime` trait.
//!
//! The calls are associated functions of a marker type (`ropeway_tokio::Tokio`,
//! `ropeway_smol::Smol`) rather than methods of the transport, so a binding can implement
//! [`Io`] for every transport of its ecosystem (`impl<S: tokio::io::AsyncRead + …> Io<S> for
//! Tokio`) without wrapping them: `ropeway_tokio::WebSocket<TcpStream>` keeps its transport
//! as it is.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use ropeway_common::ClientConfig;
use ropeway_core::Error;

/// A runtime's clock, timer and spawner.
pub trait Runtime: Sized + Send + Sync + 'static {
    /// A timer set for one deadline, which can be reset in place (each connection owns one).
    type Timer: Send + 'static;

    /// The time, from the clock the runtime's timers use (tokio's can be paused in tests).
    fn now() -> Instant;

    /// A timer that fires at `deadline`.
    fn timer(deadline: Instant) -> Self::Timer;

    /// Sets `timer` to fire at `deadline` instead, whether or not it fired already.
    fn reset_timer(timer: Pin<&mut Self::Timer>, deadline: Instant);

    /// Ready once the deadline has passed; otherwise registers the waker.
    fn poll_timer(timer: Pin<&mut Self::Timer>, cx: &mut Context<'_>) -> Poll<()>;

    /// Runs `task` in the background (a split connection's driving task).
    fn spawn<F: Future<Output = ()> + Send + 'static>(task: F);
}

/// How a runtime's transport `S` (a TCP stream, a TLS stream, an upgraded hyper connection,
/// an in-memory pipe) reads and writes.
pub trait Io<S>: Runtime {
    /// Reads into the spare capacity of `buf` (making room if it has none), appending what
    /// was read; returns how many bytes, 0 at the end of the stream.
    fn poll_read_buf(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
    ) -> Poll<io::Result<usize>>;

    /// Reads into a scratch buffer of the binding's (at least
    /// [`READ_SCRATCH`](ropeway_core::driver::READ_SCRATCH) bytes: the stack, or one per
    /// thread) and hands what was read to `got` (empty at the end of the stream), so an idle
    /// connection holds no buffer of its own.
    fn poll_read_scratch<F: FnOnce(&[u8])>(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        got: F,
    ) -> Poll<io::Result<()>>;

    /// Writes some of `buf`.
    fn poll_write(io: Pin<&mut S>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;

    /// Writes some of `bufs` in one call (a transport that cannot writes the first).
    fn poll_write_vectored(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;

    /// Whether a vectored write is worth building (false where the transport would only
    /// write the first buffer). A binding that cannot tell says true.
    fn is_write_vectored(io: &S) -> bool;

    /// Flushes what the transport buffers (TLS records).
    fn poll_flush(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Shuts the write side down (TCP FIN, TLS close_notify, HTTP/2 END_STREAM).
    fn poll_shutdown(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

/// How a runtime's client opens its connection: TCP to the request's host and port (or to
/// its proxy), and TLS over it for `wss://`. The order, `TCP_NODELAY`, the connect timeout,
/// the proxy handshake (over [`Io`] on the TCP stream), the opening handshake and
/// everything after are ropeway-async's, the same for every runtime.
pub trait Connect: Runtime + Io<Self::Stream> + Io<Self::Tcp> {
    /// The runtime's TCP stream.
    type Tcp: Unpin + Send;
    /// The client's transport: TCP, or TLS over it.
    type Stream: Unpin + Send + 'static;

    /// Connects TCP to `host` and `port` (a name is resolved by the runtime), with
    /// `TCP_NODELAY` set as `nodelay` says.
    fn tcp(
        host: &str,
        port: u16,
        nodelay: bool,
    ) -> impl Future<Output = io::Result<Self::Tcp>> + Send;

    /// The transport of a `ws://` connection.
    fn plain(tcp: Self::Tcp) -> Self::Stream;

    /// Runs the TLS handshake for `host` over `tcp` with the client's TLS settings
    /// (`wss://`).
    fn tls(
        tcp: Self::Tcp,
        host: &str,
        config: &ClientConfig,
    ) -> impl Future<Output = Result<Self::Stream, Error>> + Send;

    /// Runs the TLS handshake for `host` inside `stream`, itself TLS to an `https://` proxy
    /// whose tunnel it carries (`wss://` through an `https://` proxy).
    fn tls_in_tunnel(
        stream: Self::Stream,
        host: &str,
        config: &ClientConfig,
    ) -> impl Future<Output = Result<Self::Stream, Error>> + Send;
}
