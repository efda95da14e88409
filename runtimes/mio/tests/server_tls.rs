//! `wss://` on the event loop: rustls driven from the loop, with a certificate made in the
//! test and the blocking client trusting exactly that certificate.
#![cfg(feature = "tls")]

mod server_support;

use ropeway_common::ClientConfig;
use ropeway_dev_tls::Identity;
use ropeway_mio::client::{self, ClientRequest};
use ropeway_mio::server::{Config, Server};
use ropeway_mio::{Bytes, Message};
use server_support::Echo;

#[test]
fn wss_echoes_small_and_large_messages_over_rustls_in_the_loop() {
    let identity = Identity::localhost();
    let server = Server::bind("127.0.0.1:0", Config::default())
        .expect("bind")
        .with_tls(identity.server_config().expect("a server config"));
    let port = server.local_addr().expect("addr").port();
    let running = server.spawn(Echo).expect("spawn");

    let config = ClientConfig {
        tls: Some(identity.trusting_client()),
        ..ClientConfig::default()
    };
    let request = ClientRequest::from_url(&format!("wss://localhost:{port}/ws")).expect("url");
    let (mut ws, _) = client::connect_with(request, &config, Default::default()).expect("connect");
    for len in [0, 5, 20_000, 1 << 20] {
        let payload = Bytes::from(vec![b'x'; len]);
        ws.send(Message::Binary(payload.clone())).expect("send");
        assert_eq!(
            ws.recv().expect("echo").expect("ok"),
            Message::Binary(payload)
        );
    }
    ws.close(None).expect("close");
    running.stop().expect("the loop ended cleanly");
}
