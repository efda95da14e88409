//! An axum 0.8 app with a normal route and a WebSocket echo route that picks a subprotocol
//! among the ones the client offers. The echo route accepts HTTP/1.1 upgrades (GET) and
//! HTTP/2 extended CONNECT alike, which is why it is registered with `any`.
//!
//! ```text
//! cargo run -p ropeway-tokio --features axum --example axum_echo -- 127.0.0.1:3000
//! ```
//!
//! Then `GET /` answers with text, and a WebSocket client on `ws://127.0.0.1:3000/ws`
//! offering `chat.v1` and/or `chat.v2` gets the preferred one it offered (or none) and its
//! messages echoed.

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
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    let mut config = ServerConfig::default();
    config.core.keep_alive_interval = Some(Duration::from_secs(30));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(Arc::new(config))).await
}
