//! The HTTP/2 client through a real HTTP proxy (tinyproxy, started by the test on a free
//! loopback port; ignored by default, scripts/test installs it): h2c with prior knowledge
//! and TLS with ALPN `h2` inside the `CONNECT` tunnel, many WebSockets on the one tunnelled
//! connection.
#![cfg(feature = "h2")]

mod common;
mod h2_support;

use common::*;
use h2_support::*;
use http::Version;
use ropeway_testsuite::support::proxies;
use ropeway_tokio::h2::{H2Client, H2Options, ServeConfig};
use ropeway_tokio::{ClientConfig, Proxy, ServerConfig};

const USER: (&str, &str) = ("ropeway", "s3cret-pw");

#[tokio::test]
#[ignore = "needs tinyproxy: run scripts/test"]
async fn h2c_websockets_through_tinyproxy_share_one_tunnel() {
    bounded(async {
        let proxy = proxies::tinyproxy(None);
        let mut server = spawn_default().await;
        let config =
            ClientConfig::default().with_proxy(Proxy::http(&proxy.url("http", None)).unwrap());
        let url = format!("ws://{}", server.addr);
        let client = H2Client::connect(&url, &config, &H2Options::default())
            .await
            .unwrap();
        for path in ["/ws", "/ws?second"] {
            let (mut ws, response) = client.websocket(path).await.unwrap();
            assert_eq!(response.status(), 200);
            assert_echoes(&mut ws, &[0, 126, 65536], "h2c through tinyproxy").await;
            ws.close(None).await.unwrap();
            assert_ends_cleanly(&mut ws).await;
            assert_eq!(server.seen.recv().await.unwrap().0, Version::HTTP_2);
        }
        // The same URL with the proxy down: the connection goes to the proxy or nowhere.
        let down = Proxy::http(&format!("http://{}", proxies::closed_port())).unwrap();
        let error = H2Client::connect(
            &url,
            &ClientConfig::default().with_proxy(down),
            &H2Options::default(),
        )
        .await
        .expect_err("the proxy is down");
        assert!(
            matches!(
                error,
                ropeway_tokio::Error::Proxy(ropeway_tokio::ProxyError::Unreachable { .. })
            ),
            "{error:?}"
        );
    })
    .await;
}

#[tokio::test]
#[ignore = "needs tinyproxy: run scripts/test"]
async fn wss_over_http2_through_tinyproxy_with_basic_auth() {
    bounded(async {
        let proxy = proxies::tinyproxy(Some(USER));
        let (cert, key) = localhost_certificate();
        let tls = Some(tls_server(cert.clone(), key));
        let mut server = spawn_server(ServerConfig::default(), ServeConfig::default(), tls).await;
        let config =
            trusting(cert).with_proxy(Proxy::http(&proxy.url("http", Some(USER))).unwrap());
        let url = format!("wss://localhost:{}/ws", server.addr.port());
        let (mut ws, _) = ropeway_tokio::h2::connect(&url, &config, &H2Options::default())
            .await
            .unwrap();
        assert_eq!(ws.get_ref().http_version(), Version::HTTP_2);
        assert_echoes(&mut ws, &[0, 126, 65536], "wss h2 through tinyproxy").await;
        ws.close(None).await.unwrap();
        assert_ends_cleanly(&mut ws).await;
        assert_eq!(server.seen.recv().await.unwrap().0, Version::HTTP_2);

        // A wrong password: the proxy's refusal, not an HTTP/2 error.
        let wrong = trusting(localhost_certificate().0)
            .with_proxy(Proxy::http(&proxy.url("http", Some(("ropeway", "nope")))).unwrap());
        let error = ropeway_tokio::h2::connect(&url, &wrong, &H2Options::default())
            .await
            .expect_err("refused by the proxy");
        assert!(
            matches!(&error, ropeway_tokio::Error::Proxy(e) if e.is_auth_failure()),
            "{error:?}"
        );
    })
    .await;
}

/// An `https://` proxy (TLS to the proxy, the test's own: no Debian proxy listens with TLS),
/// the client trusting the one localhost certificate the proxy and the server both present.
async fn through_an_https_proxy(
    cert: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
) -> ClientConfig {
    let proxy = proxies::https_proxy::<ropeway_testsuite::Tokio>(cert.clone(), key).await;
    let url = format!("https://localhost:{}", proxy.port());
    trusting(cert).with_proxy(Proxy::parse(&url).unwrap())
}

#[tokio::test]
async fn wss_over_http2_through_an_https_proxy_is_tls_inside_tls_with_alpn_h2() {
    bounded(async {
        let (cert, key) = localhost_certificate();
        let tls = Some(tls_server(cert.clone(), key.clone_key()));
        let mut server = spawn_server(ServerConfig::default(), ServeConfig::default(), tls).await;
        let config = through_an_https_proxy(cert, key).await;
        let url = format!("wss://localhost:{}/ws", server.addr.port());
        let (mut ws, _) = ropeway_tokio::h2::connect(&url, &config, &H2Options::default())
            .await
            .expect("HTTP/2 inside TLS inside the https proxy's TLS");
        assert_eq!(ws.get_ref().http_version(), Version::HTTP_2);
        assert_echoes(&mut ws, &[0, 126, 65536], "wss h2 through an https proxy").await;
        ws.close(None).await.unwrap();
        assert_ends_cleanly(&mut ws).await;
        assert_eq!(server.seen.recv().await.unwrap().0, Version::HTTP_2);
    })
    .await;
}

#[tokio::test]
async fn h2c_through_an_https_proxy_rides_the_proxys_tls() {
    bounded(async {
        let (cert, key) = localhost_certificate();
        let mut server = spawn_default().await;
        let config = through_an_https_proxy(cert, key).await;
        let url = format!("ws://localhost:{}", server.addr.port());
        let client = H2Client::connect(&url, &config, &H2Options::default())
            .await
            .expect("h2c inside the https proxy's TLS");
        let (mut ws, _) = client.websocket("/ws").await.unwrap();
        assert_echoes(&mut ws, &[0, 126, 65536], "h2c through an https proxy").await;
        ws.close(None).await.unwrap();
        assert_ends_cleanly(&mut ws).await;
        assert_eq!(server.seen.recv().await.unwrap().0, Version::HTTP_2);
    })
    .await;
}
