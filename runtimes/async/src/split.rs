//! `split()`: a receiving half and a cloneable sending half, with one task driving the
//! connection for both (answering pings, sending keep-alive pings, writing what senders
//! queue). Senders wait while the queued output is over its limit, so the channel and the
//! core's output together bound the memory a slow peer can hold.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use futures_channel::{mpsc, oneshot};
use futures_core::Stream;
use ropeway_common::{Inbound, Outbound, ReadState, Step, TrySendError};
use ropeway_core::driver::{Forward, Goal, Piece, SplitPolicy};
use ropeway_core::{Bytes, CloseFrame, Error, Message, MessageKind, SendOptions};

use crate::runtime::Io;
use crate::websocket::WebSocket;

/// Messages received but not yet taken by the read half: the driver stops reading from the
/// transport when this many wait (backpressure towards the peer).
const INBOUND_QUEUE: usize = 16;
/// Messages handed to the write half but not yet taken by the driver.
const OUTBOUND_QUEUE: usize = 16;

/// The receiving half of a split connection.
#[derive(Debug)]
pub struct ReadHalf {
    rx: mpsc::Receiver<Result<Inbound, Error>>,
    /// Tells the driving task to hand out pieces (`recv_piece`) rather than messages.
    pieces: Arc<AtomicBool>,
    state: ReadState,
    /// Dropped with the read half, which the driving task notices even while it waits on
    /// the transport.
    _alive: oneshot::Receiver<Infallible>,
}

impl ReadHalf {
    /// Receives the next message; `None` once the connection has ended. Cancellation-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives the next piece of a message into `buf`, as
    /// [`WebSocket::recv_piece`](crate::WebSocket::recv_piece) does: a message of any size
    /// (up to [`Limits::max_message_size`](ropeway_core::Limits::max_message_size), which
    /// still applies; raise it for larger messages) streams through a buffer of any size,
    /// without the whole message ever being held. Pings and pongs are skipped. `None` once
    /// the connection has ended. Cancellation-safe. Switch between this and
    /// [`ReadHalf::recv`] only between messages.
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
    /// let (mut reader, writer) = ws.split();
    /// writer.send(Message::binary(vec![1u8; 50_000])).await?;
    /// let mut buf = [0u8; 8192];
    /// let mut total = 0;
    /// while let Some(piece) = reader.recv_piece(&mut buf).await {
    ///     let Piece::Data { len, end_of_message, .. } = piece? else { break };
    ///     total += len;
    ///     if end_of_message {
    ///         break;
    ///     }
    /// }
    /// assert_eq!(total, 50_000);
    /// # Ok(()) }
    /// ```
    pub async fn recv_piece(&mut self, buf: &mut [u8]) -> Option<Result<Piece, Error>> {
        std::future::poll_fn(|cx| self.poll_recv_piece(cx, buf)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        self.pieces.store(false, Ordering::Relaxed);
        if let Some(message) = self.state.rest_as_message() {
            return Poll::Ready(Some(message));
        }
        loop {
            let Some(item) = ready!(Pin::new(&mut self.rx).poll_next(cx)) else {
                return Poll::Ready(None);
            };
            if let Step::Ready(message) = self.state.message(item) {
                return Poll::Ready(Some(message));
            }
        }
    }

    fn poll_recv_piece(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Option<Result<Piece, Error>>> {
        self.pieces.store(true, Ordering::Relaxed);
        loop {
            if let Some(piece) = self.state.take_rest(buf) {
                return Poll::Ready(Some(Ok(piece)));
            }
            let Some(item) = ready!(Pin::new(&mut self.rx).poll_next(cx)) else {
                return Poll::Ready(None);
            };
            if let Step::Ready(piece) = self.state.piece(item) {
                return Poll::Ready(Some(piece));
            }
        }
    }
}

impl Stream for ReadHalf {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_recv(cx)
    }
}

/// The sending half of a split connection: clone it to send from other tasks (the
/// reference stack's "background service writes to the socket" pattern).
#[derive(Clone, Debug)]
pub struct WriteHalf {
    tx: async_channel::Sender<Outbound>,
}

impl WriteHalf {
    /// Queues a message for the driver to send; waits while the connection's output is over
    /// its limit. Fails with [`Error::Closed`] once the connection has ended.
    pub async fn send(&self, message: Message) -> Result<(), Error> {
        self.send_with(message, SendOptions::default()).await
    }

