//! Reading comma-separated header lists, where tokens compare case-insensitively and a list
//! may span several header lines (RFC 7230 §3.2.2, §7).

use http::HeaderMap;
use http::header::AsHeaderName;

/// Every element of a comma-separated list header, trimmed, across all its lines.
pub(crate) fn list_elements<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Vec<&str> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Whether a list header holds `token` (case-insensitive).
pub(crate) fn has_token<K: AsHeaderName>(headers: &HeaderMap, name: K, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// All lines of a header joined with `, `, as one list.
pub(crate) fn joined<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let mut out = String::new();
    for v in values {
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(v.to_str().ok()?);
    }
    Some(out)
}

/// The extensions a 101 (or HTTP/2 200) response agreed on, with their parameters; empty
/// when it names none (an unparsable value was refused before this is asked).
pub(crate) fn agreed_extensions(headers: &HeaderMap) -> Vec<crate::extension::ExtensionOffer> {
    joined(headers, http::header::SEC_WEBSOCKET_EXTENSIONS)
        .and_then(|value| crate::extension::parse_extensions(&value).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{CONNECTION, UPGRADE};

    #[test]
    fn tokens_inside_lists_and_across_lines() {
        let mut h = HeaderMap::new();
        h.append(CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        h.append(UPGRADE, "h2c".parse().unwrap());
        h.append(UPGRADE, "WebSocket".parse().unwrap());
        assert!(has_token(&h, CONNECTION, "upgrade"));
        assert!(has_token(&h, UPGRADE, "websocket"));
        assert!(!has_token(&h, CONNECTION, "close"));
        assert_eq!(list_elements(&h, UPGRADE), vec!["h2c", "WebSocket"]);
        assert_eq!(joined(&h, UPGRADE).as_deref(), Some("h2c, WebSocket"));
    }
}
