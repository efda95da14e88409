//! A chat server: every message a client sends goes to every client.
//!
//! Each connection is split: its read half stays in the connection's task, its write half
//! joins the list of subscribers. The broadcast uses `try_send`, so one subscriber that
//! stops reading cannot stall the others (its queue fills and it is dropped). The split
//! connection's own task answers pings and sends keep-alive pings, whichever half is in use.
//!
//! ```sh
//! cargo run -p ropeway-smol --example smol_chat               # ws://127.0.0.1:9002
//! cargo run -p ropeway-smol --example smol_chat -- --self-test
//! ```

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ropeway_smol::server::{ServerConfig, accept_with_config};
use ropeway_smol::{Error, Message, WriteHalf};
use smol::net::TcpListener;

/// Everyone connected: an id and the write half of each.
type Subscribers = Arc<Mutex<Vec<(u64, WriteHalf)>>>;

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
    let subscribers = Subscribers::default();
    let mut next_id = 0;
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // A real server pauses here on descriptor exhaustion (ropeway_common's
            // AcceptBackoff, as the echo sample does); this example just goes on.
            continue;
        };
        next_id += 1;
        let (id, config, subscribers) = (next_id, config.clone(), subscribers.clone());
        smol::spawn(async move {
            if let Err(e) = chat(id, tcp, &config, subscribers).await {
                eprintln!("client {id}: {e}");
            }
        })
        .detach();
    }
}

/// One client: subscribe its write half, broadcast what it sends, unsubscribe at the end.
async fn chat(
    id: u64,
    tcp: smol::net::TcpStream,
    config: &ServerConfig,
    subscribers: Subscribers,
) -> Result<(), Error> {
    let ws = accept_with_config(tcp, config).await?;
    let (mut reader, writer) = ws.split();
    subscribers.lock().unwrap().push((id, writer));
    while let Some(message) = reader.recv().await {
        let message = message?;
        if !message.is_text() {
            continue;
        }
        // Fan out without waiting: a full queue means that subscriber is far behind.
        subscribers.lock().unwrap().retain(|(other, writer)| {
            match writer.try_send(message.clone()) {
                Ok(()) => true,
                Err(e) => {
                    eprintln!("dropping client {other}: {e}");
                    false
                }
            }
        });
    }
    subscribers
        .lock()
        .unwrap()
        .retain(|(other, _)| *other != id);
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
