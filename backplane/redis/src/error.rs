//! Why a [`crate::RedisBackplane`] did not start.

/// Why [`crate::RedisBackplane::start`] failed. Failures to reach Redis are not among
/// them: the backplane retries those in the background.
#[derive(Debug)]
pub enum Error {
    /// The URL is not one the Redis client accepts.
    Url {
        /// The URL, without its password.
        url: String,
        /// What the client said.
        reason: String,
    },
    /// A thread could not be started.
    Spawn(std::io::Error),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Url { url, reason } => write!(f, "invalid redis URL {url}: {reason}"),
            Error::Spawn(e) => write!(f, "cannot start a redis backplane thread: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Url { .. } => None,
            Error::Spawn(e) => Some(e),
        }
    }
}
