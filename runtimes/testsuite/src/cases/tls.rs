//! `wss://`: a rustls server (tokio-rustls or futures-rustls) with a certificate made in the test, and the ropeway
//! client trusting exactly that certificate.

use std::net::SocketAddr;

use crate::prelude::*;
use crate::support::tls::{self, spawn_tls_echo_server, tls_echo_server_and_trusting_client};
use ropeway_common::ClientConfig;
use ropeway_core::handshake::ClientRequest;
use ropeway_core::{CloseFrame, Error, Message};

fn wss_request(host: &str, addr: SocketAddr) -> ClientRequest {
    ClientRequest::from_url(&format!("wss://{host}:{}/", addr.port())).unwrap()
}

pub async fn a_ropeway_client_echoes_over_wss_with_a_trusted_certificate<T: TestRuntime>() {
    let (addr, config) = tls_echo_server_and_trusting_client::<T>().await;
    let (mut ws, response) = T::connect_with(wss_request("localhost", addr), &config)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert!(T::is_tls(ws.get_ref()));
    // Server to client, then client to server and back.
    assert_eq!(recv(&mut ws).await, Message::text("hello over TLS"));
    assert_echoes(&mut ws, &[0, 125, 126, 65536, 1 << 20], "wss").await;
    ws.close(Some(CloseFrame::new(1000, "tls done")))
        .await
        .unwrap();
    assert_ends_cleanly(&mut ws).await;
}

pub async fn a_client_that_does_not_trust_the_certificate_fails_with_a_tls_error<T: TestRuntime>() {
    let (cert, key) = tls::localhost_certificate();
    let addr = spawn_tls_echo_server::<T>(cert, key).await;
    // The default configuration trusts the webpki roots, which did not sign this one.
    let result = T::connect_with(wss_request("localhost", addr), &ClientConfig::default()).await;
    assert!(matches!(result, Err(Error::Tls(_))), "{result:?}");
}

pub async fn a_certificate_for_another_name_is_refused<T: TestRuntime>() {
    let (addr, config) = tls_echo_server_and_trusting_client::<T>().await;
    // The certificate names localhost, not 127.0.0.1.
    let result = T::connect_with(wss_request("127.0.0.1", addr), &config).await;
    assert!(matches!(result, Err(Error::Tls(_))), "{result:?}");
}

pub async fn wss_runs_over_a_stream_the_application_opened<T: TestRuntime>() {
    let (cert, key) = tls::localhost_certificate();
    let addr = spawn_tls_echo_server::<T>(cert.clone(), key).await;
    // The application's own stream (here a TCP connection; a tunnel or a pipe alike).
    let tcp = T::connect_tcp(addr).await.unwrap();
    let config = ClientConfig {
        tls: Some(tls::trusting(cert)),
        ..ClientConfig::default()
    };
    let (mut ws, response) = T::handshake_tls(tcp, &wss_request("localhost", addr), &config)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
    assert_eq!(recv(&mut ws).await, Message::text("hello over TLS"));
    ws.send(Message::text("over my own stream")).await.unwrap();
    assert_eq!(recv(&mut ws).await, Message::text("over my own stream"));
    ws.close(None).await.unwrap();
    assert_ends_cleanly(&mut ws).await;
    // Over an untrusted certificate it is a TLS error, as with `connect`.
    let (cert, key) = tls::localhost_certificate();
    let addr = spawn_tls_echo_server::<T>(cert, key).await;
    let tcp = T::connect_tcp(addr).await.unwrap();
    let result = T::handshake_tls(tcp, &wss_request("localhost", addr), &config).await;
    assert!(
        matches!(result, Err(Error::Tls(_))),
        "{:?}",
        result.map(|_| ())
    );
}
