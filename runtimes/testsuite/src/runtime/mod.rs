//! What the cases need from a runtime, and its two implementations.
//!
//! A case never names tokio or smol: it runs tasks, waits, opens TCP on 127.0.0.1, moves raw
//! bytes and opens WebSockets through this trait, so one body serves every binding.

mod smol;
mod tokio;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ropeway_async::{Connect, Io};
use ropeway_common::ClientConfig;
use ropeway_core::handshake::ClientRequest;
use ropeway_core::{Error, ServerConfig};

pub use self::smol::Smol;
pub use self::tokio::Tokio;

/// A binding's WebSocket over transport `S`.
pub type WebSocket<T, S> = ropeway_async::WebSocket<S, <T as TestRuntime>::Rt>;

/// The server's side of a loopback connection: a WebSocket over the runtime's TCP stream.
pub type ServerWs<T> = WebSocket<T, <T as TestRuntime>::Tcp>;

/// The client's side: a WebSocket over the binding's client transport (TCP or TLS).
pub type ClientWs<T> = WebSocket<T, <T as TestRuntime>::Client>;

/// A client's WebSocket over TLS over a stream the application opened.
pub type TlsClientWs<T> = WebSocket<T, <T as TestRuntime>::TlsClient>;

/// A request read by the binding's server, before the application decides on it.
pub type Incoming<T> =
    ropeway_async::server::Incoming<<T as TestRuntime>::Tcp, <T as TestRuntime>::Rt>;

/// A runtime as the cases see it: its tasks, its clock, its sockets, and its binding's
/// accept and connect.
pub trait TestRuntime: Sized + Send + Sync + 'static {
    /// The binding's runtime marker (`ropeway_tokio::Tokio`, `ropeway_smol::Smol`).
    type Rt: Connect<Stream = Self::Client>
        + Io<Self::Tcp>
        + Io<Self::Pipe>
        + Io<Self::TlsServer>
        + Io<Self::TlsClient>;
    /// A TCP listener.
    type Listener: Send + Sync + 'static;
    /// A TCP stream.
    type Tcp: Unpin + Send + 'static;
    /// The binding's client transport (`MaybeTlsStream`).
    type Client: Unpin + Send + 'static;
    /// One end of an in-memory duplex pipe.
    type Pipe: Unpin + Send + 'static;
    /// The server end of a TLS connection over [`Self::Tcp`].
    type TlsServer: Unpin + Send + 'static;
    /// The client end of a TLS connection over [`Self::Tcp`] (the binding's TLS crate's).
    type TlsClient: Unpin + Send + 'static;
    /// A spawned task; awaiting it yields the task's output or re-raises its panic, and
    /// dropping it lets the task run on.
    type Task<O: Send + 'static>: Future<Output = O> + Send + 'static;

    /// Runs `body` to completion on this thread, with the runtime set up around it.
    fn block_on<F: Future>(body: F) -> F::Output;

    /// Runs `task` in the background.
    fn spawn<F>(task: F) -> Self::Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// Runs `task` in the background without awaiting it (its handle is dropped, and the
    /// task runs on until it ends or the runtime does).
    fn detach<F>(task: F)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        drop(Self::spawn(task));
    }

    /// Waits `duration` on the runtime's timer.
    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send;

    /// A listener on `addr`.
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// The address `listener` listens on.
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;

    /// Accepts one connection on `listener`.
    fn accept_tcp(listener: &Self::Listener) -> impl Future<Output = io::Result<Self::Tcp>> + Send;

    /// Opens a TCP connection to `addr`.
    fn connect_tcp(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Tcp>> + Send;

    /// Takes over a connected standard stream (set to non-blocking by the caller).
    fn tcp_from_std(stream: std::net::TcpStream) -> io::Result<Self::Tcp>;

    /// Sets `TCP_NODELAY` on `tcp`.
    fn set_nodelay(tcp: &Self::Tcp) -> io::Result<()>;

    /// Reads some bytes into `buf`; 0 at the end of the stream.
    fn read<'a>(
        tcp: &'a mut Self::Tcp,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;

    /// Writes all of `bytes`.
    fn write_all<'a>(
        tcp: &'a mut Self::Tcp,
        bytes: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// Shuts the write side of `tcp` down (FIN).
    fn shutdown(tcp: &mut Self::Tcp) -> impl Future<Output = io::Result<()>> + Send + '_;

    /// Two connected ends of an in-memory duplex pipe.
    fn pipe() -> (Self::Pipe, Self::Pipe);

    /// Runs the server side of a TLS handshake on `tcp` with `config`.
    fn tls_accept(
        config: Arc<rustls::ServerConfig>,
        tcp: Self::Tcp,
    ) -> impl Future<Output = io::Result<Self::TlsServer>> + Send;

    /// Whether the client transport is TLS (`MaybeTlsStream::Tls`).
    fn is_tls(client: &Self::Client) -> bool;

    /// The address the client's TCP connection goes to (the proxy's, through a proxy).
    fn peer_addr(client: &Self::Client) -> io::Result<SocketAddr>;

    /// The binding's `server::accept`.
    fn accept(tcp: Self::Tcp) -> impl Future<Output = Result<ServerWs<Self>, Error>> + Send;

    /// The binding's `server::accept_with_config`.
    fn accept_with_config(
        tcp: Self::Tcp,
        config: &ServerConfig,
    ) -> impl Future<Output = Result<ServerWs<Self>, Error>> + Send;

    /// The binding's `connect`.
    fn connect(
        url: &str,
    ) -> impl Future<Output = Result<(ClientWs<Self>, http::Response<()>), Error>> + Send;

    /// The binding's `connect_with`.
    fn connect_with(
        request: ClientRequest,
        config: &ClientConfig,
    ) -> impl Future<Output = Result<(ClientWs<Self>, http::Response<()>), Error>> + Send;

    /// The binding's `client::handshake_tls`: `wss://` over a TCP stream the test opened.
    fn handshake_tls(
        tcp: Self::Tcp,
        request: &ClientRequest,
        config: &ClientConfig,
    ) -> impl Future<Output = Result<(TlsClientWs<Self>, http::Response<()>), Error>> + Send;
}
