//! Extension hooks (RFC 6455 §9): negotiation in the opening handshake, apart from the
//! per-message work on frames. permessage-deflate (RFC 7692) plugs in here without touching
//! the frame loop.
//!
//! * [`ClientExtension`] / [`ServerExtension`]: configuration objects that take part in the
//!   handshake and, once it succeeds, produce a per-connection [`Extension`].
//! * [`Extension`]: transforms message payloads and claims RSV bits.

use std::fmt;

use bytes::BytesMut;

use crate::error::ProtocolError;
use crate::event::MessageKind;

/// One entry of a `Sec-WebSocket-Extensions` header: a name with parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// The extension's name, e.g. `permessage-deflate`.
    pub name: String,
    /// The parameters in order, each with its value if it has one (quotes removed).
    pub params: Vec<(String, Option<String>)>,
}

impl ExtensionOffer {
    /// An offer with no parameters.
    pub fn new(name: impl Into<String>) -> Self {
        ExtensionOffer {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter.
    pub fn param(mut self, name: impl Into<String>, value: Option<String>) -> Self {
        self.params.push((name.into(), value));
        self
    }
}

impl fmt::Display for ExtensionOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(v) => write!(f, "; {name}={v}")?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// A `Sec-WebSocket-Extensions` value that does not follow the RFC 6455 §9.1 grammar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidExtensionHeader;

impl fmt::Display for InvalidExtensionHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("malformed Sec-WebSocket-Extensions header")
    }
}

impl std::error::Error for InvalidExtensionHeader {}

/// Parses a `Sec-WebSocket-Extensions` value (several header lines joined with `,`).
///
/// ```
/// use ropeway_core::extension::{ExtensionOffer, parse_extensions};
///
/// let offers = parse_extensions("permessage-deflate; client_max_window_bits, x-other").unwrap();
/// assert_eq!(offers[0], ExtensionOffer::new("permessage-deflate").param("client_max_window_bits", None));
/// assert_eq!(offers[1].name, "x-other");
/// assert!(parse_extensions("bad;;").is_err());
/// ```
pub fn parse_extensions(value: &str) -> Result<Vec<ExtensionOffer>, InvalidExtensionHeader> {
    let mut offers = Vec::new();
    let mut rest = value;
    loop {
        rest = skip_ows(rest);
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix(',') {
            // Empty list elements are allowed by the `#rule` of RFC 7230 §7.
            rest = after;
            continue;
        }
        let (name, after) = take_token(rest).ok_or(InvalidExtensionHeader)?;
        let mut offer = ExtensionOffer::new(name);
        rest = skip_ows(after);
        while let Some(after) = rest.strip_prefix(';') {
            let (pname, after) = take_token(skip_ows(after)).ok_or(InvalidExtensionHeader)?;
            rest = skip_ows(after);
            let value = if let Some(after) = rest.strip_prefix('=') {
                let after = skip_ows(after);
                let (v, after) = if after.starts_with('"') {
                    take_quoted(after)?
                } else {
                    let (t, a) = take_token(after).ok_or(InvalidExtensionHeader)?;
                    (t.to_owned(), a)
                };
                rest = skip_ows(after);
                Some(v)
            } else {
                None
            };
            offer.params.push((pname.to_owned(), value));
        }
        offers.push(offer);
        match rest.strip_prefix(',') {
            Some(after) => rest = after,
            None if rest.is_empty() => break,
            None => return Err(InvalidExtensionHeader),
        }
    }
    Ok(offers)
}

fn skip_ows(s: &str) -> &str {
    s.trim_start_matches([' ', '\t'])
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

fn take_token(s: &str) -> Option<(&str, &str)> {
    let end = s.find(|c| !is_tchar(c)).unwrap_or(s.len());
    (end > 0).then(|| s.split_at(end))
}

/// A quoted-string whose content must itself be a token (RFC 6455 §9.1).
fn take_quoted(s: &str) -> Result<(String, &str), InvalidExtensionHeader> {
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => {
                if out.is_empty() || !out.chars().all(is_tchar) {
                    return Err(InvalidExtensionHeader);
                }
                return Ok((out, &s[i + 2..]));
            }
            '\\' => out.push(chars.next().ok_or(InvalidExtensionHeader)?.1),
            c => out.push(c),
        }
    }
    Err(InvalidExtensionHeader)
}

