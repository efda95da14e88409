//! The proxy step of connecting: the core's [`ProxyHandshake`] run over the TCP stream to
//! the proxy, before TLS and the WebSocket handshake go through the tunnel. This file only
//! moves its bytes.

use bytes::BytesMut;
use ropeway_core::proxy::{Proxy, ProxyHandshake, io_error};
use ropeway_core::{Error, Limits};

use crate::io_util::{flush, read_buf, write_all};
use crate::runtime::Io;

/// Opens a tunnel to `host:port` through `proxy` over `io`; returns the bytes the proxy sent
/// past its answer (the tunnel's first bytes).
pub(crate) async fn tunnel<R: Io<S>, S: Unpin>(
    io: &mut S,
    proxy: &Proxy,
    host: &str,
    port: u16,
    limits: &Limits,
) -> Result<BytesMut, Error> {
    let mut out = BytesMut::new();
    let mut handshake = ProxyHandshake::new(proxy, host, port, limits, &mut out)?;
    let mut input = BytesMut::with_capacity(512);
    loop {
        if !out.is_empty() {
            write_all::<R, S>(io, &out).await.map_err(io_error)?;
            flush::<R, S>(io).await.map_err(io_error)?;
            out.clear();
        }
        if read_buf::<R, S>(io, &mut input).await.map_err(io_error)? == 0 {
            return Err(handshake.handle_eof().into());
        }
        if handshake.recv(&mut input, &mut out)? {
            return Ok(input);
        }
    }
}
