//! The TLS of a blocking client's connection: to the server (`wss://`), to an `https://`
//! proxy (`ws://` through one), or both, one inside the other (`wss://` through an
//! `https://` proxy). Encrypting and decrypting only, never blocking: [`super::shared`]
//! moves the records to and from the socket.

use std::io::{self, Read, Write};
use std::net::TcpStream;

use rustls::ClientConnection;

/// One TLS connection, or two nested.
pub(crate) struct TlsLayers {
    /// TLS to the far end of the bytes: the server, or the proxy when it is the only layer.
    inner: ClientConnection,
    /// TLS to an `https://` proxy carrying `inner`'s records.
    outer: Option<ClientConnection>,
}

/// The most plaintext one read of a reader's buffered plaintext takes.
const CHUNK: usize = 16 << 10;

impl TlsLayers {
    /// One TLS connection.
    pub(crate) fn one(tls: ClientConnection) -> Self {
        TlsLayers {
            inner: tls,
            outer: None,
        }
    }

    /// `inner` (to the server) inside `outer` (to an `https://` proxy).
    pub(crate) fn nested(outer: ClientConnection, inner: ClientConnection) -> Self {
        TlsLayers {
            inner,
            outer: Some(outer),
        }
    }

    /// A blocking stream of plaintext over `tcp` through every layer (the handshake's).
    pub(crate) fn stream<'a>(&'a mut self, tcp: &'a TcpStream) -> LayeredStream<'a> {
        LayeredStream { tls: self, tcp }
    }

    /// Whether records wait to be written.
    pub(crate) fn wants_write(&self) -> bool {
        self.inner.wants_write() || self.outer.as_ref().is_some_and(|o| o.wants_write())
    }

    /// Encrypts `plain` (and any records waiting, such as a close_notify) through every
    /// layer into `cipher`, which is cleared first.
    pub(crate) fn encrypt(&mut self, plain: &[u8], cipher: &mut Vec<u8>) -> io::Result<()> {
        cipher.clear();
        if !plain.is_empty() {
            self.inner.writer().write_all(plain)?;
        }
        let Some(outer) = self.outer.as_mut() else {
            while self.inner.wants_write() {
                self.inner.write_tls(cipher)?;
            }
            return Ok(());
        };
        let mut records = Vec::new();
        while self.inner.wants_write() {
            self.inner.write_tls(&mut records)?;
        }
        if !records.is_empty() {
            outer.writer().write_all(&records)?;
        }
        while outer.wants_write() {
            outer.write_tls(cipher)?;
        }
        Ok(())
    }

    /// Queues the close_notify of the innermost layer and encrypts it into `cipher`.
    pub(crate) fn close_notify(&mut self, cipher: &mut Vec<u8>) -> io::Result<()> {
        self.inner.send_close_notify();
        self.encrypt(&[], cipher)
    }

