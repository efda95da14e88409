//! The sample on tokio: a current-thread runtime, `tokio::signal` for Ctrl-C. Plain http://
//! and ws:// are served with ropeway's own HTTP/1.1 handshake (`connection`); https:// and
//! wss:// with HTTP/2 and HTTP/1.1 by `serve_https`.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ropeway_async::Runtime;
use ropeway_core::ServerConfig;
use ropeway_tokio::{Registry, Tokio};
use tokio::net::{TcpListener, TcpStream};

use crate::async_runtime::AsyncRuntime;
use crate::{connection, serve_async, serve_https};

impl AsyncRuntime for Tokio {
    type TcpListener = TcpListener;
    type TcpStream = TcpStream;

    fn block_on<T>(main: impl Future<Output = T>) -> Result<T, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        Ok(runtime.block_on(main))
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
        tokio::time::sleep(pause).await;
    }

    fn ctrl_c() -> Result<impl Future<Output = Result<(), String>>, String> {
        // tokio starts listening when the future is first polled.
        Ok(async { tokio::signal::ctrl_c().await.map_err(|e| e.to_string()) })
    }

    fn serve_listener(
        listener: TcpListener,
        config: Arc<ServerConfig>,
        tls: Option<Arc<rustls::ServerConfig>>,
        registry: Registry,
    ) {
        match tls {
            Some(tls) => Self::spawn(serve_https::accept_loop(listener, config, tls, registry)),
            None => Self::spawn(serve_async::accept_loop::<Tokio, _, _>(
                listener,
                registry.clone(),
                move |tcp, peer| {
                    connection::serve::<Tokio, _>(tcp, peer, config.clone(), registry.clone())
                },
            )),
        }
    }
}
