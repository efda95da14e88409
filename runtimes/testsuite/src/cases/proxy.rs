//! Connecting through proxies: real ones (tinyproxy for HTTP `CONNECT`, microsocks for
//! SOCKS5; ignored by default, scripts/test installs them) to a ropeway server over `ws://`
//! and `wss://`, with and without credentials, and fake ones in the test for what a real
//! proxy will not do on demand (hang, answer garbage, close mid-answer). Each failure must be
//! its own error, in bounded time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::prelude::*;
use crate::support::proxies::{self, ProxyProcess, impatient, through};
use crate::support::proxy_errors::*;
use ropeway_common::{ClientConfig, Proxy};
use ropeway_core::handshake::ClientRequest;
use ropeway_core::proxy::ProxyError;
use ropeway_core::{CloseFrame, Error, Message, ServerConfig};

/// The credentials the real proxies are started with.
const USER: (&str, &str) = ("ropeway", "s3cret-pw");

fn request(url: &str) -> ClientRequest {
    ClientRequest::from_url(url).expect("URL")
}

/// Echoes over `ws://` through the proxy at `proxy_url` (which `proxy` runs), and checks the
/// client's TCP connection went to the proxy.
async fn ws_echo_through<T: TestRuntime>(proxy: &ProxyProcess, proxy_url: &str) {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let config = through(proxy_url, ClientConfig::default());
    let (mut ws, response) = T::connect_with(request(&ws_url(addr, "/")), &config)
        .await
        .expect("connect through the proxy");
    assert_eq!(response.status(), 101);
    assert_eq!(T::peer_addr(ws.get_ref()).unwrap(), proxy.addr());
    assert_echoes(&mut ws, &[0, 125, 65536], "through the proxy").await;
    ws.close(Some(CloseFrame::new(1000, "done"))).await.unwrap();
    assert_ends_cleanly(&mut ws).await;
}

/// Echoes over `wss://localhost` (TLS to the target inside the tunnel) through `proxy_url`.
async fn wss_echo_through<T: TestRuntime>(proxy: &ProxyProcess, proxy_url: &str) {
    let (addr, config) = crate::support::tls::tls_echo_server_and_trusting_client::<T>().await;
    let config = through(proxy_url, config);
    let url = format!("wss://localhost:{}/", addr.port());
    let (mut ws, _) = T::connect_with(request(&url), &config)
        .await
        .expect("connect through the proxy");
    assert!(T::is_tls(ws.get_ref()));
    assert_eq!(T::peer_addr(ws.get_ref()).unwrap(), proxy.addr());
    assert_eq!(recv(&mut ws).await, Message::text("hello over TLS"));
    assert_echoes(&mut ws, &[0, 126, 65536], "wss through the proxy").await;
    ws.close(None).await.unwrap();
    assert_ends_cleanly(&mut ws).await;
}

/// The error of connecting to `url` with `config`, and how long it took.
async fn connect_error<T: TestRuntime>(url: &str, config: &ClientConfig) -> (Error, Duration) {
    let started = Instant::now();
    let error = T::connect_with(request(url), config)
        .await
        .expect_err("the connect must fail");
    (error, started.elapsed())
}

pub async fn ws_through_tinyproxy_echoes<T: TestRuntime>() {
    let proxy = proxies::tinyproxy(None);
    ws_echo_through::<T>(&proxy, &proxy.url("http", None)).await;
}

pub async fn wss_through_tinyproxy_with_basic_auth_echoes<T: TestRuntime>() {
    let proxy = proxies::tinyproxy(Some(USER));
    wss_echo_through::<T>(&proxy, &proxy.url("http", Some(USER))).await;
}

pub async fn ws_through_tinyproxy_with_basic_auth_echoes<T: TestRuntime>() {
    let proxy = proxies::tinyproxy(Some(USER));
    ws_echo_through::<T>(&proxy, &proxy.url("http", Some(USER))).await;
}

pub async fn a_wrong_password_gets_407_from_tinyproxy_without_leaking_it<T: TestRuntime>() {
    let proxy = proxies::tinyproxy(Some(USER));
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    let config = through(
        &proxy.url("http", Some(("ropeway", "wrong-pw"))),
        ClientConfig::default(),
    );
    let (error, took) = connect_error::<T>(&ws_url(addr, "/"), &config).await;
    // tinyproxy 1.11 answers a wrong password with 401, a missing one with 407.
    assert!(
        matches!(
            &error,
            Error::Proxy(ProxyError::HttpRefused {
                status: 401 | 407,
                ..
            })
        ),
        "{error:?}"
    );
    assert_auth_failure_hiding(&error, "wrong-pw", &format!("{config:?}"), took);
}

