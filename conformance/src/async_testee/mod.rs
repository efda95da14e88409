//! The Autobahn|Testsuite testee for ropeway-async's runtimes, written once: `server` echoes
//! every message (tested by wstest's fuzzingclient); `client` runs every case of wstest's
//! fuzzingserver. Each runtime's binary (`testee-tokio`, `testee-smol`) only says how its
//! runtime runs the testee ([`Executor`]), so every runtime is tested with the same code.

mod client;
mod server;

use std::future::Future;
use std::io;

use ropeway_async::{Connect, Io};

use crate::Command;

/// What the testee needs from an async runtime beyond ropeway's binding of it: one thread
/// that does all the work (so the runtimes are tested under the same conditions), a TCP
/// listener, and tasks spawned onto that thread.
pub trait Executor: Sized {
    /// The binding's runtime marker (`ropeway_tokio::Tokio`, `ropeway_smol::Smol`): the
    /// `R` of the testee's `WebSocket<S, R>`.
    type Runtime: Connect + Io<Self::TcpStream>;
    /// The runtime's TCP listener.
    type TcpListener;
    /// The runtime's TCP stream, as accepted by [`Executor::accept`].
    type TcpStream: Unpin + Send + 'static;

    /// Builds the executor: one thread, the caller's.
    fn new() -> io::Result<Self>;

    /// Runs `main` to its end on this thread, together with the tasks it spawns.
    fn block_on<T>(&self, main: impl Future<Output = T>) -> T;

    /// Runs `task` on this executor, in the background.
    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static);

    /// Listens on `addr` (`host:port`).
    fn bind(addr: &str) -> impl Future<Output = io::Result<Self::TcpListener>>;

    /// The next connection on `listener`, with `TCP_NODELAY` set.
    fn accept(listener: &Self::TcpListener) -> impl Future<Output = io::Result<Self::TcpStream>>;
}

/// The testee's `main`: parses the command line, then serves or runs the cases on `E`.
/// Exits with status 2 on a usage error, 1 if the testee fails.
pub fn main<E: Executor>() {
    let command = Command::parse(std::env::args().skip(1)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let executor = E::new().expect("a runtime");
    let result = executor.block_on(async {
        match command {
            Command::Server { addr } => server::serve(&executor, &addr).await,
            Command::Client { url, agent } => client::run_cases::<E::Runtime>(&url, &agent).await,
        }
    });
    if let Err(e) = result {
        eprintln!("testee failed: {e}");
        std::process::exit(1);
    }
}
