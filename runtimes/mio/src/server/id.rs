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

/// Slots per loop: a slot index fits in the 24 bits [`ConnId::to_u64`] gives it.
pub(crate) const MAX_SLOTS: u32 = 1 << 24;

impl ConnId {
    /// The index of the loop that serves the connection.
    pub fn loop_index(self) -> usize {
        usize::from(self.loop_index)
    }

    /// The id as one number, unique on its server for as long as the slot's generation
    /// does not wrap (4 billion connections in one slot): the loop in the top 8 bits, the
    /// slot in the next 24, the generation in the low 32. The connection part of a
    /// [`GlobalId`](ropeway_core::backplane::GlobalId) (see
    /// [`super::Context::global_id`]).
    pub fn to_u64(self) -> u64 {
        (u64::from(self.loop_index) << 56)
            | (u64::from(self.index & (MAX_SLOTS - 1)) << 32)
            | u64::from(self.generation)
    }

    /// The id [`to_u64`](Self::to_u64) made `n` from. Any number reads as some id; one
    /// that names no connection of this server is dropped where it is used, as an id kept
    /// after its connection ended is.
    pub fn from_u64(n: u64) -> ConnId {
        ConnId {
            loop_index: (n >> 56) as u8,
            index: ((n >> 32) as u32) & (MAX_SLOTS - 1),
            generation: n as u32,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_u64() {
        for (loop_index, index, generation) in
            [(0, 0, 0), (255, MAX_SLOTS - 1, u32::MAX), (3, 70_000, 12)]
        {
            let id = ConnId {
                loop_index,
                index,
                generation,
            };
            assert_eq!(ConnId::from_u64(id.to_u64()), id);
        }
        let a = ConnId {
            loop_index: 1,
            index: 2,
            generation: 3,
        };
        let b = ConnId {
            loop_index: 1,
            index: 3,
            generation: 2,
        };
        assert_ne!(a.to_u64(), b.to_u64());
    }
}
