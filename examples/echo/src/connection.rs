//! One plain connection of the sample, the same on every async runtime: route the request
//! (`app::route`), then serve the page, echo on the WebSocket, or answer 400 / 404.

use std::net::SocketAddr;
use std::sync::Arc;

use ropeway_async::server::{Incoming, plain};
use ropeway_async::{Io, Registry, WebSocket};
use ropeway_core::handshake::Accept;
use ropeway_core::{Error, Message, ServerConfig};

use crate::app::{self, Route};

/// Serves one connection from `peer` on runtime `R`, logging how it failed, if it did.
pub async fn serve<R: Io<S>, S: Unpin>(
    io: S,
    peer: SocketAddr,
    config: Arc<ServerConfig>,
    registry: Registry<R>,
) {
    if let Err(e) = handle::<R, S>(io, &config, &registry).await {
        eprintln!("{peer}: {e}");
    }
}

/// Routes one connection: the page, the echo endpoint, or 404.
async fn handle<R: Io<S>, S: Unpin>(
    io: S,
    config: &ServerConfig,
    registry: &Registry<R>,
) -> Result<(), Error> {
    let incoming = Incoming::<S, R>::read(io, config).await?;
    match app::route(incoming.path(), incoming.is_websocket()) {
        Route::Page => {
            let (response, body) = app::page(incoming.request().method());
            incoming.respond(response, body).await
        }
        Route::Echo => echo(incoming, registry).await,
        Route::RoomPage => {
            let (response, body) = app::room_page(incoming.request().method());
            incoming.respond(response, body).await
        }
        Route::Room => {
            let room = app::room_name(incoming.request().uri().query());
            let ws = incoming.accept(Accept::default()).await?;
            crate::room::serve(ws, &room, registry).await
        }
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
async fn echo<R: Io<S>, S: Unpin>(
    incoming: Incoming<S, R>,
    registry: &Registry<R>,
) -> Result<(), Error> {
    let query = incoming.request().uri().query().map(str::to_owned);
    let mut ws = incoming.accept(Accept::default()).await?;
    // Ctrl-C reaches it through the registry: 1001, and this loop sees the client's answer.
    ws.register(registry);
    // This listener speaks HTTP/1.1 only.
    if let Some(text) = app::announcement(query.as_deref(), http::Version::HTTP_11) {
        ws.send(Message::text(text)).await?;
    }
    echo_messages(&mut ws).await
}

/// Echoes every message. When the client closes, the core answers with the client's code
/// and reason, and the loop ends.
pub async fn echo_messages<R: Io<S>, S: Unpin>(ws: &mut WebSocket<S, R>) -> Result<(), Error> {
    while let Some(message) = ws.recv().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Close(frame) => println!("client closed: {frame:?}"),
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    Ok(())
}
