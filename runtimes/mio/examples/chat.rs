//! A broadcast chat on the event-loop server: every message a client sends on
//! `ws://127.0.0.1:9002/chat?NAME` goes to everyone in the room, encoded once; lines typed on
//! the server's stdin are announced to everyone from another thread through the `Handle`.
//!
//! ```text
//! cargo run -p ropeway-mio --example chat
//! # in other terminals, any WebSocket client, e.g.
//! websocat 'ws://127.0.0.1:9002/chat?alice'
//! ```

use std::io::BufRead;

use ropeway_mio::server::{Closed, Config, ConnId, Context, Decision, Handler, Incoming, Server};
use ropeway_mio::{Bytes, Message, MessageKind, PreparedMessage};

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

fn main() -> std::io::Result<()> {
    let server = Server::bind("127.0.0.1:9002", Config::default())?;
    println!(
        "chat on ws://{}/chat?NAME; type to announce",
        server.local_addr()?
    );
    let handle = server.handle();
    std::thread::spawn(move || {
        for text in std::io::stdin().lock().lines().map_while(Result::ok) {
            // The loop's queue is bounded: a full one says so instead of growing.
            if let Err(e) = handle.broadcast_to(ROOM, &line(format!("server: {text}"))) {
                eprintln!("not announced: {e}");
            }
        }
    });
    server.run(Chat)
}
