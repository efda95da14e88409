//! Servers and clients on 127.0.0.1: a listener on a free port, a server for exactly one
//! connection, an echo server for any number, and a ropeway client.

use std::future::Future;
use std::net::SocketAddr;

use ropeway_core::ServerConfig;

use super::messages::echo;
use crate::runtime::{ClientWs, ServerWs, TestRuntime};

/// A listener on a free port of 127.0.0.1.
pub async fn listen<T: TestRuntime>() -> (T::Listener, SocketAddr) {
    let listener = T::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let addr = T::local_addr(&listener).expect("local_addr");
    (listener, addr)
}

/// `ws://` URL for `path` on `addr`.
pub fn ws_url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// Connects a ropeway client to `path` on `addr` with the default settings.
pub async fn connect<T: TestRuntime>(addr: SocketAddr, path: &str) -> ClientWs<T> {
    let (ws, response) = T::connect(&ws_url(addr, path))
        .await
        .expect("client handshake");
    assert_eq!(response.status(), 101);
    ws
}

/// A server that echoes on every connection it accepts, each on a task of its own, until
/// the test's runtime ends.
pub async fn spawn_echo_server<T: TestRuntime>(config: ServerConfig) -> SocketAddr {
    let (listener, addr) = listen::<T>().await;
    T::detach(async move {
        while let Ok(tcp) = T::accept_tcp(&listener).await {
            let _ = T::set_nodelay(&tcp);
            let config = config.clone();
            T::detach(async move {
                if let Ok(ws) = T::accept_with_config(tcp, &config).await {
                    let _ = echo(ws).await;
                }
            });
        }
    });
    addr
}

/// Servers for exactly one connection, whose handler's outcome the test awaits. Methods of
/// the runtime (`T::serve_one(…)`) so a case names no closure types.
pub trait ServeOne: TestRuntime {
    /// Accepts exactly one TCP connection on a fresh port and hands it to `handler` in a
    /// task; the task yields what the handler returned.
    fn serve_one<F, Fut>(
        handler: F,
    ) -> impl Future<Output = (SocketAddr, Self::Task<Fut::Output>)> + Send
    where
        F: FnOnce(Self::Tcp) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        async move {
            let (listener, addr) = listen::<Self>().await;
            let task = Self::spawn(async move {
                let tcp = Self::accept_tcp(&listener).await.expect("accept");
                Self::set_nodelay(&tcp).expect("nodelay");
                handler(tcp).await
            });
            (addr, task)
        }
    }

    /// Accepts exactly one WebSocket (any path) with `config` and hands it to `handler`.
    fn serve_one_ws<F, Fut>(
        config: ServerConfig,
        handler: F,
    ) -> impl Future<Output = (SocketAddr, Self::Task<Fut::Output>)> + Send
    where
        F: FnOnce(ServerWs<Self>) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        Self::serve_one(move |tcp| async move {
            let ws = Self::accept_with_config(tcp, &config)
                .await
                .expect("server handshake");
            handler(ws).await
        })
    }
}

impl<T: TestRuntime> ServeOne for T {}
