//! The sample on ropeway-mio: one event loop on this thread serves every connection (no
//! task or thread per connection), rustls driven from the loop for https:// and wss://,
//! Ctrl-C (SIGINT) stops the loop.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use async_signal::{Signal, Signals};
use futures_lite::StreamExt;
use ropeway_mio::server::{Closed, Config, ConnId, Context, Decision, Handler, Incoming, Server};
use ropeway_mio::{Error, Message, PreparedMessage};

use crate::app::{self, Route};
use crate::options::Options;

/// How often a connection's failed sends are reported, at most: a client that floods
/// without reading makes every echo fail, and a line per message would flood the log.
const REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// Routes requests and echoes messages, for every connection of the loop.
#[derive(Clone)]
struct Sample;

/// What the sample keeps per connection.
struct Conn {
    /// What to say first on the WebSocket (`?announce`: the HTTP version that carried it).
    announcement: Option<String>,
    /// The group of the room it is in, if it came to `/room`.
    room: Option<String>,
    /// Who it is, for the log.
    peer: SocketAddr,
    /// Sends that failed since the last report, the last failure, and when it was.
    failed: u64,
    last_failure: Option<String>,
    reported_at: Instant,
}

impl Conn {
    /// Counts a failed send; reports the count at most once per [`REPORT_INTERVAL`].
    fn send_failed(&mut self, id: ConnId, error: impl std::fmt::Display, now: Instant) {
        self.failed += 1;
        self.last_failure = Some(error.to_string());
        if now.duration_since(self.reported_at) >= REPORT_INTERVAL {
            self.report(id, now);
        }
    }

    /// Logs the failed sends not reported yet, if any.
    fn report(&mut self, id: ConnId, now: Instant) {
        if let Some(error) = self.last_failure.take() {
            let (peer, count) = (self.peer, self.failed);
            eprintln!("{peer} ({id}): {count} sends failed, the last: {error}");
        }
        self.failed = 0;
        self.reported_at = now;
    }
}

impl Handler for Sample {
    type Conn = Conn;

    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<Conn> {
        let conn = |announcement, room| Conn {
            announcement,
            room,
            peer: request.peer_addr(),
            failed: 0,
            last_failure: None,
            reported_at: Instant::now(),
        };
        match app::route(request.path(), request.is_websocket()) {
            Route::Page => {
                let (response, body) = app::page(request.request().method());
                Decision::Respond(response, body.into())
            }
            // This listener speaks HTTP/1.1 only.
            Route::Echo => Decision::accept(conn(
                app::announcement(request.query(), http::Version::HTTP_11),
                None,
            )),
            Route::RoomPage => {
                let (response, body) = app::room_page(request.request().method());
                Decision::Respond(response, body.into())
            }
            Route::Room => {
                let room = app::room_group(&app::room_name(request.query()));
                Decision::accept(conn(None, Some(room)))
            }
            Route::NotWebSocket => plain(http::StatusCode::BAD_REQUEST, app::NOT_WEBSOCKET),
            Route::NotFound => plain(http::StatusCode::NOT_FOUND, app::NOT_FOUND),
        }
    }

    fn on_open(&mut self, cx: &mut Context<'_>, id: ConnId, conn: &mut Conn) {
        if let Some(room) = &conn.room {
            cx.join(id, room);
        }
        if let Some(text) = conn.announcement.take()
            && let Err(e) = cx.send(id, Message::text(text))
        {
            conn.send_failed(id, e, cx.now());
        }
    }

    /// Echoes every message. When the client closes, the core answers with the client's
    /// code and reason, and the connection ends.
    fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, conn: &mut Conn, message: Message) {
        if let Some(room) = &conn.room {
            // A room: a member's text goes to every member, on every loop (and every
            // process joined by the backplane), framed once.
            if let Message::Text(text) = message {
                cx.broadcast_to(room, &PreparedMessage::text(text.as_str()));
            }
            return;
        }
        if let Err(e) = cx.send(id, message) {
            conn.send_failed(id, e, cx.now());
        }
    }

    fn on_close(&mut self, cx: &mut Context<'_>, id: ConnId, mut conn: Conn, closed: Closed) {
        conn.report(id, cx.now());
        match closed.error {
            None => println!("client closed: {:?}", closed.frame),
            Some(e) => eprintln!("{} ({id}): {e}", conn.peer),
        }
    }

    fn on_error(&mut self, peer: SocketAddr, error: Error) {
        eprintln!("{peer}: {error}");
    }
}

fn plain(status: http::StatusCode, body: &'static [u8]) -> Decision<Conn> {
    Decision::Respond(ropeway_core::handshake::reject(status), body.into())
}

/// Serves until Ctrl-C.
pub fn run(options: Options) -> Result<(), String> {
    let config = Config {
        websocket: (*app::server_config(&options)).clone(),
        // Ctrl-C: Handle::stop sends 1001 and waits for the close handshakes this long.
        shutdown_timeout: app::SHUTDOWN_TIMEOUT,
        ..Config::default()
    };
    let tls = app::tls_config(&options)?;
    let mut listeners = Vec::new();
    for addr in &options.listen {
        match std::net::TcpListener::bind(addr) {
            Ok(listener) => {
                app::listening(tls.is_some(), addr);
                listeners.push(listener);
            }
            // [::1] is missing on hosts without IPv6; the other address still serves.
            Err(e) => eprintln!("cannot listen on {addr}: {e}"),
        }
    }
    if listeners.is_empty() {
        return Err("no address to listen on".into());
    }
    let mut server = Server::from_listeners(listeners, config).map_err(|e| e.to_string())?;
    if let Some(tls) = tls.clone() {
        server = server.with_tls(tls);
    }
    let handle = server.handle();
    if let Some(url) = &options.backplane {
        // The loops' groups (the rooms) span every process joined to the backplane; the
        // handle is where it delivers.
        let backplane = crate::backplane::start(url, std::sync::Arc::new(handle.clone()))?;
        server = server.with_backplane(std::sync::Arc::new(backplane));
    }
    let mut signals = Signals::new([Signal::Int]).map_err(|e| e.to_string())?;
    std::thread::spawn(move || {
        smol::block_on(signals.next());
        handle.stop();
    });
    app::ready(tls.is_some(), &options);
    server.run(Sample).map_err(|e| e.to_string())?;
    app::stopped(None, 0);
    Ok(())
}
