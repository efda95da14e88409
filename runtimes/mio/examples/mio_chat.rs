//! A broadcast chat on the event-loop server: every message a client sends on
//! `ws://127.0.0.1:9002/chat?NAME` goes to everyone in the room, encoded once; lines typed on
//! the server's stdin are announced to everyone from another thread through the `Handle`.
//!
//! ```text
//! cargo run -p ropeway-mio --example mio_chat
//! # in other terminals, any WebSocket client, e.g.
//! websocat 'ws://127.0.0.1:9002/chat?alice'
//! cargo run -p ropeway-mio --example mio_chat -- --self-test   # two blocking clients, here
//! ```

use std::io::BufRead;
use std::net::SocketAddr;
use std::time::Duration;

use ropeway_mio::client::{self, ClientRequest, Options, WebSocket};
use ropeway_mio::server::{
    Closed, Config, ConnId, Context, Decision, Handle, Handler, Incoming, Server,
};
use ropeway_mio::{Bytes, Error, Message, MessageKind, PreparedMessage};

/// The room everyone joins.
const ROOM: &str = "lobby";

#[derive(Clone)]
struct Chat;

fn line(text: String) -> PreparedMessage {
    PreparedMessage::new(MessageKind::Text, Bytes::from(text))
}

impl Handler for Chat {
    /// The user's name.
    type Conn = String;

    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<String> {
        if request.path() != "/chat" {
            return Decision::Reject(http::StatusCode::NOT_FOUND);
        }
        let name = request.query().unwrap_or("anonymous");
        // Names are shown to everyone: keep them short and printable.
        let name: String = name
            .chars()
            .filter(|c| c.is_alphanumeric())
            .take(16)
            .collect();
        Decision::accept(name)
    }

    fn on_open(&mut self, cx: &mut Context<'_>, id: ConnId, name: &mut String) {
        cx.join(id, ROOM);
        cx.broadcast_to(ROOM, &line(format!("* {name} joined")));
    }

    fn on_message(&mut self, cx: &mut Context<'_>, _: ConnId, name: &mut String, message: Message) {
        if let Some(text) = message.as_text() {
            // One encoding, queued on every member by reference, written at the end of the
            // loop's turn.
            cx.broadcast_to(ROOM, &line(format!("{name}: {text}")));
        }
    }

    fn on_close(&mut self, cx: &mut Context<'_>, _: ConnId, name: String, _: Closed) {
        cx.broadcast_to(ROOM, &line(format!("* {name} left")));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let server = Server::bind(
        if self_test {
            "127.0.0.1:0"
        } else {
            "127.0.0.1:9002"
        },
        Config::default(),
    )?;
    let addr = server.local_addr()?;
    let handle = server.handle();
    if self_test {
        let running = server.spawn(Chat)?;
        self_test_against(addr, &handle)?;
        running.stop()?;
        println!("mio_chat self-test: ok");
        return Ok(());
    }
    println!("chat on ws://{addr}/chat?NAME; type to announce");
    std::thread::spawn(move || {
        for text in std::io::stdin().lock().lines().map_while(Result::ok) {
            // The loop's queue is bounded: a full one says so instead of growing.
            if let Err(e) = handle.broadcast_to(ROOM, &line(format!("server: {text}"))) {
                eprintln!("not announced: {e}");
            }
        }
    });
    Ok(server.run(Chat)?)
}

/// Two blocking clients join; what one says, both hear, and so is what the server
/// announces from another thread; a leaving one is announced.
fn self_test_against(addr: SocketAddr, handle: &Handle) -> Result<(), Error> {
    // A read timeout: a self-test that goes wrong fails instead of waiting forever.
    let join = |name: &str| {
        let request = ClientRequest::from_url(&format!("ws://{addr}/chat?{name}"))?;
        let options = Options::default().read_timeout(Some(Duration::from_secs(10)));
        client::connect_with(request, &Default::default(), options)
    };
    let (mut alice, _) = join("alice")?;
    hear(&mut alice, "* alice joined")?;
    let (mut bob, _) = join("bob")?;
    hear(&mut bob, "* bob joined")?;
    hear(&mut alice, "* bob joined")?;
    alice.send(Message::text("hello, bob"))?;
    hear(&mut alice, "alice: hello, bob")?;
    hear(&mut bob, "alice: hello, bob")?;
    handle
        .broadcast_to(ROOM, &line("server: welcome".to_owned()))
        .expect("the loop's queue has room");
    hear(&mut alice, "server: welcome")?;
    hear(&mut bob, "server: welcome")?;
    bob.close(None)?;
    hear(&mut alice, "* bob left")?;
    alice.close(None)
}

/// The next message `ws` receives is the text `expected`.
fn hear(ws: &mut WebSocket, expected: &str) -> Result<(), Error> {
    let heard = ws.recv().ok_or(Error::Closed)??;
    assert_eq!(heard.as_text(), Some(expected));
    Ok(())
}
