//! Which proxy the environment asks for (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
//! `NO_PROXY`), and the client setting that chooses between none, one, and the environment's.

use super::config::Proxy;
use super::error::ProxyError;
use super::no_proxy::NoProxy;

/// Whether and how a client goes through a proxy. The default is [`ProxyConfig::None`].
///
/// Proxies from the environment are off unless asked for ([`ProxyConfig::FromEnv`]): a
/// library that reads `HTTPS_PROXY` on its own sends an application's traffic to wherever
/// the process environment says, which surprises services that never meant to use a proxy
/// (and an `HTTP_PROXY` can even come from a CGI request's `Proxy:` header, "httpoxy").
/// Applications that want curl's behaviour opt in with one call
/// (`ClientConfig::proxy_from_env()`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyConfig {
    /// Connect directly.
    #[default]
    None,
    /// Through this proxy (unless its [`NoProxy`] list matches the target).
    Explicit(Proxy),
    /// Through the proxy the environment names for the target, read at each connect, as
    /// curl reads it: see [`Proxy::from_env`].
    FromEnv,
}

impl ProxyConfig {
    /// The proxy to reach `host:port` through (`secure` for `wss://`), or `None` to connect
    /// directly.
    pub fn resolve(
        &self,
        host: &str,
        port: u16,
        secure: bool,
    ) -> Result<Option<Proxy>, ProxyError> {
        self.resolve_with(host, port, secure, |name| std::env::var(name).ok())
    }