pub async fn no_credentials_get_407_from_tinyproxy<T: TestRuntime>() {
    let proxy = proxies::tinyproxy(Some(USER));
    let config = through(&proxy.url("http", None), ClientConfig::default());
    let (error, _) = connect_error::<T>("ws://127.0.0.1:9/", &config).await;
    assert!(
        matches!(&error, Error::Proxy(e) if e.is_auth_failure()),
        "{error:?}"
    );
}

pub async fn an_unreachable_target_is_reported_by_tinyproxy_with_its_status<T: TestRuntime>() {
    let proxy = proxies::tinyproxy(None);
    let config = through(&proxy.url("http", None), ClientConfig::default());
    let target = proxies::closed_port();
    let (error, took) = connect_error::<T>(&format!("ws://{target}/"), &config).await;
    assert_http_proxy_cannot_reach_target(&error, took);
}

pub async fn ws_through_microsocks_echoes<T: TestRuntime>() {
    let proxy = proxies::microsocks(None);
    ws_echo_through::<T>(&proxy, &proxy.url("socks5", None)).await;
}

pub async fn wss_through_microsocks_with_a_password_echoes<T: TestRuntime>() {
    // socks5h: the name `localhost` is resolved by the proxy.
    let proxy = proxies::microsocks(Some(USER));
    wss_echo_through::<T>(&proxy, &proxy.url("socks5h", Some(USER))).await;
}

pub async fn a_wrong_password_is_rejected_by_microsocks<T: TestRuntime>() {
    let proxy = proxies::microsocks(Some(USER));
    let config = through(
        &proxy.url("socks5", Some(("ropeway", "wrong-pw"))),
        ClientConfig::default(),
    );
    let (error, took) = connect_error::<T>("ws://127.0.0.1:9/", &config).await;
    assert!(
        matches!(error, Error::Proxy(ProxyError::SocksAuthRejected)),
        "{error:?}"
    );
    assert_auth_failure_hiding(&error, "wrong-pw", &format!("{config:?}"), took);
}

pub async fn no_credentials_are_refused_by_microsocks_with_a_password<T: TestRuntime>() {
    let proxy = proxies::microsocks(Some(USER));
    let config = through(&proxy.url("socks5", None), ClientConfig::default());
    let (error, _) = connect_error::<T>("ws://127.0.0.1:9/", &config).await;
    assert!(
        matches!(error, Error::Proxy(ProxyError::SocksNoAcceptableMethod)),
        "{error:?}"
    );
}

pub async fn an_unreachable_target_is_reported_by_microsocks_by_name<T: TestRuntime>() {
    let proxy = proxies::microsocks(None);
    let config = through(&proxy.url("socks5", None), ClientConfig::default());
    let target = proxies::closed_port();
    let (error, took) = connect_error::<T>(&format!("ws://{target}/"), &config).await;
    assert_socks_proxy_cannot_reach_target(&error, took);
}

pub async fn a_proxy_that_is_down_is_unreachable<T: TestRuntime>() {
    for scheme in ["http", "socks5"] {
        let proxy = proxies::closed_port();
        let (error, took) = connect_error::<T>(
            "ws://127.0.0.1:9/",
            &impatient(&format!("{scheme}://{proxy}")),
        )
        .await;
        assert_proxy_down(&error, proxy, took);
    }
}

/// A fake proxy on a fresh port that accepts one connection and hands it to `answer`.
async fn fake_proxy<T: TestRuntime, F, Fut>(answer: F) -> SocketAddr
where
    F: FnOnce(RawPeer<T>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (addr, task) = T::serve_one(move |tcp| answer(RawPeer::new(tcp))).await;
    drop(task);
    addr
}

pub async fn a_proxy_that_never_answers_times_out_within_the_connect_timeout<T: TestRuntime>() {
    for scheme in ["http", "socks5"] {
        let addr = fake_proxy::<T, _, _>(|peer| async move {
            // Accepts, reads nothing, answers nothing, keeps the connection open.
            T::sleep(Duration::from_secs(30)).await;
            drop(peer);
        })
        .await;
        let (error, took) = connect_error::<T>(
            "ws://127.0.0.1:9/",
            &impatient(&format!("{scheme}://{addr}")),
        )
        .await;
        assert_proxy_timed_out(&error, took);
    }
}

