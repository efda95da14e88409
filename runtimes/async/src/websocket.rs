//! `WebSocket`: one connection over a runtime's transport, and its public API. The core's
//! [`Driver`] decides every step; `drive.rs` carries the steps out through the runtime's
//! [`Io`]. All state lives in the driver, never in a future, so dropping a `recv` or `send`
//! future (e.g. in a `select!`) loses nothing.

use std::future::poll_fn;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use futures_core::Stream;
use futures_sink::Sink;
use ropeway_core::driver::{Driver, Goal, Piece, Step};
use ropeway_core::{CloseFrame, Connection, Error, Message, MessageKind};
use ropeway_core::{PreparedMessage, SendOptions, State};

use crate::drive::Wakeup;
use crate::registry::{ConnectionId, Registration, Registry};
use crate::runtime::Io;

/// A WebSocket connection over a transport `S` of the runtime `R` (a TCP or TLS stream, a
/// hyper upgrade, an in-memory pipe). Applications name it through their binding:
/// `ropeway_tokio::WebSocket<S>` and `ropeway_smol::WebSocket<S>` are this type with the
/// runtime filled in.
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
/// # async fn echo(mut ws: ropeway_tokio::WebSocket<tokio::net::TcpStream>) -> Result<(), ropeway_tokio::Error> {
/// while let Some(message) = ws.recv().await {
///     let message = message?;
///     if message.is_data() {
///         ws.send(message).await?;
///     }
/// }
/// # Ok(()) }
/// ```
pub struct WebSocket<S, R: Io<S>> {
    pub(crate) io: S,
    pub(crate) driver: Driver,
    /// The one timer; boxed and kept only while a deadline is armed.
    pub(crate) wakeup: Option<Box<Wakeup<R>>>,
    /// Its place in a [`Registry`], if it joined one (boxed: most connections never do).
    pub(crate) registration: Option<Box<Registration>>,
    _runtime: PhantomData<fn() -> R>,
}

impl<S, R: Io<S>> std::fmt::Debug for WebSocket<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

