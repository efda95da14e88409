//! What each proxy failure must look like, checked the same way for the async clients
//! (`cases::proxy`) and the blocking client (ropeway-mio's `client_proxy` tests).

use std::net::SocketAddr;
use std::time::Duration;

use ropeway_core::Error;
use ropeway_core::proxy::ProxyError;

/// How long a failure through a proxy may take to be reported (the connect timeout of the
/// failing cases is far below it).
pub const PROMPT: Duration = Duration::from_secs(3);

/// The connect timeout of the cases with a proxy that never answers.
pub const SHORT_CONNECT_TIMEOUT: Duration = Duration::from_millis(300);

/// Reported within [`PROMPT`].
pub fn assert_prompt(took: Duration) {
    assert!(took < PROMPT, "the failure took {took:?}");
}

/// The proxy at `proxy` could not be reached.
pub fn assert_proxy_down(error: &Error, proxy: SocketAddr, took: Duration) {
    assert!(
        matches!(error, Error::Proxy(ProxyError::Unreachable { proxy: p, .. }) if *p == proxy.to_string()),
        "{error:?}"
    );
    assert_prompt(took);
}

/// The proxy did not answer within [`SHORT_CONNECT_TIMEOUT`], and that was reported soon
/// after it.
pub fn assert_proxy_timed_out(error: &Error, took: Duration) {
    assert!(
        matches!(error, Error::Proxy(ProxyError::Timeout)),
        "{error:?}"
    );
    assert!(
        took >= SHORT_CONNECT_TIMEOUT - Duration::from_millis(50),
        "{took:?}"
    );
    assert_prompt(took);
}

/// The proxy's answer was not its protocol.
pub fn assert_garbage(error: &Error, took: Duration) {
    assert!(
        matches!(error, Error::Proxy(ProxyError::Garbage(_))),
        "{error:?}"
    );
    assert_prompt(took);
}

/// The proxy refused the credentials; neither the error nor `config_shown` (the client
/// configuration's `Debug`) shows `password`.
pub fn assert_auth_failure_hiding(
    error: &Error,
    password: &str,
    config_shown: &str,
    took: Duration,
) {
    assert!(
        matches!(error, Error::Proxy(e) if e.is_auth_failure()),
        "{error:?}"
    );
    let shown = format!("{error} {error:?} {config_shown}");
    assert!(!shown.contains(password), "{shown}");
    assert_prompt(took);
}

/// tinyproxy could not reach the target: it answers with a 5xx (500 "Unable to connect").
pub fn assert_http_proxy_cannot_reach_target(error: &Error, took: Duration) {
    assert!(
        matches!(
            error,
            Error::Proxy(ProxyError::HttpRefused {
                status: 500..=599,
                ..
            })
        ),
        "{error:?}"
    );
    assert_prompt(took);
}

/// A SOCKS5 proxy could not reach the target, whose port is closed: "connection refused".
pub fn assert_socks_proxy_cannot_reach_target(error: &Error, took: Duration) {
    let Error::Proxy(ProxyError::SocksRefused(reply)) = error else {
        panic!("{error:?}");
    };
    assert_eq!(reply.name(), "connection refused", "{error}");
    assert_prompt(took);
}
