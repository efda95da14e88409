//! The client that walks wstest's fuzzingserver cases.

use std::sync::Arc;

use ropeway_async::client::connect_with;
use ropeway_async::{Connect, WebSocket};
use ropeway_common::ClientConfig;
use ropeway_core::deflate::DeflateClient;
use ropeway_core::handshake::ClientRequest;
use ropeway_core::{Error, Message};

use super::server::echo;
use crate::core_config;

/// Echoes every case of the fuzzingserver at `base` as `agent`, then asks for the report.
pub async fn run_cases<R: Connect>(base: &str, agent: &str) -> Result<(), Error> {
    let count = case_count::<R>(base).await?;
    println!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Ok(ws) = open::<R>(&url).await {
            let _ = echo(ws).await;
        }
    }
    let mut ws = open::<R>(&format!("{base}/updateReports?agent={agent}")).await?;
    // wstest writes the report, then closes (or resets) the connection.
    while let Some(Ok(_)) = ws.recv().await {}
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

async fn open<R: Connect>(url: &str) -> Result<WebSocket<R::Stream, R>, Error> {
    let (ws, _) = connect_with::<R>(ClientRequest::from_url(url)?, &client_config()).await?;
    Ok(ws)
}

async fn case_count<R: Connect>(base: &str) -> Result<u32, Error> {
    let mut ws = open::<R>(&format!("{base}/getCaseCount")).await?;
    // The count is the first text message; wstest may reset the connection right after.
    while let Some(message) = ws.recv().await {
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
