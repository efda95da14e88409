//! The opening handshake (RFC 6455 §4): an HTTP/1.1 upgrade, or an HTTP/2 extended CONNECT
//! (RFC 8441), for both roles.
//!
//! * Server: [`RequestReader`] parses the request head incrementally; [`UpgradeRequest`]
//!   validates it, exposes what the application routes on, and builds the answer.
//! * Client: [`ClientRequest`] describes the request; [`ClientHandshake`] writes it and
//!   validates the response; over HTTP/2, [`ExtendedConnect`] builds the CONNECT request and
//!   checks the answer.

mod accept_key;
mod client;
mod client_h2;
mod error;
mod head;
mod headers;
mod server;
mod server_handshake;

pub use accept_key::accept_key;
pub use client::{ClientAccepted, ClientHandshake, ClientRequest};
pub use client_h2::{ExtendedConnect, WEBSOCKET_PROTOCOL};
pub use error::HandshakeError;
pub use head::write_response;
pub use server::{Accept, RequestReader, UpgradeRequest, is_websocket_request, reject};
pub use server_handshake::{Accepted, ServerHandshake, accept_request, clone_head};

/// The only WebSocket version there is (RFC 6455 §4.1).
pub const WEBSOCKET_VERSION: &str = "13";
