//! The two roles of RFC 6455.

/// Which end of the connection this core is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends masked frames; expects unmasked frames.
    Client,
    /// Sends unmasked frames; expects masked frames; closes the transport first.
    Server,
}
