//! Explicit limits on everything the core buffers on behalf of the network.

/// Limits on what a peer can make the core hold. The defaults are safe for a server on the
/// internet; raise them for trusted peers that send large messages.
///
/// ```
/// use ropeway_core::Limits;
///
/// // A service that receives uploads up to 100 MiB (streamed with `recv_piece`, or whole):
/// let limits = Limits {
///     max_frame_size: 100 << 20,
///     max_message_size: 100 << 20,
///     ..Limits::DEFAULT
/// };
/// assert_eq!(limits.max_queued_output, 1 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame payload accepted (1009 when exceeded). Default 16 MiB.
    pub max_frame_size: usize,
    /// Largest message accepted, counted after decompression (1009 when exceeded).
    /// Default 16 MiB.
    pub max_message_size: usize,
    /// Largest HTTP head of the opening handshake (431 when exceeded). Default 8 KiB.
    pub max_handshake_size: usize,
    /// Most header fields in the opening handshake (431 when exceeded). Default 64.
    pub max_handshake_headers: usize,
    /// Output queued but not yet written at which sends are refused, so a peer that never
    /// reads cannot grow the sender's memory. A message is accepted whole when the queue is
    /// under the limit as it starts. Default 1 MiB.
    pub max_queued_output: usize,
}

impl Limits {
    /// The defaults.
    pub const DEFAULT: Limits = Limits {
        max_frame_size: 16 << 20,
        max_message_size: 16 << 20,
        max_handshake_size: 8 << 10,
        max_handshake_headers: 64,
        max_queued_output: 1 << 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