    /// [`WriteHalf::send`] with per-message options (e.g. no compression).
    pub async fn send_with(&self, message: Message, options: SendOptions) -> Result<(), Error> {
        message.check()?;
        self.tx
            .send(Outbound::Message(message, options))
            .await
            .map_err(|_| Error::Closed)
    }

    /// Queues a message without waiting, for fan-out: a broadcast loop that meets a full
    /// queue (a subscriber that is behind) gets the message back in
    /// [`TrySendError::Full`] and decides (drop it, retry later, disconnect the subscriber)
    /// instead of stalling every other subscriber. [`TrySendError::Closed`] once the
    /// connection has ended. A message that breaks the protocol's rules (e.g. a ping payload
    /// over 125 bytes) comes back in [`TrySendError::Invalid`].
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
    /// use ropeway_tokio::{Message, TrySendError};
    ///
    /// let (mut reader, writer) = ws.split();
    /// // A broadcast loop: never wait on one subscriber.
    /// match writer.try_send(Message::text("tick")) {
    ///     Ok(()) => {}
    ///     Err(TrySendError::Full(_message)) => { /* drop it, or drop the subscriber */ }
    ///     Err(e) => return Err(ropeway_tokio::Error::Closed).inspect_err(|_| drop(e)),
    /// }
    /// assert_eq!(reader.recv().await.expect("echo")?.as_text(), Some("tick"));
    /// # Ok(()) }
    /// ```
    pub fn try_send(&self, message: Message) -> Result<(), TrySendError> {
        if let Err(e) = message.check() {
            return Err(TrySendError::Invalid(message, e));
        }
        self.tx
            .try_send(Outbound::Message(message, SendOptions::default()))
            .map_err(|e| match e {
                async_channel::TrySendError::Full(item) => TrySendError::Full(item.into_message()),
                async_channel::TrySendError::Closed(item) => {
                    TrySendError::Closed(item.into_message())
                }
            })
    }

    /// Queues one fragment of a message being streamed (see
    /// [`WebSocket::send_fragment`](crate::WebSocket::send_fragment)): `fin` ends the
    /// message. Waits while the queue is full. Other senders' messages must not start while a
    /// fragmented message is being sent from one write half (the driver refuses them with a
    /// usage error, logged): stream from one task at a time.
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
    /// let (mut reader, writer) = ws.split();
    /// writer.send_fragment(MessageKind::Binary, &[1, 2], false).await?;
    /// writer.send_fragment(MessageKind::Binary, &[3], true).await?;
    /// assert_eq!(&reader.recv().await.expect("echo")?.into_data()[..], &[1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub async fn send_fragment(
        &self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        let payload = Bytes::copy_from_slice(payload);
        self.tx
            .send(Outbound::Fragment { kind, payload, fin })
            .await
            .map_err(|_| Error::Closed)
    }

    /// Starts the close handshake; the read half sees the peer's close and then its end.
    pub async fn close(&self, frame: Option<CloseFrame>) -> Result<(), Error> {
        self.send(Message::Close(frame)).await
    }

    /// Whether the connection has ended.
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
    /// let (mut reader, writer) = ws.split();
    /// writer.close(None).await?;
    /// while let Some(item) = reader.recv().await {
    ///     item?; // the server's close, then the end
    /// }
    /// assert!(writer.is_closed());
    /// assert!(writer.send(ropeway_tokio::Message::text("late")).await.is_err());
    /// # Ok(()) }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

pub(crate) fn split_task<S, R: Io<S>>(
    ws: WebSocket<S, R>,
) -> (ReadHalf, WriteHalf, SplitTask<S, R>) {
    // A bounded futures channel holds `buffer` plus one message per sender; the task is the
    // only sender.
    let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE - 1);
    let (outbound_tx, outbound_rx) = async_channel::bounded(OUTBOUND_QUEUE);
    let (alive_tx, alive_rx) = oneshot::channel();
    let pieces = Arc::new(AtomicBool::new(false));
    let task = SplitTask {
        ws,
        inbound: inbound_tx,
        reader_dropped: alive_tx,
        outbound: Box::pin(outbound_rx),
        pieces: pieces.clone(),
        policy: SplitPolicy::new(),
    };
    let reader = ReadHalf {
        rx: inbound_rx,
        _alive: alive_rx,
        pieces,
        state: ReadState::default(),
    };
    (reader, WriteHalf { tx: outbound_tx }, task)
}

