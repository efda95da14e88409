//! `WebSocket`: one connection, driven by the calls the application makes on it.
//!
//! The drive loop is the core's: read → `recv` until it needs input → write what the core
//! queued → sleep until `poll_timeout`. Every step keeps its state in the `WebSocket`, never
//! in a future, so dropping a `recv` or `send` future (e.g. in `tokio::select!`) loses
//! nothing.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use futures_core::Stream;
use futures_sink::Sink;
use ropeway_core::{
    Assembler, CloseFrame, Connection, ConnectionError, Data, Event, Message, MessageKind,
    SendOptions, State,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::error::Error;

/// Buffers handed to one vectored write.
const WRITE_SLICES: usize = 16;

/// Bytes read at once into the stack while the read buffer is empty, so a connection that
/// waits for data holds no buffer of its own. Large enough that a 16 KiB message arrives in
/// one read; small next to a thread's stack (2 MiB for tokio's workers).
const IDLE_READ_SCRATCH: usize = 32 << 10;

/// A read at least this large switches to reading straight into a heap buffer: copying out
/// of the stack then costs more than the allocation that a read finding nothing wastes.
const DIRECT_READ_MIN: usize = 4 << 10;

/// `len` in KiB, rounded up, saturating at 255.
fn kib(len: usize) -> u8 {
    u8::try_from(len.div_ceil(1024)).unwrap_or(u8::MAX)
}

/// A WebSocket connection over any tokio transport (`TcpStream`, a TLS stream, a hyper
/// upgrade, an in-memory duplex).
///
/// Receive with [`WebSocket::recv`] (or as a [`Stream`]), send with [`WebSocket::send`] (or
/// as a [`Sink`]). Pings are answered and keep-alive pings sent while the application
/// receives; to send from other tasks, [`WebSocket::split`] it.
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
pub struct WebSocket<S> {
    io: S,
    conn: Connection,
    read_buf: BytesMut,
    /// How much to read at once; a `u32` (up to 4 GiB) packs next to the flags below.
    read_buffer_size: u32,
    assembler: Assembler,
    /// A piece of a message handed out partly by `recv_piece`. Boxed, like `ending`: rarely
    /// present, and every connection's task carries this struct for its whole life.
    piece: Option<Box<Data>>,
    sleep: Option<Pin<Box<Sleep>>>,
    /// The error that ends the connection, held until the close frame answering it is out.
    ending: Option<Box<Error>>,
    /// The end was reported (or is being reported): report `None` from now on.
    finished: bool,
    /// The transport has been shut down.
    shut_down: bool,
    /// The peer stopped reading or vanished: nothing more is waited for on its behalf.
    peer_gone: bool,
    /// KiB to read straight into a heap buffer while large frames keep arriving (0: read
    /// into the stack first). One byte, so the struct does not grow.
    direct_read_kib: u8,
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("conn", &self.conn)
            .field("buffered", &self.read_buf.len())
            .finish_non_exhaustive()
    }
}

