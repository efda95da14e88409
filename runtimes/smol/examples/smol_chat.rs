//! A chat server: every message a client sends goes to every client.
//!
//! Each connection joins the group "chat" of a [`Registry`], the server's hub; a message is
//! framed once ([`PreparedMessage`]) and left in every member's mailbox by reference, and
//! each connection's own task writes it out while it waits in `recv`. A member that stops
//! reading cannot stall the others: once its output is over its limit, messages for it are
//! dropped and counted (the registry's default slow-consumer policy). Membership ends with
//! the connection.
//!
//! ```sh
//! cargo run -p ropeway-smol --example smol_chat               # ws://127.0.0.1:9002
//! cargo run -p ropeway-smol --example smol_chat -- --self-test
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use ropeway_smol::server::{ServerConfig, accept_with_config};
use ropeway_smol::{Error, Message, MessageKind, PreparedMessage, Registry};
use smol::net::TcpListener;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let listener = TcpListener::bind(if self_test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:9002"
    })
    .await?;
    let addr = listener.local_addr()?;
    smol::spawn(serve(listener)).detach();
    if self_test {
        return Ok(self_test_against(addr).await?);
    }
    println!("chat on ws://{addr}");
    std::future::pending().await
}

/// The accept loop: one task per connection.
async fn serve(listener: TcpListener) {
    let mut config = ServerConfig::default();
    // Keep-alive: ping a connection that has been quiet for 20 s, drop it if nothing comes
    // back within 10 s (proxies close idle connections; dead peers are found).
    config.core.keep_alive_interval = Some(Duration::from_secs(20));
    config.core.keep_alive_timeout = Some(Duration::from_secs(10));
    let hub = Registry::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // A real server pauses here on descriptor exhaustion (ropeway_common's
            // AcceptBackoff, as the echo sample does); this example just goes on.
            continue;
        };
        let (config, hub) = (config.clone(), hub.clone());
        smol::spawn(async move {
            if let Err(e) = chat(tcp, &config, &hub).await {
                eprintln!("client: {e}");
            }
        })
        .detach();
    }
}

/// One client: join the chat, and send what it says to everyone in it.
async fn chat(
    tcp: smol::net::TcpStream,
    config: &ServerConfig,
    hub: &Registry,
) -> Result<(), Error> {
    let mut ws = accept_with_config(tcp, config).await?;
    let id = ws.register(hub);
    hub.join(id, "chat");
    while let Some(message) = ws.recv().await {
        if let Message::Text(text) = message? {
            // Framed once for every member; `dropped` counts the members too far behind.
            let prepared = PreparedMessage::new(MessageKind::Text, text.into_bytes());
            let delivered = hub.broadcast_to("chat", &prepared);
            if delivered.dropped > 0 {
                eprintln!(
                    "{} members too far behind missed a message",
                    delivered.dropped
                );
            }
        }
    }
    Ok(())
}

/// Two clients join; what one says, both hear.
async fn self_test_against(addr: SocketAddr) -> Result<(), Error> {
    let url = format!("ws://{addr}/");
    let (mut alice, _) = ropeway_smol::connect(&url).await?;
    let (mut bob, _) = ropeway_smol::connect(&url).await?;
    // Wait until both are subscribed: each hears its own hello.
    for (ws, name) in [(&mut alice, "alice"), (&mut bob, "bob")] {
        ws.send(Message::text(format!("{name} joined"))).await?;
        loop {
            let heard = ws.recv().await.ok_or(Error::Closed)??;
            if heard.as_text() == Some(&format!("{name} joined")) {
                break;
            }
        }
    }
    alice.send(Message::text("hello, bob")).await?;
    loop {
        let heard = bob.recv().await.ok_or(Error::Closed)??;
        if heard.as_text() == Some("hello, bob") {
            break;
        }
    }
    alice.close(None).await?;
    bob.close(None).await?;
    println!("smol_chat self-test: ok");
    Ok(())
}
