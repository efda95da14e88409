//! The Autobahn|Testsuite testee for ropeway-smol (see [`ropeway_conformance::async_testee`]):
//! one thread does all the work, as in the tokio testee (a local executor under
//! `smol::block_on`, which drives the async-io reactor on the same thread).

use std::future::Future;
use std::io;

use ropeway_conformance::async_testee::{self, Executor};
use ropeway_smol::Smol;
use smol::LocalExecutor;
use smol::net::{TcpListener, TcpStream};

fn main() {
    async_testee::main::<Local>();
}

/// smol's local executor, run by `smol::block_on` on the calling thread.
struct Local(LocalExecutor<'static>);

impl Executor for Local {
    type Runtime = Smol;
    type TcpListener = TcpListener;
    type TcpStream = TcpStream;

    fn new() -> io::Result<Self> {
        Ok(Local(LocalExecutor::new()))
    }

    fn block_on<T>(&self, main: impl Future<Output = T>) -> T {
        smol::block_on(self.0.run(main))
    }

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.0.spawn(task).detach();
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
