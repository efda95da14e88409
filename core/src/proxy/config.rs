//! A proxy's address, protocol and credentials, parsed from a URL.

use std::fmt;

use super::error::ProxyError;
use super::no_proxy::NoProxy;

/// The protocol spoken with the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyKind {
    /// An HTTP proxy: `CONNECT host:port` (`http://`).
    Http,
    /// An HTTP proxy reached over TLS (`https://`): `CONNECT` inside TLS to the proxy,
    /// whose certificate is checked with the client's TLS settings; `wss://` through one is
    /// TLS inside TLS. Every client supports it (tokio, smol, HTTP/2, blocking).
    Https,
    /// A SOCKS5 proxy (`socks5://` or `socks5h://`). Both send the target's host name to
    /// the proxy, which resolves it: see [`Proxy::socks5`].
    Socks5,
    /// A SOCKS4a proxy (`socks4a://`): the host name goes to the proxy; the username, if
    /// any, is the user id (SOCKS4 has no password).
    Socks4a,
}

/// A username and password for the proxy. `Debug` shows the username only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    username: String,
    password: String,
}

impl Credentials {
    /// A username and password.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The username.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The password (to send to the proxy; never print it).
    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// A proxy to reach the WebSocket server through: its protocol, address and credentials,
/// and the hosts to reach directly instead.
///
/// ```
/// use ropeway_core::proxy::{Proxy, ProxyKind};
///
/// let proxy = Proxy::parse("http://alice:s%40cret@proxy.corp:3128").unwrap();
/// assert_eq!((proxy.kind(), proxy.host(), proxy.port()), (ProxyKind::Http, "proxy.corp", 3128));
/// assert_eq!(proxy.credentials().unwrap().password(), "s@cret");
/// assert!(!format!("{proxy:?}").contains("cret")); // Debug never shows the password
///
/// let socks = Proxy::socks5("socks5h://127.0.0.1:1080").unwrap().with_credentials("bob", "pw");
/// assert_eq!(socks.kind(), ProxyKind::Socks5);
/// assert!(Proxy::http("socks5://127.0.0.1").is_err()); // the constructor checks the scheme
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proxy {
    kind: ProxyKind,
    host: String,
    port: u16,
    credentials: Option<Credentials>,
    bypass: NoProxy,
}

impl Proxy {
    /// A proxy from its URL: `http://`, `https://`, `socks5://`, `socks5h://` or
    /// `socks4a://`, then
    /// `[user[:password]@]host[:port]` (user and password percent-decoded, IPv6 hosts in
    /// brackets). A URL without a scheme is an HTTP proxy, as curl takes it. The default
    /// port is 80 for `http`, 443 for `https`, 1080 for SOCKS.
    pub fn parse(url: &str) -> Result<Proxy, ProxyError> {
        let (scheme, rest) = match url.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("http".to_owned(), url),
        };
        let (kind, default_port) = match scheme.as_str() {
            "http" => (ProxyKind::Http, 80),
            "https" => (ProxyKind::Https, 443),
            "socks5" | "socks5h" => (ProxyKind::Socks5, 1080),
            "socks4a" => (ProxyKind::Socks4a, 1080),
            _ => {
                return Err(invalid(
                    "the scheme is not http, https, socks5, socks5h or socks4a",
                    url,
                ));
            }
        };
        // A trailing slash (`http://proxy:3128/`) is common in environment variables.
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(invalid("a proxy URL has no path", url));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let credentials = match userinfo {
            Some(userinfo) => {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                let decode = |s| {
                    percent_decode(s)
                        .ok_or_else(|| invalid("bad percent-encoding in the credentials", url))
                };
                Some(Credentials::new(decode(user)?, decode(pass)?))
            }
            None => None,
        };
        let (host, port) =
            split_host_port(hostport).ok_or_else(|| invalid("no valid host[:port]", url))?;
        Ok(Proxy {
            kind,
            host: host.to_owned(),
            port: port.unwrap_or(default_port),
            credentials,
            bypass: NoProxy::default(),
        })
    }

    /// An HTTP proxy (`http://…`, or `https://…` for TLS to the proxy).
    pub fn http(url: &str) -> Result<Proxy, ProxyError> {
        Self::parse_as(url, &[ProxyKind::Http, ProxyKind::Https])
    }

    /// A SOCKS5 proxy (`socks5://…` or `socks5h://…`). Both send the target's host name to
    /// the proxy (ATYP 3), which resolves it: resolving here would bypass the proxy's view of
    /// the network and leak the lookup to the local resolver. (curl resolves locally for
    /// `socks5://`; a WebSocket client behind a proxy wants the proxy's resolution.)
    pub fn socks5(url: &str) -> Result<Proxy, ProxyError> {
        Self::parse_as(url, &[ProxyKind::Socks5])
    }

    fn parse_as(url: &str, kinds: &[ProxyKind]) -> Result<Proxy, ProxyError> {
        let proxy = Self::parse(url)?;
        if !kinds.contains(&proxy.kind) {
            return Err(invalid("the scheme does not match the proxy's kind", url));
        }
        Ok(proxy)
    }

