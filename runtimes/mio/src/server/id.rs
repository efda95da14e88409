//! Connection ids: how the application names a connection, on its loop or from elsewhere.

use std::fmt;

/// A connection of a [`super::Server`]: its loop, its slot on the loop and the slot's
/// generation, so an id kept after its connection ended never reaches the connection that
/// reuses the slot. Cheap to copy, hash and send across threads.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub(crate) loop_index: u8,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl ConnId {
    /// The index of the loop that serves the connection.
    pub fn loop_index(self) -> usize {
        usize::from(self.loop_index)
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ConnId({}:{}.{})",
            self.loop_index, self.index, self.generation
        )
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}.{}", self.loop_index, self.index, self.generation)
    }
}
