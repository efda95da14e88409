//! A client that stays connected: it reconnects by itself after each drop, with
//! exponential backoff and jitter, and resubscribes on every new connection.
//!
//! ```sh
//! cargo run -p ropeway-echo &                                        # the echo sample (port 5000)
//! cargo run -p ropeway-smol --example smol_reconnect               # ws://127.0.0.1:5000/ws
//! cargo run -p ropeway-smol --example smol_reconnect -- ws://host:port/path
//! cargo run -p ropeway-smol --example smol_reconnect -- --self-test
//! ```
//!
//! Stop and restart the server while it runs: it reports the drop and the wait before each
//! attempt, and comes back. `--self-test` does that with an echo server of its own, which
//! it crashes and restarts on the same port.

use std::net::SocketAddr;
use std::time::Duration;

use ropeway_smol::server::accept;
use ropeway_smol::{ClientRequest, Message, Reconnect, ReconnectPolicy, Reconnecting};
use smol::Task;
use smol::net::TcpListener;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    smol::block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|a| a == "--self-test") {
        let timeout = async {
            smol::Timer::after(Duration::from_secs(30)).await;
            Err("the self-test did not finish within 30 s".into())
        };
        return smol::future::or(self_test(), timeout).await;
    }
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:5000/ws".into());
    let mut client = Reconnecting::from_url(&url)?;
    while let Some(event) = client.recv().await {
        report(&event);
        if let Reconnect::Connected(_) = event {
            // A new connection knows nothing of the old one's subscriptions: subscribe again.
            let _ = client.send(Message::text("subscribe")).await;
        }
    }
    Ok(())
}

fn report(event: &Reconnect) {
    match event {
        Reconnect::Connected(_) => println!("connected"),
        Reconnect::Message(message) => println!("< {message:?}"),
        Reconnect::Disconnected {
            cause,
            retry_in,
            attempt,
        } => println!("dropped ({cause}); attempt {attempt} in {retry_in:?}"),
        Reconnect::Stopped { cause, stop } => println!("gave up ({stop:?}): {cause}"),
    }
}

/// An echo server until its task is dropped; dropping it drops its connections' tasks
/// (and so their sockets) without a close, as a crash would.
fn echo_server(listener: TcpListener) -> Task<()> {
    smol::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            connections.push(smol::spawn(async move {
                let Ok(mut ws) = accept(tcp).await else {
                    return;
                };
                while let Some(Ok(message)) = ws.recv().await {
                    if message.is_data() && ws.send(message).await.is_err() {
                        break;
                    }
                }
            }));
        }
    })
}

async fn self_test() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr: SocketAddr = listener.local_addr()?;
    let mut server = Some(echo_server(listener));

    // Short waits for a quick test; the defaults are 500 ms doubling up to 30 s.
    let policy = ReconnectPolicy {
        initial_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(400),
        ..ReconnectPolicy::default()
    };
    let request = ClientRequest::from_url(&format!("ws://{addr}/"))?;
    let mut client = Reconnecting::new(request, Default::default(), policy);

    let (mut connections, mut drops, mut echoes) = (0, 0, 0);
    while let Some(event) = client.recv().await {
        report(&event);
        match event {
            Reconnect::Connected(_) => {
                connections += 1;
                client.send(Message::text("subscribe")).await?;
            }
            Reconnect::Message(message) => {
                assert_eq!(message, Message::text("subscribe"));
                echoes += 1;
                if connections == 1 {
                    // Crash the server, and bring it back on the same port a little later.
                    drop(server.take().expect("the first server"));
                    smol::spawn(async move {
                        smol::Timer::after(Duration::from_millis(300)).await;
                        let listener = TcpListener::bind(addr).await.expect("rebind the port");
                        // Runs until the example ends.
                        echo_server(listener).detach();
                    })
                    .detach();
                } else {
                    client.close(None).await?;
                }
            }
            Reconnect::Disconnected { .. } => drops += 1,
            Reconnect::Stopped { cause, .. } => return Err(cause.to_string().into()),
        }
    }
    assert_eq!(
        (connections, echoes),
        (2, 2),
        "subscribed on both connections"
    );
    assert!(
        drops >= 2,
        "the crash and at least one refused attempt: {drops}"
    );
    println!("self-test passed: {drops} drops, reconnected, resubscribed");
    Ok(())
}
