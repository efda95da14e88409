//! A client's settings, the same for every runtime.

#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

use ropeway_core::Config;
use ropeway_core::extension::ClientExtension;
use ropeway_core::proxy::{Proxy, ProxyConfig};

/// Client settings.
#[derive(Clone)]
pub struct ClientConfig {
    /// The protocol core's settings (keep-alive, close timeout, limits).
    pub core: Config,
    /// How long connecting (TCP and TLS) may take. Default 10 s.
    pub connect_timeout: Duration,
    /// How long the server may take to answer the upgrade request. Default 10 s.
    pub handshake_timeout: Duration,
    /// The TLS settings for `wss://`; `None` uses the webpki roots.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Extensions to offer (permessage-deflate).
    pub extensions: Vec<std::sync::Arc<dyn ClientExtension>>,
    /// The read buffer size. Default 4 KiB.
    pub read_buffer_size: usize,
    /// Disable Nagle's algorithm on the TCP connection (default on: WebSocket messages are
    /// latency-sensitive and the core already coalesces writes).
    pub nodelay: bool,
    /// Whether to connect through a proxy: none (the default), one
    /// ([`with_proxy`](Self::with_proxy)), or the one the environment names
    /// ([`proxy_from_env`](Self::proxy_from_env)). The proxy step runs inside
    /// [`connect_timeout`](Self::connect_timeout).
    ///
    /// An `https://` proxy's certificate is checked with the `tls` settings, like the
    /// server's (tokio and smol; the blocking client for `ws://` only, the HTTP/2 client
    /// not yet).
    ///
    /// Environment proxies are off by default: a library that obeys `HTTPS_PROXY` on its
    /// own sends traffic wherever the process environment says, which surprises services
    /// that never meant to use a proxy; applications that want curl's behaviour opt in with
    /// one call.
    pub proxy: ProxyConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            core: Config::default(),
            connect_timeout: Duration::from_secs(10),
            handshake_timeout: Duration::from_secs(10),
            #[cfg(feature = "tls")]
            tls: None,
            extensions: Vec::new(),
            read_buffer_size: 4096,
            nodelay: true,
            proxy: ProxyConfig::None,
        }
    }
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("core", &self.core)
            .field("connect_timeout", &self.connect_timeout)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("read_buffer_size", &self.read_buffer_size)
            .field("nodelay", &self.nodelay)
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Connects through `proxy` (unless its `NO_PROXY` list matches the target).
    ///
    /// ```
    /// use ropeway_common::{ClientConfig, Proxy};
    ///
    /// let config = ClientConfig::default().with_proxy(Proxy::socks5("socks5h://127.0.0.1:1080")?);
    /// # Ok::<(), ropeway_core::proxy::ProxyError>(())
    /// ```
    pub fn with_proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = ProxyConfig::Explicit(proxy);
        self
    }

    /// Connects through the proxy the environment names for each target, as curl does:
    /// `https_proxy` for `wss://`, `http_proxy` for `ws://`, else `all_proxy`, unless
    /// `no_proxy` matches (see [`Proxy::from_env`]).
    pub fn proxy_from_env(mut self) -> Self {
        self.proxy = ProxyConfig::FromEnv;
        self
    }
}