/// The task that drives a split connection: moves messages between the halves' channels
/// and the driver, which decides everything else. [`WebSocket::split`] spawns it on the
/// runtime; [`WebSocket::split_task`] hands it over to be spawned on any executor.
/// It completes when the connection has ended.
#[must_use = "nothing moves on a split connection until its task runs"]
pub struct SplitTask<S, R: Io<S>> {
    ws: WebSocket<S, R>,
    inbound: mpsc::Sender<Result<Inbound, Error>>,
    /// Set by the read half: hand out pieces rather than messages.
    pieces: Arc<AtomicBool>,
    /// What to do with the channels: the core's decisions.
    policy: SplitPolicy,
    /// Canceled once the read half is dropped. `inbound` alone cannot tell: dropping the
    /// receiver does not wake a task that waits on the socket.
    reader_dropped: oneshot::Sender<Infallible>,
    /// Pinned: an async-channel receiver is not `Unpin`.
    outbound: Pin<Box<async_channel::Receiver<Outbound>>>,
}

impl<S, R: Io<S>> std::fmt::Debug for SplitTask<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplitTask")
            .field("ws", &self.ws)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<S: Unpin, R: Io<S>> Future for SplitTask<S, R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().poll_task(cx)
    }
}

impl<S: Unpin, R: Io<S>> SplitTask<S, R> {
    /// Ready when the connection has ended. What to do with the channels is the core's
    /// [`SplitPolicy`]; this only polls them and the connection.
    fn poll_task(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.policy.serves_reader() && self.reader_dropped.poll_canceled(cx).is_ready() {
                self.policy.handle_reader_gone(&mut self.ws.driver);
            }
            let took = self.take_outbound(cx);
            if self.policy.serves_reader() {
                match self.inbound.poll_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        self.policy.handle_reader_room(&mut self.ws.driver, true)
                    }
                    Poll::Ready(Err(_)) => self.policy.handle_reader_gone(&mut self.ws.driver),
                    Poll::Pending => self.policy.handle_reader_room(&mut self.ws.driver, false),
                }
            }
            match self.poll_inbound(cx) {
                Poll::Ready(Some(item)) => match self.policy.forward(item.is_err()) {
                    Forward::ToReader => {
                        let _ = self.inbound.start_send(item);
                    }
                    Forward::CloseSendersThenToReader => {
                        self.outbound.close();
                        let _ = self.inbound.start_send(item);
                    }
                    Forward::CloseSenders => {
                        self.outbound.close();
                    }
                    Forward::Drop => {}
                },
                Poll::Ready(None) => {
                    // Refuse sends before the read half can see the end: once the end is
                    // reported on either half, every send reports it.
                    self.outbound.close();
                    self.inbound.close_channel();
                    return Poll::Ready(());
                }
                Poll::Pending if !took => return Poll::Pending,
                Poll::Pending => {}
            }
        }
    }

    /// The next item for the read half: a message, or a piece while the read half asks for
    /// pieces (the policy switches between messages only).
    fn poll_inbound(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Inbound, Error>>> {
        let pieces_wanted = self.pieces.load(Ordering::Relaxed);
        if self.policy.reader_goal(&self.ws.driver, pieces_wanted) == Goal::Message {
            return self
                .ws
                .poll_recv(cx)
                .map(|item| item.map(|r| r.map(Inbound::Message)));
        }
        let item = ready!(self.ws.poll_recv_piece_data(cx));
        if let Some(Ok(Inbound::Piece(data))) = &item {
            self.policy.handle_piece(data.message_end);
        }
        Poll::Ready(item)
    }

    /// Moves queued messages into the connection while it has room. Whether any moved.
    fn take_outbound(&mut self, cx: &mut Context<'_>) -> bool {
        let mut took = false;
        while self.policy.takes_from_writers()
            && matches!(self.ws.poll_ready_to_send(cx), Poll::Ready(Ok(())))
        {
            match self.outbound.as_mut().poll_next(cx) {
                Poll::Ready(Some(item)) => {
                    if let Err(e) = self.ws.queue_outbound(item) {
                        tracing::debug!("dropped a message the connection refused: {e}");
                    }
                    took = true;
                }
                Poll::Ready(None) => self.policy.handle_writers_gone(&mut self.ws.driver),
                Poll::Pending => break,
            }
        }
        took
    }
}
