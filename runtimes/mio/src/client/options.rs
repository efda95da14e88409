//! The blocking client's own settings (the read and write timeouts) and the errors their
//! expiry is reported with. Connect and handshake timeouts are in [`ClientConfig`], shared
//! with the other runtimes.
//!
//! [`ClientConfig`]: ropeway_common::ClientConfig

use std::fmt;
use std::io;
use std::time::Duration;

use ropeway_core::Error;

/// Settings of the blocking client beyond [`ropeway_common::ClientConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// How long one `recv` (or `recv_piece`) may wait for the peer before it returns the
    /// [`Timeout::Read`] error. The connection stays usable: call `recv` again. Default
    /// `None` (wait as long as it takes): a dead peer is still found by the core's keep-alive
    /// (a ping after [`ropeway_core::Config::keep_alive_interval`], the end after
    /// [`ropeway_core::Config::keep_alive_timeout`] without an answer).
    pub read_timeout: Option<Duration>,
    /// How long one write to the socket may block on a full send buffer (a peer that does
    /// not read) before the connection ends with the [`Timeout::Write`] error. A frame half
    /// written cannot be taken back, so this one is final. Default 30 s; `None` waits
    /// forever (then the other half of a split connection may wait as long for its turn).
    pub write_timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            read_timeout: None,
            write_timeout: Some(Duration::from_secs(30)),
        }
    }
}

impl Options {
    /// Sets [`Options::read_timeout`].
    pub fn read_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets [`Options::write_timeout`].
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }
}

/// Which timeout expired: the inner error of an [`Error::Io`] of kind
/// [`io::ErrorKind::TimedOut`]. (Connecting and the opening handshake have their own
/// variants, [`Error::ConnectTimeout`] and [`Error::HandshakeTimeout`].)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// `recv` waited [`Options::read_timeout`] without a message; the connection is still
    /// open.
    Read,
    /// A write blocked for [`Options::write_timeout`]; the connection has ended.
    Write,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Timeout::Read => "the read timeout passed without a message",
            Timeout::Write => "a write blocked longer than the write timeout",
        })
    }
}

impl std::error::Error for Timeout {}

impl Timeout {
    /// Which timeout `error` reports, if it reports one of these two.
    ///
    /// ```
    /// use ropeway_mio::client::Timeout;
    /// let error = Timeout::Read.into_error();
    /// assert_eq!(Timeout::of(&error), Some(Timeout::Read));
    /// ```
    pub fn of(error: &Error) -> Option<Timeout> {
        match error {
            Error::Io(e) if e.kind() == io::ErrorKind::TimedOut => {
                e.get_ref()?.downcast_ref::<Timeout>().copied()
            }
            _ => None,
        }
    }

    /// This timeout as the I/O error the client reports.
    pub fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, self)
    }

    /// This timeout as the error the client reports.
    pub fn into_error(self) -> Error {
        Error::Io(self.into_io())
    }
}