pub async fn a_proxy_that_answers_garbage_is_named_at_once<T: TestRuntime>() {
    for scheme in ["http", "socks5"] {
        let addr = fake_proxy::<T, _, _>(|mut peer| async move {
            peer.write(b"SSH-2.0-OpenSSH_9.2p1\r\n").await;
            T::sleep(Duration::from_secs(30)).await;
        })
        .await;
        let config = through(&format!("{scheme}://{addr}"), ClientConfig::default());
        let (error, took) = connect_error::<T>("ws://127.0.0.1:9/", &config).await;
        assert_garbage(&error, took);
    }
}

pub async fn a_proxy_that_closes_mid_answer_is_reported_as_closed_early<T: TestRuntime>() {
    let cases: [(&str, &[u8]); 2] = [
        ("http", b"HTTP/1.1 200 Connection est"),
        ("socks5", &[5, 0, 5]),
    ];
    for (scheme, partial) in cases {
        let addr = fake_proxy::<T, _, _>(move |mut peer| async move {
            // Closed with the client's next request unread: the client may see the end of
            // the stream or a reset, and either is the proxy closing early.
            peer.write(partial).await;
            let _ = T::shutdown(&mut peer.stream).await;
            drop(peer);
        })
        .await;
        let config = through(&format!("{scheme}://{addr}"), ClientConfig::default());
        let (error, _) = connect_error::<T>("ws://127.0.0.1:9/", &config).await;
        assert!(
            matches!(error, Error::Proxy(ProxyError::ClosedEarly)),
            "{scheme}: {error:?}"
        );
    }
}

pub async fn a_fake_connect_proxy_gets_the_target_and_credentials_then_carries_the_websocket<
    T: TestRuntime,
>() {
    let (addr, task) = T::serve_one(|tcp| async move {
        let mut peer = RawPeer::<T>::new(tcp);
        let head = peer.read_head().await.expect("the CONNECT request");
        // The fake proxy then plays the target server itself over the same connection.
        peer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await;
        let mut ws = T::accept(peer.stream)
            .await
            .expect("the WebSocket through the tunnel");
        ws.send(Message::text("hello through the tunnel"))
            .await
            .unwrap();
        let _ = echo(ws).await;
        head
    })
    .await;
    let config = through(
        &format!("http://alice:open%20sesame@{addr}"),
        ClientConfig::default(),
    );
    let (mut ws, _) = T::connect_with(request("ws://ws.example.test:8080/chat"), &config)
        .await
        .expect("connect through the fake proxy");
    assert_eq!(
        recv(&mut ws).await,
        Message::text("hello through the tunnel")
    );
    assert_echoes(&mut ws, &[5, 300], "through the fake proxy").await;
    ws.close(None).await.unwrap();
    assert_ends_cleanly(&mut ws).await;
    let head = task.await;
    assert_eq!(
        head,
        "CONNECT ws.example.test:8080 HTTP/1.1\r\nHost: ws.example.test:8080\r\n\
         Proxy-Authorization: Basic YWxpY2U6b3BlbiBzZXNhbWU=\r\n\r\n"
    );
}

