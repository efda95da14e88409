//! The Autobahn|Testsuite testee for ropeway-tokio (see [`ropeway_conformance::async_testee`]):
//! a current-thread tokio runtime does all the work.

use std::future::Future;
use std::io;

use ropeway_conformance::async_testee::{self, Executor};
use ropeway_tokio::Tokio;
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;

fn main() {
    async_testee::main::<CurrentThread>();
}

/// A current-thread tokio runtime: its tasks run on the thread that calls `block_on`.
struct CurrentThread(Runtime);

impl Executor for CurrentThread {
    type Runtime = Tokio;
    type TcpListener = TcpListener;
    type TcpStream = TcpStream;

    fn new() -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(CurrentThread(runtime))
    }

    fn block_on<T>(&self, main: impl Future<Output = T>) -> T {
        self.0.block_on(main)
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        tokio::spawn(task);
    }

    async fn bind(addr: &str) -> io::Result<TcpListener> {
        TcpListener::bind(addr).await
    }

    async fn accept(listener: &TcpListener) -> io::Result<TcpStream> {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        Ok(tcp)
    }
}
