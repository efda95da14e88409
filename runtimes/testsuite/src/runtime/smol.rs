//! The cases on smol, through `ropeway-smol`.

mod pipe;
mod task;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use futures_rustls::server::TlsStream;
use ropeway_common::ClientConfig;
use ropeway_core::handshake::ClientRequest;
use ropeway_core::{Error, ServerConfig};
use ropeway_smol::MaybeTlsStream;

pub use self::pipe::Pipe;
pub use self::task::ThreadTask;
use super::{ClientWs, ServerWs, TestRuntime};

/// smol: the test body on the test's thread, each spawned task on a thread of its own (so
/// tests running at once do not share an executor thread and disturb each other's timing).
#[derive(Debug)]
pub struct Smol;

impl TestRuntime for Smol {
    type Rt = ropeway_smol::Smol;
    type Listener = TcpListener;
    type Tcp = TcpStream;
    type Client = MaybeTlsStream;
    type Pipe = Pipe;
    type TlsServer = TlsStream<TcpStream>;
    type TlsClient = futures_rustls::client::TlsStream<TcpStream>;
    type Task<O: Send + 'static> = ThreadTask<O>;

    fn block_on<F: Future>(body: F) -> F::Output {
        smol::block_on(body)
    }

    fn spawn<F>(task: F) -> ThreadTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        ThreadTask::spawn(task)
    }

    async fn sleep(duration: Duration) {
        async_io::Timer::after(duration).await;
    }

    async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind(addr).await
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    async fn accept_tcp(listener: &TcpListener) -> io::Result<TcpStream> {
        listener.accept().await.map(|(tcp, _)| tcp)
    }

    async fn connect_tcp(addr: SocketAddr) -> io::Result<TcpStream> {
        TcpStream::connect(addr).await
    }

    fn tcp_from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::try_from(stream)
    }

    fn set_nodelay(tcp: &TcpStream) -> io::Result<()> {
        tcp.set_nodelay(true)
    }

    async fn read(tcp: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        tcp.read(buf).await
    }

    async fn write_all(tcp: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
        tcp.write_all(bytes).await
    }

    async fn shutdown(tcp: &mut TcpStream) -> io::Result<()> {
        tcp.close().await
    }

    fn pipe() -> (Pipe, Pipe) {
        Pipe::pair(64 << 10)
    }

    async fn tls_accept(
        config: Arc<rustls::ServerConfig>,
        tcp: TcpStream,
    ) -> io::Result<TlsStream<TcpStream>> {
        futures_rustls::TlsAcceptor::from(config).accept(tcp).await
    }

    fn is_tls(client: &MaybeTlsStream) -> bool {
        matches!(client, MaybeTlsStream::Tls(_) | MaybeTlsStream::TlsInTls(_))
    }

    fn peer_addr(client: &MaybeTlsStream) -> io::Result<SocketAddr> {
        match client {
            MaybeTlsStream::Plain(tcp) => tcp.peer_addr(),
            MaybeTlsStream::Tls(tls) => tls.get_ref().0.peer_addr(),
            MaybeTlsStream::TlsInTls(tls) => Self::peer_addr(tls.get_ref().0),
        }
    }

    async fn accept(tcp: TcpStream) -> Result<ServerWs<Self>, Error> {
        ropeway_smol::server::accept(tcp).await
    }

    async fn accept_with_config(
        tcp: TcpStream,
        config: &ServerConfig,
    ) -> Result<ServerWs<Self>, Error> {
        ropeway_smol::server::accept_with_config(tcp, config).await
    }

    async fn connect(url: &str) -> Result<(ClientWs<Self>, http::Response<()>), Error> {
        ropeway_smol::connect(url).await
    }

    async fn connect_with(
        request: ClientRequest,
        config: &ClientConfig,
    ) -> Result<(ClientWs<Self>, http::Response<()>), Error> {
        ropeway_smol::connect_with(request, config).await
    }

    async fn handshake_tls(
        tcp: TcpStream,
        request: &ClientRequest,
        config: &ClientConfig,
    ) -> Result<(super::TlsClientWs<Self>, http::Response<()>), Error> {
        ropeway_smol::client::handshake_tls(tcp, request, config).await
    }
}
