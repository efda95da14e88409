//! A line chat with the blocking client: one thread prints what the server sends while the
//! main thread sends each line typed on standard input. End input (Ctrl-D) to close.
//!
//! ```text
//! cargo run -p ropeway-echo &                                     # the echo sample (port 5000)
//! cargo run -p ropeway-mio --example mio_client_chat -- ws://127.0.0.1:5000/ws
//! cargo run -p ropeway-mio --example mio_client_chat -- --self-test   # an echo server here
//! ```

use std::io::BufRead;
use std::sync::mpsc;
use std::time::Duration;

use ropeway_mio::client::{self, ClientRequest, CloseFrame, Message, Options};
use ropeway_mio::server::{Config, ConnId, Context, Decision, Handler, Incoming, Server};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--self-test") {
        return self_test();
    }
    let url = arg.unwrap_or_else(|| "ws://127.0.0.1:5000/ws".to_owned());
    eprintln!("connecting to {url}; type lines to send, Ctrl-D to close");
    let lines = std::io::stdin().lock().lines().map_while(Result::ok);
    // Nobody listens to what is heard but the terminal.
    let (heard, _) = mpsc::channel();
    chat(&url, lines, Options::default(), heard)?;
    Ok(())
}

/// Sends each of `lines` while a reader thread prints what arrives (and passes the texts
/// to `heard`); closes after the last line. Whatever arrives after this side's close frame
/// is dropped (the close handshake is under way), so wait for what you expect before the
/// last line ends.
fn chat(
    url: &str,
    lines: impl Iterator<Item = String>,
    options: Options,
    heard: mpsc::Sender<String>,
) -> Result<(), client::Error> {
    let request = ClientRequest::from_url(url)?;
    let (ws, _response) = client::connect_with(request, &Default::default(), options)?;
    let (mut reader, writer) = ws.split();

    // The reader blocks in recv on its own thread; pings are answered there meanwhile.
    let printing = std::thread::spawn(move || {
        while let Some(message) = reader.recv() {
            match message {
                Ok(Message::Text(text)) => {
                    println!("< {text}");
                    let _ = heard.send(text.to_string());
                }
                Ok(Message::Binary(bytes)) => println!("< {} bytes", bytes.len()),
                Ok(Message::Close(frame)) => println!("< closed: {frame:?}"),
                Ok(_) => {}
                Err(e) => {
                    eprintln!("connection ended: {e}");
                    break;
                }
            }
        }
    });

    // The main thread sends while the reader is blocked: no lock is held across its read.
    for line in lines {
        writer.send(Message::text(line))?;
    }
    writer.close(Some(CloseFrame::new(1000, "bye")))?;
    let _ = printing.join();
    Ok(())
}

/// An event-loop echo server on an ephemeral port; three lines go out and come back
/// before the close.
fn self_test() -> Result<(), Box<dyn std::error::Error>> {
    let server = Server::bind("127.0.0.1:0", Config::default())?;
    let url = format!("ws://{}/", server.local_addr()?);
    let running = server.spawn(Echo)?;
    let sent = ["one", "two", "three"];
    // A read timeout: a self-test that goes wrong fails instead of waiting forever.
    let options = Options::default().read_timeout(Some(Duration::from_secs(10)));
    let (heard, echoes) = mpsc::channel();
    let mut echoed = Vec::new();
    // Each line goes out once the one before came back; the close once the last did.
    let mut next = 0;
    let paced = std::iter::from_fn(|| {
        if next > 0 {
            echoed.extend(echoes.recv_timeout(Duration::from_secs(10)).ok());
        }
        let line = sent.get(next)?;
        next += 1;
        Some((*line).to_owned())
    });
    chat(&url, paced, options, heard)?;
    assert_eq!(echoed, sent, "every line came back, in order");
    running.stop()?;
    println!("mio_client_chat self-test: ok");
    Ok(())
}

/// Echoes data messages.
#[derive(Clone)]
struct Echo;

impl Handler for Echo {
    type Conn = ();

    fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
        Decision::accept(())
    }

    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
        let _ = cx.send(id, message);
    }
}
