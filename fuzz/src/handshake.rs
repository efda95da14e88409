//! The handshake targets' engines: the server reading a request, the client reading a
//! response, each fed the input cut where the script says and, for comparison, in one piece.

use std::sync::Arc;
use std::time::Instant;

use ropeway_core::deflate::{DeflateClient, DeflateConfig, DeflateServer};
use ropeway_core::extension::{ClientExtension, ServerExtension, parse_extensions};
use ropeway_core::handshake::{
    Accept, ClientAccepted, ClientHandshake, ClientRequest, HandshakeError, RequestReader,
    UpgradeRequest, is_websocket_request, write_response,
};
use ropeway_core::{BytesMut, Config, Connection, Limits, SeededEntropy};

use crate::connection::{ConnectionEndpoint, Endpoint, trace};
use crate::script::{Op, Script};
use crate::setup::deflate_config;

/// Handshake limits: the defaults, or small ones that short inputs reach (bit 4).
fn limits(flags: u8) -> Limits {
    if flags & 0x10 != 0 {
        Limits {
            max_handshake_size: 256,
            max_handshake_headers: 8,
            ..Limits::DEFAULT
        }
    } else {
        Limits::DEFAULT
    }
}

/// What reading a head came to, in a form two runs can be compared by.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The input ended before the head did.
    Incomplete,
    /// An error (its `Debug` form).
    Failed(String),
    /// A head, described by its `Debug` form, and how many input bytes it took.
    Parsed(String, usize),
}

/// Reads pieces into one buffer until `recv` gives an answer; returns it with the buffer
/// (what is left after the head) and how many bytes were fed.
fn feed<T>(
    pieces: &[&[u8]],
    mut recv: impl FnMut(&mut BytesMut) -> Result<Option<T>, HandshakeError>,
) -> (Option<Result<T, HandshakeError>>, BytesMut, usize) {
    let mut input = BytesMut::new();
    let mut fed = 0;
    for piece in pieces {
        input.extend_from_slice(piece);
        fed += piece.len();
        match recv(&mut input) {
            Ok(None) => {}
            Ok(Some(head)) => return (Some(Ok(head)), input, fed),
            Err(e) => return (Some(Err(e)), input, fed),
        }
    }
    (None, input, fed)
}

fn outcome<T: std::fmt::Debug>(
    result: &Option<Result<T, HandshakeError>>,
    input: &BytesMut,
    fed: usize,
) -> Outcome {
    match result {
        None => Outcome::Incomplete,
        Some(Err(e)) => Outcome::Failed(format!("{e:?}")),
        Some(Ok(head)) => Outcome::Parsed(format!("{head:?}"), fed - input.len()),
    }
}

/// The server side: `RequestReader::recv` on the cut input, then (for a request) validation,
/// extension negotiation with a `DeflateServer` (flags bits 0–3) and the 101 answer.
///
/// Checks: cutting the input changes nothing; the head leaves the bytes after it in the
/// buffer; the answer carries the negotiated extension and the chosen subprotocol intact.
pub fn request(data: &[u8]) {
    let script = Script::parse(data);
    let limits = limits(script.flags);
    // One reader across all pieces, as an adapter uses it.
    let mut reader = RequestReader::new(&limits);
    let (cut, cut_input, cut_fed) = feed(&script.pieces(), |input| reader.recv(input));
    let (whole, whole_input, whole_fed) = feed(&[script.payload], |input| {
        RequestReader::new(&limits).recv(input)
    });
    if trace() {
        eprintln!("request: {:?}", outcome(&cut, &cut_input, cut_fed));
    }
    assert_eq!(
        outcome(&cut, &cut_input, cut_fed),
        outcome(&whole, &whole_input, whole_fed),
        "the request reads the same whole and cut"
    );
    let Some(Ok(request)) = cut else {
        if let Some(Err(e)) = cut {
            let _ = (e.status(), e.to_string());
        }
        return;
    };
    let _ = is_websocket_request(&request);
    let upgrade = match UpgradeRequest::from_request(request) {
        Ok(upgrade) => upgrade,
        Err(e) => {
            let _ = (e.status(), e.to_string());
            return;
        }
    };
    let response = accept_and_check(&upgrade, script.flags);
    let mut out = BytesMut::new();
    write_response(&response, &[], &mut out);
}

/// Accepts `upgrade` as an application that takes the client's first subprotocol and
/// the negotiated permessage-deflate (flags bits 0–3) would, and checks the answer: the
/// extension answer reads back as negotiated, the subprotocol is answered as chosen.
fn accept_and_check(upgrade: &UpgradeRequest, flags: u8) -> ropeway_core::http::Response<()> {
    let _ = (upgrade.path(), upgrade.query(), upgrade.origin());
    let server: Vec<Arc<dyn ServerExtension>> =
        vec![Arc::new(DeflateServer::new(deflate_config(flags)))];
    let mut accept = Accept::default();
    if let Some((answer, _codec)) = upgrade.negotiate(&server) {
        accept.extensions.push(answer);
    }
    accept.protocol = upgrade.protocols().first().cloned();
    let response = upgrade.accept(&accept);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().expect("our own header is text").to_owned())
    };
    if !accept.extensions.is_empty() {
        let written = header("sec-websocket-extensions").expect("extensions answered");
        assert_eq!(
            parse_extensions(&written).as_deref(),
            Ok(&accept.extensions[..]),
            "the extension answer reads back as negotiated"
        );
    }
    assert_eq!(
        header("sec-websocket-protocol"),
        accept.protocol,
        "the chosen subprotocol is answered as chosen"
    );
    response
}

