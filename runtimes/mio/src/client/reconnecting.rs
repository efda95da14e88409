//! The blocking client that reconnects by itself: the same schedule and events as the async
//! ones (the core's [`ropeway_core::reconnect`]), with `std::thread::sleep` until the
//! schedule's deadline between attempts.

use std::time::{Instant, SystemTime};

use ropeway_common::{ClientConfig, jitter_entropy};
use ropeway_core::handshake::ClientRequest;
use ropeway_core::reconnect::{
    Backoff, Disconnect, NotSent, Reconnect, ReconnectPolicy, Seen, Watch,
};
use ropeway_core::{CloseFrame, Error, Message, SeededEntropy, SendOptions};

use super::connect::connect_with;
use super::options::Options;
use super::websocket::WebSocket;

/// A blocking WebSocket client that reconnects after a drop, with exponential backoff and
/// jitter.
///
/// [`recv`](Self::recv) blocks until the next event: a connection opened
/// ([`Reconnect::Connected`]: subscribe again there), a message, a drop with the wait before
/// the next attempt ([`Reconnect::Disconnected`]; the next `recv` sleeps it out and
/// connects), or the end ([`Reconnect::Stopped`]: a fatal error such as a 403, or
/// [`max_attempts`](ReconnectPolicy::max_attempts) reached), after which it returns `None`.
///
/// [`send`](Self::send) while no connection is open gives the message back
/// ([`NotSent::Disconnected`]); nothing is buffered. [`close`](Self::close) ends the session.
///
/// ```no_run
/// use ropeway_mio::client::{Message, Reconnect, Reconnecting};
///
/// let mut client = Reconnecting::from_url("ws://127.0.0.1:5000/ws")?;
/// while let Some(event) = client.recv() {
///     match event {
///         Reconnect::Connected(_) => {
///             let _ = client.send(Message::text("subscribe prices"));
///         }
///         Reconnect::Message(message) => println!("< {message:?}"),
///         Reconnect::Disconnected { cause, retry_in, .. } => {
///             eprintln!("dropped ({cause}), again in {retry_in:?}")
///         }
///         Reconnect::Stopped { cause, .. } => eprintln!("giving up: {cause}"),
///     }
/// }
/// # Ok::<(), ropeway_mio::client::Error>(())
/// ```
pub struct Reconnecting {
    request: ClientRequest,
    config: ClientConfig,
    options: Options,
    backoff: Backoff,
    /// For the jitter only: no secret depends on it.
    entropy: SeededEntropy,
    state: State,
}

enum State {
    /// The next attempt is due at this time.
    Waiting(Instant),
    /// A connection is open; the watch keeps what ended it until it has ended.
    Open(WebSocket, Watch),
    /// Gave up, or closed by the application.
    Stopped,
}

impl Reconnecting {
    /// A client for `request`, with `config` and `options` for each connection and `policy`
    /// for the waits between them. It connects at the first [`recv`](Self::recv).
    ///
    /// `options.read_timeout` is not used: `recv` blocks until an event (the core's
    /// keep-alive finds a dead server), so that a timeout is never taken for a drop.
    pub fn new(
        request: ClientRequest,
        config: ClientConfig,
        mut options: Options,
        policy: ReconnectPolicy,
    ) -> Self {
        options.read_timeout = None;
        Reconnecting {
            request,
            config,
            options,
            backoff: Backoff::new(policy),
            entropy: jitter_entropy(),
            state: State::Waiting(Instant::now()),
        }
    }

    /// A client for `url` (`ws://…` or `wss://…`) with the default settings and schedule.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        Ok(Self::new(
            ClientRequest::from_url(url)?,
            ClientConfig::default(),
            Options::default(),
            ReconnectPolicy::default(),
        ))
    }

    /// Blocks until the next event: a connection opened, a message, a drop, or the end.
    /// `None` once the client stopped or was closed.
    pub fn recv(&mut self) -> Option<Reconnect> {
        loop {
            match &mut self.state {
                State::Stopped => return None,
                State::Waiting(at) => {
                    std::thread::sleep(at.saturating_duration_since(Instant::now()));
                    let attempt = connect_with(self.request.clone(), &self.config, self.options);
                    match attempt {
                        Ok((ws, response)) => {
                            self.backoff.connected(Instant::now());
                            self.state = State::Open(ws, Watch::new());
                            return Some(Reconnect::Connected(response));
                        }
                        Err(error) => return Some(self.dropped(Disconnect::Failed(error))),
                    }
                }
                State::Open(ws, watch) => match watch.recv(ws.recv()) {
                    Seen::Deliver(message) => return Some(Reconnect::Message(message)),
                    Seen::ReadOn => {}
                    Seen::Ended(cause) => return Some(self.dropped(cause)),
                },
            }
        }
    }

    /// Sends `message` on the open connection. Without one, gives it back at once
    /// ([`NotSent::Disconnected`]); if the connection fails while sending, gives it back with
    /// the error ([`NotSent::Failed`]; the drop itself comes from [`recv`](Self::recv)).
    /// Sending [`Message::Close`] is [`close`](Self::close).
    pub fn send(&mut self, message: Message) -> Result<(), NotSent> {
        self.send_with(message, SendOptions::default())
    }

    /// [`send`](Self::send) with per-message options (e.g. no compression).
    pub fn send_with(&mut self, message: Message, options: SendOptions) -> Result<(), NotSent> {
        if let Message::Close(frame) = &message {
            let frame = frame.clone();
            return self
                .close(frame)
                .map_err(|error| NotSent::Failed { message, error });
        }
        let State::Open(ws, _) = &mut self.state else {
            return Err(NotSent::Disconnected(message));
        };
        // A clone is a reference count (`Bytes`): it lets the message come back on failure.
        ws.send_with(message.clone(), options)
            .map_err(|error| NotSent::Failed { message, error })
    }

    /// Ends the session: closes the open connection with `frame` (waiting for the server's
    /// answer within the close timeout) and never reconnects.
    pub fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Stopped) {
            State::Open(mut ws, _) => ws.close(frame),
            _ => Ok(()),
        }
    }

    /// Whether a connection is open now (its drop may not have been seen yet).
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Open(..))
    }

    /// The open connection, for its negotiated subprotocol and extensions. Receive through
    /// [`recv`](Self::recv) only, so that drops are seen.
    pub fn websocket(&self) -> Option<&WebSocket> {
        match &self.state {
            State::Open(ws, _) => Some(ws),
            _ => None,
        }
    }

    /// The schedule, for its failure count and settings.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// Asks the schedule about `cause`, sets the next attempt or stops, and says so.
    fn dropped(&mut self, cause: Disconnect) -> Reconnect {
        let (retry_at, event) =
            self.backoff
                .report(cause, Instant::now(), SystemTime::now(), &mut self.entropy);
        self.state = retry_at.map_or(State::Stopped, State::Waiting);
        event
    }
}

impl std::fmt::Debug for Reconnecting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Waiting(_) => "waiting",
            State::Open(..) => "open",
            State::Stopped => "stopped",
        };
        f.debug_struct("Reconnecting")
            .field("url", &self.request.authority())
            .field("state", &state)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}
