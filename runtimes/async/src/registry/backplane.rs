//! Groups across servers: a registry joined to a [`Backplane`] publishes every broadcast,
//! group message and message for another server's connection to it, and delivers what
//! other servers publish to its own members ([`LocalDelivery`]).

use std::marker::PhantomData;
use std::sync::{Arc, Weak};

use ropeway_core::PreparedMessage;
use ropeway_core::backplane::{Backplane, GlobalId, LocalDelivery, ServerId, Target};

use super::groups::Local;
use super::{ConnectionId, Registry, Shared};
use crate::runtime::Runtime;

impl<R: Runtime> Registry<R> {
    /// Joins the registry to `backplane`: from now on broadcasts and group messages reach
    /// the members on every server behind it, and [`Registry::send_global`] reaches their
    /// connections. The backplane delivers what other servers publish through
    /// [`Registry::local_delivery`], which it is given when it starts. Returns false (and
    /// changes nothing) if a backplane was attached already.
    ///
    /// Delivery across servers is at most once: what is published while the backplane is
    /// down is lost (the backplane counts it). Delivery on this server never waits on it.
    pub fn attach_backplane(&self, backplane: Arc<dyn Backplane>) -> bool {
        if self.shared.backplane.set(backplane.clone()).is_err() {
            return false;
        }
        // The groups that have members already: the backplane subscribes to them.
        let memberships: Vec<(Arc<str>, usize)> = {
            let state = self.shared.lock();
            state
                .groups
                .iter()
                .map(|(name, members)| (name.clone(), members.len()))
                .collect()
        };
        for (group, members) in memberships {
            for _ in 0..members {
                backplane.join(&group);
            }
        }
        true
    }

    /// Where a backplane delivers what other servers publish: this registry's members.
    /// It holds the registry weakly, so a backplane does not keep it alive.
    pub fn local_delivery(&self) -> Arc<dyn LocalDelivery> {
        Arc::new(WeakRegistry::<R> {
            shared: Arc::downgrade(&self.shared),
            _runtime: PhantomData,
        })
    }

    /// This server's id behind the backplane (the backplane's once one is attached, a
    /// random one before).
    pub fn server_id(&self) -> ServerId {
        match self.shared.backplane.get() {
            Some(backplane) => backplane.server_id(),
            None => self.shared.local_id,
        }
    }

    /// Connection `id`'s address across servers, for [`Registry::send_global`] from any
    /// of them.
    pub fn global_id(&self, id: ConnectionId) -> GlobalId {
        GlobalId {
            server: self.server_id(),
            connection: id.0,
        }
    }

    /// Delivers a message another server published to the members `target` names here.
    fn deliver_from_backplane(&self, target: &Target, message: &PreparedMessage) {
        let here = self.server_id();
        // A connection named by another server's id is not one of ours.
        let local_except =
            |id: &GlobalId| (id.server == here).then_some(ConnectionId(id.connection));
        match target {
            Target::All => {
                self.deliver_local(Local::All { except: None }, message);
            }
            Target::AllExcept(id) => {
                let except = local_except(id);
                self.deliver_local(Local::All { except }, message);
            }
            Target::Group(name) => {
                let local = Local::Group { name, except: None };
                self.deliver_local(local, message);
            }
            Target::GroupExcept(name, id) => {
                let except = local_except(id);
                self.deliver_local(Local::Group { name, except }, message);
            }
            Target::Connection(id) => {
                if id.server == here {
                    self.send(ConnectionId(id.connection), message);
                }
            }
        }
    }
}

/// A registry held weakly, as its backplane holds it.
struct WeakRegistry<R> {
    shared: Weak<Shared>,
    _runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> LocalDelivery for WeakRegistry<R> {
    fn deliver(&self, target: &Target, message: &PreparedMessage) {
        if let Some(shared) = self.shared.upgrade() {
            let registry = Registry::<R> {
                shared,
                _runtime: PhantomData,
            };
            registry.deliver_from_backplane(target, message);
        }
    }
}
