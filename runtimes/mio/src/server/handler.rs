//! What the application implements: one [`Handler`] per loop gets the events of all the
//! loop's connections and answers through the [`Context`].

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use ropeway_core::handshake::{
    Accept, HandshakeError, UpgradeRequest, clone_head, is_websocket_request,
};
use ropeway_core::{CloseFrame, Error, Message, MessageKind};

use super::context::Context;
use super::id::ConnId;

/// The application's side of a [`super::Server`]: called on the loop's thread for every
/// event of every connection of that loop. Each loop has its own handler (a clone of the one
/// given to [`super::Server::run`]); state shared by all loops goes behind an `Arc`.
///
/// Only [`Handler::on_request`] and [`Handler::on_message`] (or [`Handler::on_piece`]) must
/// be written; the rest are opt-in. A handler must not block: the whole loop waits for it.
///
/// ```
/// use ropeway_mio::server::{Context, ConnId, Decision, Handler, Incoming};
/// use ropeway_mio::Message;
///
/// /// Echoes every message on `/ws`.
/// #[derive(Clone)]
/// struct Echo;
///
/// impl Handler for Echo {
///     type Conn = ();
///
///     fn on_request(&mut self, request: &Incoming<'_>) -> Decision<()> {
///         match request.path() {
///             "/ws" => Decision::accept(()),
///             _ => Decision::Reject(http::StatusCode::NOT_FOUND),
///         }
///     }
///
///     fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
///         let _ = cx.send(id, message);
///     }
/// }
/// ```
pub trait Handler {
    /// The application's data for each connection, created in [`Handler::on_request`] and
    /// handed back in [`Handler::on_close`]: all a connection holds besides its protocol
    /// state.
    type Conn;

    /// A request arrived: accept it as a WebSocket (with the connection's data), reject it
    /// with a status, or answer it as plain HTTP (a page). Requests with a forbidden origin
    /// (403) or an oversized head (431) were answered already and never get here; an
    /// accepted request that is no valid upgrade is answered 400 (426 for a wrong version).
    fn on_request(&mut self, request: &Incoming<'_>) -> Decision<Self::Conn>;

    /// The connection is open (the 101 is written).
    fn on_open(&mut self, cx: &mut Context<'_>, id: ConnId, conn: &mut Self::Conn) {
        let _ = (cx, id, conn);
    }

    /// A whole text or binary message arrived (with [`super::Delivery::Messages`]).
    fn on_message(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        conn: &mut Self::Conn,
        message: Message,
    );

    /// A piece of a message arrived (with [`super::Delivery::Pieces`]); `end` on the last
    /// piece of each message. The default drops it.
    fn on_piece(
        &mut self,
        cx: &mut Context<'_>,
        id: ConnId,
        conn: &mut Self::Conn,
        piece: PieceRef<'_>,
    ) {
        let _ = (cx, id, conn, piece);
    }

    /// A ping arrived (it is answered already). The default ignores it.
    fn on_ping(&mut self, cx: &mut Context<'_>, id: ConnId, conn: &mut Self::Conn, payload: Bytes) {
        let _ = (cx, id, conn, payload);
    }

    /// A pong arrived (the keep-alive uses it already). The default ignores it.
    fn on_pong(&mut self, cx: &mut Context<'_>, id: ConnId, conn: &mut Self::Conn, payload: Bytes) {
        let _ = (cx, id, conn, payload);
    }

    /// A message from a [`super::Handle`] or a broadcast was dropped for this connection:
    /// its queued output was over the limit and the policy is [`super::SlowConsumer::Drop`].
    /// The default ignores it.
    fn on_dropped(&mut self, cx: &mut Context<'_>, id: ConnId, conn: &mut Self::Conn) {
        let _ = (cx, id, conn);
    }

    /// The connection ended: after a close handshake (`closed.frame` is what the peer sent)
    /// or an error (`closed.error`: a protocol error, a dead peer, an I/O error). Its data is
    /// handed back; the id is no longer valid.
    fn on_close(&mut self, cx: &mut Context<'_>, id: ConnId, conn: Self::Conn, closed: Closed) {
        let _ = (cx, id, conn, closed);
    }

    /// A connection failed before it opened (the handshake timed out, was malformed or
    /// refused; the answer was sent where there was one). The default ignores it.
    fn on_error(&mut self, peer: SocketAddr, error: Error) {
        let _ = (peer, error);
    }
}

/// How the application answers a request.
#[derive(Debug)]
pub enum Decision<C> {
    /// Accept the WebSocket with this answer (subprotocol, headers) and connection data.
    Accept(Accept, C),
    /// Answer with this status and a short plain-text body, then close.
    Reject(StatusCode),
    /// Answer as plain HTTP with this response and body, then close (a page, a redirect).
    Respond(Response<()>, Bytes),
}

impl<C> Decision<C> {
    /// Accepts with no subprotocol and no extra headers.
    pub fn accept(conn: C) -> Self {
        Decision::Accept(Accept::default(), conn)
    }

    /// Accepts with the chosen subprotocol (one the client offered).
    pub fn accept_protocol(protocol: &str, conn: C) -> Self {
        let accept = Accept {
            protocol: Some(protocol.to_owned()),
            ..Accept::default()
        };
        Decision::Accept(accept, conn)
    }
}

/// A request as the application sees it in [`Handler::on_request`].
#[derive(Debug)]
pub struct Incoming<'a> {
    pub(crate) request: &'a Request<()>,
    pub(crate) peer: SocketAddr,
}

impl Incoming<'_> {
    /// The whole request head.
    pub fn request(&self) -> &Request<()> {
        self.request
    }

    /// The path, e.g. `/ws`.
    pub fn path(&self) -> &str {
        self.request.uri().path()
    }

    /// The query string, without `?`.
    pub fn query(&self) -> Option<&str> {
        self.request.uri().query()
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        self.request.headers()
    }

    /// The `Origin` header (the allow-list was checked already).
    pub fn origin(&self) -> Option<&str> {
        self.headers()
            .get(http::header::ORIGIN)
            .and_then(|v| v.to_str().ok())
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Whether the request asks for a WebSocket (a plain one can be answered with a page).
    pub fn is_websocket(&self) -> bool {
        is_websocket_request(self.request)
    }

    /// Validates the request as an upgrade, to look at the offered subprotocols and
    /// extensions before deciding.
    pub fn upgrade(&self) -> Result<UpgradeRequest, HandshakeError> {
        UpgradeRequest::from_request(clone_head(self.request))
    }
}

/// A piece of a message, for [`Handler::on_piece`].
#[derive(Debug)]
pub struct PieceRef<'a> {
    /// Text or binary (a text message may be cut inside a character).
    pub kind: MessageKind,
    /// The bytes of this piece.
    pub data: &'a [u8],
    /// The last piece of its message.
    pub end: bool,
}

/// How a connection ended, for [`Handler::on_close`].
#[derive(Debug)]
pub struct Closed {
    /// The close frame the peer sent, if it sent one.
    pub frame: Option<CloseFrame>,
    /// The error that ended it, `None` after a clean close handshake.
    pub error: Option<Error>,
}
