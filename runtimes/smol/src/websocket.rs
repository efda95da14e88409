//! `WebSocket`: one connection over a futures-io transport. The core's [`Driver`] decides
//! every step; this file only carries the steps out with futures-io reads and writes and one
//! `async_io::Timer`. All state lives in the driver, never in a future, so dropping a `recv`
//! or `send` future (e.g. in `futures_lite::future::or` or a `select!`) loses nothing.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use async_io::Timer;
use bytes::BytesMut;
use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;
use ropeway_core::driver::{Driver, Goal, Next, Piece, READ_SCRATCH, ReadInto};
use ropeway_core::{CloseFrame, Connection, Error, Message, MessageKind};
use ropeway_core::{PreparedMessage, SendOptions, State};

/// Buffers handed to one vectored write.
const WRITE_SLICES: usize = 16;

/// The most of a read buffer's spare capacity one read initializes. futures-io reads into
/// initialized memory only, so the spare room is zeroed before each read; zeroing a large
/// reservation (a 16 MiB frame's) for every read would cost more than the reads. 64 KiB is
/// about what one read of a loopback or LAN socket returns.
const MAX_ZEROED_READ: usize = 64 << 10;

thread_local! {
    /// The scratch reads go into while a connection has nothing buffered (the driver's
    /// [`ReadInto::Scratch`]): one per thread, zeroed once, so an idle connection holds no
    /// buffer and no read pays for initializing memory.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_SCRATCH].into_boxed_slice());
}

/// A WebSocket connection over any futures-io transport (`async_net::TcpStream`, a TLS
/// stream, an `Async<UnixStream>`, an in-memory pipe).
///
/// Receive with [`WebSocket::recv`] (or as a [`Stream`]), send with [`WebSocket::send`] (or
/// as a [`Sink`]). To send from other tasks, [`WebSocket::split`] it.
///
/// # An unsplit `WebSocket` answers pings only while the application is in `recv`
///
/// Nothing runs behind the application's back: pings are answered, keep-alive pings sent,
/// a dead peer noticed and a close handshake finished only while a call on the
/// `WebSocket` waits, which in practice means while the application waits in `recv` (or
/// `recv_piece`). A receive loop needs nothing more. An application that only sends, or
/// stops receiving for longer than the peer's ping timeout (or
/// [`Config::keep_alive_interval`](ropeway_core::Config::keep_alive_interval)), should
/// [`split`](WebSocket::split) it: the split connection's own task then answers and
/// keeps alive whichever half is in use. Once the connection has ended (a dead peer
/// included), `recv` reports why once and every `send` fails.
///
/// # Limits
///
/// What a peer can make this side hold is bounded by the connection's
/// [`Limits`](ropeway_core::Limits) (set through `ServerConfig::core.limits` or
/// `ClientConfig::core.limits`): 16 MiB per frame and per message by default (1009 past
/// them), 1 MiB of queued output (`send` waits past it). See the README's "Limits and
/// timeouts".
///
/// ```no_run
/// # async fn echo(mut ws: ropeway_smol::WebSocket<smol::net::TcpStream>) -> Result<(), ropeway_smol::Error> {
/// while let Some(message) = ws.recv().await {
///     let message = message?;
///     if message.is_data() {
///         ws.send(message).await?;
///     }
/// }
/// # Ok(()) }
/// ```
pub struct WebSocket<S> {
    io: S,
    driver: Driver,
    /// The one timer; boxed and kept only while a deadline is armed.
    timer: Option<Box<Wakeup>>,
}

