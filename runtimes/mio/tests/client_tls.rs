//! `wss://` with the blocking client: a tokio-rustls server with a certificate made in the
//! test, the client trusting exactly that certificate; two threads hammering one TLS
//! connection at once.
#![cfg(feature = "tls")]

mod client_common;

use std::net::SocketAddr;
use std::sync::Arc;

use client_common::*;
use ropeway_dev_tls::{Identity, client_trusting};
use ropeway_mio::client::{self, ClientConfig, ClientRequest, CloseFrame, Error, Message, Options};
use ropeway_tokio::server::{ServerConfig, accept_with_config};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// A self-signed certificate for `localhost` and its key.
fn localhost_certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let identity = Identity::localhost();
    (identity.leaf(), identity.key)
}

/// A TLS client configuration that trusts `cert` only.
fn trusting(cert: CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    client_trusting(vec![cert]).unwrap()
}

/// A wss:// echo server on 127.0.0.1 (its own thread and tokio runtime) that greets each
/// client with "hello over TLS".
fn tls_echo_server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> SocketAddr {
    let identity = Identity {
        chain: vec![cert],
        key,
    };
    let acceptor = TlsAcceptor::from(identity.server_config().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut ws) = accept_with_config(tls, &ServerConfig::default()).await else {
                        return;
                    };
                    let _ = ws.send(Message::text("hello over TLS")).await;
                    while let Some(Ok(message)) = ws.recv().await {
                        if message.is_data() && ws.send(message).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// A TLS echo server with a fresh certificate, and a client configuration trusting it.
fn server_and_trusting_config() -> (SocketAddr, ClientConfig) {
    let (cert, key) = localhost_certificate();
    let addr = tls_echo_server(cert.clone(), key);
    let config = ClientConfig {
        tls: Some(trusting(cert)),
        ..ClientConfig::default()
    };
    (addr, config)
}

fn wss(host: &str, addr: SocketAddr) -> ClientRequest {
    ClientRequest::from_url(&format!("wss://{host}:{}/", addr.port())).unwrap()
}

#[test]
fn the_client_echoes_every_length_class_over_wss() {
    bounded(|| {
        let (addr, config) = server_and_trusting_config();
        let (mut ws, response) =
            client::connect_with(wss("localhost", addr), &config, Options::default()).unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(recv(&mut ws), Message::text("hello over TLS"));
        assert_echoes(&mut ws, &LENGTHS);
        ws.close(Some(CloseFrame::new(1000, "tls done"))).unwrap();
        assert!(ws.recv().is_none());
    });
}

#[test]
fn a_reader_and_writers_hammer_one_tls_connection_at_once() {
    bounded(|| {
        let (addr, config) = server_and_trusting_config();
        let (mut ws, _) =
            client::connect_with(wss("localhost", addr), &config, Options::default()).unwrap();
        assert_eq!(recv(&mut ws), Message::text("hello over TLS"));
        let (reader, writer) = ws.split();
        hammer(reader, writer, 3, 60);
    });
}

#[test]
fn an_untrusted_certificate_is_a_tls_error() {
    bounded(|| {
        let (cert, key) = localhost_certificate();
        let addr = tls_echo_server(cert, key);
        // The default configuration trusts the webpki roots, which did not sign this one.
        let result = client::connect_with(
            wss("localhost", addr),
            &ClientConfig::default(),
            Options::default(),
        );
        assert!(matches!(result, Err(Error::Tls(_))), "{result:?}");
    });
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    bounded(|| {
        let (addr, config) = server_and_trusting_config();
        // The certificate names localhost, not 127.0.0.1.
        let result = client::connect_with(wss("127.0.0.1", addr), &config, Options::default());
        assert!(matches!(result, Err(Error::Tls(_))), "{result:?}");
    });
}

/// Issue #20: TLS over a TCP stream the application opened itself (here a plain
/// `TcpStream::connect`, as its own tunnel or socket options would give), then the opening
/// handshake inside it; and the same stream with an untrusted certificate is a TLS error.
#[test]
fn handshake_tls_runs_tls_over_a_stream_the_application_opened() {
    bounded(|| {
        let (addr, config) = server_and_trusting_config();
        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let (mut ws, response) =
            client::handshake_tls(tcp, &wss("localhost", addr), &config, Options::default())
                .unwrap();
        assert_eq!(response.status(), 101);
        assert_eq!(recv(&mut ws), Message::text("hello over TLS"));
        assert_echoes(&mut ws, &LENGTHS);
        ws.close(None).unwrap();
        assert!(ws.recv().is_none());

        let tcp = std::net::TcpStream::connect(addr).unwrap();
        let untrusted = client::handshake_tls(
            tcp,
            &wss("localhost", addr),
            &ClientConfig::default(),
            Options::default(),
        );
        assert!(matches!(untrusted, Err(Error::Tls(_))), "{untrusted:?}");
    });
}
