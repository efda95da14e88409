//! The blocking client through proxies: real tinyproxy (HTTP `CONNECT`) and microsocks
//! (SOCKS5) to a ropeway server over `ws://` and `wss://`, with and without credentials
//! (ignored by default: scripts/test installs the proxies), and fake proxies in the test
//! for a proxy that is down, hangs, or answers garbage. Each failure is its own error, in
//! bounded time.

mod client_common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use client_common::*;
use ropeway_mio::client::{self, ClientConfig, ClientRequest, Error, Message, Options, ProxyError};
use ropeway_testsuite::support::proxies::{self, ProxyProcess, impatient, through};
use ropeway_testsuite::support::proxy_errors::*;
use ropeway_tokio::server::ServerConfig;

/// The credentials the real proxies are started with.
const USER: (&str, &str) = ("ropeway", "s3cret-pw");

fn connect(url: &str, config: &ClientConfig) -> Result<client::WebSocket, Error> {
    let request = ClientRequest::from_url(url).unwrap();
    client::connect_with(request, config, Options::default()).map(|(ws, _)| ws)
}

/// The error of connecting to `url` with `config`, and how long it took.
fn connect_error(url: &str, config: &ClientConfig) -> (Error, Duration) {
    let started = Instant::now();
    let error = connect(url, config).expect_err("the connect must fail");
    (error, started.elapsed())
}

/// Echoes over `ws://` through `proxy` at `proxy_url`; the TCP peer must be the proxy.
fn ws_echo_through(proxy: &ProxyProcess, proxy_url: &str) {
    let addr = echo_server(ServerConfig::default());
    let mut ws = connect(
        &ws_url(addr, "/"),
        &through(proxy_url, ClientConfig::default()),
    )
    .expect("connect through the proxy");
    assert_eq!(ws.peer_addr().unwrap(), proxy.addr());
    assert_echoes(&mut ws, &[0, 126, 65536]);
    ws.close(None).unwrap();
}

/// A wss:// echo server for `localhost` (ropeway-testsuite's, on a tokio thread of its own)
/// and a configuration that trusts its certificate.
fn tls_echo_server() -> (SocketAddr, ClientConfig) {
    use ropeway_testsuite::TestRuntime;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        ropeway_testsuite::Tokio::block_on(async move {
            let server = ropeway_testsuite::support::tls::tls_echo_server_and_trusting_client::<
                ropeway_testsuite::Tokio,
            >()
            .await;
            tx.send(server).unwrap();
            std::future::pending::<()>().await;
        })
    });
    rx.recv().unwrap()
}

/// Echoes over `wss://localhost` (TLS inside the tunnel) through `proxy` at `proxy_url`.
fn wss_echo_through(proxy: &ProxyProcess, proxy_url: &str) {
    let (addr, config) = tls_echo_server();
    let url = format!("wss://localhost:{}/", addr.port());
    let mut ws = connect(&url, &through(proxy_url, config)).expect("connect through the proxy");
    assert_eq!(ws.peer_addr().unwrap(), proxy.addr());
    assert_eq!(recv(&mut ws), Message::text("hello over TLS"));
    assert_echoes(&mut ws, &[0, 126, 65536]);
    ws.close(None).unwrap();
}

#[test]
#[ignore = "needs tinyproxy: run scripts/test"]
fn ws_and_wss_through_tinyproxy_echo() {
    bounded(|| {
        let open = proxies::tinyproxy(None);
        ws_echo_through(&open, &open.url("http", None));
        let with_auth = proxies::tinyproxy(Some(USER));
        wss_echo_through(&with_auth, &with_auth.url("http", Some(USER)));
    });
}

#[test]
#[ignore = "needs microsocks: run scripts/test"]
fn ws_and_wss_through_microsocks_echo() {
    bounded(|| {
        let with_auth = proxies::microsocks(Some(USER));
        ws_echo_through(&with_auth, &with_auth.url("socks5", Some(USER)));
        let open = proxies::microsocks(None);
        wss_echo_through(&open, &open.url("socks5h", None));
    });
}

