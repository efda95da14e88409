//! The sample on smol: tasks on smol's global executor, futures-rustls for https:// and
//! wss://, async-signal for Ctrl-C (SIGINT).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_signal::{Signal, Signals};
use futures_lite::StreamExt;
use futures_rustls::TlsAcceptor;
use ropeway_async::Runtime;
use ropeway_core::{Error, ServerConfig};
use ropeway_smol::{Registry, Smol, TlsError, TlsErrorKind};
use smol::net::{TcpListener, TcpStream};

use crate::async_runtime::AsyncRuntime;
use crate::{connection, serve_async};

impl AsyncRuntime for Smol {
    type TcpListener = TcpListener;
    type TcpStream = TcpStream;

    fn block_on<T>(main: impl Future<Output = T>) -> Result<T, String> {
        Ok(smol::block_on(main))
    }

    async fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
        TcpListener::bind(addr).await
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        listener.accept().await
    }

    fn set_nodelay(tcp: &TcpStream) -> io::Result<()> {
        tcp.set_nodelay(true)
    }

    async fn sleep(pause: Duration) {
        smol::Timer::after(pause).await;
    }

    fn ctrl_c() -> Result<impl Future<Output = Result<(), String>>, String> {
        let mut stop = Signals::new([Signal::Int]).map_err(|e| e.to_string())?;
        Ok(async move {
            stop.next().await;
            Ok(())
        })
    }

    fn serve_listener(
        listener: TcpListener,
        config: Arc<ServerConfig>,
        tls: Option<Arc<rustls::ServerConfig>>,
        registry: Registry,
    ) {
        let tls = tls.map(TlsAcceptor::from);
        Self::spawn(serve_async::accept_loop::<Smol, _, _>(
            listener,
            registry.clone(),
            move |tcp, peer| {
                let config = config.clone();
                let tls = tls.clone();
                let registry = registry.clone();
                async move {
                    match tls {
                        // Boxed: a task's future is as large as its largest state, and the
                        // TLS one (rustls' connection inline) would make every plain
                        // connection's task about 10 KiB larger.
                        Some(tls) => Box::pin(serve_tls(tls, tcp, peer, config, registry)).await,
                        None => connection::serve::<Smol, _>(tcp, peer, config, registry).await,
                    }
                }
            },
        ));
    }
}

/// TLS first; then the sample's own HTTP/1.1 inside it.
async fn serve_tls(
    tls: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    config: Arc<ServerConfig>,
    registry: Registry,
) {
    match tls.accept(tcp).await {
        Ok(stream) => connection::serve::<Smol, _>(stream, peer, config, registry).await,
        Err(e) => {
            let error = TlsError::new(TlsErrorKind::Handshake, e);
            eprintln!("{peer}: {}", Error::Tls(error));
        }
    }
}
