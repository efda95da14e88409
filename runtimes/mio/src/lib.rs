//! ropeway without async: a mio event-loop server that serves many connections from one
//! thread per core with no task, future or buffer per idle connection, and a blocking client.
//!
//! A thin binding: the core's [`ropeway_core::driver::Driver`] decides every step of a
//! connection; this crate carries the steps out with mio readiness events and a deadline
//! structure per loop (server), or blocking sockets with timeouts (client).
//!
//! The server ([`server`]) is driven by a [`server::Handler`] the application writes:
//!
//! ```no_run
//! use ropeway_mio::Message;
//! use ropeway_mio::server::{ConnId, Context, Decision, Handler, Incoming, Server};
//!
//! #[derive(Clone)]
//! struct Echo;
//!
//! impl Handler for Echo {
//!     type Conn = ();
//!
//!     fn on_request(&mut self, _: &Incoming<'_>) -> Decision<()> {
//!         Decision::accept(())
//!     }
//!
//!     fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
//!         let _ = cx.send(id, message);
//!     }
//! }
//!
//! Server::bind("127.0.0.1:9001", Default::default())?.run(Echo)?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Why the blocking client lives in a crate named after mio
//!
//! The client ([`client`]) uses no mio: one connection gains nothing from an event loop, so
//! it blocks on `std` sockets (its module docs say why). It lives here because this crate is
//! ropeway's *without async* binding, the one the `ropeway` facade's `mio` feature selects:
//! an application that runs the event-loop server and wants a client without pulling in an
//! async runtime finds both behind one feature, `ropeway::mio::server` and
//! `ropeway::mio::client`. A crate of its own would be a fourth binding for a few hundred
//! lines and a second feature users would have to discover; if the client ever grows a
//! dependency the server does not need, that is the moment to split it out.
#![forbid(unsafe_code)]

pub mod client;
pub mod server;

pub use ropeway_core::{
    Bytes, CloseCode, CloseFrame, Error, Limits, Message, MessageKind, PreparedMessage,
    SendOptions, Utf8Bytes,
};
