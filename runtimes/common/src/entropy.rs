//! Mask keys and handshake nonces from a stream seeded by the operating system.

use ropeway_core::{Error, SeededEntropy};

/// A ChaCha stream seeded from the operating system's randomness.
pub fn os_seeded_entropy() -> Result<SeededEntropy, Error> {
    let mut seed = [0; 32];
    getrandom::fill(&mut seed).map_err(|e| Error::Io(std::io::Error::other(e.to_string())))?;
    Ok(SeededEntropy::from_seed(seed))
}
