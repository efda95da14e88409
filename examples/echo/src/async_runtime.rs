//! What the sample needs from an async runtime beyond ropeway's binding of it (the
//! binding's marker type implements both; spawning is the binding's): running, listening,
//! pausing and Ctrl-C. Everything else the sample does is written once (`serve_async`, `connection`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ropeway_async::{Io, Registry};
use ropeway_core::ServerConfig;

/// An async runtime the sample serves on (`ropeway_tokio::Tokio`, `ropeway_smol::Smol`).
pub trait AsyncRuntime: Io<Self::TcpStream> {
    /// The runtime's TCP listener.
    type TcpListener: Send + Sync + 'static;
    /// The runtime's TCP stream.
    type TcpStream: Unpin + Send + 'static;

    /// Runs `main` to its end, with the runtime's tasks.
    fn block_on<T>(main: impl Future<Output = T>) -> Result<T, String>;

    /// Listens on `addr`.
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::TcpListener>>;

    /// The next connection on `listener`, and its peer.
    fn accept(
        listener: &Self::TcpListener,
    ) -> impl Future<Output = io::Result<(Self::TcpStream, SocketAddr)>> + Send;

    /// Sets `TCP_NODELAY`: a WebSocket message is written whole, and waiting for more
    /// would only delay it.
    fn set_nodelay(tcp: &Self::TcpStream) -> io::Result<()>;

    /// Waits for `pause`.
    fn sleep(pause: Duration) -> impl Future<Output = ()> + Send;

    /// Starts listening for Ctrl-C (SIGINT); the future ends when it comes (or when
    /// listening fails).
    fn ctrl_c() -> Result<impl Future<Output = Result<(), String>>, String>;

    /// Serves every connection `listener` accepts, in the background: plain HTTP/1.1, or
    /// over TLS with `tls`; every WebSocket joins `registry` (for the shutdown on Ctrl-C).
    fn serve_listener(
        listener: Self::TcpListener,
        config: Arc<ServerConfig>,
        tls: Option<Arc<rustls::ServerConfig>>,
        registry: Registry<Self>,
    );
}
