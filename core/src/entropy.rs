//! Randomness is an input: mask keys and `Sec-WebSocket-Key` come from a source the caller
//! provides, so tests are byte-exact and fuzzing reproducible.

use rand_chacha::ChaCha12Rng;
use rand_core::{RngCore, SeedableRng};

/// A source of unpredictable bytes for mask keys and handshake nonces.
///
/// Masking protects intermediaries from cache poisoning by attacker-chosen payloads, so a
/// client's keys must not be predictable (RFC 6455 §10.3): seed [`SeededEntropy`] from the
/// operating system, as the runtime adapters do.
pub trait Entropy: Send {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

/// A ChaCha12 stream seeded by the caller: fast, and unpredictable when the seed is.
///
/// ```
/// use ropeway_core::{Entropy, SeededEntropy};
///
/// // The same seed gives the same mask keys: tests and fuzzing replay byte for byte.
/// let (mut a, mut b) = (SeededEntropy::from_seed([1; 32]), SeededEntropy::from_seed([1; 32]));
/// let (mut x, mut y) = ([0; 4], [0; 4]);
/// a.fill(&mut x);
/// b.fill(&mut y);
/// assert_eq!(x, y);
/// ```
pub struct SeededEntropy(ChaCha12Rng);

impl SeededEntropy {
    /// A stream from a 32-byte seed (take it from the OS, e.g. the `getrandom` crate).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SeededEntropy(ChaCha12Rng::from_seed(seed))
    }
}

impl std::fmt::Debug for SeededEntropy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeededEntropy")
    }
}

impl Entropy for SeededEntropy {
    #[inline]
    fn fill(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
}

/// Zero entropy: every mask key is `[0; 4]`. For tests and benchmarks only; a client that
/// talks to a real network must use [`SeededEntropy`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ZeroEntropy;

impl Entropy for ZeroEntropy {
    fn fill(&mut self, dest: &mut [u8]) {
        dest.fill(0);
    }
}
