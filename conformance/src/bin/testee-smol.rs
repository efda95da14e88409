//! The Autobahn|Testsuite testee for ropeway-smol: `server` echoes every message (tested by
//! wstest's fuzzingclient); `client` runs every case of wstest's fuzzingserver. One thread
//! does all the work, as in the tokio testee (a local executor under `smol::block_on`).

use std::sync::Arc;

use futures_io::{AsyncRead, AsyncWrite};
use ropeway_conformance::{Command, core_config};
use ropeway_core::deflate::{DeflateClient, DeflateServer};
use ropeway_smol::client::{ClientConfig, connect_with};
use ropeway_smol::server::{ServerConfig, accept_with_config};
use ropeway_smol::{ClientRequest, Error, Message, WebSocket};
use smol::LocalExecutor;
use smol::net::TcpListener;

fn main() {
    let command = Command::parse(std::env::args().skip(1)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let executor = LocalExecutor::new();
    let result = smol::block_on(executor.run(async {
        match command {
            Command::Server { addr } => serve(&executor, &addr).await,
            Command::Client { url, agent } => run_cases(&url, &agent).await,
        }
    }));
    if let Err(e) = result {
        eprintln!("testee failed: {e}");
        std::process::exit(1);
    }
}

async fn serve(executor: &LocalExecutor<'_>, addr: &str) -> Result<(), Error> {
    let listener = TcpListener::bind(addr).await?;
    // Compression is accepted when offered (only cases 12.x and 13.x offer it).
    let config = ServerConfig {
        core: core_config(),
        extensions: vec![Arc::new(DeflateServer::default())],
        ..ServerConfig::default()
    };
    println!("listening on {addr}");
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let config = config.clone();
        executor
            .spawn(async move {
                // Errors are mostly the suite's deliberate protocol violations; the report
                // says whether each was handled right. Logged for whoever reads testee.log.
                match accept_with_config(tcp, &config).await {
                    Ok(ws) => {
                        if let Err(e) = echo(ws).await {
                            eprintln!("connection ended: {e}");
                        }
                    }
                    Err(e) => eprintln!("handshake failed: {e}"),
                }
            })
            .detach();
    }
}

/// Echoes text and binary messages until the connection ends.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: WebSocket<S>) -> Result<(), Error> {
    while let Some(message) = ws.recv().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
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

async fn open(url: &str) -> Result<WebSocket<ropeway_smol::MaybeTlsStream>, Error> {
    let (ws, _) = connect_with(ClientRequest::from_url(url)?, &client_config()).await?;
    Ok(ws)
}

async fn run_cases(base: &str, agent: &str) -> Result<(), Error> {
    let count = case_count(base).await?;
    println!("{count} cases");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        if let Ok(ws) = open(&url).await {
            let _ = echo(ws).await;
        }
    }
    let mut ws = open(&format!("{base}/updateReports?agent={agent}")).await?;
    // wstest writes the report, then closes (or resets) the connection.
    while let Some(Ok(_)) = ws.recv().await {}
    Ok(())
}

async fn case_count(base: &str) -> Result<u32, Error> {
    let mut ws = open(&format!("{base}/getCaseCount")).await?;
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
