//! The event-loop server echoes every length class, text and binary, over one loop and
//! several; a plain request gets the page.

mod server_support;

use ropeway_mio::client;
use ropeway_mio::server::Config;
use ropeway_mio::{Bytes, Message};
use server_support::{Echo, TestServer, http_exchange};

/// Payload lengths at every boundary of the frame header's length encoding, and beyond
/// the loop's 32 KiB receive buffer.
const LENGTHS: [usize; 9] = [0, 1, 125, 126, 127, 65_535, 65_536, 100_000, 1 << 20];

#[test]
fn echoes_every_length_class_text_and_binary() {
    let server = TestServer::start(Config::default(), Echo);
    let (mut ws, _) = client::connect(&server.url("/ws")).expect("connect");
    for len in LENGTHS {
        let text = "é".repeat(len / 2) + &"a".repeat(len % 2);
        ws.send(Message::text(text.clone())).expect("send text");
        assert_eq!(
            ws.recv().expect("a message").expect("ok"),
            Message::text(text)
        );
        let binary = Bytes::from((0..len).map(|i| i as u8).collect::<Vec<_>>());
        ws.send(Message::Binary(binary.clone()))
            .expect("send binary");
        assert_eq!(
            ws.recv().expect("a message").expect("ok"),
            Message::Binary(binary)
        );
    }
    ws.close(None).expect("close");
    server.stop().expect("the loop ended cleanly");
}

#[test]
fn many_clients_on_several_loops() {
    let config = Config {
        loops: 3,
        ..Config::default()
    };
    let server = TestServer::start(config, Echo);
    let url = server.url("/ws");
    let threads: Vec<_> = (0..12)
        .map(|n| {
            let url = url.clone();
            std::thread::spawn(move || {
                let (mut ws, _) = client::connect(&url).expect("connect");
                for i in 0..50 {
                    let text = format!("client {n} message {i}");
                    ws.send(Message::text(text.clone())).expect("send");
                    assert_eq!(
                        ws.recv().expect("a message").expect("ok"),
                        Message::text(text)
                    );
                }
                ws.close(None).expect("close");
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a client thread");
    }
    server.stop().expect("every loop ended cleanly");
}

#[test]
fn plain_request_gets_the_page_and_unknown_paths_404() {
    let server = TestServer::start(Config::default(), Echo);
    let page = http_exchange(server.addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.ends_with("<h1>page</h1>"), "{page}");
    let missing = http_exchange(server.addr, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
}

#[test]
fn permessage_deflate_is_negotiated_and_echoes_compressed_messages() {
    use ropeway_core::ServerConfig;
    use ropeway_core::deflate::{DeflateClient, DeflateServer};
    use std::sync::Arc;

    let config = Config {
        websocket: ServerConfig {
            extensions: vec![Arc::new(DeflateServer::default())],
            ..ServerConfig::default()
        },
        ..Config::default()
    };
    let server = TestServer::start(config, Echo);
    let client_config = client::ClientConfig {
        extensions: vec![Arc::new(DeflateClient::default())],
        ..client::ClientConfig::default()
    };
    let request = client::ClientRequest::from_url(&server.url("/ws")).expect("url");
    let (mut ws, response) =
        client::connect_with(request, &client_config, Default::default()).expect("connect");
    let extensions = response
        .headers()
        .get("sec-websocket-extensions")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        extensions.starts_with("permessage-deflate"),
        "{extensions:?}"
    );
    for len in [1, 1000, 100_000] {
        let text = "compress me ".repeat(len / 12 + 1);
        ws.send(Message::text(text.clone())).expect("send");
        assert_eq!(ws.recv().expect("echo").expect("ok"), Message::text(text));
    }
    ws.close(None).expect("close");
}
