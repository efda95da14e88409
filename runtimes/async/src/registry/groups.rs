//! Groups and sends from anywhere: any task holding the registry sends to one connection,
//! a group, all or all but one. The frame is encoded once ([`PreparedMessage`]) and queued
//! on every member by reference; each connection's own task writes it out.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ropeway_core::PreparedMessage;
use ropeway_core::backplane::{GlobalId, Target};

use super::member::{Delivery, Mailbox};
use super::{ConnectionId, Registry};
use crate::runtime::Runtime;

/// What became of a message sent to many connections on this server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Connections it was queued on.
    pub queued: usize,
    /// Connections whose output was over its limit, where it was dropped
    /// ([`SlowConsumer::Drop`](ropeway_core::SlowConsumer::Drop)).
    pub dropped: usize,
    /// Connections whose output was over its limit and that are being closed for it
    /// ([`SlowConsumer::Close`](ropeway_core::SlowConsumer::Close)), or were closing already.
    pub closing: usize,
}

impl Delivered {
    fn add(&mut self, delivery: Delivery) {
        match delivery {
            Delivery::Queued => self.queued += 1,
            Delivery::Dropped => self.dropped += 1,
            Delivery::Closing => self.closing += 1,
            Delivery::NotOpen => {}
        }
    }
}

/// Which of this server's connections a message is for.
#[derive(Clone, Copy)]
pub(super) enum Local<'a> {
    All {
        except: Option<ConnectionId>,
    },
    Group {
        name: &'a str,
        except: Option<ConnectionId>,
    },
}

impl<R: Runtime> Registry<R> {
    /// Puts connection `id` in `group`. Returns false if no open connection has that id.
    /// Membership ends when the connection does.
    pub fn join(&self, id: ConnectionId, group: &str) -> bool {
        {
            let mut state = self.shared.lock();
            let super::State { open, groups, .. } = &mut *state;
            let Some(member) = open.get_mut(&id.0) else {
                return false;
            };
            if member.groups.iter().any(|g| &**g == group) {
                return true;
            }
            let name: Arc<str> = match groups.get_key_value(group) {
                Some((name, _)) => name.clone(),
                None => Arc::from(group),
            };
            member.groups.push(name.clone());
            groups
                .entry(name)
                .or_default()
                .insert(id.0, member.mailbox.clone());
        }
        if let Some(backplane) = self.shared.backplane.get() {
            backplane.join(group);
        }
        true
    }

    /// Takes connection `id` out of `group`. Returns false if it was not in it.
    pub fn leave(&self, id: ConnectionId, group: &str) -> bool {
        {
            let mut state = self.shared.lock();
            let Some(member) = state.open.get_mut(&id.0) else {
                return false;
            };
            let Some(at) = member.groups.iter().position(|g| &**g == group) else {
                return false;
            };
            member.groups.swap_remove(at);
            state.leave_group(group, id);
        }
        if let Some(backplane) = self.shared.backplane.get() {
            backplane.leave(group);
        }
        true
    }

    /// The members of `group` on this server, in no particular order.
    pub fn members(&self, group: &str) -> Vec<ConnectionId> {
        let state = self.shared.lock();
        state
            .groups
            .get(group)
            .map(|members| members.keys().map(|&id| ConnectionId(id)).collect())
            .unwrap_or_default()
    }

    /// How many members `group` has on this server.
    pub fn group_len(&self, group: &str) -> usize {
        self.shared.lock().groups.get(group).map_or(0, |m| m.len())
    }

    /// The groups connection `id` is in.
    pub fn groups_of(&self, id: ConnectionId) -> Vec<String> {
        let state = self.shared.lock();
        state.open.get(&id.0).map_or_else(Vec::new, |member| {
            member.groups.iter().map(|g| g.to_string()).collect()
        })
    }

    /// Sends `message` to connection `id` on this server.
    pub fn send(&self, id: ConnectionId, message: &PreparedMessage) -> Delivery {
        let mailbox = self
            .shared
            .lock()
            .open
            .get(&id.0)
            .map(|m| m.mailbox.clone());
        match mailbox {
            Some(mailbox) => self.deliver_one(&mailbox, message),
            None => Delivery::NotOpen,
        }
    }

