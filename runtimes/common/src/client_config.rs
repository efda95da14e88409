//! A client's settings, the same for every runtime.

#[cfg(feature = "tls")]
use std::sync::Arc;
use std::time::Duration;

use ropeway_core::Config;
use ropeway_core::extension::ClientExtension;

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
            .finish_non_exhaustive()
    }
}