/// The timer and the deadline it is set for (an `async_io::Timer` does not tell).
struct Wakeup {
    timer: Timer,
    deadline: Instant,
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocket<S> {
    /// Wraps a transport on which the opening handshake is done. `buffered` holds bytes read
    /// past the handshake (the first frames), which are decoded first.
    pub fn from_parts(
        io: S,
        conn: Connection,
        buffered: BytesMut,
        read_buffer_size: usize,
    ) -> Self {
        WebSocket {
            io,
            driver: Driver::new(conn, buffered, read_buffer_size),
            timer: None,
        }
    }

    /// The protocol core, for its state, settings and negotiated extension.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_smol::{CloseFrame, Message};
    ///
    /// assert_eq!(ws.connection().state(), ropeway_core::State::Open);
    /// assert!(ws.connection().config().keep_alive_interval.is_some()); // on by default
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub fn connection(&self) -> &Connection {
        self.driver.connection()
    }

    /// The subprotocol the opening handshake agreed on (the one the server chose among the
    /// client's offers), if any.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let incoming = ropeway_smol::Incoming::read(server_io, &Default::default()).await?;
    /// #     let protocol = incoming.upgrade()?.select_protocol(&["chat.v1"]).map(str::to_owned);
    /// #     let ws = incoming.accept(ropeway_smol::Accept { protocol, ..Default::default() }).await?;
    /// #     assert_eq!(ws.protocol(), Some("chat.v1"));
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?.protocol("chat.v1");
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// assert_eq!(ws.protocol(), Some("chat.v1"));
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub fn protocol(&self) -> Option<&str> {
        self.driver.connection().protocol()
    }

    /// The extensions the opening handshake agreed on, with their parameters as the 101
    /// response named them (e.g. `permessage-deflate; server_no_context_takeover`); empty
    /// when none was.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// assert!(ws.extensions().is_empty()); // neither side enabled permessage-deflate
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub fn extensions(&self) -> &[ropeway_core::extension::ExtensionOffer] {
        self.driver.connection().negotiated_extensions()
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Receives the next message. Returns `None` once the connection has ended (after the
    /// close handshake, or after the error that ended it was returned). Cancellation-safe.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_smol::Message;
    ///
    /// ws.send(Message::text("hello")).await?;
    /// let reply = ws.recv().await.expect("not ended")?;
    /// assert_eq!(reply.as_text(), Some("hello"));
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives the next piece of a message into `buf`, like the reference stack's
    /// `ReceiveAsync` with `EndOfMessage`: a message streams through a buffer of any size
    /// and is never held whole. Pings and pongs are handled and skipped. `None` once the
    /// connection ended. Cancellation-safe. Don't mix with [`WebSocket::recv`] in the middle
    /// of a message.
    ///
    /// The message size limit still applies: streaming saves memory, it does not lift
    /// [`Limits::max_message_size`](ropeway_core::Limits::max_message_size) (16 MiB by
    /// default, counted as the pieces arrive; past it the connection fails with 1009). For
    /// larger messages raise it (and `max_frame_size`, for a peer that sends a message as
    /// one frame) in the config the connection was made with, e.g.
    /// `config.core.limits.max_message_size = 1 << 30;` (the `streaming` example does so).
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_smol::{Message, Piece};
    ///
    /// ws.send(Message::binary(vec![7u8; 100_000])).await?;
    /// let mut buf = [0u8; 4096]; // any size: the message streams through it
    /// let mut total = 0;
    /// while let Some(piece) = ws.recv_piece(&mut buf).await {
    ///     match piece? {
    ///         Piece::Data { len, end_of_message, .. } => {
    ///             total += len; // use buf[..len] here
    ///             if end_of_message {
    ///                 break;
    ///             }
    ///         }
    ///         Piece::Close(_) => break,
    ///     }
    /// }
    /// assert_eq!(total, 100_000);
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub async fn recv_piece(&mut self, buf: &mut [u8]) -> Option<Result<Piece, Error>> {
        poll_fn(|cx| self.poll_recv_piece(cx, buf)).await
    }

    /// Sends a message (or a ping, pong or close) and writes it out. Waits while the queued
    /// output is over its limit, so a peer that never reads cannot grow this side's memory.
    pub fn send(&mut self, message: Message) -> impl Future<Output = Result<(), Error>> + '_ {
        self.send_with(message, SendOptions::default())
    }

    /// Sends with per-message options, e.g. without compression for a message that mixes
    /// secrets with attacker-controlled data.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_smol::{Message, SendOptions};
    ///
    /// // Never compress a secret next to attacker-chosen text (CRIME/BREACH).
    /// ws.send_with(Message::text("token=s3cret"), SendOptions { compress: false }).await?;
    /// assert_eq!(ws.recv().await.expect("echo")?.as_text(), Some("token=s3cret"));
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub fn send_with(
        &mut self,
        message: Message,
        options: SendOptions,
    ) -> impl Future<Output = Result<(), Error>> + '_ {
        // A closure over the message rather than an `async fn`: a task is as large as its
        // largest await, and this one sits in nearly every receive-and-reply loop.
        let mut unsent = Some(message);
        poll_fn(move |cx| {
            if unsent.is_some() {
                ready!(self.poll_ready_to_send(cx))?;
                if let Some(message) = unsent.take() {
                    self.queue(message, options)?;
                }
            }
            self.poll_flush_output(cx)
        })
    }

    /// Sends a message encoded once for many connections (a broadcast; see
    /// [`PreparedMessage`]) and writes it out.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_smol::{MessageKind, PreparedMessage};
    ///
    /// // Encoded once; queued on every subscriber's connection by reference.
    /// let news = PreparedMessage::new(MessageKind::Text, "news for everyone".into());
    /// ws.send_prepared(&news).await?;
    /// assert_eq!(ws.recv().await.expect("echo")?.as_text(), Some("news for everyone"));
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub async fn send_prepared(&mut self, prepared: &PreparedMessage) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready_to_send(cx)).await?;
        self.driver
            .send_prepared(prepared, SendOptions::default())?;
        poll_fn(|cx| self.poll_flush_output(cx)).await
    }

    /// Sends one fragment of a message (see [`Connection::send_fragment`]) and writes it out.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_smol::MessageKind;
    ///
    /// // A message of unknown length, sent as it is produced; `fin` ends it.
    /// for (i, chunk) in ["one ", "two ", "three"].iter().enumerate() {
    ///     ws.send_fragment(MessageKind::Text, chunk.as_bytes(), i == 2).await?;
    /// }
    /// assert_eq!(ws.recv().await.expect("echo")?.as_text(), Some("one two three"));
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready_to_send(cx)).await?;
        self.driver
            .send_fragment(kind, payload, fin, SendOptions::default())?;
        poll_fn(|cx| self.poll_flush_output(cx)).await
    }

    /// Closes the connection: sends a close frame with `code` and `reason`, then receives
    /// (and drops) whatever the peer still sends until its close frame arrives and the
    /// transport ends, or the close timeout passes.
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_smol::CloseFrame;
    ///
    /// ws.close(Some(CloseFrame::new(1000, "done"))).await?; // waits for the server's close
    /// assert!(ws.recv().await.is_none());
    /// # server.await?;
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        self.driver.close(frame)?;
        poll_fn(|cx| self.poll_drive(cx, Goal::Closed))
            .await
            .into_done()
    }

    /// Splits the connection into a receiving half and a cloneable sending half that other
    /// tasks can use. A task spawned on smol's global executor then drives the connection,
    /// so pings are answered and keep-alive runs whichever half is in use. To drive it on
    /// an executor of your own, use [`WebSocket::split_task`].
    ///
    /// ```
    /// # #[cfg(unix)]
    /// # fn main() -> Result<(), ropeway_smol::Error> { smol::block_on(async {
    /// # // An echo server and a client over a Unix socket pair: no network.
    /// # let (client_io, server_io) = smol::net::unix::UnixStream::pair()?;
    /// # let server = smol::spawn(async move {
    /// #     let mut ws = ropeway_smol::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_smol::Error>(())
    /// # });
    /// # let request = ropeway_smol::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_smol::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_smol::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_smol::Message;
    ///
    /// let (mut reader, writer) = ws.split();
    /// // Another task sends while this one receives; the split's own task answers pings.
    /// let sender = writer.clone();
    /// smol::spawn(async move { sender.send(Message::text("from another task")).await }).detach();
    /// let echoed = reader.recv().await.expect("echo")?;
    /// assert_eq!(echoed.as_text(), Some("from another task"));
    /// writer.close(None).await?;
    /// # Ok(()) }) }
    /// # #[cfg(not(unix))]
    /// # fn main() {}
    /// ```
    pub fn split(self) -> (crate::split::ReadHalf, crate::split::WriteHalf)
    where
        S: Send + 'static,
    {
        crate::split::split(self)
    }

    /// Like [`WebSocket::split`], but returns the task that drives the connection instead
    /// of spawning it: spawn it on any executor (`executor.spawn(task).detach()`). Nothing
    /// moves on the connection until it runs.
    pub fn split_task(
        self,
    ) -> (
        crate::split::ReadHalf,
        crate::split::WriteHalf,
        crate::split::SplitTask<S>,
    ) {
        crate::split::split_task(self)
    }

    /// Queues a message without writing it.
    pub(crate) fn queue(&mut self, message: Message, options: SendOptions) -> Result<(), Error> {
        self.driver.send(message, options)
    }

    /// Whether a message is half received (split: the mode switches between messages).
    pub(crate) fn is_mid_message(&self) -> bool {
        self.driver.is_mid_message()
    }

    /// The next piece as the driver hands it over, without a copy (for the split task).
    pub(crate) fn poll_recv_piece_data(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<ropeway_common::Inbound, Error>>> {
        use ropeway_common::Inbound;
        loop {
            if let Some(data) = self.driver.take_piece_data() {
                return Poll::Ready(Some(Ok(Inbound::Piece(data))));
            }
            match ready!(self.poll_drive(cx, Goal::Piece)) {
                Next::Event(ropeway_core::Event::Close(frame)) => {
                    return Poll::Ready(Some(Ok(Inbound::Message(Message::Close(frame)))));
                }
                Next::Ended(error) => return Poll::Ready(error.map(Err)),
                _ => {}
            }
        }
    }

    /// Queues what a write half handed over without writing it.
    pub(crate) fn queue_outbound(&mut self, item: ropeway_common::Outbound) -> Result<(), Error> {
        match item {
            ropeway_common::Outbound::Message(message, options) => self.queue(message, options),
            ropeway_common::Outbound::Fragment { kind, payload, fin } => {
                self.driver
                    .send_fragment(kind, &payload, fin, SendOptions::default())
            }
        }
    }

    /// Nobody can use the connection any more: the driver closes it.
    pub(crate) fn abandon(&mut self) {
        self.driver.handle_abandoned();
    }

    /// Tells the driver whether the application keeps up with what is received.
    pub(crate) fn set_app_behind(&mut self, behind: bool) {
        self.driver.handle_app_behind(behind);
    }

    /// Ready once a data message may be queued. Fails once the connection has ended.
    pub(crate) fn poll_ready_to_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.driver.ready_to_send() {
            return Poll::Ready(Ok(()));
        }
        self.poll_drive(cx, Goal::SendReady)
            .map(Next::into_send_ready)
    }

    /// Writes everything queued and flushes the transport.
    pub(crate) fn poll_flush_output(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_drive(cx, Goal::Flushed).map(Next::into_done)
    }

    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        self.poll_drive(cx, Goal::Message).map(Next::into_message)
    }

    fn poll_recv_piece(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Option<Result<Piece, Error>>> {
        loop {
            if let Some(piece) = self.driver.take_piece(buf) {
                return Poll::Ready(Some(Ok(piece)));
            }
            match ready!(self.poll_drive(cx, Goal::Piece)) {
                Next::Event(ropeway_core::Event::Close(frame)) => {
                    return Poll::Ready(Some(Ok(Piece::Close(frame))));
                }
                Next::Ended(error) => return Poll::Ready(error.map(Err)),
                _ => {}
            }
        }
    }

    /// Carries out the driver's steps towards `goal` until it is reached (a message, an
    /// event, ready, ended) or everything waits.
    pub(crate) fn poll_drive(&mut self, cx: &mut Context<'_>, goal: Goal) -> Poll<Next> {
        self.driver.handle_wakeup();
        loop {
            // The I/O steps own nothing: dropping them needs no call.
            let next = ManuallyDrop::new(self.driver.poll(goal));
            match &*next {
                Next::Wait { .. } => return Poll::Pending,
                Next::Write => self.write(cx),
                Next::Flush => self.flush(cx),
                Next::Read => {
                    if self.read(cx) {
                        // Blocked, and nothing else to do: the driver would say Wait.
                        return Poll::Pending;
                    }
                }
                &Next::Timer(deadline) => self.poll_timer(cx, deadline),
                Next::Shutdown { .. } => match Pin::new(&mut self.io).poll_close(cx) {
                    Poll::Ready(_) => {
                        self.timer = None;
                        self.driver.handle_shutdown();
                    }
                    Poll::Pending => self.driver.handle_write_blocked(now()),
                },
                _ => return Poll::Ready(ManuallyDrop::into_inner(next)),
            }
        }
    }

    /// One write of the queued output; several frames go out at once.
    fn write(&mut self, cx: &mut Context<'_>) {
        let clock = now;
        let io = Pin::new(&mut self.io);
        // futures-io cannot tell whether a transport writes vectored; one that does not
        // writes the first buffer, which is as much as a plain write would.
        let written = if self.driver.transmit_is_contiguous() {
            io.poll_write(cx, self.driver.poll_transmit_with(clock))
        } else {
            // Headers and payloads queued by reference go out in one write.
            let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
            let count = self.driver.poll_transmit_vectored(clock, &mut slices);
            match count {
                // One buffer: a plain write is cheaper in the kernel.
                1 => io.poll_write(cx, &slices[0]),
                _ => io.poll_write_vectored(cx, &slices[..count]),
            }
        };
        match written {
            Poll::Ready(Ok(n)) => {
                if self.driver.handle_written(n) {
                    self.flush(cx);
                }
            }
            Poll::Ready(Err(e)) => self.driver.handle_io_error(e),
            Poll::Pending => self.driver.handle_write_blocked(now()),
        }
    }

    fn flush(&mut self, cx: &mut Context<'_>) {
        match Pin::new(&mut self.io).poll_flush(cx) {
            Poll::Ready(Ok(())) => self.driver.handle_flushed(),
            Poll::Ready(Err(e)) => self.driver.handle_io_error(e),
            Poll::Pending => self.driver.handle_write_blocked(now()),
        }
    }

    /// One read, where the driver says: into the thread's scratch while nothing is buffered
    /// (an idle connection holds no buffer), else into the driver's buffer.
    /// Returns whether it was blocked with nothing else to do (wait now).
    fn read(&mut self, cx: &mut Context<'_>) -> bool {
        let mut io = Pin::new(&mut self.io);
        let result = match self.driver.read_into() {
            ReadInto::Scratch => {
                let read = SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
                    Ok(mut scratch) => read_slice(io.as_mut(), cx, &mut scratch, &mut self.driver),
                    // A transport that polls another connection on this thread from inside
                    // its own read: this read gets a scratch of its own.
                    Err(_) => {
                        let mut own = vec![0; READ_SCRATCH];
                        read_slice(io.as_mut(), cx, &mut own, &mut self.driver)
                    }
                });
                match read {
                    Some(result) => result,
                    None => return false,
                }
            }
            ReadInto::Buffer(buf) => {
                let filled = buf.len();
                let room = match buf.capacity() - filled {
                    0 => READ_SCRATCH,
                    spare => spare.min(MAX_ZEROED_READ),
                };
                buf.resize(filled + room, 0);
                let result = io.poll_read(cx, &mut buf[filled..]);
                let n = match &result {
                    Poll::Ready(Ok(n)) => *n,
                    _ => 0,
                };
                buf.truncate(filled + n);
                result
            }
        };
        match result {
            Poll::Ready(Ok(n)) => {
                self.driver.handle_read(n);
                false
            }
            Poll::Ready(Err(e)) => {
                self.driver.handle_io_error(e);
                false
            }
            Poll::Pending => self.driver.handle_read_blocked(),
        }
    }

    /// Arms the one timer for `deadline` if it has not passed; fires the core's timers if it
    /// has.
    fn poll_timer(&mut self, cx: &mut Context<'_>, deadline: Instant) {
        let now = now();
        if now >= deadline {
            self.driver.handle_timeout(now);
            return;
        }
        let wakeup = match &mut self.timer {
            Some(wakeup) => {
                if wakeup.deadline != deadline {
                    wakeup.timer.set_at(deadline);
                    wakeup.deadline = deadline;
                }
                wakeup
            }
            None => self.timer.insert(Box::new(Wakeup {
                timer: Timer::at(deadline),
                deadline,
            })),
        };
        if Pin::new(&mut wakeup.timer).poll(cx).is_ready() {
            self.driver.handle_timeout(self::now());
        } else {
            self.driver.handle_timer_pending();
        }
    }
}