#[test]
#[ignore = "needs tinyproxy and microsocks: run scripts/test"]
fn a_wrong_password_is_refused_by_each_proxy_without_leaking_it() {
    bounded(|| {
        let wrong = Some(("ropeway", "wrong-pw"));
        let tinyproxy = proxies::tinyproxy(Some(USER));
        let config = through(&tinyproxy.url("http", wrong), ClientConfig::default());
        let (error, took) = connect_error("ws://127.0.0.1:9/", &config);
        assert_auth_failure_hiding(&error, "wrong-pw", &format!("{config:?}"), took);

        let microsocks = proxies::microsocks(Some(USER));
        let config = through(&microsocks.url("socks5", wrong), ClientConfig::default());
        let (error, took) = connect_error("ws://127.0.0.1:9/", &config);
        assert!(
            matches!(error, Error::Proxy(ProxyError::SocksAuthRejected)),
            "{error:?}"
        );
        assert_auth_failure_hiding(&error, "wrong-pw", &format!("{config:?}"), took);
    });
}

#[test]
#[ignore = "needs tinyproxy and microsocks: run scripts/test"]
fn an_unreachable_target_is_reported_by_each_proxy() {
    bounded(|| {
        let target = format!("ws://{}/", proxies::closed_port());
        let tinyproxy = proxies::tinyproxy(None);
        let config = through(&tinyproxy.url("http", None), ClientConfig::default());
        let (error, took) = connect_error(&target, &config);
        assert_http_proxy_cannot_reach_target(&error, took);
        let microsocks = proxies::microsocks(None);
        let config = through(&microsocks.url("socks5", None), ClientConfig::default());
        let (error, took) = connect_error(&target, &config);
        assert_socks_proxy_cannot_reach_target(&error, took);
    });
}

#[test]
fn a_proxy_that_is_down_is_unreachable() {
    bounded(|| {
        for scheme in ["http", "socks5"] {
            let proxy = proxies::closed_port();
            let config = impatient(&format!("{scheme}://{proxy}"));
            let (error, took) = connect_error("ws://127.0.0.1:9/", &config);
            assert_proxy_down(&error, proxy, took);
        }
    });
}

#[test]
fn a_proxy_that_never_answers_times_out_within_the_connect_timeout() {
    bounded(|| {
        for scheme in ["http", "socks5"] {
            let proxy = raw_server(|tcp| {
                std::thread::sleep(Duration::from_secs(10));
                drop(tcp);
            });
            let (error, took) = connect_error(
                "ws://127.0.0.1:9/",
                &impatient(&format!("{scheme}://{proxy}")),
            );
            assert_proxy_timed_out(&error, took);
        }
    });
}

#[test]
fn a_proxy_that_answers_garbage_is_named_at_once() {
    bounded(|| {
        for scheme in ["http", "socks5"] {
            let proxy = raw_server(|mut tcp| {
                use std::io::Write;
                let _ = tcp.write_all(b"SSH-2.0-OpenSSH_9.2p1\r\n");
                std::thread::sleep(Duration::from_secs(10));
            });
            let config = through(&format!("{scheme}://{proxy}"), ClientConfig::default());
            let (error, took) = connect_error("ws://127.0.0.1:9/", &config);
            assert_garbage(&error, took);
        }
    });
}

#[test]
fn a_fake_connect_proxy_gets_the_target_and_carries_the_websocket() {
    bounded(|| {
        let (heads, seen) = std::sync::mpsc::channel();
        let proxy = raw_server(move |mut tcp| {
            use std::io::Write;
            heads.send(read_head(&mut tcp)).unwrap();
            // The fake proxy then plays the target server over the same connection.
            tcp.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            accept_raw(&mut tcp);
            tcp.write_all(&server_frame(1, true, b"hello through the tunnel"))
                .unwrap();
            std::thread::sleep(Duration::from_secs(2));
        });
        let config = through(&format!("http://{proxy}"), ClientConfig::default());
        let mut ws = connect("ws://ws.example.test/chat", &config).unwrap();
        assert_eq!(recv(&mut ws), Message::text("hello through the tunnel"));
        assert_eq!(
            seen.recv().unwrap(),
            "CONNECT ws.example.test:80 HTTP/1.1\r\nHost: ws.example.test:80\r\n\r\n"
        );
    });
}

