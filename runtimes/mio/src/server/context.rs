//! [`Context`]: what a [`super::Handler`] answers with, by connection id.

use std::time::Instant;

use ropeway_core::backplane::{GlobalId, Target};
use ropeway_core::extension::ExtensionOffer;
use ropeway_core::{CloseFrame, Message, MessageKind, PreparedMessage, SendOptions};

use super::conns::Conns;
use super::error::SendError;
use super::handle::Handle;
use super::id::ConnId;

/// What a broadcast from a handler reached ([`Context::broadcast`],
/// [`Context::broadcast_to`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Broadcast {
    /// Connections of this loop that took it (a slow consumer under
    /// [`super::SlowConsumer::Drop`] may not).
    pub here: usize,
    /// Other loops it was handed to; their members get it on the loop's next turn.
    pub other_loops: usize,
    /// Other loops whose queue ([`super::Config::queue_capacity`]) was full: their members
    /// missed it (also logged as a warning).
    pub missed_loops: usize,
    /// Handed to the backplane for the other servers ([`super::Server::with_backplane`]);
    /// whether they got it, the backplane counts.
    pub published: bool,
}

/// The loop, as a handler sees it: send to any connection by id (of this loop, or of another
/// through the [`Handle`]), close, broadcast, and manage groups.
///
/// Sends only queue: everything queued during one turn of the loop is written at its end,
/// one write per connection. A send to a connection whose queued output is at its limit
/// follows [`super::Config::slow_consumer`] and says so in its result.
pub struct Context<'a> {
    pub(crate) conns: &'a mut Conns,
    pub(crate) handle: &'a Handle,
    pub(crate) now: Instant,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("loop", &self.conns.loop_index())
            .field("connections", &self.conns.len())
            .finish()
    }
}

