//! The sample on tokio: a current-thread runtime, a task per connection, Ctrl-C to stop.
//! Plain http:// and ws:// are served here with ropeway's own HTTP/1.1 handshake; https://
//! and wss:// with HTTP/2 and HTTP/1.1 by `serve_https`.

use std::sync::Arc;

use ropeway_common::AcceptBackoff;
use ropeway_tokio::server::{Incoming, plain};
use ropeway_tokio::{Accept, Error, Message, ServerConfig, WebSocket};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

use crate::accept;
use crate::app::{self, Route};
use crate::options::Options;
use crate::serve_https;

/// Serves until Ctrl-C.
pub fn run(options: Options) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(serve(options))
}

async fn serve(options: Options) -> Result<(), String> {
    let config = app::server_config(&options);
    let tls = app::tls_config(&options)?;
    let mut bound = 0;
    for addr in &options.listen {
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                bound += 1;
                app::listening(tls.is_some(), addr);
                match &tls {
                    Some(tls) => {
                        let serving =
                            serve_https::accept_loop(listener, config.clone(), tls.clone());
                        tokio::spawn(serving);
                    }
                    None => {
                        tokio::spawn(accept_loop(listener, config.clone()));
                    }
                }
            }
            // [::1] is missing on hosts without IPv6; the other address still serves.
            Err(e) => eprintln!("cannot listen on {addr}: {e}"),
        }
    }
    if bound == 0 {
        return Err("no address to listen on".into());
    }
    app::ready(tls.is_some(), &options);
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Accepts plain TCP connections, each served by [`handle`] on its own task.
async fn accept_loop(listener: TcpListener, config: Arc<ServerConfig>) {
    let mut backoff = AcceptBackoff::new();
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => {
                accept::succeeded(&mut backoff);
                accepted
            }
            Err(e) => {
                if let Some(pause) = accept::failed(&mut backoff, &e) {
                    tokio::time::sleep(pause).await;
                }
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let config = config.clone();
        tokio::spawn(async move {
            if let Err(e) = handle::<TcpStream>(tcp, &config).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// Routes one connection: the page, the echo endpoint, or 404.
async fn handle<S: AsyncRead + AsyncWrite + Unpin>(
    io: S,
    config: &ServerConfig,
) -> Result<(), Error> {
    let incoming = Incoming::read(io, config).await?;
    match app::route(incoming.path(), incoming.is_websocket()) {
        Route::Page => {
            let (response, body) = app::page(incoming.request().method());
            incoming.respond(response, body).await
        }
        Route::Echo => echo(incoming).await,
        Route::NotWebSocket => {
            let response = plain(http::StatusCode::BAD_REQUEST);
            incoming.respond(response, app::NOT_WEBSOCKET).await
        }
        Route::NotFound => {
            let response = plain(http::StatusCode::NOT_FOUND);
            incoming.respond(response, app::NOT_FOUND).await
        }
    }
}

/// Echoes every message (after saying which HTTP version carried the WebSocket, if the
/// client asked with `?announce`).
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(incoming: Incoming<S>) -> Result<(), Error> {
    let query = incoming.request().uri().query().map(str::to_owned);
    let mut ws = incoming.accept(Accept::default()).await?;
    // This listener speaks HTTP/1.1 only.
    if let Some(text) = app::announcement(query.as_deref(), http::Version::HTTP_11) {
        ws.send(Message::text(text)).await?;
    }
    echo_messages(&mut ws).await
}

/// Echoes every message. When the client closes, the core answers with the client's code
/// and reason, and the loop ends.
pub(crate) async fn echo_messages<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocket<S>,
) -> Result<(), Error> {
    while let Some(message) = ws.recv().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Close(frame) => println!("client closed: {frame:?}"),
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    Ok(())
}
