//! TLS for `wss://` cases: a certificate made in the test, a server config that presents
//! it, and a client config that trusts exactly it (ring, like the bindings); built by the
//! helper the examples share.

use std::net::SocketAddr;
use std::sync::Arc;

use ropeway_common::ClientConfig;
use ropeway_core::{Message, ServerConfig};
use ropeway_dev_tls::{Identity, client_trusting};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::loopback::listen;
use super::messages::echo;
use crate::runtime::TestRuntime;

/// A self-signed certificate for `localhost` and its key.
pub fn localhost_certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let identity = Identity::localhost();
    (identity.leaf(), identity.key)
}

/// A TLS server configuration presenting `cert`.
pub fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Arc<rustls::ServerConfig> {
    let identity = Identity {
        chain: vec![cert],
        key,
    };
    identity.server_config().expect("a certificate rcgen made")
}

/// A TLS client configuration that trusts `cert` only.
pub fn trusting(cert: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    client_trusting(vec![cert]).expect("a certificate rcgen made")
}

/// A wss:// server on 127.0.0.1 that greets each client with "hello over TLS", then echoes.
pub async fn spawn_tls_echo_server<T: TestRuntime>(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> SocketAddr {
    let config = server_config(cert, key);
    let (listener, addr) = listen::<T>().await;
    T::detach(async move {
        while let Ok(tcp) = T::accept_tcp(&listener).await {
            let config = config.clone();
            T::detach(async move {
                let Ok(tls) = T::tls_accept(config, tcp).await else {
                    return;
                };
                // The binding's accept is this function for its own transports.
                let mut ws = ropeway_async::server::accept_with_config::<T::Rt, _>(
                    tls,
                    &ServerConfig::default(),
                )
                .await
                .unwrap();
                ws.send(Message::text("hello over TLS")).await.unwrap();
                let _ = echo(ws).await;
            });
        }
    });
    addr
}

/// A TLS echo server with a fresh localhost certificate, and a client configuration that
/// trusts that certificate.
pub async fn tls_echo_server_and_trusting_client<T: TestRuntime>() -> (SocketAddr, ClientConfig) {
    let (cert, key) = localhost_certificate();
    let addr = spawn_tls_echo_server::<T>(cert.clone(), key).await;
    let config = ClientConfig {
        tls: Some(trusting(cert)),
        ..ClientConfig::default()
    };
    (addr, config)
}