/// The server's side of an HTTP/2 extended CONNECT (RFC 8441): the bytes are read as a
/// request head (as [`request`] does, for its headers and path), which is then turned into
/// the request the HTTP/2 layer would hand over: method CONNECT (or the head's own with flags
/// bit 7), version HTTP/2, and a `:protocol` taken from an `x-protocol` header (none without
/// one). Then `UpgradeRequest::from_extended_connect`, negotiation and `accept`.
///
/// Checks: it never panics; an accepted extended CONNECT is answered 200 without
/// `Sec-WebSocket-Accept`, its extension answer reads back as negotiated, and a request that
/// is not CONNECT, not `websocket`, or has a body is refused.
pub fn h2_connect(data: &[u8]) {
    let script = Script::parse(data);
    let limits = limits(script.flags);
    let (head, _, _) = feed(&[script.payload], |input| {
        RequestReader::new(&limits).recv(input)
    });
    let Some(Ok(head)) = head else {
        return;
    };
    let protocol = head
        .headers()
        .get("x-protocol")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (mut parts, ()) = head.into_parts();
    if script.flags & 0x80 == 0 {
        parts.method = ropeway_core::http::Method::CONNECT;
    }
    parts.version = ropeway_core::http::Version::HTTP_2;
    let request = ropeway_core::http::Request::from_parts(parts, ());
    let was_connect = request.method() == ropeway_core::http::Method::CONNECT;
    let upgrade = match UpgradeRequest::from_extended_connect(request, protocol.as_deref()) {
        Ok(upgrade) => upgrade,
        Err(e) => {
            let _ = (e.status(), e.to_string());
            return;
        }
    };
    assert!(was_connect, "only CONNECT becomes a WebSocket over HTTP/2");
    assert!(
        protocol.is_some_and(|p| p.eq_ignore_ascii_case("websocket")),
        "only :protocol websocket is accepted"
    );
    assert!(upgrade.is_h2());
    let response = accept_and_check(&upgrade, script.flags);
    assert_eq!(
        response.status(),
        ropeway_core::http::StatusCode::OK,
        "RFC 8441 answers 200"
    );
    assert!(
        response.headers().get("sec-websocket-accept").is_none(),
        "no accept key over HTTP/2"
    );
}

/// The client side: `ClientHandshake::recv` on the cut input, after offering
/// permessage-deflate (flags bits 0–3, and bit 6 a second offer without context takeover
/// first) and, with bit 5, two subprotocols. With bit 7, the bytes after an accepted
/// response go on to a client `Connection` with whatever extension was accepted.
///
/// Checks: cutting the input changes nothing; an accepted subprotocol was offered.
pub fn response(data: &[u8]) {
    let script = Script::parse(data);
    let flags = script.flags;
    let limits = limits(flags);
    let (cut, cut_input, cut_fed) = {
        let mut handshake = client_handshake(flags, &limits, &mut BytesMut::new());
        feed(&script.pieces(), |input| handshake.recv(input))
    };
    let (whole, whole_input, whole_fed) = {
        let mut handshake = client_handshake(flags, &limits, &mut BytesMut::new());
        feed(&[script.payload], |input| handshake.recv(input))
    };
    if trace() {
        eprintln!("response: {:?}", outcome(&cut, &cut_input, cut_fed));
    }
    assert_eq!(
        outcome(&cut, &cut_input, cut_fed),
        outcome(&whole, &whole_input, whole_fed),
        "the response reads the same whole and cut"
    );
    let accepted: ClientAccepted = match cut {
        Some(Ok(accepted)) => accepted,
        Some(Err(e)) => {
            let _ = (e.status(), e.to_string());
            return;
        }
        None => return,
    };
    if let Some(protocol) = &accepted.protocol {
        assert!(
            flags & 0x20 != 0 && ["chat", "superchat"].contains(&protocol.as_str()),
            "accepted a subprotocol that was not offered: {protocol:?}"
        );
    }
    if flags & 0x80 == 0 {
        return;
    }
    // The server's first frames may follow the response in the same read.
    let now = Instant::now();
    let mut conn = Connection::client(
        Config::default(),
        Box::new(SeededEntropy::from_seed([9; 32])),
        now,
    );
    if let Some(extension) = accepted.extension {
        conn = conn.with_extension(extension);
    }
    let rest = cut_input.to_vec();
    let mut endpoint = ConnectionEndpoint::from_connection(conn, now, false);
    let mut stream = crate::script::Stream(&rest);
    endpoint.step(
        Op::Feed {
            len: usize::MAX,
            partial: false,
        },
        &mut stream,
    );
    endpoint.finish();
}

/// The client's handshake for `flags`, its request written into `out`, with a key from a
/// fixed seed (so a seed input can carry the matching `Sec-WebSocket-Accept`).
pub fn client_handshake(flags: u8, limits: &Limits, out: &mut BytesMut) -> ClientHandshake {
    let mut request = ClientRequest::from_url("ws://example.com/chat").expect("valid URL");
    if flags & 0x20 != 0 {
        request = request.protocol("chat").protocol("superchat");
    }
    let mut offers = vec![deflate_config(flags)];
    if flags & 0x40 != 0 {
        offers.insert(0, DeflateConfig::no_context_takeover());
    }
    let extensions: Vec<Arc<dyn ClientExtension>> = vec![Arc::new(DeflateClient { offers })];
    let mut entropy = SeededEntropy::from_seed([0; 32]);
    ClientHandshake::new(&request, extensions, &mut entropy, limits, out)
}
