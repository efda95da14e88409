//! What a server does with a message for a connection that does not read fast enough.

use crate::CloseCode;

/// What a server does with a message for a connection that does not read fast enough:
/// one whose queued output is at its limit (`max_queued_output`, default 1 MiB) when the
/// message is sent to it by a broadcast, a group or another task. Memory per connection
/// stays bounded either way (the limit plus one message); the policy decides who pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SlowConsumer {
    /// Drop the message, count it and tell the sender; the connection stays open. The
    /// default: a chat or ticker where a late message is worth little.
    #[default]
    Drop,
    /// Close the connection with this code (1008 policy violation, 1013 try again later),
    /// reason "slow consumer": a peer that cannot keep up is let go, the way a feed that
    /// must not have gaps would rather lose the subscriber than the message.
    Close(CloseCode),
}
