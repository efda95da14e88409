//! Error texts and URLs without passwords: what the backplane reports may end up in logs.

/// `url` with the password of its user info replaced by `***`
/// (`redis://user:secret@host` → `redis://user:***@host`).
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // The last '@' ends the user info: a password may itself hold '@'.
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let Some(colon) = userinfo.find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        &url[..scheme_end + 3],
        &userinfo[..colon],
        &url[scheme_end + 3 + at..]
    )
}

/// `text` with every occurrence of `secret` (when there is one) replaced by `***`: an error
/// from the client may quote what it was given.
pub(crate) fn redact(text: &str, secret: Option<&str>) -> String {
    match secret {
        Some(secret) if !secret.is_empty() => text.replace(secret, "***"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_leave_urls_and_texts() {
        assert_eq!(
            redact_url("redis://user:p@ss@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(redact_url("redis://:secret@host"), "redis://:***@host");
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
        assert_eq!(redact_url("redis://user@host"), "redis://user@host");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact("auth secret refused", Some("secret")),
            "auth *** refused"
        );
        assert_eq!(redact("refused", None), "refused");
    }
}