#[test]
fn wss_through_an_https_proxy_is_tls_inside_tls() {
    bounded(|| {
        use ropeway_testsuite::support::tls;
        use std::io::{Read, Write};
        use std::sync::Arc;
        let (cert, key) = tls::localhost_certificate();
        let server_config = tls::server_config(cert.clone(), key);
        let (seen_tx, seen) = std::sync::mpsc::channel();
        // A fake https:// proxy: TLS, the CONNECT, then it plays the target with a second
        // TLS connection inside the first, as a real proxy's tunnel would carry it.
        let proxy = raw_server(move |tcp| {
            let outer = rustls::ServerConnection::new(Arc::clone(&server_config)).unwrap();
            let mut outer = rustls::StreamOwned::new(outer, tcp);
            let connect = read_head(&mut outer);
            outer
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let inner = rustls::ServerConnection::new(Arc::clone(&server_config)).unwrap();
            let mut tls = rustls::StreamOwned::new(inner, outer);
            let upgrade = read_head(&mut tls);
            let key = upgrade
                .lines()
                .find_map(|l| l.strip_prefix("sec-websocket-key: "))
                .expect("a key")
                .to_owned();
            let accept = ropeway_core::handshake::accept_key(key.as_bytes());
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            tls.write_all(answer.as_bytes()).unwrap();
            // Larger than a TLS record, so both layers split and join it.
            tls.write_all(&server_frame(2, true, &vec![7; 100_000]))
                .unwrap();
            tls.write_all(&server_frame(1, true, b"hello inside two TLS layers"))
                .unwrap();
            tls.flush().unwrap();
            // The client's answer: a masked text frame of 5 bytes.
            let mut frame = [0; 2 + 4 + 5];
            tls.read_exact(&mut frame).unwrap();
            let (mask, payload) = frame[2..].split_at(4);
            let text: Vec<u8> = payload
                .iter()
                .zip(mask.iter().cycle())
                .map(|(b, m)| b ^ m)
                .collect();
            seen_tx.send((connect, frame[0], text)).unwrap();
            // Then the close handshake, inside both layers.
            tls.write_all(&server_frame(8, true, &[0x03, 0xe8]))
                .unwrap();
            tls.flush().unwrap();
            let mut close = [0; 2 + 4 + 2];
            let _ = tls.read_exact(&mut close);
            std::thread::sleep(Duration::from_millis(500));
        });
        let config = ClientConfig {
            tls: Some(tls::trusting(cert)),
            ..ClientConfig::default()
        };
        let config = through(&format!("https://localhost:{}", proxy.port()), config);
        let mut ws = connect("wss://localhost/chat", &config).unwrap();
        assert_eq!(ws.peer_addr().unwrap().port(), proxy.port());
        assert_eq!(recv(&mut ws), Message::binary(vec![7; 100_000]));
        assert_eq!(recv(&mut ws), Message::text("hello inside two TLS layers"));
        ws.send(Message::text("hello")).unwrap();
        let (connect_head, opcode, text) = seen.recv().unwrap();
        assert_eq!(
            connect_head,
            "CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n"
        );
        assert_eq!((opcode, text.as_slice()), (0x81, &b"hello"[..]));
        assert_eq!(
            recv(&mut ws),
            Message::Close(Some(ropeway_core::CloseFrame::new(1000, "")))
        );
        assert!(ws.recv().is_none(), "the close handshake completes");
    });
}

#[test]
fn ws_through_an_https_proxy_rides_the_tls_to_the_proxy() {
    bounded(|| {
        use ropeway_testsuite::support::tls;
        use std::io::Write;
        use std::sync::Arc;
        let (cert, key) = tls::localhost_certificate();
        let server_config = tls::server_config(cert.clone(), key);
        let (heads, seen) = std::sync::mpsc::channel();
        // A fake https:// proxy: TLS, the CONNECT, then it plays the target over the same TLS.
        let proxy = raw_server(move |tcp| {
            let conn = rustls::ServerConnection::new(Arc::clone(&server_config)).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let connect = read_head(&mut tls);
            tls.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let upgrade = read_head(&mut tls);
            let key = upgrade
                .lines()
                .find_map(|l| l.strip_prefix("sec-websocket-key: "))
                .expect("a key")
                .to_owned();
            let accept = ropeway_core::handshake::accept_key(key.as_bytes());
            let answer = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            tls.write_all(answer.as_bytes()).unwrap();
            tls.write_all(&server_frame(1, true, b"hello inside the proxy's TLS"))
                .unwrap();
            tls.flush().unwrap();
            heads.send(connect).unwrap();
            std::thread::sleep(Duration::from_secs(2));
        });
        let config = ClientConfig {
            tls: Some(tls::trusting(cert)),
            ..ClientConfig::default()
        };
        let config = through(&format!("https://localhost:{}", proxy.port()), config);
        let mut ws = connect("ws://ws.example.test/", &config).unwrap();
        assert_eq!(ws.peer_addr().unwrap().port(), proxy.port());
        assert_eq!(recv(&mut ws), Message::text("hello inside the proxy's TLS"));
        assert_eq!(
            seen.recv().unwrap(),
            "CONNECT ws.example.test:80 HTTP/1.1\r\nHost: ws.example.test:80\r\n\r\n"
        );
    });
}
