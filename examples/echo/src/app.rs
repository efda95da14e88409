//! What the sample serves, the same on every runtime: the settings, the routes, the page
//! and the plain answers. The serving files (`serve_async.rs` with `connection.rs`,
//! `serve_https.rs`, `serve_mio.rs`) only listen, accept and carry these out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, Response, StatusCode, Version, header};
use ropeway_core::ServerConfig;
use ropeway_core::deflate::DeflateServer;
use ropeway_core::handshake::reject;

use crate::options::Options;

/// The page at `/`: Connect, Send, Close Socket and the Communication Log.
pub const PAGE: &str = include_str!("../static/index.html");

/// The page at `/room`: join a room by name, and what anyone in it says (on any sample
/// process joined by `--backplane`) reaches everyone in it.
pub const ROOM_PAGE: &str = include_str!("../static/room.html");

/// The room a client joins when it names none.
pub const DEFAULT_ROOM: &str = "lobby";

/// The longest room name.
pub const MAX_ROOM_NAME: usize = 64;

/// The body of a 400 for a plain request to the WebSocket endpoint.
pub const NOT_WEBSOCKET: &[u8] = b"a WebSocket endpoint: connect with a WebSocket client\n";

/// The body of a 405 (a method other than GET or HEAD on the page).
pub const METHOD_NOT_ALLOWED: &[u8] = b"method not allowed: GET or HEAD\n";

/// The body of a 404.
pub const NOT_FOUND: &[u8] = b"not found\n";

/// What a request gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// The page.
    Page,
    /// The WebSocket echo.
    Echo,
    /// The room page.
    RoomPage,
    /// A room's WebSocket: what a member says goes to every member.
    Room,
    /// A plain request to the WebSocket endpoint: 400.
    NotWebSocket,
    /// Anything else: 404.
    NotFound,
}

/// Routes a request by its path and whether it asks for a WebSocket.
pub fn route(path: &str, is_websocket: bool) -> Route {
    match path {
        "/" | "/index.html" => Route::Page,
        "/ws" if is_websocket => Route::Echo,
        "/ws" => Route::NotWebSocket,
        "/room" if is_websocket => Route::Room,
        "/room" => Route::RoomPage,
        _ => Route::NotFound,
    }
}

/// The answer to `method` on the page: the page for GET, its head alone for HEAD (with the
/// page's length, as GET would send), 405 with `Allow` for anything else.
pub fn page(method: &Method) -> (Response<()>, &'static [u8]) {
    page_of(method, PAGE)
}

/// [`page`] for the room page.
pub fn room_page(method: &Method) -> (Response<()>, &'static [u8]) {
    page_of(method, ROOM_PAGE)
}

fn page_of(method: &Method, page: &'static str) -> (Response<()>, &'static [u8]) {
    match *method {
        Method::GET => (page_response(), page.as_bytes()),
        Method::HEAD => {
            let mut response = page_response();
            response
                .headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(page.len()));
            (response, b"")
        }
        _ => {
            let mut response = reject(StatusCode::METHOD_NOT_ALLOWED);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            (response, METHOD_NOT_ALLOWED)
        }
    }
}

/// The response head for the page.
pub fn page_response() -> Response<()> {
    let mut response = reject(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The server settings from the command line: keep-alive, allowed origins, compression.
pub fn server_config(options: &Options) -> Arc<ServerConfig> {
    let mut config = ServerConfig::default();
    config.core.keep_alive_interval = options.keep_alive;
    config.allowed_origins = options.allowed_origins.clone();
    if let Some(deflate) = options.compression {
        config
            .extensions
            .push(Arc::new(DeflateServer::new(deflate)));
        println!("compression: permessage-deflate ({deflate:?})");
    }
    Arc::new(config)
}

/// The TLS settings, if the command line names a certificate and key or asks for a
/// self-signed one.
pub fn tls_config(options: &Options) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    match &options.tls {
        Some((cert, key)) => crate::tls::server_config(cert, key).map(Some),
        None if options.self_signed => {
            println!("tls: a self-signed certificate for localhost, 127.0.0.1 and ::1");
            crate::tls::self_signed().map(Some)
        }
        None => Ok(None),
    }
}

/// The query parameter with which a client asks the echo endpoint to say first which HTTP
/// version carried the WebSocket (the page does; plain echo clients do not and get a pure
/// echo).
const ANNOUNCE: &str = "announce";

/// The first message for a WebSocket opened with `query` over `version`: `connected over
/// HTTP/2` if the client asked with `?announce`, otherwise none. Only the server knows the
/// version: a page cannot see which connection carried its WebSocket.
pub fn announcement(query: Option<&str>, version: Version) -> Option<String> {
    let asked = query?
        .split('&')
        .any(|pair| pair.split('=').next() == Some(ANNOUNCE));
    asked.then(|| format!("connected over {}", version_name(version)))
}

/// `HTTP/1.1`, `HTTP/2` …: the names the page and the log show.
pub fn version_name(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_11 => "HTTP/1.1",
        Version::HTTP_2 => "HTTP/2",
        Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/?",
    }
}

/// The room a `/room` WebSocket joins: `?name=…` (letters, digits, `-` and `_`, at most
/// [`MAX_ROOM_NAME`]), or [`DEFAULT_ROOM`] when it names none or an invalid one.
pub fn room_name(query: Option<&str>) -> String {
    let named =
        query.and_then(|query| query.split('&').find_map(|pair| pair.strip_prefix("name=")));
    match named {
        Some(name)
            if !name.is_empty()
                && name.len() <= MAX_ROOM_NAME
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            name.to_owned()
        }
        _ => DEFAULT_ROOM.to_owned(),
    }
}

/// The group a room's members are in (a prefix keeps rooms apart from any other group).
pub fn room_group(room: &str) -> String {
    format!("room:{room}")
}

/// Says where the sample listens (the first line the browser test waits for).
pub fn listening(tls: bool, addr: &SocketAddr) {
    println!("listening on {}://{addr}", scheme(tls));
}

/// Says where to point a browser, once every listener is up.
pub fn ready(tls: bool, options: &Options) {
    let port = options.listen[0].port();
    println!(
        "open {}://localhost:{port}/ in a browser (Ctrl-C stops)",
        scheme(tls)
    );
    if options.self_signed {
        println!("the certificate is self-signed: the browser asks once to accept it");
    }
}

/// How long Ctrl-C waits for the clients to answer the 1001 before the sample ends what is
/// left (on every runtime).
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Says that Ctrl-C's graceful shutdown is over: of `open` WebSockets (when known),
/// `still_open` did not finish their close handshakes in time.
pub fn stopped(open: Option<usize>, still_open: usize) {
    match open {
        Some(open) => println!("stopped: {open} WebSockets closed with 1001, {still_open} cut"),
        None => println!("stopped"),
    }
}

fn scheme(tls: bool) -> &'static str {
    if tls { "https" } else { "http" }
}