/// Reads into `scratch` and hands what was read to the driver. `None` when the driver has
/// it; otherwise the result for the caller to report (no bytes: end of stream is reported
/// as a 0-byte read, which the driver takes as such).
fn read_slice<S: AsyncRead>(
    io: Pin<&mut S>,
    cx: &mut Context<'_>,
    scratch: &mut [u8],
    driver: &mut Driver,
) -> Option<Poll<io::Result<usize>>> {
    match io.poll_read(cx, scratch) {
        Poll::Ready(Ok(n)) => {
            driver.handle_read_slice(&scratch[..n]);
            None
        }
        other => Some(other),
    }
}

/// The time, from the clock async-io's timers use.
fn now() -> Instant {
    Instant::now()
}

/// Runs `future` for at most `limit`; `None` if the time ran out first (the future is then
/// dropped).
pub(crate) async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    futures_lite::future::or(async { Some(future.await) }, async {
        Timer::after(limit).await;
        None
    })
    .await
}

/// Reads once from `io`, appending to `buf`; 0 at end of stream. For the opening handshake,
/// whose reads are few and small.
pub(crate) async fn read_buf<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut BytesMut,
) -> io::Result<usize> {
    let mut chunk = [0; 2048];
    let n = futures_lite::AsyncReadExt::read(io, &mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream for WebSocket<S> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Sink<Message> for WebSocket<S> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_ready_to_send(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), Error> {
        self.get_mut().queue(item, SendOptions::default())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_flush_output(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.driver.connection().state() == State::Open {
            this.driver.close(Some(CloseFrame::new(1000, "")))?;
        }
        this.poll_flush_output(cx)
    }
}
