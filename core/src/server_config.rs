//! A server's settings, the same for every runtime and for HTTP/1.1 and HTTP/2.

use std::sync::Arc;
use std::time::Duration;

use crate::budget::MemoryBudget;
use crate::config::Config;
use crate::extension::ServerExtension;

/// Server settings. The defaults follow the reference stack where it has one.
///
/// ```
/// use std::time::Duration;
/// use ropeway_core::ServerConfig;
///
/// let mut config = ServerConfig::default();
/// config.allowed_origins = vec!["https://example.com".into()]; // others get 403
/// config.core.keep_alive_interval = Some(Duration::from_secs(30));
/// config.core.limits.max_message_size = 64 << 20; // trusted peers sending large messages
/// assert!(config.origin_allowed(Some("https://EXAMPLE.com")));
/// assert!(!config.origin_allowed(Some("https://evil.example")));
/// assert!(!config.origin_allowed(None));
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    /// The protocol core's settings: keep-alive interval (default 2 minutes) and timeout,
    /// close timeout, and limits (frame, message, handshake, queued output).
    pub core: Config,
    /// Origins allowed to open a WebSocket, compared case-insensitively with the `Origin`
    /// header (e.g. `https://example.com`). Empty allows all. Otherwise a request with a
    /// missing or unlisted `Origin` gets 403 and never reaches the application: CORS does not
    /// protect WebSockets.
    pub allowed_origins: Vec<String>,
    /// The read buffer size (default 4 KiB): how much is read at once.
    pub read_buffer_size: usize,
    /// How long a client may take to send its request head (default 10 s).
    pub handshake_timeout: Duration,
    /// Extensions offered to clients, in order of preference (permessage-deflate).
    pub extensions: Vec<Arc<dyn ServerExtension>>,
    /// A budget for the bytes that all the connections accepted with this configuration
    /// buffer together (see [`MemoryBudget`]): while it is spent, a connection that needs
    /// more than its share to read on is closed with 1013. `None` (the default) leaves only
    /// each connection's own limits.
    pub memory_budget: Option<Arc<MemoryBudget>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            core: Config::default(),
            allowed_origins: Vec::new(),
            read_buffer_size: 4096,
            handshake_timeout: Duration::from_secs(10),
            extensions: Vec::new(),
            memory_budget: None,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("core", &self.core)
            .field("allowed_origins", &self.allowed_origins)
            .field("read_buffer_size", &self.read_buffer_size)
            .field("handshake_timeout", &self.handshake_timeout)
            .field(
                "extensions",
                &self.extensions.iter().map(|e| e.name()).collect::<Vec<_>>(),
            )
            .field("memory_budget", &self.memory_budget)
            .finish()
    }
}

impl ServerConfig {
    /// Whether `origin` may open a WebSocket.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        if self.allowed_origins.is_empty() {
            return true;
        }
        origin.is_some_and(|o| {
            self.allowed_origins
                .iter()
                .any(|a| a.eq_ignore_ascii_case(o))
        })
    }
}