    /// Sets the username and password (instead of any in the URL).
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.credentials = Some(Credentials::new(username, password));
        self
    }

    /// Reaches the hosts `bypass` matches directly, not through this proxy.
    pub fn with_no_proxy(mut self, bypass: NoProxy) -> Self {
        self.bypass = bypass;
        self
    }

    /// The protocol spoken with the proxy.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host (IPv6 without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The credentials, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The hosts reached directly.
    pub fn no_proxy(&self) -> &NoProxy {
        &self.bypass
    }

    /// Whether a connection to `host:port` goes through this proxy (not bypassed).
    pub fn applies_to(&self, host: &str, port: u16) -> bool {
        !self.bypass.matches(host, port)
    }

    /// `host:port` for messages (IPv6 in brackets).
    pub fn address(&self) -> String {
        host_port(&self.host, self.port)
    }
}

/// The proxy's URL with the password replaced by `***` (for logs and messages).
///
/// ```
/// use ropeway_core::proxy::Proxy;
///
/// let proxy = Proxy::parse("socks5h://alice:hunter2@[::1]:1080").unwrap();
/// assert_eq!(proxy.to_string(), "socks5://alice:***@[::1]:1080");
/// ```
impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks5 => "socks5",
            ProxyKind::Socks4a => "socks4a",
        };
        write!(f, "{scheme}://")?;
        if let Some(credentials) = &self.credentials {
            write!(f, "{}:***@", credentials.username)?;
        }
        f.write_str(&self.address())
    }
}

/// `host:port`, with an IPv6 host in brackets.
pub(crate) fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Splits `host[:port]` or `[v6][:port]`; `None` for an empty host or a bad port.
pub(crate) fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':')?)),
        }
    } else {
        match s.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => (host, Some(port)),
            Some(_) => return None,
            None => (s, None),
        }
    };
    if host.is_empty() || host.contains(['@', ' ', '[', ']']) {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p != 0)?),
        None => None,
    };
    Some((host, port))
}

/// Decodes `%XX` escapes; `None` for a malformed escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

/// The error for `url`, shown with its password replaced.
fn invalid(why: &str, url: &str) -> ProxyError {
    ProxyError::InvalidUrl(format!("{why}: {}", redact(url)))
}

/// `url` with the password of its userinfo (between the scheme's `//` or the start and the
/// last `@`) replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let Some(at) = url[start..].rfind('@').map(|i| start + i) else {
        return url.to_owned();
    };
    match url[start..at].find(':') {
        Some(colon) => format!("{}:***{}", &url[..start + colon], &url[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_of_proxy_urls() {
        /// (URL, kind, host, port, username and password)
        type Case<'a> = (&'a str, ProxyKind, &'a str, u16, Option<(&'a str, &'a str)>);
        let cases: &[Case] = &[
            ("http://proxy:3128", ProxyKind::Http, "proxy", 3128, None),
            ("http://proxy:3128/", ProxyKind::Http, "proxy", 3128, None),
            ("proxy.corp:8080", ProxyKind::Http, "proxy.corp", 8080, None),
            ("HTTP://proxy", ProxyKind::Http, "proxy", 80, None),
            ("https://proxy", ProxyKind::Https, "proxy", 443, None),
            (
                "socks5://10.0.0.1",
                ProxyKind::Socks5,
                "10.0.0.1",
                1080,
                None,
            ),
            ("socks5h://[::1]:9050", ProxyKind::Socks5, "::1", 9050, None),
            ("socks4a://p", ProxyKind::Socks4a, "p", 1080, None),
            ("http://u:p@h:1", ProxyKind::Http, "h", 1, Some(("u", "p"))),
            (
                "http://u%3Ax:p%40ss%25@h:1",
                ProxyKind::Http,
                "h",
                1,
                Some(("u:x", "p@ss%")),
            ),
            ("http://u@h", ProxyKind::Http, "h", 80, Some(("u", ""))),
            (
                "http://u:p@ss@h",
                ProxyKind::Http,
                "h",
                80,
                Some(("u", "p@ss")),
            ),
        ];
        for &(url, kind, host, port, creds) in cases {
            let proxy = Proxy::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(
                (proxy.kind(), proxy.host(), proxy.port()),
                (kind, host, port),
                "{url}"
            );
            let got = proxy.credentials().map(|c| (c.username(), c.password()));
            assert_eq!(got, creds, "{url}");
        }
    }

    #[test]
    fn refuses_bad_urls_without_showing_the_password() {
        for url in [
            "ftp://h",
            "http://",
            "http://h:0",
            "http://h:70000",
            "http://h:port",
            "http://h/path",
            "http://u:s3cret@h:99999",
            "http://u:s3cret%zz@h",
            "http://[::1",
            "socks4://h",
        ] {
            let error = Proxy::parse(url).expect_err(url).to_string();
            assert!(!error.contains("s3cret"), "{error}");
            assert!(error.starts_with("invalid proxy URL"), "{error}");
        }
        assert_eq!(redact("http://u:pw@h"), "http://u:***@h");
        assert_eq!(redact("u:pw@h:1"), "u:***@h:1");
        assert_eq!(redact("http://h:1"), "http://h:1");
    }

    #[test]
    fn constructors_check_the_scheme() {
        assert!(Proxy::http("http://h").is_ok());
        assert!(Proxy::http("socks5://h").is_err());
        assert!(Proxy::socks5("socks5h://h").is_ok());
        assert!(Proxy::socks5("http://h").is_err());
    }

    #[test]
    fn debug_hides_the_password() {
        let proxy = Proxy::parse("http://alice:hunter2@h").unwrap();
        let shown = format!(
            "{proxy:?} {:?}",
            proxy.clone().with_credentials("a", "hunter2")
        );
        assert!(
            shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
    }
}
