//! The blocking client's view of what the opening handshake agreed on: the subprotocol and
//! the extensions, on the connection and on both halves of a split one.

mod client_common;

use std::sync::Arc;
use std::sync::mpsc;

use client_common::{bounded, recv, ws_url};
use ropeway_core::deflate::{DeflateClient, DeflateConfig, DeflateServer};
use ropeway_mio::client::{self, ClientConfig, ClientRequest, Message};
use ropeway_tokio::Accept;
use ropeway_tokio::server::{Incoming, ServerConfig};

/// A ropeway-tokio server for one connection that chooses `chat.v2` or `chat.v1` among the
/// client's offers and accepts permessage-deflate with `server_no_context_takeover`; it
/// sends what it sees on its side as the first message, then echoes.
fn choosing_server() -> std::net::SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut config = ServerConfig::default();
            let deflate = DeflateConfig {
                server_no_context_takeover: true,
                ..DeflateConfig::default()
            };
            config
                .extensions
                .push(Arc::new(DeflateServer::new(deflate)));
            let incoming = Incoming::read(tcp, &config).await.expect("request");
            let protocol = incoming
                .upgrade()
                .expect("an upgrade")
                .select_protocol(&["chat.v2", "chat.v1"])
                .map(str::to_owned);
            let accept = Accept {
                protocol,
                ..Accept::default()
            };
            let mut ws = incoming.accept(accept).await.expect("accept");
            let seen = format!("{:?} {}", ws.protocol(), ws.extensions().len());
            ws.send(Message::text(seen)).await.expect("send");
            while let Some(Ok(message)) = ws.recv().await {
                if message.is_data() && ws.send(message).await.is_err() {
                    break;
                }
            }
        });
    });
    rx.recv().unwrap()
}

/// The client offers chat.v1 and permessage-deflate; the server picks both. The client sees
/// the subprotocol and the extension with the parameter the server's 101 named, on the
/// connection and on both halves after a split, and messages still flow (compressed).
#[test]
fn protocol_and_extensions_agreed_are_visible_to_the_blocking_client() {
    bounded(|| {
        let addr = choosing_server();
        let request = ClientRequest::from_url(&ws_url(addr, "/"))
            .unwrap()
            .protocol("chat.v1");
        let config = ClientConfig {
            extensions: vec![Arc::new(DeflateClient::new(DeflateConfig::default()))],
            ..ClientConfig::default()
        };
        let (mut ws, response) =
            client::connect_with(request, &config, Default::default()).expect("connect");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .map(|v| v.as_bytes()),
            Some(&b"chat.v1"[..])
        );
        assert_eq!(ws.protocol(), Some("chat.v1"));
        let extensions: Vec<String> = ws.extensions().iter().map(ToString::to_string).collect();
        assert_eq!(
            extensions,
            ["permessage-deflate; server_no_context_takeover"],
            "{:?}",
            ws.extensions()
        );
        let seen = recv(&mut ws);
        assert_eq!(seen.as_text(), Some("Some(\"chat.v1\") 1"));

        let (mut reader, writer) = ws.split();
        assert_eq!(reader.protocol(), Some("chat.v1"));
        assert_eq!(writer.protocol(), Some("chat.v1"));
        assert_eq!(reader.extensions().len(), 1);
        assert_eq!(writer.extensions()[0].name, "permessage-deflate");
        let text = "compressible ".repeat(1000);
        writer.send(Message::text(text.clone())).expect("send");
        let echoed = reader.recv().expect("an echo").expect("ok");
        assert_eq!(echoed.as_text(), Some(text.as_str()));
        writer.close(None).expect("close");
        while reader.recv().is_some() {}
    });
}

/// Without a subprotocol offered or an extension configured, both are empty.
#[test]
fn nothing_agreed_is_none_and_empty_for_the_blocking_client() {
    bounded(|| {
        let addr = choosing_server();
        let (mut ws, _) = client::connect(&ws_url(addr, "/")).expect("connect");
        assert_eq!(ws.protocol(), None);
        assert!(ws.extensions().is_empty(), "{:?}", ws.extensions());
        assert_eq!(recv(&mut ws).as_text(), Some("None 0"));
        ws.close(None).expect("close");
    });
}
