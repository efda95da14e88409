//! The extension negotiated in the opening handshake, with the buffers only it uses.

use bytes::BytesMut;

use crate::extension::Extension;

/// The negotiated extension and its working buffers, boxed as one unit so a connection
/// without an extension carries a single null pointer for all of it.
pub(super) struct Negotiated {
    pub(super) extension: Box<dyn Extension>,
    /// What the extension decoded (e.g. inflated) of the message being received, until it is
    /// handed out.
    pub(super) decoded: BytesMut,
    /// What the extension encoded (e.g. deflated) of the message being sent, until it is
    /// framed.
    pub(super) encoded: BytesMut,
}

impl Negotiated {
    pub(super) fn new(extension: Box<dyn Extension>) -> Self {
        Negotiated {
            extension,
            decoded: BytesMut::new(),
            encoded: BytesMut::new(),
        }
    }

    /// Frees the buffers that hold nothing.
    pub(super) fn shrink(&mut self) {
        if self.decoded.is_empty() {
            self.decoded = BytesMut::new();
        }
        self.encoded = BytesMut::new();
    }
}
