//! Finding and parsing an HTTP/1.1 head that may arrive a byte at a time, and writing one.

use bytes::{BufMut, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Response};

use super::error::HandshakeError;

/// Finds the end of an HTTP head (an empty line: `\r\n\r\n`, or with bare LFs, which RFC 9112
/// §2.2 lets a recipient accept) without scanning any byte twice.
#[derive(Debug, Default)]
pub(crate) struct HeadFinder {
    scanned: usize,
}

impl HeadFinder {
    /// The length of the head once it is complete in `buf`; an error once it cannot fit.
    pub(crate) fn find(&mut self, buf: &[u8], max: usize) -> Result<Option<usize>, HandshakeError> {
        // Clamped, so a caller that shrinks or reuses the buffer can never cause a panic.
        let stop = buf.len().min(max.saturating_add(1));
        let start = self.scanned.saturating_sub(2).min(stop);
        let window = &buf[start..stop];
        let end = window.iter().enumerate().find_map(|(i, &b)| {
            if b != b'\n' {
                return None;
            }
            match window.get(i + 1..) {
                Some([b'\n', ..]) => Some(start + i + 2),
                Some([b'\r', b'\n', ..]) => Some(start + i + 3),
                _ => None,
            }
        });
        if let Some(end) = end {
            // The head is found: the next one, if any, is searched from the start.
            self.scanned = 0;
            if end > max {
                return Err(HandshakeError::HeadTooLarge { max });
            }
            return Ok(Some(end));
        }
        if buf.len() >= max {
            return Err(HandshakeError::HeadTooLarge { max });
        }
        self.scanned = buf.len();
        Ok(None)
    }
}

/// Copies httparse's header fields into a `HeaderMap`.
pub(crate) fn to_header_map(fields: &[httparse::Header<'_>]) -> Result<HeaderMap, HandshakeError> {
    let mut map = HeaderMap::with_capacity(fields.len());
    for field in fields {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|e| HandshakeError::MalformedHead(e.to_string()))?;
        let value = HeaderValue::from_bytes(field.value)
            .map_err(|e| HandshakeError::MalformedHead(e.to_string()))?;
        map.append(name, value);
    }
    Ok(map)
}

/// How a request head delimits its body (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyFraming {
    /// Neither `Transfer-Encoding` nor `Content-Length`: a request has no body.
    None,
    /// `Content-Length`: this many bytes.
    Length(u64),
    /// `Transfer-Encoding` (and no `Content-Length`).
    TransferCoded,
}

/// The body framing of a request head, or [`HandshakeError::InvalidFraming`] when two readers
/// of the head could disagree on it (RFC 9112 §6.3, items 3 and 5): both `Transfer-Encoding`
/// and `Content-Length`, `Content-Length` values that differ, or one that is not `1*DIGIT`.
/// Such a head is refused whatever the request, because once the framing is in doubt so is
/// where the next request on the connection starts.
///
/// Identical repeated values (`5, 5`, or two lines of `5`) count as one, as RFC 9110 §8.6
/// allows: every reader finds the same length, so they cannot split the stream differently,
/// and intermediaries that repeat or fold the field stay interoperable.
pub(crate) fn body_framing(headers: &HeaderMap) -> Result<BodyFraming, HandshakeError> {
    let transfer_coded = headers.contains_key(TRANSFER_ENCODING);
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        if transfer_coded {
            // RFC 9112 lets a server let Transfer-Encoding win, but a proxy in front that let
            // Content-Length win would see different requests on the same bytes.
            return Err(HandshakeError::InvalidFraming(
                "both Transfer-Encoding and Content-Length",
            ));
        }
        // A list arises where lines were folded into one; each element must be a length.
        for element in value.as_bytes().split(|&b| b == b',') {
            let n = decimal(element.trim_ascii()).ok_or(HandshakeError::InvalidFraming(
                "Content-Length is not a number",
            ))?;
            if length.is_some_and(|m| m != n) {
                return Err(HandshakeError::InvalidFraming(
                    "Content-Length values differ",
                ));
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(n) => BodyFraming::Length(n),
        None if transfer_coded => BodyFraming::TransferCoded,
        None => BodyFraming::None,
    })
}

/// `1*DIGIT` as a `u64`; `None` for anything else, including a sign (which `str::parse`
/// would take) and a value past `u64::MAX`.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

pub(crate) fn parse_error(e: httparse::Error) -> HandshakeError {
    match e {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders,
        other => HandshakeError::MalformedHead(other.to_string()),
    }
}

/// Writes `response`'s status line and headers, then `body`, as HTTP/1.1. A
/// `Content-Length` is added when the response has a body and none is set.
pub fn write_response(response: &Response<()>, body: &[u8], out: &mut BytesMut) {
    let status = response.status();
    out.put_slice(b"HTTP/1.1 ");
    out.put_slice(status.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.put_slice(b"\r\n");
    write_headers(response.headers(), out);
    let has_length = response
        .headers()
        .contains_key(http::header::CONTENT_LENGTH);
    if !body.is_empty() && !has_length {
        out.put_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.put_slice(b"\r\n");
    out.put_slice(body);
}

pub(crate) fn write_headers(headers: &HeaderMap, out: &mut BytesMut) {
    for (name, value) in headers {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_one_byte_at_a_time() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nextra";
        let mut finder = HeadFinder::default();
        let end = head.len() - 5;
        for n in 0..end {
            assert_eq!(finder.find(&head[..n], 100).unwrap(), None, "{n}");
        }
        assert_eq!(finder.find(&head[..end], 100).unwrap(), Some(end));
        assert_eq!(finder.find(head, 100).unwrap(), Some(end));
    }

    #[test]
    fn refuses_to_buffer_past_the_limit() {
        let mut finder = HeadFinder::default();
        assert!(matches!(
            finder.find(&[b'a'; 64], 64),
            Err(HandshakeError::HeadTooLarge { max: 64 })
        ));
        let long = [&[b'a'; 62][..], b"\r\n\r\n"].concat();
        assert!(HeadFinder::default().find(&long, 64).is_err());
        assert_eq!(HeadFinder::default().find(&long, 66).unwrap(), Some(66));
    }
}
