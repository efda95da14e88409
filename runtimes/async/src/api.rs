//! The names every async binding offers at its root, re-exported from here once, so
//! `ropeway_tokio::Message` and `ropeway_smol::Message` are one type and a binding's root
//! lists only what is its own (`pub use ropeway_async::api::*;`).

pub use crate::registry::{ConnectionId, Delivered, Delivery, going_away};
pub use crate::{ReadHalf, WriteHalf};
pub use http;
pub use ropeway_common::TrySendError;
pub use ropeway_core::backplane::{self, Backplane, GlobalId, LocalDelivery, ServerId};
pub use ropeway_core::driver::{Piece, TlsError, TlsErrorKind};
pub use ropeway_core::extension::ExtensionOffer;
pub use ropeway_core::handshake::{Accept, ClientRequest};
/// The reconnect schedule and its verdicts ([`Stop`](ropeway_core::reconnect::Stop), [`Backoff`](ropeway_core::reconnect::Backoff) …).
pub use ropeway_core::reconnect;
pub use ropeway_core::reconnect::{Disconnect, NotSent, Reconnect, ReconnectPolicy};
pub use ropeway_core::{
    CloseCode, CloseFrame, Config, ConnectionError, Error, HandshakeError, Limits, Message,
    MessageKind, PreparedMessage, SendOptions, ServerConfig, SlowConsumer, Utf8Bytes,
};