impl<S: Unpin, R: Io<S>> WebSocket<S, R> {
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
            wakeup: None,
            registration: None,
            _runtime: PhantomData,
        }
    }

    /// The protocol core, for its state, settings and negotiated extension.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_tokio::{CloseFrame, Message};
    ///
    /// assert_eq!(ws.connection().state(), ropeway_core::State::Open);
    /// assert!(ws.connection().config().keep_alive_interval.is_some()); // on by default
    /// # Ok(()) }
    /// ```
    pub fn connection(&self) -> &Connection {
        self.driver.connection()
    }

    /// The subprotocol the opening handshake agreed on (the one the server chose among the
    /// client's offers), if any.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let incoming = ropeway_tokio::Incoming::read(server_io, &Default::default()).await?;
    /// #     let protocol = incoming.upgrade()?.select_protocol(&["chat.v1"]).map(str::to_owned);
    /// #     let ws = incoming.accept(ropeway_tokio::Accept { protocol, ..Default::default() }).await?;
    /// #     assert_eq!(ws.protocol(), Some("chat.v1"));
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?.protocol("chat.v1");
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// assert_eq!(ws.protocol(), Some("chat.v1"));
    /// # Ok(()) }
    /// ```
    pub fn protocol(&self) -> Option<&str> {
        self.driver.connection().protocol()
    }

    /// The extensions the opening handshake agreed on, with their parameters as the 101
    /// response named them (e.g. `permessage-deflate; server_no_context_takeover`); empty
    /// when none was.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// assert!(ws.extensions().is_empty()); // neither side enabled permessage-deflate
    /// # Ok(()) }
    /// ```
    pub fn extensions(&self) -> &[ropeway_core::extension::ExtensionOffer] {
        self.driver.connection().negotiated_extensions()
    }

    /// Joins `registry` (leaving the one it was in, if any), so that the registry's
    /// [`close`](Registry::close), [`close_all`](Registry::close_all) and
    /// [`shutdown`](Registry::shutdown) reach it; it leaves when it is dropped (its split
    /// halves and their task included). A close the registry asks for is carried out
    /// while anything polls the connection (`recv`, a send, the split task), which `recv`
    /// then reports: the peer's answering close frame, then `None`. See [`Registry`].
    pub fn register(&mut self, registry: &Registry<R>) -> ConnectionId {
        let limit = self.driver.connection().config().limits.max_queued_output;
        let registration = self.registration.insert(Box::new(registry.register(limit)));
        registration.id()
    }

    /// The connection's id in the registry it joined, if any.
    pub fn registry_id(&self) -> Option<ConnectionId> {
        self.registration.as_ref().map(|r| r.id())
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Receives the next message. Returns `None` once the connection has ended (after the
    /// close handshake, or after the error that ended it was returned). Cancellation-safe.
    ///
    /// How a connection ends, as `recv` tells it:
    /// - **The peer closes**: its close frame comes through as `Some(Ok(Message::Close(frame)))`
    ///   (the reply is already on its way, echoing the code), then `None`.
    /// - **This side closes** ([`WebSocket::close`], or a close sent as a message): the
    ///   peer's answering close frame comes through as `Message::Close`, then `None`; a peer
    ///   that never answers ends it after the close timeout with an error, then `None`.
    /// - **Abnormally** (EOF without a close frame, a protocol error, a timeout): one
    ///   `Some(Err(_))` naming what happened, then `None`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_tokio::Message;
    ///
    /// ws.send(Message::text("hello")).await?;
    /// let reply = ws.recv().await.expect("not ended")?;
    /// assert_eq!(reply.as_text(), Some("hello"));
    /// # Ok(()) }
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_tokio::{Message, Piece};
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
    /// # Ok(()) }
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_tokio::{Message, SendOptions};
    ///
    /// // Never compress a secret next to attacker-chosen text (CRIME/BREACH).
    /// ws.send_with(Message::text("token=s3cret"), SendOptions { compress: false }).await?;
    /// assert_eq!(ws.recv().await.expect("echo")?.as_text(), Some("token=s3cret"));
    /// # Ok(()) }
    /// ```
    pub fn send_with(
        &mut self,
        message: Message,
        options: SendOptions,
    ) -> impl Future<Output = Result<(), Error>> + '_ {
        // A closure over the message rather than an `async fn`: a task is as large as its
        // largest await, and this one sits in nearly every receive-and-reply loop.
        let mut unsent = Some(message);
        poll_fn(move |cx| self.poll_send(cx, &mut unsent, options))
    }

    /// Sends a message encoded once for many connections (a broadcast; see
    /// [`PreparedMessage`]) and writes it out.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_tokio::{MessageKind, PreparedMessage};
    ///
    /// // Encoded once; queued on every subscriber's connection by reference.
    /// let news = PreparedMessage::new(MessageKind::Text, "news for everyone".into());
    /// ws.send_prepared(&news).await?;
    /// assert_eq!(ws.recv().await.expect("echo")?.as_text(), Some("news for everyone"));
    /// # Ok(()) }
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_tokio::MessageKind;
    ///
    /// // A message of unknown length, sent as it is produced; `fin` ends it.
    /// for (i, chunk) in ["one ", "two ", "three"].iter().enumerate() {
    ///     ws.send_fragment(MessageKind::Text, chunk.as_bytes(), i == 2).await?;
    /// }
    /// assert_eq!(ws.recv().await.expect("echo")?.as_text(), Some("one two three"));
    /// # Ok(()) }
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
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_tokio::CloseFrame;
    ///
    /// ws.close(Some(CloseFrame::new(1000, "done"))).await?; // waits for the server's close
    /// assert!(ws.recv().await.is_none());
    /// # server.await.unwrap()?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        self.driver.close(frame)?;
        poll_fn(|cx| self.poll_drive(cx, Goal::Closed).map(Step::into_done)).await
    }

    /// Splits the connection into a receiving half and a cloneable sending half that other
    /// tasks can use. A task spawned on the runtime (`tokio::spawn` on the current tokio
    /// runtime, smol's global executor) then drives the connection, so pings are answered and
    /// keep-alive runs whichever half is in use. To drive it on an executor of your own, use
    /// [`WebSocket::split_task`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ropeway_tokio::Error> {
    /// # // An echo server and a client over an in-memory duplex pipe: no network.
    /// # let (client_io, server_io) = tokio::io::duplex(1 << 16);
    /// # let server = tokio::spawn(async move {
    /// #     let mut ws = ropeway_tokio::server::accept(server_io).await?;
    /// #     while let Some(message) = ws.recv().await {
    /// #         let message = message?;
    /// #         if message.is_data() {
    /// #             ws.send(message).await?;
    /// #         }
    /// #     }
    /// #     Ok::<_, ropeway_tokio::Error>(())
    /// # });
    /// # let request = ropeway_tokio::ClientRequest::from_url("ws://localhost/")?;
    /// # let config = ropeway_tokio::ClientConfig::default();
    /// # let (mut ws, _) = ropeway_tokio::client::handshake(client_io, &request, &config).await?;
    /// use ropeway_tokio::Message;
    ///
    /// let (mut reader, writer) = ws.split();
    /// // Another task sends while this one receives; the split's own task answers pings.
    /// let sender = writer.clone();
    /// tokio::spawn(async move { sender.send(Message::text("from another task")).await });
    /// let echoed = reader.recv().await.expect("echo")?;
    /// assert_eq!(echoed.as_text(), Some("from another task"));
    /// writer.close(None).await?;
    /// # Ok(()) }
    /// ```
    pub fn split(self) -> (crate::split::ReadHalf, crate::split::WriteHalf)
    where
        S: Send + 'static,
    {
        let (reader, writer, task) = self.split_task();
        R::spawn(task);
        (reader, writer)
    }

    /// Like [`WebSocket::split`], but returns the task that drives the connection instead
    /// of spawning it: spawn it on any executor. Nothing moves on the connection until it
    /// runs; it completes when the connection has ended.
    pub fn split_task(
        self,
    ) -> (
        crate::split::ReadHalf,
        crate::split::WriteHalf,
        crate::split::SplitTask<S, R>,
    ) {
        crate::split::split_task(self)
    }

    /// Queues a message without writing it.
    pub(crate) fn queue(&mut self, message: Message, options: SendOptions) -> Result<(), Error> {
        self.driver.send(message, options)
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
                Step::Event(ropeway_core::Event::Close(frame)) => {
                    return Poll::Ready(Some(Ok(Inbound::Message(Message::Close(frame)))));
                }
                Step::Ended(error) => return Poll::Ready(error.map(Err)),
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

    /// Ready once a data message may be queued. Fails once the connection has ended.
    pub(crate) fn poll_ready_to_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.driver.ready_to_send() {
            return Poll::Ready(Ok(()));
        }
        self.poll_drive(cx, Goal::SendReady)
            .map(Step::into_send_ready)
    }

    /// Writes everything queued and flushes the transport.
    pub(crate) fn poll_flush_output(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_drive(cx, Goal::Flushed).map(Step::into_done)
    }

    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        self.poll_drive(cx, Goal::Message).map(Step::into_message)
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
                Step::Event(ropeway_core::Event::Close(frame)) => {
                    return Poll::Ready(Some(Ok(Piece::Close(frame))));
                }
                Step::Ended(error) => return Poll::Ready(error.map(Err)),
                _ => {}
            }
        }
    }
}

impl<S: Unpin, R: Io<S>> Stream for WebSocket<S, R> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

impl<S: Unpin, R: Io<S>> Sink<Message> for WebSocket<S, R> {
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
