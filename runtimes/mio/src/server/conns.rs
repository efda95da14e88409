//! The loop's connections: a slab of slots keyed by `mio::Token`, each holding the
//! connection's transport and protocol state (the handshake, then the core's driver) and
//! nothing else; the groups; and the sends into them with the slow-consumer policy.

use std::collections::{HashMap, HashSet};
use std::mem;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;
use ropeway_core::driver::Driver;
use ropeway_core::handshake::ServerHandshake;
use ropeway_core::{CloseFrame, Connection, Error, PreparedMessage, SendOptions};

use super::backplane::Joined;
use super::config::SlowConsumer;
use super::error::SendError;
use super::id::{ConnId, MAX_SLOTS};
use super::transport::Transport;

/// One connection.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) transport: Transport,
    pub(crate) state: State,
    /// The deadline this connection has in the loop's heap (see [`super::timers`]).
    pub(crate) armed: Option<Instant>,
    /// The close frame the peer sent, for [`super::Handler::on_close`]; boxed, as it is rare.
    pub(crate) peer_close: Option<Box<CloseFrame>>,
    /// On the loop's list of connections with output to write this iteration.
    pub(crate) dirty: bool,
    /// The peer's end of stream (or an error) was reported with a readiness event: from
    /// then on every read goes on until it would block (see [`super::event_loop`]'s read).
    pub(crate) read_closed: bool,
    /// The last read came back short: the socket is empty until the next readable event.
    pub(crate) drained: bool,
    /// On the loop's list of connections to read on next turn: there once, so a connection
    /// that spends its budget in several drives of one turn (its event, its resume, its
    /// end-of-turn write) gets one more share next turn, not one per drive, turn after turn.
    pub(crate) resumed: bool,
}

/// Where the connection is: its opening handshake (boxed: short-lived and large), or open.
#[derive(Debug)]
// Open is the state of nearly every connection for nearly all of its life: boxing the
// driver would add an allocation and a pointer to every one of them.
#[allow(clippy::large_enum_variant)]
pub(crate) enum State {
    Handshake(Box<Handshaking>),
    Open(Driver),
}

/// The opening handshake in progress.
#[derive(Debug)]
pub(crate) struct Handshaking {
    pub(crate) handshake: ServerHandshake,
    /// The request head so far, then the bytes after it (the first frames).
    pub(crate) buf: BytesMut,
    pub(crate) peer: SocketAddr,
    /// Accepted: the connection to open once the 101 is written.
    pub(crate) opening: Option<Connection>,
    /// Answered with an error or a plain response: close once it is written.
    pub(crate) closing: bool,
    /// The handshake's error, for [`super::Handler::on_error`] once the answer is out.
    pub(crate) error: Option<Error>,
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    entry: Option<Entry>,
}

/// The slab, the groups and the list of connections to write.
#[derive(Debug)]
pub(crate) struct Conns {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
    loop_index: u8,
    policy: SlowConsumer,
    /// Connections with output queued this iteration, written at its end.
    pub(crate) dirty: Vec<u32>,
    /// Connections a handle's or a broadcast's message was dropped for (slow consumers),
    /// for [`super::Handler::on_dropped`].
    pub(crate) dropped: Vec<u32>,
    groups: HashMap<Arc<str>, HashSet<u32>>,
    /// Reused list of broadcast targets.
    targets: Vec<u32>,
    /// Told of every membership that begins or ends here, so that its group's channel
    /// is subscribed while this server has a member.
    backplane: Option<Joined>,
}

impl Conns {
    pub(crate) fn new(loop_index: u8, policy: SlowConsumer, backplane: Option<Joined>) -> Self {
        Conns {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            loop_index,
            policy,
            dirty: Vec::new(),
            dropped: Vec::new(),
            groups: HashMap::new(),
            targets: Vec::new(),
            backplane,
        }
    }

