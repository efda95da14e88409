//! A client that reconnects by itself, written once for every async runtime: it connects
//! with [`connect_with`], reads through the open connection, and after each drop sleeps on
//! the runtime's timer until the core's schedule
//! ([`Backoff`]) says to try again, or stops where the
//! core says trying again cannot help.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::SystemTime;

use futures_core::Stream;
use http::Response;
use ropeway_common::{ClientConfig, jitter_entropy};
use ropeway_core::handshake::ClientRequest;
use ropeway_core::reconnect::{
    Backoff, Disconnect, NotSent, Reconnect, ReconnectPolicy, Seen, Watch,
};
use ropeway_core::{CloseFrame, Error, Message, SeededEntropy, SendOptions};

use crate::client::connect_with;
use crate::runtime::Connect;
use crate::websocket::WebSocket;

/// One attempt: TCP, TLS, the opening handshake.
type Attempt<R> = Pin<
    Box<
        dyn Future<Output = Result<(WebSocket<<R as Connect>::Stream, R>, Response<()>), Error>>
            + Send,
    >,
>;

/// A WebSocket client that reconnects after a drop, with exponential backoff and jitter.
///
/// Drive it by calling [`recv`](Self::recv) in a loop: it reports each connection
/// ([`Reconnect::Connected`]: subscribe again there), each message, each drop with the wait
/// before the next attempt ([`Reconnect::Disconnected`]), and the end
/// ([`Reconnect::Stopped`]: a fatal error such as a 403, or
/// [`max_attempts`](ReconnectPolicy::max_attempts) reached), after which it returns
/// `None`. Nothing happens between calls: the waits and attempts run inside `recv`.
///
/// [`send`](Self::send) while no connection is open does not wait and does not buffer: it
/// gives the message back ([`NotSent::Disconnected`]), so the application decides what is
/// still worth sending after the next [`Reconnect::Connected`]. [`close`](Self::close) ends
/// the session for good.
///
/// What counts as fatal, the defaults of the schedule and their caps are the core's:
/// [`ropeway_core::reconnect`].
///
/// ```no_run
/// # async fn run() -> Result<(), ropeway_tokio::Error> {
/// use ropeway_tokio::{Message, Reconnect, Reconnecting};
///
/// let mut client = Reconnecting::from_url("ws://127.0.0.1:5000/ws")?;
/// while let Some(event) = client.recv().await {
///     match event {
///         Reconnect::Connected(_) => {
///             // A new connection: (re)subscribe.
///             let _ = client.send(Message::text("subscribe prices")).await;
///         }
///         Reconnect::Message(message) => println!("< {message:?}"),
///         Reconnect::Disconnected { cause, retry_in, .. } => {
///             eprintln!("dropped ({cause}), again in {retry_in:?}")
///         }
///         Reconnect::Stopped { cause, .. } => eprintln!("giving up: {cause}"),
///     }
/// }
/// # Ok(()) }
/// ```
pub struct Reconnecting<R: Connect> {
    request: ClientRequest,
    config: ClientConfig,
    backoff: Backoff,
    /// For the jitter only: no secret depends on it.
    entropy: SeededEntropy,
    state: State<R>,
    /// The timer of the waits between attempts, made at the first wait and reset after.
    timer: Option<Pin<Box<R::Timer>>>,
}

// Open is where the client spends its life: boxing it would only add an allocation per
// connection to shrink the short-lived states.
#[allow(clippy::large_enum_variant)]
enum State<R: Connect> {
    /// An attempt is under way.
    Connecting(Attempt<R>),
    /// A connection is open; the watch keeps what ended it until it has ended.
    Open(WebSocket<R::Stream, R>, Watch),
    /// Waiting for the timer before the next attempt.
    Waiting,
    /// Gave up, or closed by the application.
    Stopped,
}

impl<R: Connect> Reconnecting<R> {
    /// A client for `request` with `config` for each connection and `policy` for the waits
    /// between them. It starts connecting at the first [`recv`](Self::recv).
    pub fn new(request: ClientRequest, config: ClientConfig, policy: ReconnectPolicy) -> Self {
        let state = State::Connecting(attempt::<R>(request.clone(), config.clone()));
        Reconnecting {
            request,
            config,
            backoff: Backoff::new(policy),
            entropy: jitter_entropy(),
            state,
            timer: None,
        }
    }

    /// A client for `url` (`ws://…` or `wss://…`) with the default settings and schedule.
    pub fn from_url(url: &str) -> Result<Self, Error> {
        Ok(Self::new(
            ClientRequest::from_url(url)?,
            ClientConfig::default(),
            ReconnectPolicy::default(),
        ))
    }