    /// Sends `message` to a connection on any server behind the backplane (this one
    /// included): [`Registry::global_id`] names it. Without a backplane only this
    /// server's connections are reached. For another server's connection the answer is
    /// [`Delivery::Queued`] once it is handed to the backplane (delivery there is at most
    /// once).
    pub fn send_global(&self, id: GlobalId, message: &PreparedMessage) -> Delivery {
        if id.server == self.server_id() {
            return self.send(ConnectionId(id.connection), message);
        }
        match self.shared.backplane.get() {
            Some(backplane) => {
                backplane.publish(
                    Target::Connection(id),
                    message.kind(),
                    message.payload().clone(),
                );
                Delivery::Queued
            }
            None => Delivery::NotOpen,
        }
    }

    /// Sends `message` to every connection, on every server behind the backplane.
    pub fn broadcast(&self, message: &PreparedMessage) -> Delivered {
        self.publish(Target::All, message);
        self.deliver_local(Local::All { except: None }, message)
    }

    /// Sends `message` to every connection but `except` (usually the sender), on every
    /// server behind the backplane.
    pub fn broadcast_except(&self, except: ConnectionId, message: &PreparedMessage) -> Delivered {
        self.publish(Target::AllExcept(self.global_id(except)), message);
        let except = Some(except);
        self.deliver_local(Local::All { except }, message)
    }

    /// Sends `message` to the members of `group`, on every server behind the backplane.
    pub fn broadcast_to(&self, group: &str, message: &PreparedMessage) -> Delivered {
        self.publish(Target::Group(group.to_owned()), message);
        let local = Local::Group {
            name: group,
            except: None,
        };
        self.deliver_local(local, message)
    }

    /// Sends `message` to the members of `group` but `except` (usually the sender), on
    /// every server behind the backplane.
    pub fn broadcast_to_except(
        &self,
        group: &str,
        except: ConnectionId,
        message: &PreparedMessage,
    ) -> Delivered {
        let target = Target::GroupExcept(group.to_owned(), self.global_id(except));
        self.publish(target, message);
        let local = Local::Group {
            name: group,
            except: Some(except),
        };
        self.deliver_local(local, message)
    }

    /// Messages dropped for slow consumers so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Delivers to this server's connections `local` names.
    pub(super) fn deliver_local(&self, local: Local<'_>, message: &PreparedMessage) -> Delivered {
        let close_by = R::now() + super::SLOW_CONSUMER_CLOSE;
        let policy = self.shared.slow_consumer;
        let mut delivered = Delivered::default();
        {
            let state = self.shared.lock();
            match local {
                Local::All { except } => {
                    for (&id, member) in &state.open {
                        if Some(ConnectionId(id)) != except {
                            delivered.add(member.mailbox.deliver(message, policy, close_by));
                        }
                    }
                }
                Local::Group { name, except } => {
                    for (&id, mailbox) in state.groups.get(name).into_iter().flatten() {
                        if Some(ConnectionId(id)) != except {
                            delivered.add(mailbox.deliver(message, policy, close_by));
                        }
                    }
                }
            }
        }
        self.count_dropped(delivered.dropped);
        delivered
    }

    fn deliver_one(&self, mailbox: &Mailbox, message: &PreparedMessage) -> Delivery {
        let close_by = R::now() + super::SLOW_CONSUMER_CLOSE;
        let delivery = mailbox.deliver(message, self.shared.slow_consumer, close_by);
        if delivery == Delivery::Dropped {
            self.count_dropped(1);
        }
        delivery
    }

    fn count_dropped(&self, dropped: usize) {
        if dropped > 0 {
            self.shared
                .dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
    }

    /// Hands `message` to the backplane for the other servers, if there is one.
    fn publish(&self, target: Target, message: &PreparedMessage) {
        if let Some(backplane) = self.shared.backplane.get() {
            backplane.publish(target, message.kind(), message.payload().clone());
        }
    }
}
