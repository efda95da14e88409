//! Payloads whose corruption shows: every UTF-8 width, and a pattern a shifted or truncated
//! copy does not match.

/// A UTF-8 string of exactly `n` bytes mixing 1- to 4-byte characters.
pub fn text_of_len(n: usize) -> String {
    const UNIT: &str = "aé✓😀"; // 1 + 2 + 3 + 4 bytes
    let mut text = UNIT.repeat(n / UNIT.len());
    for ch in ['😀', '✓', 'é'] {
        if n - text.len() >= ch.len_utf8() {
            text.push(ch);
        }
    }
    while text.len() < n {
        text.push('a');
    }
    assert_eq!(text.len(), n);
    text
}

/// `n` bytes of a pattern that a shifted or truncated copy does not match.
pub fn bytes_of_len(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8 ^ (i >> 12) as u8).collect()
}