    /// Hands plaintext the layers decrypted earlier and still hold to `deliver` (one
    /// piece: empty at the end of the stream); whether there was any.
    pub(crate) fn feed_buffered(&mut self, deliver: &mut dyn FnMut(&[u8])) -> io::Result<bool> {
        if let Some(outer) = self.outer.as_mut() {
            // The inner layer's records the outer one decrypted but nobody took yet.
            let mut records = Vec::new();
            drain(outer, &mut records)?;
            if !records.is_empty() {
                take_records(&mut self.inner, &records)?;
            }
        }
        let mut scratch = [0; 4096];
        match self.inner.reader().read(&mut scratch) {
            Ok(n) => deliver(&scratch[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => deliver(&[]),
            Err(e) => return Err(e),
        }
        Ok(true)
    }

    /// Decrypts `bytes` read from the socket (empty: its end) through every layer, handing
    /// the plaintext to `deliver` in pieces of at most `plain.len()` (an empty piece: the
    /// end of the stream, after which nothing more comes).
    pub(crate) fn feed(
        &mut self,
        bytes: &[u8],
        plain: &mut [u8],
        deliver: &mut dyn FnMut(&[u8]),
    ) -> io::Result<()> {
        let Some(outer) = self.outer.as_mut() else {
            return feed_layer(&mut self.inner, bytes, plain, deliver).map(drop);
        };
        // The outer layer's plaintext is the inner layer's records.
        let mut records = Vec::new();
        let outer_ended = feed_layer(outer, bytes, plain, &mut |piece: &[u8]| {
            records.extend_from_slice(piece);
        })?;
        let mut ended = false;
        if !records.is_empty() {
            ended = feed_layer(&mut self.inner, &records, plain, deliver)?;
        }
        if outer_ended && !ended {
            // The proxy's TLS ended, so the inner stream ends too (an empty read tells
            // rustls, which says whether its close_notify came first).
            feed_layer(&mut self.inner, &[], plain, deliver)?;
        }
        Ok(())
    }
}

/// Decrypts `bytes` (empty: the end of the stream) through `tls`, handing the plaintext to
/// `deliver`; whether the stream ended (then an empty piece was delivered last).
fn feed_layer(
    tls: &mut ClientConnection,
    bytes: &[u8],
    plain: &mut [u8],
    deliver: &mut dyn FnMut(&[u8]),
) -> io::Result<bool> {
    let mut rest = bytes;
    loop {
        match tls.read_tls(&mut rest) {
            // rustls took nothing although it was given bytes: never spin on it.
            Ok(0) if !rest.is_empty() => return Err(io::Error::other("TLS layer refused input")),
            Ok(_) => {}
            Err(e) => return Err(e),
        }
        tls.process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        loop {
            match tls.reader().read(plain) {
                Ok(0) => {
                    deliver(&[]);
                    return Ok(true);
                }
                Ok(n) => deliver(&plain[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // The socket ended without close_notify: the stream's end all the same (the
                // driver tells a clean close from an abrupt one).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    deliver(&[]);
                    return Ok(true);
                }
                Err(e) => return Err(e),
            }
        }
        if rest.is_empty() {
            return Ok(false);
        }
    }
}

/// Moves the plaintext `tls` holds into `out`, without reading more.
fn drain(tls: &mut ClientConnection, out: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0; CHUNK];
    loop {
        match tls.reader().read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// Gives `records` to `tls` and decrypts them (the plaintext stays in it).
fn take_records(tls: &mut ClientConnection, records: &[u8]) -> io::Result<()> {
    let mut rest = records;
    while !rest.is_empty() {
        if tls.read_tls(&mut rest)? == 0 {
            return Err(io::Error::other("TLS layer refused input"));
        }
        tls.process_new_packets()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    }
    Ok(())
}

/// Plaintext over a socket through every TLS layer, blocking: the opening handshake's
/// stream.
pub(crate) struct LayeredStream<'a> {
    tls: &'a mut TlsLayers,
    tcp: &'a TcpStream,
}

impl Read for LayeredStream<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut tcp = self.tcp;
        let TlsLayers { inner, outer } = &mut *self.tls;
        match outer {
            None => rustls::Stream::new(inner, &mut tcp).read(buf),
            Some(outer) => {
                let mut outer = rustls::Stream::new(outer, &mut tcp);
                rustls::Stream::new(inner, &mut outer).read(buf)
            }
        }
    }
}

impl Write for LayeredStream<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut tcp = self.tcp;
        let TlsLayers { inner, outer } = &mut *self.tls;
        match outer {
            None => rustls::Stream::new(inner, &mut tcp).write(buf),
            Some(outer) => {
                let mut outer = rustls::Stream::new(outer, &mut tcp);
                let n = rustls::Stream::new(inner, &mut outer).write(buf)?;
                // The inner layer's records are written into the outer layer; push them on.
                outer.flush()?;
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut tcp = self.tcp;
        let TlsLayers { inner, outer } = &mut *self.tls;
        match outer {
            None => rustls::Stream::new(inner, &mut tcp).flush(),
            Some(outer) => {
                let mut outer = rustls::Stream::new(outer, &mut tcp);
                rustls::Stream::new(inner, &mut outer).flush()?;
                outer.flush()
            }
        }
    }
}
