//! The sample on smol: a task per connection on smol's global executor, futures-rustls for
//! https:// and wss://, Ctrl-C (SIGINT) to stop.

use std::sync::Arc;

use async_signal::{Signal, Signals};
use futures_lite::StreamExt;
use futures_rustls::TlsAcceptor;
use ropeway_common::AcceptBackoff;
use ropeway_smol::server::{Incoming, plain};
use ropeway_smol::{Accept, Error, Message, ServerConfig};
use smol::io::{AsyncRead, AsyncWrite};
use smol::net::{TcpListener, TcpStream};

use crate::accept;
use crate::app::{self, Route};
use crate::options::Options;

/// Serves until Ctrl-C.
pub fn run(options: Options) -> Result<(), String> {
    smol::block_on(serve(options))
}

async fn serve(options: Options) -> Result<(), String> {
    let mut stop = Signals::new([Signal::Int]).map_err(|e| e.to_string())?;
    let config = app::server_config(&options);
    let tls = app::tls_config(&options)?.map(TlsAcceptor::from);
    let mut bound = 0;
    for addr in &options.listen {
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                bound += 1;
                app::listening(tls.is_some(), addr);
                smol::spawn(accept_loop(listener, config.clone(), tls.clone())).detach();
            }
            // [::1] is missing on hosts without IPv6; the other address still serves.
            Err(e) => eprintln!("cannot listen on {addr}: {e}"),
        }
    }
    if bound == 0 {
        return Err("no address to listen on".into());
    }
    app::ready(tls.is_some(), &options);
    stop.next().await;
    Ok(())
}

async fn accept_loop(listener: TcpListener, config: Arc<ServerConfig>, tls: Option<TlsAcceptor>) {
    let mut backoff = AcceptBackoff::new();
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => {
                accept::succeeded(&mut backoff);
                accepted
            }
            Err(e) => {
                if let Some(pause) = accept::failed(&mut backoff, &e) {
                    smol::Timer::after(pause).await;
                }
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let config = config.clone();
        let tls = tls.clone();
        smol::spawn(async move {
            let result = match tls {
                Some(tls) => match tls.accept(tcp).await {
                    Ok(stream) => handle(stream, &config).await,
                    Err(e) => Err(Error::Tls(ropeway_smol::TlsError::new(
                        ropeway_smol::TlsErrorKind::Handshake,
                        e,
                    ))),
                },
                None => handle::<TcpStream>(tcp, &config).await,
            };
            if let Err(e) = result {
                eprintln!("{peer}: {e}");
            }
        })
        .detach();
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
/// client asked with `?announce`). When the client closes, the core answers with the client's code
/// and reason, and the loop ends.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(incoming: Incoming<S>) -> Result<(), Error> {
    let query = incoming.request().uri().query().map(str::to_owned);
    let mut ws = incoming.accept(Accept::default()).await?;
    // This listener speaks HTTP/1.1 only.
    if let Some(text) = app::announcement(query.as_deref(), http::Version::HTTP_11) {
        ws.send(Message::text(text)).await?;
    }
    while let Some(message) = ws.recv().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Close(frame) => println!("client closed: {frame:?}"),
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    Ok(())
}
