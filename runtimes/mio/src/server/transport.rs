//! A connection's transport: a non-blocking TCP stream, or TLS over it with rustls driven by
//! hand (`read_tls` / `process_new_packets` / `reader` / `writer` / `write_tls`), so TLS
//! runs inside the loop like everything else. Every call returns `WouldBlock` where the
//! socket would, and the loop waits for the next readiness event.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;

/// Plain TCP or TLS.
#[derive(Debug)]
pub(crate) enum Transport {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<Tls>),
}

/// rustls' server state over its TCP stream.
#[cfg(feature = "tls")]
#[derive(Debug)]
pub(crate) struct Tls {
    tcp: TcpStream,
    tls: rustls::ServerConnection,
}

impl Transport {
    #[cfg(feature = "tls")]
    pub(crate) fn tls(
        tcp: TcpStream,
        config: std::sync::Arc<rustls::ServerConfig>,
    ) -> io::Result<Self> {
        let tls = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(Transport::Tls(Box::new(Tls { tcp, tls })))
    }

    /// Whether bytes read are bytes of the socket (no TLS buffering in between).
    pub(crate) fn is_plain(&self) -> bool {
        matches!(self, Transport::Plain(_))
    }

    pub(crate) fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Transport::Plain(tcp) => tcp,
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => &mut tls.tcp,
        }
    }

    /// Reads plaintext; `Ok(0)` is the end of the stream.
    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(tcp) => tcp.read(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.read(buf),
        }
    }

    /// Writes plaintext; `WouldBlock` when nothing could be taken.
    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Transport::Plain(tcp) => tcp.write(buf),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.write(|w| w.write(buf)),
        }
    }

    /// Writes several buffers at once.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Transport::Plain(tcp) => tcp.write_vectored(bufs),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.write(|w| w.write_vectored(bufs)),
        }
    }

    /// Pushes out what TLS holds (records written into rustls but not onto the socket).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(_) => Ok(()),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => tls.flush(),
        }
    }

    /// Ends the write side: TLS `close_notify` first, then a TCP FIN. A peer that is gone
    /// already makes this fail, which changes nothing: the connection ends either way.
    pub(crate) fn shutdown(&mut self) -> io::Result<()> {
        match self {
            Transport::Plain(tcp) => ignore_gone(tcp.shutdown(Shutdown::Write)),
            #[cfg(feature = "tls")]
            Transport::Tls(tls) => {
                tls.tls.send_close_notify();
                tls.flush()?;
                ignore_gone(tls.tcp.shutdown(Shutdown::Write))
            }
        }
    }
}

fn ignore_gone(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(e),
        _ => Ok(()),
    }
}

#[cfg(feature = "tls")]
impl Tls {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed TCP without close_notify: the end of the stream all the same
                // (the WebSocket close handshake says whether it was clean).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.tls.read_tls(&mut self.tcp)? == 0 {
                return Ok(0);
            }
            if let Err(e) = self.tls.process_new_packets() {
                // Send the alert rustls queued, if the socket takes it.
                let _ = self.flush();
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            if self.tls.wants_write() {
                // Handshake messages: out now; a full socket sends them on the next
                // writable event (the loop flushes then).
                match self.flush() {
                    Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                    _ => {}
                }
            }
        }
    }

    /// Hands plaintext to rustls (bounded by its buffer limit) and writes records out.
    fn write(
        &mut self,
        put: impl FnOnce(&mut rustls::Writer<'_>) -> io::Result<usize>,
    ) -> io::Result<usize> {
        // Records already waiting go first, so rustls' buffer stays small.
        match self.flush() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        let n = put(&mut self.tls.writer())?;
        match self.flush() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        if n == 0 {
            // rustls' buffer is full and the socket takes nothing: wait for writable.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            if self.tls.write_tls(&mut self.tcp)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }
}

/// Writes all of `out` that the socket takes; returns how much.
pub(crate) fn write_some(transport: &mut Transport, out: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < out.len() {
        match transport.write(&out[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}
