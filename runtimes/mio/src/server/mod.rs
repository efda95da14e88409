//! The event-loop server: one thread per loop serves all of its connections with no task,
//! future, thread or buffer per connection, the way the C++ uWebSockets server does.
//!
//! * **One loop per thread.** A loop runs a `mio::Poll` (edge-triggered) over the listeners
//!   and its connections, kept in a slab keyed by `mio::Token`. A connection holds its
//!   protocol state (the core's [`Driver`](ropeway_core::driver::Driver), or during the
//!   opening handshake the core's `ServerHandshake`) and the application's data, nothing else.
//! * **One receive buffer per loop.** Reads land in it and are decoded from there; a
//!   connection keeps bytes of its own only while a frame is incomplete.
//! * **Writes batched per turn.** Everything queued on a connection during one turn of the
//!   loop (answers, broadcasts) is written at the end of the turn, in one write.
//! * **One deadline heap per loop** carries every timer the core asks for: keep-alive pings,
//!   the dead-peer timeout, the close timeout, the write-stall timeout, and the handshake
//!   timeout (a slowloris client is dropped), plus the accept pause on descriptor exhaustion.
//! * **Many cores.** [`Config::loops`] loops on as many threads (see [`Server`] for how they
//!   share the listener); a connection stays on the loop that accepted it.
//! * **From other threads.** A [`Handle`] sends, closes and broadcasts through a bounded
//!   queue per loop and wakes the loop; a slow consumer meets [`SlowConsumer`].
//! * **Broadcast.** A message is encoded once ([`PreparedMessage`](ropeway_core::PreparedMessage))
//!   and queued on every connection, or a [`Context::join`]ed group, by reference.
//! * **Across servers.** [`Server::with_backplane`] joins the server to a backplane (e.g.
//!   ropeway-redis): broadcasts and groups then span every server joined to it, and a
//!   connection anywhere is reached by its [`GlobalId`](ropeway_core::backplane::GlobalId).
//!
//! The application implements [`Handler`]:
//!
//! ```no_run
//! use ropeway_mio::server::{Closed, ConnId, Context, Decision, Handler, Incoming, Server};
//! use ropeway_mio::{Message, MessageKind, PreparedMessage};
//!
//! /// A chat: every message goes to everyone in the room.
//! #[derive(Clone)]
//! struct Chat;
//!
//! impl Handler for Chat {
//!     type Conn = String; // the user's name
//!
//!     fn on_request(&mut self, request: &Incoming<'_>) -> Decision<String> {
//!         if request.path() != "/chat" {
//!             return Decision::Reject(http::StatusCode::NOT_FOUND);
//!         }
//!         let name = request.query().unwrap_or("anonymous").to_owned();
//!         Decision::accept(name)
//!     }
//!
//!     fn on_open(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut String) {
//!         cx.join(id, "room");
//!     }
//!
//!     fn on_message(&mut self, cx: &mut Context<'_>, _: ConnId, name: &mut String, message: Message) {
//!         if let Some(text) = message.as_text() {
//!             let line = PreparedMessage::new(MessageKind::Text, format!("{name}: {text}").into());
//!             cx.broadcast_to("room", &line);
//!         }
//!     }
//!
//!     fn on_close(&mut self, _: &mut Context<'_>, _: ConnId, name: String, _: Closed) {
//!         println!("{name} left");
//!     }
//! }
//!
//! Server::bind("127.0.0.1:9001", Default::default())?.run(Chat)?;
//! # Ok::<(), std::io::Error>(())
//! ```

mod backplane;
mod config;
mod conns;
mod context;
mod error;
mod event_loop;
mod handle;
mod handler;
mod id;
mod serve;
mod timers;
mod transport;

pub use config::{Config, Delivery, MAX_LOOPS, SlowConsumer};
pub use context::{Broadcast, Context};
pub use error::SendError;
pub use handle::{Handle, HandleError};
pub use handler::{Closed, Decision, Handler, Incoming, PieceRef};
/// The HTTP types a [`Decision`] is made of.
pub use http::{Response, StatusCode};
pub use id::ConnId;
pub use ropeway_core::ServerConfig;
pub use ropeway_core::extension::ExtensionOffer;
pub use ropeway_core::handshake::Accept;
pub use serve::{Running, Server};
