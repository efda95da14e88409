//! ropeway's loopback test suite for the async bindings, written once.
//!
//! Each case is an `async fn case<T: TestRuntime>()` in [`cases`]; [`suite!`] turns every
//! case into a `#[test]` for one runtime, and `tests/tokio.rs` and `tests/smol.rs` invoke it
//! for [`Tokio`] and [`Smol`]. A new binding implements [`TestRuntime`] (its tasks, clock,
//! sockets, and its `accept`/`connect`) and gets the whole suite.
//!
//! What only one runtime can show (tokio's paused clock, hyper, HTTP/2, axum; smol's
//! `split_task` on an executor of the application's) stays in that binding's `tests/`.
#![forbid(unsafe_code)]

pub mod cases;
pub mod runtime;
#[doc(hidden)]
pub mod suite;
pub mod support;

pub use runtime::{Smol, TestRuntime, Tokio};

/// Everything a case uses, in one import.
pub mod prelude {
    pub use crate::runtime::{ClientWs, Incoming, ServerWs, TestRuntime, WebSocket};
    pub use crate::support::bounded::timeout;
    pub use crate::support::frames::{MASK, RawFrame, client_frame, close_payload, frame, op};
    pub use crate::support::http_head::{SAMPLE_KEY, header, status, upgrade_request};
    pub use crate::support::loopback::{ServeOne, connect, listen, spawn_echo_server, ws_url};
    pub use crate::support::messages::{assert_echoes, assert_ends_cleanly, echo, recv, recv_data};
    pub use crate::support::payloads::{bytes_of_len, text_of_len};
    pub use crate::support::raw_peer::RawPeer;
}
