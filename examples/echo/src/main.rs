//! The ropeway echo sample, after the reference stack's: `GET /` serves a page (Connect,
//! Send, Close Socket, a Communication Log); `/ws` echoes every message until the client
//! closes, then closes with the client's code and reason.

mod options;
mod tls;

use std::sync::Arc;

use http::{HeaderValue, StatusCode, header};
use ropeway_core::deflate::DeflateServer;
use ropeway_tokio::server::{Incoming, plain};
use ropeway_tokio::{Accept, Error, Message, ServerConfig};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use options::{Options, USAGE};

const PAGE: &str = include_str!("../static/index.html");

fn main() {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}\n");
            }
            eprintln!("{USAGE}");
            std::process::exit(if message.is_empty() { 0 } else { 2 });
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let result = runtime
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(serve(options)));
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn serve(options: Options) -> Result<(), String> {
    let mut config = ServerConfig::default();
    config.core.keep_alive_interval = options.keep_alive;
    config.allowed_origins = options.allowed_origins.clone();
    if let Some(deflate) = options.compression {
        config
            .extensions
            .push(Arc::new(DeflateServer::new(deflate)));
        println!("compression: permessage-deflate ({deflate:?})");
    }
    let config = Arc::new(config);
    let tls = match &options.tls {
        Some((cert, key)) => Some(tls::acceptor(cert, key)?),
        None => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let mut bound = 0;
    for addr in &options.listen {
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                bound += 1;
                println!("listening on {scheme}://{addr}");
                tokio::spawn(accept_loop(listener, config.clone(), tls.clone()));
            }
            // [::1] is missing on hosts without IPv6; the other address still serves.
            Err(e) => eprintln!("cannot listen on {addr}: {e}"),
        }
    }
    if bound == 0 {
        return Err("no address to listen on".into());
    }
    let port = options.listen[0].port();
    println!("open {scheme}://localhost:{port}/ in a browser (Ctrl-C stops)");
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
    Ok(())
}

async fn accept_loop(listener: TcpListener, config: Arc<ServerConfig>, tls: Option<TlsAcceptor>) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let config = config.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let result = match tls {
                Some(tls) => match tls.accept(tcp).await {
                    Ok(stream) => handle(stream, &config).await,
                    Err(e) => Err(Error::Tls(e.to_string())),
                },
                None => handle::<TcpStream>(tcp, &config).await,
            };
            if let Err(e) = result {
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
    match incoming.path() {
        "/" | "/index.html" => {
            let mut response = plain(StatusCode::OK);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            incoming.respond(response, PAGE.as_bytes()).await
        }
        "/ws" if incoming.is_websocket() => echo(incoming).await,
        "/ws" => {
            let body = b"a WebSocket endpoint: connect with a WebSocket client\n";
            incoming.respond(plain(StatusCode::BAD_REQUEST), body).await
        }
        _ => {
            incoming
                .respond(plain(StatusCode::NOT_FOUND), b"not found\n")
                .await
        }
    }
}

/// Echoes every message. When the client closes, the core answers with the client's code
/// and reason, and the loop ends.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(incoming: Incoming<S>) -> Result<(), Error> {
    let mut ws = incoming.accept(Accept::default()).await?;
    while let Some(message) = ws.recv().await {
        match message? {
            message @ (Message::Text(_) | Message::Binary(_)) => ws.send(message).await?,
            Message::Close(frame) => println!("client closed: {frame:?}"),
            Message::Ping(_) | Message::Pong(_) => {}
        }
    }
    Ok(())
}