impl Context<'_> {
    /// Sends a message (text, binary, ping, pong or close) to `id`.
    pub fn send(&mut self, id: ConnId, message: Message) -> Result<(), SendError> {
        self.send_with(id, message, SendOptions::default())
    }

    /// Sends with per-message options, e.g. without compression for a message that mixes
    /// secrets with attacker-controlled data.
    pub fn send_with(
        &mut self,
        id: ConnId,
        message: Message,
        options: SendOptions,
    ) -> Result<(), SendError> {
        if id.loop_index != self.conns.loop_index() {
            return self.handle.send(id, message).map_err(SendError::Queue);
        }
        self.conns
            .deliver(id, false, |driver| driver.send(message, options))
    }

    /// Sends a message encoded once for many connections (see [`PreparedMessage`]).
    pub fn send_prepared(
        &mut self,
        id: ConnId,
        message: &PreparedMessage,
    ) -> Result<(), SendError> {
        if id.loop_index != self.conns.loop_index() {
            return self
                .handle
                .send_prepared(id, message)
                .map_err(SendError::Queue);
        }
        self.conns.deliver(id, false, |driver| {
            driver.send_prepared(message, SendOptions::default())
        })
    }

    /// Sends one fragment of a message to `id` (see
    /// [`ropeway_core::Connection::send_fragment`]): `fin` ends the message. With
    /// [`super::Delivery::Pieces`], a message of any size can stream through the loop, each
    /// piece that arrives going out as a fragment, without being held whole.
    ///
    /// Each fragment is queued like a message, under [`super::Config::slow_consumer`]: one
    /// refused (the connection's queued output at its limit) leaves the message unfinished
    /// and its bytes missing, so close the connection then. Nothing tells the handler when
    /// the output drains, so stream at the pace of what arrives (an echo, a proxy, a peer
    /// that acknowledges), not from a loop. No other data message may go to `id` until the
    /// last fragment: it is refused (a send as [`SendError::Invalid`]). Only for connections
    /// of this loop (another loop's id: [`SendError::NotOpen`]).
    pub fn send_fragment(
        &mut self,
        id: ConnId,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.conns.deliver(id, false, |driver| {
            driver.send_fragment(kind, payload, fin, SendOptions::default())
        })
    }

    /// Starts the close handshake of `id` (`None`: no status code). The connection ends
    /// when the peer answers, or after the close timeout; then [`super::Handler::on_close`].
    pub fn close(&mut self, id: ConnId, frame: Option<CloseFrame>) -> Result<(), SendError> {
        if id.loop_index != self.conns.loop_index() {
            return self.handle.close(id, frame).map_err(SendError::Queue);
        }
        self.conns.close(id, frame)
    }

    /// Sends `message` to every open connection of the server, on every loop, encoded once:
    /// this loop's connections take it now, the other loops get the same bytes by reference
    /// through their queues and deliver them on their next turn. See [`Broadcast`] for what
    /// it reports.
    ///
    /// With a backplane, the message is also published once for the other servers.
    pub fn broadcast(&mut self, message: &PreparedMessage) -> Broadcast {
        self.broadcast_everywhere(None, None, message)
    }

    /// [`broadcast`](Self::broadcast) to everyone but `except` (usually the sender), on
    /// every loop and every server.
    pub fn broadcast_except(&mut self, except: ConnId, message: &PreparedMessage) -> Broadcast {
        self.broadcast_everywhere(None, Some(except), message)
    }

    /// Sends `message` to every member of `group` on every loop (a group is the server's,
    /// whatever loop each member landed on), encoded once, as [`Context::broadcast`] does.
    /// With a backplane, the message is also published once for the members on the other
    /// servers.
    pub fn broadcast_to(&mut self, group: &str, message: &PreparedMessage) -> Broadcast {
        self.broadcast_everywhere(Some(group), None, message)
    }

    /// [`broadcast_to`](Self::broadcast_to) to every member of `group` but `except`.
    pub fn broadcast_to_except(
        &mut self,
        group: &str,
        except: ConnId,
        message: &PreparedMessage,
    ) -> Broadcast {
        self.broadcast_everywhere(Some(group), Some(except), message)
    }

    /// How servers joined to the same backplane name connection `id` (to keep, or give to
    /// another server); `None` without a backplane.
    pub fn global_id(&self, id: ConnId) -> Option<GlobalId> {
        self.conns.backplane().map(|b| b.global(id))
    }

    /// Sends `message` to the connection `to` names: on this server as
    /// [`send_prepared`](Self::send_prepared) does, on another through the backplane (`Ok`
    /// then means published: the backplane delivers at most once). Without a backplane, a
    /// connection of another server is `SendError::Queue(HandleError::Unreachable)`.
    pub fn send_to(&mut self, to: GlobalId, message: &PreparedMessage) -> Result<(), SendError> {
        let Some(backplane) = self.conns.backplane() else {
            return Err(SendError::Queue(super::HandleError::Unreachable));
        };
        match backplane.local(&to) {
            Some(id) => self.send_prepared(id, message),
            None => {
                backplane.publish(
                    Target::Connection(to),
                    message.kind(),
                    message.payload().clone(),
                );
                Ok(())
            }
        }
    }

    /// Sends `message` to the open connections of this loop only; returns how many took it
    /// (a slow consumer may not).
    pub fn broadcast_on_this_loop(&mut self, message: &PreparedMessage) -> usize {
        self.conns.broadcast(None, None, message, true)
    }

    /// Sends `message` to the members of `group` on this loop only; returns how many took
    /// it.
    pub fn broadcast_to_on_this_loop(&mut self, group: &str, message: &PreparedMessage) -> usize {
        self.conns.broadcast(Some(group), None, message, true)
    }

    fn broadcast_everywhere(
        &mut self,
        group: Option<&str>,
        except: Option<ConnId>,
        message: &PreparedMessage,
    ) -> Broadcast {
        let here = self.conns.broadcast(group, except, message, true);
        let this_loop = usize::from(self.conns.loop_index());
        let (loops, missed_loops) = self
            .handle
            .broadcast_to_other_loops(this_loop, group, except, message);
        // Once per broadcast, from the loop it was made on: the other loops and servers
        // only deliver.
        let published = match self.conns.backplane() {
            Some(backplane) => {
                let target = match (group, except) {
                    (None, None) => Target::All,
                    (None, Some(except)) => Target::AllExcept(backplane.global(except)),
                    (Some(group), None) => Target::Group(group.to_owned()),
                    (Some(group), Some(except)) => {
                        Target::GroupExcept(group.to_owned(), backplane.global(except))
                    }
                };
                backplane.publish(target, message.kind(), message.payload().clone());
                true
            }
            None => false,
        };
        if missed_loops > 0 {
            tracing::warn!(
                loop_index = this_loop,
                missed_loops,
                group,
                "a broadcast missed loops whose queues were full"
            );
        }
        Broadcast {
            here,
            other_loops: loops,
            missed_loops,
            published,
        }
    }

    /// Adds `id` (an open connection of this loop) to `group` (a room, a topic); returns
    /// false if there is no such connection. A connection leaves its groups when it ends.
    /// A group is the server's: [`Context::broadcast_to`] and [`Handle::broadcast_to`] reach
    /// its members on every loop (each loop keeps the members it serves).
    /// A connection's end takes it out of every group of its loop, which costs a look at
    /// each group: thousands of groups per loop are fine, millions are not.
    /// With a backplane, the server subscribes to the group's messages from other servers
    /// while it has a member in it.
    pub fn join(&mut self, id: ConnId, group: &str) -> bool {
        self.conns.join(id, group)
    }

    /// Takes `id` out of `group`.
    pub fn leave(&mut self, id: ConnId, group: &str) {
        self.conns.leave(id, group);
    }

    /// Bytes queued on `id` and not yet taken by its socket (the slow-consumer policy acts
    /// at `max_queued_output`); `None` if `id` is no open connection of this loop.
    pub fn queued_output(&mut self, id: ConnId) -> Option<usize> {
        self.conns.queued_output(id)
    }

    /// The subprotocol the opening handshake of `id` agreed on (the one
    /// [`super::Decision::accept_protocol`] named); `None` when none was, or if `id` is no
    /// open connection of this loop (the value lives with the connection, on its loop).
    ///
    /// ```
    /// use ropeway_mio::Message;
    /// use ropeway_mio::server::{ConnId, Context, Decision, Handler, Incoming};
    ///
    /// struct Versioned;
    ///
    /// impl Handler for Versioned {
    ///     type Conn = ();
    ///
    ///     fn on_request(&mut self, request: &Incoming<'_>) -> Decision<()> {
    ///         let offered = request.upgrade().ok();
    ///         match offered.as_ref().and_then(|u| u.select_protocol(&["chat.v2", "chat.v1"])) {
    ///             Some(protocol) => Decision::accept_protocol(protocol, ()),
    ///             None => Decision::accept(()),
    ///         }
    ///     }
    ///
    ///     fn on_message(&mut self, cx: &mut Context<'_>, id: ConnId, _: &mut (), message: Message) {
    ///         // Answer in the dialect this connection agreed on.
    ///         let reply = match cx.protocol(id) {
    ///             Some("chat.v2") => Message::text("v2 reply"),
    ///             _ => message,
    ///         };
    ///         let _ = cx.send(id, reply);
    ///     }
    /// }
    /// ```
    pub fn protocol(&self, id: ConnId) -> Option<&str> {
        self.conns.open_driver(id)?.connection().protocol()
    }

    /// The extensions the opening handshake of `id` agreed on, with their parameters as the
    /// 101 response named them (e.g. `permessage-deflate; server_no_context_takeover`);
    /// empty when none was, or if `id` is no open connection of this loop.
    pub fn extensions(&self, id: ConnId) -> &[ExtensionOffer] {
        self.conns
            .open_driver(id)
            .map_or(&[], |driver| driver.connection().negotiated_extensions())
    }

    /// Members of `group` on this loop.
    pub fn group_len(&self, group: &str) -> usize {
        self.conns.group_len(group)
    }

    /// Connections on this loop, in their handshake or open.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// This loop's index.
    pub fn loop_index(&self) -> usize {
        usize::from(self.conns.loop_index())
    }

    /// A handle to every loop of the server, to keep or give to other threads.
    pub fn handle(&self) -> &Handle {
        self.handle
    }

    /// The time this turn of the loop started.
    pub fn now(&self) -> Instant {
        self.now
    }
}
