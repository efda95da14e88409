//! The client role of the ropeway-mio testee: walks wstest's fuzzingserver cases with the
//! blocking client, echoing every message, then asks for the report.

use std::sync::Arc;

use ropeway_conformance::core_config;
use ropeway_core::deflate::DeflateClient;
use ropeway_mio::client::{ClientConfig, ClientRequest, Error, Message, Options, WebSocket};

/// Runs every case at `base` as `agent`.
pub fn run(base: &str, agent: &str) -> Result<(), Error> {
    let count = case_count(base)?;
    println!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Ok(ws) = open(&url) {
            let _ = echo(ws);
        }
    }
    let mut ws = open(&format!("{base}/updateReports?agent={agent}"))?;
    // wstest writes the report, then closes (or resets) the connection.
    while let Some(Ok(_)) = ws.recv() {}
    Ok(())
}

fn client_config() -> ClientConfig {
    // Compression is offered; the fuzzingserver accepts it in cases 12.x and 13.x.
    ClientConfig {
        core: core_config(),
        extensions: vec![Arc::new(DeflateClient::default())],
        ..ClientConfig::default()
    }
}

fn open(url: &str) -> Result<WebSocket, Error> {
    let request = ClientRequest::from_url(url)?;
    let (ws, _) = ropeway_mio::client::connect_with(request, &client_config(), Options::default())?;
    Ok(ws)
}

/// Echoes text and binary messages until the connection ends.
fn echo(mut ws: WebSocket) -> Result<(), Error> {
    while let Some(message) = ws.recv() {
        let message = message?;
        if message.is_data() {
            ws.send(message)?;
        }
    }
    Ok(())
}

fn case_count(base: &str) -> Result<u32, Error> {
    let mut ws = open(&format!("{base}/getCaseCount"))?;
    // The count is the first text message; wstest may reset the connection right after.
    while let Some(message) = ws.recv() {
        if let Message::Text(text) = message? {
            return text
                .trim()
                .parse()
                .map_err(|_| Error::Io(std::io::Error::other(format!("bad case count {text:?}"))));
        }
    }
    Err(Error::Io(std::io::Error::other(
        "no case count from the fuzzingserver",
    )))
}