    /// The backplane the server is joined to, if any.
    pub(crate) fn backplane(&self) -> Option<&Joined> {
        self.backplane.as_ref()
    }

    /// Connections on this loop (in their handshake or open).
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn loop_index(&self) -> u8 {
        self.loop_index
    }

    /// Stores a new connection; `None` when the slab is full (16 million slots, so that an
    /// id fits in a `u64`: [`ConnId::to_u64`]).
    pub(crate) fn insert(&mut self, entry: Entry) -> Option<ConnId> {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&i| i < MAX_SLOTS)?;
                self.slots.push(Slot {
                    generation: 0,
                    entry: None,
                });
                index
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.entry = Some(entry);
        self.live += 1;
        Some(ConnId {
            loop_index: self.loop_index,
            index,
            generation: slot.generation,
        })
    }

    /// Removes a connection; its id stops naming anything.
    pub(crate) fn remove(&mut self, index: u32) -> Option<(ConnId, Entry)> {
        let slot = self.slots.get_mut(index as usize)?;
        let entry = slot.entry.take()?;
        let id = ConnId {
            loop_index: self.loop_index,
            index,
            generation: slot.generation,
        };
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        self.live -= 1;
        let backplane = self.backplane.as_ref();
        self.groups.retain(|group, members| {
            if members.remove(&index)
                && let Some(backplane) = backplane
            {
                backplane.leave(group);
            }
            !members.is_empty()
        });
        Some((id, entry))
    }

    /// The id of the connection in slot `index`.
    pub(crate) fn id(&self, index: u32) -> ConnId {
        let generation = self.slots.get(index as usize).map_or(0, |s| s.generation);
        ConnId {
            loop_index: self.loop_index,
            index,
            generation,
        }
    }

    pub(crate) fn entry_mut(&mut self, index: u32) -> Option<&mut Entry> {
        self.slots.get_mut(index as usize)?.entry.as_mut()
    }

    /// The connection `index` if it is still the one of `generation`.
    pub(crate) fn entry_of(&mut self, index: u32, generation: u32) -> Option<&mut Entry> {
        let slot = self.slots.get_mut(index as usize)?;
        if slot.generation != generation {
            return None;
        }
        slot.entry.as_mut()
    }

    fn get(&mut self, id: ConnId) -> Option<&mut Entry> {
        if id.loop_index != self.loop_index {
            return None;
        }
        self.entry_of(id.index, id.generation)
    }

    /// Every slot in use.
    pub(crate) fn indices(&self) -> Vec<u32> {
        (0..self.slots.len() as u32)
            .filter(|&i| self.slots[i as usize].entry.is_some())
            .collect()
    }

    /// Puts `index` on the list of connections to write at the end of the iteration.
    pub(crate) fn mark_dirty(&mut self, index: u32) {
        if let Some(entry) = self.entry_mut(index)
            && !entry.dirty
        {
            entry.dirty = true;
            self.dirty.push(index);
        }
    }

    /// Queues a message on `id` (by `queue`), applying the slow-consumer policy when its
    /// output is at the limit. `notify` puts a dropped message's connection on the
    /// `dropped` list (the sender could not see the result).
    pub(crate) fn deliver(
        &mut self,
        id: ConnId,
        notify: bool,
        queue: impl FnOnce(&mut Driver) -> Result<(), Error>,
    ) -> Result<(), SendError> {
        let policy = self.policy;
        let Some(Entry {
            state: State::Open(driver),
            ..
        }) = self.get(id)
        else {
            return Err(SendError::NotOpen);
        };
        if !driver.ready_to_send() {
            if driver.is_ended() || !driver.connection().state().can_send() {
                return Err(SendError::NotOpen);
            }
            // Open, and its queued output is at the limit: a slow consumer.
            return match policy {
                SlowConsumer::Drop => {
                    if notify {
                        self.dropped.push(id.index);
                    }
                    Err(SendError::Dropped)
                }
                SlowConsumer::Close(code) => {
                    let _ = driver.close(Some(CloseFrame::new(code, "slow consumer")));
                    self.mark_dirty(id.index);
                    Err(SendError::SlowConsumerClosed)
                }
            };
        }
        queue(driver).map_err(SendError::Invalid)?;
        self.mark_dirty(id.index);
        Ok(())
    }

    /// Starts the close handshake of `id`.
    pub(crate) fn close(&mut self, id: ConnId, frame: Option<CloseFrame>) -> Result<(), SendError> {
        let Some(Entry {
            state: State::Open(driver),
            ..
        }) = self.get(id)
        else {
            return Err(SendError::NotOpen);
        };
        driver.close(frame).map_err(SendError::Invalid)?;
        self.mark_dirty(id.index);
        Ok(())
    }

    /// Queues `message` on every open connection (of `group`); returns how many took it.
    /// `except`: a connection to leave out (the sender), if it is one of this loop's.
    pub(crate) fn broadcast(
        &mut self,
        group: Option<&str>,
        except: Option<ConnId>,
        message: &PreparedMessage,
        notify: bool,
    ) -> usize {
        let mut targets = mem::take(&mut self.targets);
        targets.clear();
        match group {
            None => targets.extend(
                self.slots
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| {
                        matches!(
                            s.entry,
                            Some(Entry {
                                state: State::Open(_),
                                ..
                            })
                        )
                    })
                    .map(|(i, _)| i as u32),
            ),
            Some(group) => {
                if let Some(members) = self.groups.get(group) {
                    targets.extend(members.iter().copied());
                }
            }
        }
        let mut sent = 0;
        for &index in &targets {
            let id = self.id(index);
            if Some(id) == except {
                continue;
            }
            let result = self.deliver(id, notify, |driver| {
                driver.send_prepared(message, SendOptions::default())
            });
            sent += usize::from(result.is_ok());
        }
        self.targets = targets;
        sent
    }

    /// Adds `id` to `group`; false if `id` is no open connection of this loop.
    pub(crate) fn join(&mut self, id: ConnId, group: &str) -> bool {
        if !matches!(
            self.get(id),
            Some(Entry {
                state: State::Open(_),
                ..
            })
        ) {
            return false;
        }
        let joined = match self.groups.get_mut(group) {
            Some(members) => members.insert(id.index),
            None => {
                self.groups
                    .insert(Arc::from(group), HashSet::from([id.index]));
                true
            }
        };
        // Once per membership: the backplane counts members, a second join is none.
        if joined && let Some(backplane) = &self.backplane {
            backplane.join(group);
        }
        true
    }

    /// Takes `id` out of `group`.
    pub(crate) fn leave(&mut self, id: ConnId, group: &str) {
        if self.get(id).is_none() {
            return;
        }
        if let Some(members) = self.groups.get_mut(group) {
            let left = members.remove(&id.index);
            if members.is_empty() {
                self.groups.remove(group);
            }
            if left && let Some(backplane) = &self.backplane {
                backplane.leave(group);
            }
        }
    }

    /// Output queued on `id`.
    pub(crate) fn queued_output(&mut self, id: ConnId) -> Option<usize> {
        match self.get(id) {
            Some(Entry {
                state: State::Open(driver),
                ..
            }) => Some(driver.connection().queued_output()),
            _ => None,
        }
    }

    /// The driver of `id` if it is an open connection of this loop.
    pub(crate) fn open_driver(&self, id: ConnId) -> Option<&Driver> {
        if id.loop_index != self.loop_index {
            return None;
        }
        let slot = self.slots.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        match slot.entry.as_ref()?.state {
            State::Open(ref driver) => Some(driver),
            State::Handshake(_) => None,
        }
    }

    /// Members of `group` on this loop.
    pub(crate) fn group_len(&self, group: &str) -> usize {
        self.groups.get(group).map_or(0, HashSet::len)
    }
}
