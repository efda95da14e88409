//! A line chat with the blocking client: one thread prints what the server sends while the
//! main thread sends each line typed on standard input. End input (Ctrl-D) to close.
//!
//! ```text
//! cargo run -p ropeway-echo &                                     # the echo sample (port 5000)
//! cargo run -p ropeway-mio --example client_chat -- ws://127.0.0.1:5000/ws
//! ```

use std::io::BufRead;

use ropeway_mio::client::{self, CloseFrame, Message};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:5000/ws".to_owned());
    let (ws, _response) = client::connect(&url)?;
    eprintln!("connected to {url}; type lines to send, Ctrl-D to close");
    let (mut reader, writer) = ws.split();

    // The reader blocks in recv on its own thread; pings are answered there meanwhile.
    let printing = std::thread::spawn(move || {
        while let Some(message) = reader.recv() {
            match message {
                Ok(Message::Text(text)) => println!("< {text}"),
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
    for line in std::io::stdin().lock().lines() {
        writer.send(Message::text(line?))?;
    }
    writer.close(Some(CloseFrame::new(1000, "bye")))?;
    let _ = printing.join();
    Ok(())
}