    /// The next event: a connection opened, a message, a drop, or the end. `None` once the
    /// client stopped or was closed. Cancellation-safe: an attempt or a wait that is under way
    /// goes on at the next call.
    pub async fn recv(&mut self) -> Option<Reconnect> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Sends `message` on the open connection. Without one, gives it back at once
    /// ([`NotSent::Disconnected`]); if the connection fails while sending, gives it back with
    /// the error ([`NotSent::Failed`]; the drop itself comes from [`recv`](Self::recv)).
    /// Sending [`Message::Close`] is [`close`](Self::close).
    pub async fn send(&mut self, message: Message) -> Result<(), NotSent> {
        self.send_with(message, SendOptions::default()).await
    }

    /// [`send`](Self::send) with per-message options (e.g. no compression).
    pub async fn send_with(
        &mut self,
        message: Message,
        options: SendOptions,
    ) -> Result<(), NotSent> {
        if let Message::Close(frame) = &message {
            let frame = frame.clone();
            return match self.close(frame).await {
                Ok(()) => Ok(()),
                Err(error) => Err(NotSent::Failed { message, error }),
            };
        }
        let State::Open(ws, _) = &mut self.state else {
            return Err(NotSent::Disconnected(message));
        };
        // A clone is a reference count (`Bytes`): it lets the message come back on failure.
        match ws.send_with(message.clone(), options).await {
            Ok(()) => Ok(()),
            Err(error) => Err(NotSent::Failed { message, error }),
        }
    }

    /// Ends the session: closes the open connection with `frame` (waiting for the server's
    /// answer within the close timeout) and never reconnects. Later calls of
    /// [`recv`](Self::recv) return `None`.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Stopped) {
            State::Open(mut ws, _) => ws.close(frame).await,
            _ => Ok(()),
        }
    }

    /// Whether a connection is open now (its drop may not have been seen yet).
    pub fn is_connected(&self) -> bool {
        matches!(self.state, State::Open(..))
    }

    /// The open connection, for its negotiated subprotocol and extensions. Receive through
    /// [`recv`](Self::recv) only, so that drops are seen.
    pub fn websocket(&self) -> Option<&WebSocket<R::Stream, R>> {
        match &self.state {
            State::Open(ws, _) => Some(ws),
            _ => None,
        }
    }

    /// The schedule, for its failure count and settings.
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// Polls for the next event (see [`recv`](Self::recv)).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Reconnect>> {
        loop {
            match &mut self.state {
                State::Stopped => return Poll::Ready(None),
                State::Waiting => {
                    if let Some(timer) = &mut self.timer {
                        ready!(R::poll_timer(timer.as_mut(), cx));
                    }
                    let attempt = attempt::<R>(self.request.clone(), self.config.clone());
                    self.state = State::Connecting(attempt);
                }
                State::Connecting(attempt) => match ready!(attempt.as_mut().poll(cx)) {
                    Ok((ws, response)) => {
                        self.backoff.connected(R::now());
                        self.state = State::Open(ws, Watch::new());
                        return Poll::Ready(Some(Reconnect::Connected(response)));
                    }
                    Err(error) => {
                        return Poll::Ready(Some(self.dropped(Disconnect::Failed(error))));
                    }
                },
                State::Open(ws, watch) => match watch.recv(ready!(ws.poll_recv(cx))) {
                    Seen::Deliver(message) => {
                        return Poll::Ready(Some(Reconnect::Message(message)));
                    }
                    Seen::ReadOn => {}
                    Seen::Ended(cause) => return Poll::Ready(Some(self.dropped(cause))),
                },
            }
        }
    }

    /// Asks the schedule about `cause`, arms the timer or stops, and says so.
    fn dropped(&mut self, cause: Disconnect) -> Reconnect {
        let (retry_at, event) =
            self.backoff
                .report(cause, R::now(), SystemTime::now(), &mut self.entropy);
        self.state = match retry_at {
            Some(at) => {
                match &mut self.timer {
                    Some(timer) => R::reset_timer(timer.as_mut(), at),
                    None => self.timer = Some(Box::pin(R::timer(at))),
                }
                State::Waiting
            }
            None => State::Stopped,
        };
        event
    }
}

impl<R: Connect> Stream for Reconnecting<R> {
    type Item = Reconnect;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Reconnect>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<R: Connect> std::fmt::Debug for Reconnecting<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Connecting(_) => "connecting",
            State::Open(..) => "open",
            State::Waiting => "waiting",
            State::Stopped => "stopped",
        };
        f.debug_struct("Reconnecting")
            .field("url", &self.request.authority())
            .field("state", &state)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// One connection attempt, owning what it needs.
fn attempt<R: Connect>(request: ClientRequest, config: ClientConfig) -> Attempt<R> {
    Box::pin(async move { connect_with::<R>(request, &config).await })
}
