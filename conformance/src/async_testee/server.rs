//! The echo server wstest's fuzzingclient tests.

use std::sync::Arc;

use ropeway_async::server::accept_with_config;
use ropeway_async::{Io, WebSocket};
use ropeway_core::deflate::DeflateServer;
use ropeway_core::{Error, ServerConfig};

use super::Executor;
use crate::core_config;

/// Accepts connections on `addr` until the process is stopped, echoing on each.
pub async fn serve<E: Executor>(executor: &E, addr: &str) -> Result<(), Error> {
    let listener = E::bind(addr).await?;
    // Compression is accepted when offered (only cases 12.x and 13.x offer it).
    let config = ServerConfig {
        core: core_config(),
        extensions: vec![Arc::new(DeflateServer::default())],
        ..ServerConfig::default()
    };
    println!("listening on {addr}");
    loop {
        let tcp = E::accept(&listener).await?;
        let config = config.clone();
        executor.spawn(async move {
            // Errors are mostly the suite's deliberate protocol violations; the report says
            // whether each was handled right. Logged for whoever reads testee.log.
            match accept_with_config::<E::Runtime, _>(tcp, &config).await {
                Ok(ws) => {
                    if let Err(e) = echo(ws).await {
                        eprintln!("connection ended: {e}");
                    }
                }
                Err(e) => eprintln!("handshake failed: {e}"),
            }
        });
    }
}

/// Echoes text and binary messages until the connection ends.
pub async fn echo<R: Io<S>, S: Unpin>(mut ws: WebSocket<S, R>) -> Result<(), Error> {
    while let Some(message) = ws.recv().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
    Ok(())
}