    /// [`resolve`](Self::resolve) with the environment read through `lookup` (for tests and
    /// for applications that keep their settings elsewhere).
    pub fn resolve_with(
        &self,
        host: &str,
        port: u16,
        secure: bool,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Proxy>, ProxyError> {
        match self {
            ProxyConfig::None => Ok(None),
            ProxyConfig::Explicit(proxy) => Ok(proxy.applies_to(host, port).then(|| proxy.clone())),
            ProxyConfig::FromEnv => from_lookup(host, port, secure, lookup),
        }
    }
}

impl From<Proxy> for ProxyConfig {
    fn from(proxy: Proxy) -> Self {
        ProxyConfig::Explicit(proxy)
    }
}

impl Proxy {
    /// The proxy the environment names for `target_url` (`ws://…` or `wss://…`), or `None`:
    /// `https_proxy` for `wss://`, `http_proxy` for `ws://`, else `all_proxy` (each in
    /// lower case, else upper case; an empty value counts as unset), unless `no_proxy`
    /// (see [`NoProxy`]) matches the target.
    pub fn from_env(target_url: &str) -> Result<Option<Proxy>, ProxyError> {
        let request = crate::handshake::ClientRequest::from_url(target_url).map_err(|_| {
            ProxyError::InvalidUrl(format!("not a ws:// or wss:// URL: {target_url}"))
        })?;
        from_lookup(
            request.host(),
            request.port(),
            request.is_secure(),
            |name| std::env::var(name).ok(),
        )
    }
}

/// The environment's proxy for `host:port`, with variables read through `lookup`.
///
/// ```
/// use ropeway_core::proxy::from_lookup;
///
/// let env = |name: &str| match name {
///     "https_proxy" => Some("http://proxy:3128".to_owned()),
///     "NO_PROXY" => Some(".internal".to_owned()),
///     _ => None,
/// };
/// assert_eq!(from_lookup("example.com", 443, true, env).unwrap().unwrap().port(), 3128);
/// assert!(from_lookup("ws.internal", 443, true, env).unwrap().is_none()); // NO_PROXY
/// assert!(from_lookup("example.com", 80, false, env).unwrap().is_none()); // no http_proxy
/// ```
pub fn from_lookup(
    host: &str,
    port: u16,
    secure: bool,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, ProxyError> {
    let var = |name: &str| {
        [name.to_ascii_lowercase(), name.to_ascii_uppercase()]
            .into_iter()
            .find_map(|n| lookup(&n).filter(|v| !v.trim().is_empty()))
    };
    let scheme_var = if secure { "https_proxy" } else { "http_proxy" };
    let Some(url) = var(scheme_var).or_else(|| var("all_proxy")) else {
        return Ok(None);
    };
    let bypass = NoProxy::parse(&var("no_proxy").unwrap_or_default());
    if bypass.matches(host, port) {
        return Ok(None);
    }
    Ok(Some(Proxy::parse(url.trim())?.with_no_proxy(bypass)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::ProxyKind;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn picks_the_variable_for_the_scheme() {
        let vars = [
            ("https_proxy", "http://s:1"),
            ("http_proxy", "http://p:2"),
            ("ALL_PROXY", "socks5h://a:3"),
        ];
        let for_wss = from_lookup("h", 443, true, env(&vars)).unwrap().unwrap();
        let for_ws = from_lookup("h", 80, false, env(&vars)).unwrap().unwrap();
        assert_eq!((for_wss.host(), for_ws.host()), ("s", "p"));
        let only_all = from_lookup("h", 80, false, env(&vars[2..]))
            .unwrap()
            .unwrap();
        assert_eq!((only_all.host(), only_all.kind()), ("a", ProxyKind::Socks5));
    }

    #[test]
    fn lower_case_wins_and_empty_is_unset() {
        let vars = [
            ("HTTPS_PROXY", "http://upper:1"),
            ("https_proxy", "http://lower:1"),
        ];
        assert_eq!(
            from_lookup("h", 443, true, env(&vars))
                .unwrap()
                .unwrap()
                .host(),
            "lower"
        );
        let vars = [("https_proxy", " "), ("HTTPS_PROXY", "http://upper:1")];
        assert_eq!(
            from_lookup("h", 443, true, env(&vars))
                .unwrap()
                .unwrap()
                .host(),
            "upper"
        );
        assert!(
            from_lookup("h", 443, true, env(&[("https_proxy", "")]))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn no_proxy_bypasses_and_stays_with_the_proxy() {
        let vars = [
            ("https_proxy", "http://p:1"),
            ("no_proxy", "localhost,127.0.0.0/8"),
        ];
        assert!(
            from_lookup("localhost", 443, true, env(&vars))
                .unwrap()
                .is_none()
        );
        assert!(
            from_lookup("127.0.0.1", 443, true, env(&vars))
                .unwrap()
                .is_none()
        );
        let proxy = from_lookup("example.com", 443, true, env(&vars))
            .unwrap()
            .unwrap();
        assert!(proxy.no_proxy().matches("localhost", 1));
    }

    #[test]
    fn a_bad_env_url_is_an_error_without_the_password() {
        let vars = [("https_proxy", "ftp://u:topsecret@p")];
        let error = from_lookup("h", 443, true, env(&vars))
            .unwrap_err()
            .to_string();
        assert!(!error.contains("topsecret"), "{error}");
    }

    #[test]
    fn the_config_decides() {
        let proxy = Proxy::parse("http://p:1")
            .unwrap()
            .with_no_proxy(NoProxy::parse("direct.test"));
        let config = ProxyConfig::from(proxy);
        assert!(
            config
                .resolve_with("x.test", 80, false, |_| None)
                .unwrap()
                .is_some()
        );
        assert!(
            config
                .resolve_with("direct.test", 80, false, |_| None)
                .unwrap()
                .is_none()
        );
        assert!(
            ProxyConfig::None
                .resolve_with("x", 80, false, |_| Some("http://p:1".into()))
                .unwrap()
                .is_none()
        );
        let from_env = ProxyConfig::FromEnv.resolve_with("x", 80, false, |n| {
            (n == "http_proxy").then(|| "p:9".into())
        });
        assert_eq!(from_env.unwrap().unwrap().port(), 9);
    }
}
