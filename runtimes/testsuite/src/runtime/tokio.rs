//! The cases on tokio, through `ropeway-tokio`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use ropeway_common::ClientConfig;
use ropeway_core::handshake::ClientRequest;
use ropeway_core::{Error, ServerConfig};
use ropeway_tokio::MaybeTlsStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

use super::{ClientWs, ServerWs, TestRuntime};

/// tokio, on a multi-threaded runtime of two workers: spawned tasks run beside the test
/// body, as they do on smol (where each task gets a thread of its own).
#[derive(Debug)]
pub struct Tokio;

/// A spawned tokio task whose panic is re-raised where it is awaited.
pub struct TokioTask<O>(tokio::task::JoinHandle<O>);

impl<O> Future for TokioTask<O> {
    type Output = O;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        Pin::new(&mut self.0).poll(cx).map(|joined| match joined {
            Ok(output) => output,
            Err(e) if e.is_panic() => resume_unwind(e.into_panic()),
            Err(e) => panic!("the task ended without an outcome: {e}"),
        })
    }
}

impl TestRuntime for Tokio {
    type Rt = ropeway_tokio::Tokio;
    type Listener = TcpListener;
    type Tcp = TcpStream;
    type Client = MaybeTlsStream;
    type Pipe = DuplexStream;
    type TlsServer = TlsStream<TcpStream>;
    type TlsClient = tokio_rustls::client::TlsStream<TcpStream>;
    type Task<O: Send + 'static> = TokioTask<O>;

    fn block_on<F: Future>(body: F) -> F::Output {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime")
            .block_on(body)
    }

    fn spawn<F>(task: F) -> TokioTask<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        TokioTask(tokio::spawn(task))
    }

    fn sleep(duration: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(duration)
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
        TcpStream::from_std(stream)
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
        tcp.shutdown().await
    }

    fn pipe() -> (DuplexStream, DuplexStream) {
        tokio::io::duplex(64 << 10)
    }

    async fn tls_accept(
        config: Arc<rustls::ServerConfig>,
        tcp: TcpStream,
    ) -> io::Result<TlsStream<TcpStream>> {
        tokio_rustls::TlsAcceptor::from(config).accept(tcp).await
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
        ropeway_tokio::server::accept(tcp).await
    }

    async fn accept_with_config(
        tcp: TcpStream,
        config: &ServerConfig,
    ) -> Result<ServerWs<Self>, Error> {
        ropeway_tokio::server::accept_with_config(tcp, config).await
    }

    async fn connect(url: &str) -> Result<(ClientWs<Self>, http::Response<()>), Error> {
        ropeway_tokio::connect(url).await
    }

    async fn connect_with(
        request: ClientRequest,
        config: &ClientConfig,
    ) -> Result<(ClientWs<Self>, http::Response<()>), Error> {
        ropeway_tokio::connect_with(request, config).await
    }

    async fn handshake_tls(
        tcp: TcpStream,
        request: &ClientRequest,
        config: &ClientConfig,
    ) -> Result<(super::TlsClientWs<Self>, http::Response<()>), Error> {
        ropeway_tokio::client::handshake_tls(tcp, request, config).await
    }
}
