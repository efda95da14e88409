//! Mask keys and handshake nonces from a stream seeded by the operating system.

use ropeway_core::{Error, SeededEntropy};

/// A ChaCha stream seeded from the operating system's randomness.
pub fn os_seeded_entropy() -> Result<SeededEntropy, Error> {
    let mut seed = [0; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    Ok(SeededEntropy::from_seed(seed))
}

/// Randomness for a reconnect schedule's jitter, seeded by the operating system. The jitter
/// only spreads clients out in time and protects no secret, so where the OS has no
/// randomness to give, the clock's nanoseconds seed it instead of failing.
pub fn jitter_entropy() -> SeededEntropy {
    os_seeded_entropy().unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let mut seed = [0; 32];
        seed[..16].copy_from_slice(&nanos.to_le_bytes());
        SeededEntropy::from_seed(seed)
    })
}
