//! The connection's states, named as in RFC 6455 §4 and §7, with every transition in one
//! place for both roles.

/// Where the connection stands in its life after the opening handshake.
///
/// ```
/// use ropeway_core::State;
///
/// assert!(State::Open.can_send() && State::Open.can_receive());
/// assert!(!State::ClosingLocal.can_send() && State::ClosingLocal.can_receive());
/// assert!(!State::Closed.can_receive());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Data flows both ways.
    Open,
    /// This end sent a close frame and waits for the peer's.
    ClosingLocal,
    /// The peer sent a close frame; this end's reply is queued but not yet transmitted.
    ClosingRemote,
    /// Both close frames have been exchanged (or the connection failed): no more frames.
    Closed,
}

impl State {
    /// The state after this end queues its close frame.
    pub(crate) fn on_close_sent(self) -> State {
        match self {
            State::Open => State::ClosingLocal,
            State::ClosingRemote | State::ClosingLocal | State::Closed => self,
        }
    }

    /// The state after the queued reply to the peer's close has been transmitted.
    pub(crate) fn on_close_transmitted(self) -> State {
        match self {
            State::ClosingRemote => State::Closed,
            other => other,
        }
    }

    /// The state after the peer's close frame arrives.
    pub(crate) fn on_close_received(self) -> State {
        match self {
            State::Open => State::ClosingRemote,
            State::ClosingLocal => State::Closed,
            State::ClosingRemote | State::Closed => self,
        }
    }

    /// Whether this end may still send data, pings and pongs.
    pub fn can_send(self) -> bool {
        self == State::Open
    }

    /// Whether frames from the peer are still expected.
    pub fn can_receive(self) -> bool {
        matches!(self, State::Open | State::ClosingLocal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_close_then_remote_close() {
        let s = State::Open.on_close_sent();
        assert_eq!(s, State::ClosingLocal);
        assert!(s.can_receive() && !s.can_send());
        assert_eq!(s.on_close_received(), State::Closed);
    }

    #[test]
    fn remote_close_then_reply() {
        let s = State::Open.on_close_received();
        assert_eq!(s, State::ClosingRemote);
        assert!(!s.can_receive());
        assert_eq!(s.on_close_sent(), State::ClosingRemote);
        assert_eq!(s.on_close_transmitted(), State::Closed);
    }
}
