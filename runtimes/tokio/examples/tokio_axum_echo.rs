//! An axum 0.8 app with a normal route and a WebSocket echo route that picks a subprotocol
//! among the ones the client offers. The echo route accepts HTTP/1.1 upgrades (GET) and
//! HTTP/2 extended CONNECT alike, which is why it is registered with `any`.
//!
//! ```text
//! cargo run -p ropeway-tokio --features axum --example tokio_axum_echo -- 127.0.0.1:3000
//! ```
//!
//! Then `GET /` answers with text, and a WebSocket client on `ws://127.0.0.1:3000/ws`
//! offering `chat.v1` and/or `chat.v2` gets the preferred one it offered (or none) and its
//! messages echoed.
//!
//! With `--check` instead of an address, it serves on a free loopback port, opens one
//! WebSocket to itself with ropeway's client, checks the subprotocol and an echo, and exits
//! (`scripts/test` runs it so).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::response::Response;
use axum::routing::{any, get};
use ropeway_tokio::axum::WebSocketUpgrade;
use ropeway_tokio::{Message, ServerConfig};

/// The subprotocols this server speaks, in no particular order: the client's order of
/// preference decides among them.
const PROTOCOLS: &[&str] = &["chat.v2", "chat.v1"];

/// The echo route: accept with the first offered protocol this server speaks, then echo.
async fn echo(ws: WebSocketUpgrade, config: Arc<ServerConfig>) -> Response {
    let version = ws.http_version();
    let ws = ws.config(config).select_protocol(PROTOCOLS);
    let protocol = ws.selected_protocol().map(str::to_owned);
    ws.on_upgrade(move |mut ws| async move {
        println!("WebSocket over {version:?}, subprotocol {protocol:?}");
        while let Some(message) = ws.recv().await {
            match message {
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    println!("WebSocket ended: {e}");
                    break;
                }
            }
        }
    })
}

/// The app: `/` is an ordinary route, `/ws` the echo (GET for HTTP/1.1, CONNECT for HTTP/2).
fn app(config: Arc<ServerConfig>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { "a normal route; the WebSocket echo is at /ws\n" }),
        )
        .route("/ws", any(move |ws| echo(ws, config.clone())))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1);
    let check = arg.as_deref() == Some("--check");
    let addr = match arg {
        Some(_) if check => "127.0.0.1:0".to_owned(),
        Some(addr) => addr,
        None => "127.0.0.1:3000".to_owned(),
    };
    let mut config = ServerConfig::default();
    config.core.keep_alive_interval = Some(Duration::from_secs(30));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}");
    let serving = axum::serve(listener, app(Arc::new(config)));
    if !check {
        return Ok(serving.await?);
    }
    tokio::spawn(async move { serving.await });
    let checked = tokio::time::timeout(Duration::from_secs(10), self_check(addr)).await;
    checked.map_err(|_| "the check took over 10 s")??;
    println!("check passed");
    Ok(())
}

/// One WebSocket to the app offering `chat.v1` then `chat.v2`: the app must pick `chat.v1`
/// (the client's preference among those it speaks) and echo.
async fn self_check(addr: std::net::SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
    let request = ropeway_tokio::ClientRequest::from_url(&format!("ws://{addr}/ws"))?
        .protocol("chat.v1")
        .protocol("chat.v2");
    let config = ropeway_tokio::ClientConfig::default();
    let (mut ws, response) = ropeway_tokio::connect_with(request, &config).await?;
    let protocol = response.headers().get("sec-websocket-protocol");
    if protocol.is_none_or(|p| p != "chat.v1") {
        return Err(format!("subprotocol {protocol:?}, expected chat.v1").into());
    }
    ws.send(Message::text("hello axum")).await?;
    match ws.recv().await {
        Some(Ok(Message::Text(text))) if text.as_str() == "hello axum" => {}
        other => return Err(format!("expected the echo, got {other:?}").into()),
    }
    ws.close(None).await?;
    Ok(())
}