/// The client side of an extension's negotiation.
pub trait ClientExtension: Send + Sync {
    /// The extension's registered name.
    fn name(&self) -> &str;
    /// What to offer, in order of preference.
    fn offers(&self) -> Vec<ExtensionOffer>;
    /// Checks the server's answer and builds the connection's extension, or says why the
    /// answer is unacceptable (which fails the handshake, RFC 6455 §4.1).
    fn accept(&self, answer: &ExtensionOffer) -> Result<Box<dyn Extension>, String>;
}

/// The server side of an extension's negotiation.
pub trait ServerExtension: Send + Sync {
    /// The extension's registered name.
    fn name(&self) -> &str;
    /// Walks the client's offers of this extension in order and accepts the first it can
    /// honour, returning the answer for the response header and the connection's extension.
    /// `None` declines: the connection opens without the extension.
    fn negotiate(&self, offers: &[&ExtensionOffer])
    -> Option<(ExtensionOffer, Box<dyn Extension>)>;
}

/// A negotiated extension's per-message work.
///
/// The RSV bits an extension claims may only be set on the first frame of a data message;
/// the core rejects them anywhere else, and rejects bits no extension claims.
pub trait Extension: Send {
    /// The negotiated name, for logs.
    fn name(&self) -> &str;

    /// The RSV bits this extension claims (bit 2 = RSV1).
    fn reserved_bits(&self) -> u8;

    /// Inbound: a data message starts with these RSV bits (only claimed ones, at least one
    /// set: a message whose first frame sets none of them is never transformed, which keeps
    /// the core's hot path free of extension calls). Returns whether its payload goes
    /// through [`Extension::decode`].
    fn decode_start(&mut self, rsv: u8) -> bool;

    /// Inbound: the next payload bytes of a transformed message, in order, unmasked. Appends
    /// the result to `output`; `message_end` comes with the message's last bytes. Must fail
    /// with [`ProtocolError::MessageTooLarge`] rather than append more than `max_output`
    /// bytes in one call (that is how a decompression bomb is stopped).
    fn decode(
        &mut self,
        input: &[u8],
        message_end: bool,
        output: &mut BytesMut,
        max_output: usize,
    ) -> Result<(), ProtocolError>;

    /// Outbound: a message of `kind` starts, `len` bytes long if known. Returns the RSV bits
    /// for its first frame if it goes through [`Extension::encode`], `None` to send it as is.
    fn encode_start(&mut self, kind: MessageKind, len: Option<usize>) -> Option<u8>;

    /// Outbound: the next payload bytes of a transformed message. Appends the result to
    /// `output`; `message_end` comes with the message's last bytes.
    fn encode(&mut self, input: &[u8], message_end: bool, output: &mut BytesMut);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offers_with_params() {
        let offers = parse_extensions(
            "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\" ,x-foo",
        )
        .unwrap();
        assert_eq!(offers.len(), 3);
        assert_eq!(
            offers[0],
            ExtensionOffer::new("permessage-deflate").param("client_max_window_bits", None)
        );
        assert_eq!(
            offers[1].params,
            vec![("server_max_window_bits".to_owned(), Some("10".to_owned()))]
        );
        assert_eq!(offers[2].name, "x-foo");
        assert_eq!(
            offers[0].to_string(),
            "permessage-deflate; client_max_window_bits"
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            "; a",
            "a;",
            "a; b=",
            "a b",
            "a; b=\"\"",
            "a; b=\"x y\"",
            "a; b=\"1",
        ] {
            assert_eq!(
                parse_extensions(bad),
                Err(InvalidExtensionHeader),
                "{bad:?}"
            );
        }
        assert_eq!(parse_extensions(""), Ok(vec![]));
        assert_eq!(
            parse_extensions(" , a ,"),
            Ok(vec![ExtensionOffer::new("a")])
        );
    }
}
