//! Streaming UTF-8 validation: a text message is checked piece by piece as it arrives, and
//! fails as soon as an invalid sequence is complete, even when a code point is split across
//! frames or reads.

/// Validates a text message given in pieces.
///
/// ```
/// use ropeway_core::utf8::Utf8Validator;
///
/// // "€" is three bytes; fed across two fragments it is still valid.
/// let mut validator = Utf8Validator::default();
/// validator.feed(&[0xe2, 0x82]).unwrap();
/// validator.feed(&[0xac]).unwrap();
/// validator.finish().unwrap();
/// // A message that ends inside a character is not.
/// let mut validator = Utf8Validator::default();
/// validator.feed(&[0xe2]).unwrap();
/// assert!(validator.finish().is_err());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Utf8Validator {
    /// The start of a code point cut off at the end of the previous piece.
    partial: [u8; 4],
    partial_len: u8,
}

/// The text is not valid UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidUtf8;

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
        }
    }

    /// Checks the next piece. Fails if the text so far can no longer be valid UTF-8.
    #[inline]
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len != 0 {
            input = self.complete_partial(input)?;
        }
        // The fast path validates without computing where an error is.
        if simdutf8::basic::from_utf8(input).is_ok() {
            return Ok(());
        }
        match simdutf8::compat::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(e) => {
                // A valid but unfinished code point at the end: keep it for the next piece.
                let tail = &input[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
        }
    }

    /// Checks that the message did not end inside a code point.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let unfinished = self.partial_len != 0;
        self.partial_len = 0;
        if unfinished { Err(InvalidUtf8) } else { Ok(()) }
    }

    /// Completes the code point kept from the previous piece with bytes from `input`, and
    /// returns the rest of `input`.
    fn complete_partial<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], InvalidUtf8> {
        let have = usize::from(self.partial_len);
        let need = sequence_len(self.partial[0]) - have;
        let take = need.min(input.len());
        let mut joined = [0u8; 4];
        joined[..have].copy_from_slice(&self.partial[..have]);
        joined[have..have + take].copy_from_slice(&input[..take]);
        match std::str::from_utf8(&joined[..have + take]) {
            Ok(_) => {
                self.partial_len = 0;
                Ok(&input[take..])
            }
            Err(e) if e.error_len().is_some() => Err(InvalidUtf8),
            Err(_) => {
                // Still unfinished: `input` was shorter than what the code point needs.
                self.partial = joined;
                self.partial_len = (have + take) as u8;
                Ok(&[])
            }
        }
    }
}

/// The length of the sequence a (valid) lead byte starts.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xf0..=0xff => 4,
        0xe0..=0xef => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_in_pieces(bytes: &[u8], cuts: &[usize]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        let mut start = 0;
        for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
            v.feed(&bytes[start..cut])?;
            start = cut;
        }
        v.finish()
    }

    #[test]
    fn every_split_of_valid_text_is_valid() {
        let text = "Hello-µ@ßöäüàá-UTF-8!! κόσμε 𝄞 ✓".as_bytes();
        for i in 0..=text.len() {
            for j in i..=text.len() {
                assert_eq!(validate_in_pieces(text, &[i, j]), Ok(()), "cuts {i} {j}");
            }
        }
    }

    #[test]
    fn fails_as_soon_as_the_sequence_is_invalid() {
        // 0xF4 0x90 starts a code point above U+10FFFF: invalid at its second byte.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"ok \xf4"), Ok(()));
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
        // A lone continuation byte fails at once.
        assert_eq!(Utf8Validator::new().feed(b"\x80"), Err(InvalidUtf8));
        // An overlong encoding fails at its second byte.
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xe0"), Ok(()));
        assert_eq!(v.feed(b"\x80"), Err(InvalidUtf8));
        // A surrogate half fails.
        assert_eq!(Utf8Validator::new().feed(b"\xed\xa0\x80"), Err(InvalidUtf8));
    }

    #[test]
    fn unfinished_code_point_fails_at_message_end() {
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"abc\xe2\x9c"), Ok(()));
        assert_eq!(v.finish(), Err(InvalidUtf8));
        // The validator is reusable after finish.
        assert_eq!(v.feed(b"abc"), Ok(()));
        assert_eq!(v.finish(), Ok(()));
    }

    #[test]
    fn byte_at_a_time_matches_whole() {
        let samples: [&[u8]; 5] = [
            "κόσμε".as_bytes(),
            b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",
            b"\xf0\x90\x80\x80",
            b"\xf8\x88\x80\x80\x80",
            b"\xc0\xaf",
        ];
        for s in samples {
            let whole = std::str::from_utf8(s).is_ok();
            let mut v = Utf8Validator::new();
            let pieces = s.iter().try_for_each(|b| v.feed(std::slice::from_ref(b)));
            let piecewise = pieces.and_then(|_| v.finish()).is_ok();
            assert_eq!(whole, piecewise, "{s:?}");
        }
    }
}
