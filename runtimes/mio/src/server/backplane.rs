//! Groups across servers: a server joined to a backplane (see
//! [`super::Server::with_backplane`]) publishes its broadcasts for the other servers, tells
//! the backplane which groups have members here, and delivers what other servers publish
//! through its [`Handle`], which is the server's
//! [`LocalDelivery`](ropeway_core::backplane::LocalDelivery).
//!
//! A connection's number in a [`GlobalId`] is its [`ConnId::to_u64`].

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use ropeway_core::PreparedMessage;
use ropeway_core::backplane::{Backplane, GlobalId, LocalDelivery, ServerId, Target};

use super::handle::{Handle, HandleError};
use super::id::ConnId;

/// The backplane a server is joined to.
#[derive(Clone)]
pub(crate) struct Joined(pub(crate) Arc<dyn Backplane>);

impl fmt::Debug for Joined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Backplane({})", self.0.server_id())
    }
}

impl Deref for Joined {
    type Target = dyn Backplane;

    fn deref(&self) -> &(dyn Backplane + 'static) {
        &*self.0
    }
}

impl Joined {
    /// `id` as the other servers name it.
    pub(crate) fn global(&self, id: ConnId) -> GlobalId {
        GlobalId {
            server: self.server_id(),
            connection: id.to_u64(),
        }
    }

    /// The connection `id` names if it is one of this server's.
    pub(crate) fn local(&self, id: &GlobalId) -> Option<ConnId> {
        local(self.server_id(), id)
    }
}

fn local(me: ServerId, id: &GlobalId) -> Option<ConnId> {
    (id.server == me).then(|| ConnId::from_u64(id.connection))
}

/// What another server published, handed to this server's loops through their queues
/// (never published again: that would echo between servers). A loop whose queue is full
/// misses it, as it misses a [`Handle::broadcast`]; it is logged.
impl LocalDelivery for Handle {
    fn deliver(&self, target: &Target, message: &PreparedMessage) {
        let Some(backplane) = self.backplane() else {
            return;
        };
        let me = backplane.server_id();
        let result = match target {
            Target::All => self.broadcast_local(None, None, message),
            Target::AllExcept(except) => self.broadcast_local(None, local(me, except), message),
            Target::Group(group) => self.broadcast_local(Some(group), None, message),
            Target::GroupExcept(group, except) => {
                self.broadcast_local(Some(group), local(me, except), message)
            }
            Target::Connection(id) => match local(me, id) {
                Some(id) => self.send_prepared(id, message),
                None => Ok(()),
            },
        };
        match result {
            Ok(()) | Err(HandleError::Stopped) => {}
            Err(error) => tracing::warn!(
                ?target,
                %error,
                "a message from the backplane missed loops whose queues were full"
            ),
        }
    }
}