/// What [`WebSocket::recv_piece`] put into the caller's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// `len` bytes of a text or binary message; `end_of_message` on its last piece.
    Data {
        /// Text or binary.
        kind: MessageKind,
        /// Bytes written to the buffer.
        len: usize,
        /// This piece ends the message.
        end_of_message: bool,
    },
    /// The peer closed the connection.
    Close(Option<CloseFrame>),
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
            conn,
            read_buf: buffered,
            read_buffer_size: read_buffer_size.clamp(256, u32::MAX as usize) as u32,
            assembler: Assembler::new(),
            piece: None,
            sleep: None,
            ending: None,
            finished: false,
            shut_down: false,
            peer_gone: false,
            direct_read_kib: 0,
        }
    }

    /// The protocol core, for its state, settings and negotiated extension.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Receives the next message. Returns `None` once the connection has ended (after the
    /// close handshake, or after the error that ended it was returned). Cancellation-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Receives the next piece of a message into `buf`, like the reference stack's
    /// `ReceiveAsync` with `EndOfMessage`: a message of any size streams through a buffer of
    /// any size. Pings and pongs are handled and skipped. `None` once the connection ended.
    /// Cancellation-safe. Don't mix with [`WebSocket::recv`] in the middle of a message.
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
    pub fn send_with(
        &mut self,
        message: Message,
        options: SendOptions,
    ) -> impl Future<Output = Result<(), Error>> + '_ {
        // A closure over the message rather than an `async fn`: a task is as large as its
        // largest await, and this one sits in nearly every receive-and-reply loop (168 bytes
        // as nested `async fn`s, the message and a pointer as this).
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

    /// Sends one fragment of a message (see [`Connection::send_fragment`]) and writes it out.
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready_to_send(cx)).await?;
        self.conn.send_fragment(kind, payload, fin)?;
        poll_fn(|cx| self.poll_flush_output(cx)).await
    }

    /// Closes the connection: sends a close frame with `code` and `reason`, then receives
    /// (and drops) whatever the peer still sends until its close frame arrives and the
    /// transport ends, or the close timeout passes.
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> Result<(), Error> {
        self.conn.close(frame)?;
        while let Some(message) = self.recv().await {
            match message {
                Ok(_) => {}
                Err(Error::Connection(ConnectionError::CloseTimeout)) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Splits the connection into a receiving half and a cloneable sending half that other
    /// tasks can use. A task spawned on the current tokio runtime then drives the connection,
    /// so pings are answered and keep-alive runs whichever half is in use.
    pub fn split(self) -> (crate::split::ReadHalf, crate::split::WriteHalf)
    where
        S: Send + 'static,
    {
        crate::split::split(self)
    }

    /// Queues a message without writing it.
    pub(crate) fn queue(&mut self, message: Message, options: SendOptions) -> Result<(), Error> {
        crate::spare_output::lend_to(&mut self.conn);
        match message {
            // By reference: a large payload (an echo of what arrived) is written without a copy.
            Message::Text(text) => {
                self.conn
                    .send_bytes_with(MessageKind::Text, text.into_bytes(), options)?
            }
            Message::Binary(bytes) => {
                self.conn
                    .send_bytes_with(MessageKind::Binary, bytes, options)?
            }
            Message::Ping(p) => self.conn.ping(&p)?,
            Message::Pong(p) => self.conn.pong(&p)?,
            Message::Close(frame) => self.conn.close(frame)?,
        }
        Ok(())
    }

    /// Ready once a data message may be queued: writes queued output until it is under its
    /// limit. Fails once the connection has ended.
    pub(crate) fn poll_ready_to_send(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            if self.conn.can_send() {
                return Poll::Ready(Ok(()));
            }
            if self.conn.state() != State::Open || self.conn.error().is_some() {
                return Poll::Ready(Err(Error::Closed));
            }
            ready!(self.poll_write_queued(cx))?;
        }
    }

    /// Writes everything queued and flushes the transport.
    pub(crate) fn poll_flush_output(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        ready!(self.poll_write_queued(cx))?;
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    /// Writes queued output until it is empty; several frames go out in one write.
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let vectored = self.io.is_write_vectored();
        let clock = || tokio::time::Instant::now().into_std();
        loop {
            let n = if vectored && !self.conn.transmit_is_contiguous() {
                // Headers and payloads queued by reference go out in one write.
                let mut slices = [IoSlice::new(&[]); WRITE_SLICES];
                // Rare (large payloads queued by reference): one clock read is nothing here.
                let count = self.conn.poll_transmit_vectored(clock(), &mut slices);
                match count {
                    0 => return Poll::Ready(Ok(())),
                    // One buffer: a plain write is cheaper in the kernel.
                    1 => ready!(Pin::new(&mut self.io).poll_write(cx, &slices[0]))?,
                    _ => ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..count]))?,
                }
            } else {
                // All in one buffer (the usual case): no slices to gather.
                let out = self.conn.poll_transmit_with(clock);
                if out.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                ready!(Pin::new(&mut self.io).poll_write(cx, out))?
            };
            if n == 0 {
                return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()));
            }
            self.conn.advance_transmit(n);
        }
    }

    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        loop {
            match ready!(self.poll_event(cx, false)) {
                Some(Ok(event)) => {
                    if let Some(message) = self.assembler.push(event) {
                        return Poll::Ready(Some(Ok(message)));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }

    fn poll_recv_piece(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<Option<Result<Piece, Error>>> {
        loop {
            if let Some(data) = &mut self.piece {
                let len = data.payload.len().min(buf.len());
                buf[..len].copy_from_slice(&data.payload[..len]);
                let _ = data.payload.split_to(len);
                let done = data.payload.is_empty();
                let piece = Piece::Data {
                    kind: data.kind,
                    len,
                    end_of_message: done && data.message_end,
                };
                if done {
                    self.piece = None;
                }
                if len > 0
                    || matches!(
                        piece,
                        Piece::Data {
                            end_of_message: true,
                            ..
                        }
                    )
                {
                    return Poll::Ready(Some(Ok(piece)));
                }
                continue;
            }
            match ready!(self.poll_event(cx, true)) {
                Some(Ok(Event::Data(data))) => self.piece = Some(Box::new(data)),
                Some(Ok(Event::Close(frame))) => return Poll::Ready(Some(Ok(Piece::Close(frame)))),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }

    /// The drive loop: the next event, reading, writing and sleeping as needed.
    fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
        partial: bool,
    ) -> Poll<Option<Result<Event, Error>>> {
        loop {
            if self.ending.is_some() {
                return self.poll_report_ending(cx);
            }
            if self.finished {
                return self.poll_finish(cx);
            }
            let decoded = if partial {
                self.conn.recv_partial(&mut self.read_buf)
            } else {
                self.conn.recv(&mut self.read_buf)
            };
            match decoded {
                Ok(Some(event)) => {
                    if matches!(event, Event::Ping(_) | Event::Close(_)) {
                        // Answer now if the transport takes it; otherwise the next poll does.
                        if let Poll::Ready(Err(e)) = self.poll_flush_output(cx) {
                            return Poll::Ready(Some(Err(e)));
                        }
                    }
                    return Poll::Ready(Some(Ok(event)));
                }
                Ok(None) => {}
                Err(e) => {
                    self.ending = Some(Box::new(e.into()));
                    return self.poll_report_ending(cx);
                }
            }
            if self.conn.queued_output() > 0
                && let Poll::Ready(Err(e)) = self.poll_flush_output(cx)
            {
                self.ending = Some(Box::new(e));
                continue;
            }
            if self.conn.is_terminated() && self.conn.queued_output() == 0 {
                self.finished = true;
                continue;
            }
            if self.poll_timers(cx) {
                continue;
            }
            match ready!(self.poll_read_more(cx, partial)) {
                Ok(0) => self.conn.handle_eof(),
                Ok(_) => {}
                Err(e) => self.ending = Some(Box::new(e.into())),
            }
        }
    }

    /// Reports the error that ended the connection once the close frame answering it (if
    /// any) is written; a dead or vanished peer gets no close frame.
    fn poll_report_ending(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Error>>> {
        // A close timeout means the peer stopped answering: like a dead peer, it is not
        // waited for. (Flushing for it made `close()` wait forever on a peer that never
        // reads, whose socket buffer was full.)
        let peer_gone = matches!(
            self.ending.as_deref(),
            Some(Error::Connection(
                ConnectionError::KeepAliveTimeout
                    | ConnectionError::Abnormal
                    | ConnectionError::CloseTimeout
            )) | Some(Error::Io(_))
        );
        if peer_gone {
            self.peer_gone = true;
        } else {
            // Write the close frame answering a protocol error, but only until the close
            // timer (armed when the frame was handed over) gives up on the peer: one that
            // never reads must not hold the error back forever.
            loop {
                match self.poll_flush_output(cx) {
                    // A write error here only means the peer went away too; the first error
                    // stands.
                    Poll::Ready(_) => break,
                    Poll::Pending if self.conn.is_terminated() => {
                        self.peer_gone = true;
                        break;
                    }
                    Poll::Pending => {
                        if !self.poll_timers(cx) {
                            return Poll::Pending;
                        }
                    }
                }
            }
        }
        self.finished = true;
        Poll::Ready(self.ending.take().map(|e| Err(*e)))
    }

    /// After the end: shut the transport down once, then report the end.
    fn poll_finish(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Event, Error>>> {
        if !self.shut_down {
            let shutdown = Pin::new(&mut self.io).poll_shutdown(cx);
            // A TLS shutdown writes close_notify, which waits forever on a peer that stopped
            // reading: one try is all a gone peer gets (TCP's shutdown never waits).
            if shutdown.is_pending() && !self.peer_gone {
                return Poll::Pending;
            }
            self.shut_down = true;
            self.read_buf = BytesMut::new();
            self.sleep = None;
        }
        Poll::Ready(None)
    }

    /// Fires the core's timers when due. Returns whether one fired.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.conn.poll_timeout() else {
            self.sleep = None;
            return false;
        };
        let deadline = tokio::time::Instant::from_std(deadline);
        let sleep = match &mut self.sleep {
            Some(sleep) => {
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            None => self
                .sleep
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        if sleep.as_mut().poll(cx).is_ready() {
            self.conn
                .handle_timeout(tokio::time::Instant::now().into_std());
            return true;
        }
        false
    }

    /// Reads more bytes. While nothing is buffered, reads into the stack and keeps no buffer
    /// while waiting; mid-frame, reads straight into the buffer, sized for the frame.
    fn poll_read_more(&mut self, cx: &mut Context<'_>, partial: bool) -> Poll<io::Result<usize>> {
        if self.read_buf.is_empty() && self.direct_read_kib > 0 {
            return self.poll_read_direct(cx);
        }
        if self.read_buf.is_empty() {
            let mut scratch = [MaybeUninit::<u8>::uninit(); IDLE_READ_SCRATCH];
            let mut scratch = ReadBuf::uninit(&mut scratch);
            match Pin::new(&mut self.io).poll_read(cx, &mut scratch) {
                Poll::Pending => {
                    self.release_buffers();
                    return Poll::Pending;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {}
            }
            let filled = scratch.filled();
            if filled.len() >= DIRECT_READ_MIN {
                // Large frames: read the next ones straight into the heap, saving this copy.
                self.direct_read_kib = kib(filled.len());
            }
            if !filled.is_empty() {
                // Exactly what arrived: usually whole frames, whose payloads the application
                // takes as `Bytes`; a frame still incomplete grows the buffer on the next read.
                self.read_buf = BytesMut::from(filled);
            }
            return Poll::Ready(Ok(filled.len()));
        }
        let want = self.read_size(self.read_buf.len(), partial);
        if self.read_buf.capacity() - self.read_buf.len() < self.read_buffer_size() / 2 {
            self.read_buf.reserve(want);
        }
        tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read_buf)
    }

    /// Waiting for input: hold no buffer while idle (the output buffer goes to the thread's
    /// spare, for the next reply on this thread).
    fn release_buffers(&mut self) {
        self.read_buf = BytesMut::new();
        crate::spare_output::keep_from(&mut self.conn);
        self.conn.shrink_buffers();
    }

    /// Reads into a buffer allocated for the read, as large as the last one, while large
    /// frames keep arriving. Waiting, it gives the buffer up as the stack read does: an idle
    /// connection holds none either way.
    fn poll_read_direct(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let size = usize::from(self.direct_read_kib) << 10;
        self.read_buf.reserve(size.max(self.read_buffer_size()));
        match tokio_util::io::poll_read_buf(Pin::new(&mut self.io), cx, &mut self.read_buf) {
            Poll::Pending => {
                self.release_buffers();
                Poll::Pending
            }
            Poll::Ready(Ok(n)) => {
                // Small again (or the end of the stream): back to reading into the stack.
                self.direct_read_kib = if n >= DIRECT_READ_MIN { kib(n) } else { 0 };
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }

    /// How much room to make: a read's worth, or (receiving whole frames) the rest of the
    /// frame in progress, which the core has already checked against the frame limit.
    fn read_size(&self, buffered: usize, partial: bool) -> usize {
        if partial {
            return self.read_buffer_size();
        }
        self.conn.read_hint(buffered).max(self.read_buffer_size())
    }

    fn read_buffer_size(&self) -> usize {
        self.read_buffer_size as usize
    }
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
        if this.conn.state() == State::Open {
            this.conn.close(Some(CloseFrame::new(1000, "")))?;
        }
        this.poll_flush_output(cx)
    }
}