pub async fn bytes_from_the_proxy_before_the_tunnels_tls_are_refused<T: TestRuntime>() {
    let addr = fake_proxy::<T, _, _>(|mut peer| async move {
        let _ = peer.read_head().await;
        peer.write(b"HTTP/1.1 200 OK\r\n\r\nnot TLS").await;
        T::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let config = through(&format!("http://{addr}"), ClientConfig::default());
    let (error, _) = connect_error::<T>("wss://localhost:9/", &config).await;
    assert!(
        matches!(error, Error::Proxy(ProxyError::UnexpectedData { len: 7 })),
        "{error:?}"
    );
}

pub async fn no_proxy_sends_a_matching_host_directly<T: TestRuntime>() {
    let addr = spawn_echo_server::<T>(ServerConfig::default()).await;
    // The proxy is down: only a direct connection can succeed.
    let proxy = Proxy::parse(&format!("http://{}", proxies::closed_port()))
        .unwrap()
        .with_no_proxy(ropeway_common::NoProxy::parse("localhost, 127.0.0.0/8"));
    let config = ClientConfig::default().with_proxy(proxy);
    let (mut ws, _) = T::connect_with(request(&ws_url(addr, "/")), &config)
        .await
        .unwrap();
    assert_eq!(T::peer_addr(ws.get_ref()).unwrap(), addr);
    assert_echoes(&mut ws, &[3], "directly").await;
}

pub async fn ws_through_an_https_proxy_echoes<T: TestRuntime>() {
    let (cert, key) = crate::support::tls::localhost_certificate();
    let proxy = crate::support::proxies::https_proxy::<T>(cert.clone(), key).await;
    let target = spawn_echo_server::<T>(ServerConfig::default()).await;
    let config = ClientConfig {
        tls: Some(crate::support::tls::trusting(cert)),
        ..ClientConfig::default()
    };
    let config = through(&format!("https://localhost:{}", proxy.port()), config);
    let (mut ws, _) = T::connect_with(request(&ws_url(target, "/")), &config)
        .await
        .expect("connect through the https proxy");
    assert_eq!(T::peer_addr(ws.get_ref()).unwrap().port(), proxy.port());
    assert!(T::is_tls(ws.get_ref()), "TLS to the proxy");
    assert_echoes(&mut ws, &[0, 126, 65536], "through the https proxy").await;
    ws.close(None).await.unwrap();
    assert_ends_cleanly(&mut ws).await;
}

pub async fn wss_through_an_https_proxy_is_tls_inside_tls<T: TestRuntime>() {
    // One certificate for localhost serves the proxy and the target.
    let (cert, key) = crate::support::tls::localhost_certificate();
    let proxy = crate::support::proxies::https_proxy::<T>(cert.clone(), key.clone_key()).await;
    let target = crate::support::tls::spawn_tls_echo_server::<T>(cert.clone(), key).await;
    let config = ClientConfig {
        tls: Some(crate::support::tls::trusting(cert)),
        ..ClientConfig::default()
    };
    let config = through(&format!("https://localhost:{}", proxy.port()), config);
    let url = format!("wss://localhost:{}/", target.port());
    let (mut ws, _) = T::connect_with(request(&url), &config)
        .await
        .expect("connect through the https proxy");
    assert_eq!(T::peer_addr(ws.get_ref()).unwrap().port(), proxy.port());
    assert_eq!(recv(&mut ws).await, Message::text("hello over TLS"));
    assert_echoes(&mut ws, &[0, 126, 65536], "wss through the https proxy").await;
    ws.close(None).await.unwrap();
    assert_ends_cleanly(&mut ws).await;
}

pub async fn a_fake_socks4a_proxy_gets_the_host_name_then_carries_the_websocket<T: TestRuntime>() {
    let (addr, task) = T::serve_one(|tcp| async move {
        let mut peer = RawPeer::<T>::new(tcp);
        // VN CD PORT(2) 0.0.0.1 "fred" NUL "ws.example.test" NUL: 9 + 4 + 16 bytes.
        let mut request = vec![0; 29];
        let mut got = 0;
        while got < request.len() {
            let n = T::read(&mut peer.stream, &mut request[got..])
                .await
                .unwrap();
            assert!(n > 0, "the request ended early");
            got += n;
        }
        peer.write(&[0, 90, 0, 0, 0, 0, 0, 0]).await;
        let mut ws = T::accept(peer.stream)
            .await
            .expect("the WebSocket through the tunnel");
        ws.send(Message::text("hello over SOCKS4a")).await.unwrap();
        let _ = echo(ws).await;
        request
    })
    .await;
    let config = through(&format!("socks4a://fred@{addr}"), ClientConfig::default());
    let (mut ws, _) = T::connect_with(request("ws://ws.example.test:8080/"), &config)
        .await
        .expect("connect through the fake SOCKS4a proxy");
    assert_eq!(recv(&mut ws).await, Message::text("hello over SOCKS4a"));
    assert_echoes(&mut ws, &[7], "through SOCKS4a").await;
    ws.close(None).await.unwrap();
    assert_ends_cleanly(&mut ws).await;
    assert_eq!(
        task.await,
        b"\x04\x01\x1f\x90\x00\x00\x00\x01fred\x00ws.example.test\x00"
    );
}
