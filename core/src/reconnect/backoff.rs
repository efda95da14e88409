//! The reconnect schedule: when to try again after each drop or failed attempt, or whether
//! to give up. Time and randomness are inputs; nothing here sleeps.

use std::time::{Duration, Instant, SystemTime};

use super::classify::{Disconnect, Verdict, classify};
use super::event::Reconnect;
use super::policy::ReconnectPolicy;
use crate::entropy::Entropy;

/// One reconnecting client's schedule. Tell it each time a connection opens
/// ([`connected`](Self::connected)) and each time one drops or an attempt fails
/// ([`disconnected`](Self::disconnected)); it answers when to try again.
///
/// ```
/// use std::time::{Duration, Instant, SystemTime};
/// use ropeway_core::ZeroEntropy;
/// use ropeway_core::reconnect::{Backoff, Decision, Disconnect, ReconnectPolicy};
///
/// let policy = ReconnectPolicy { jitter: 0.0, ..ReconnectPolicy::default() };
/// let mut backoff = Backoff::new(policy);
/// let now = Instant::now();
/// let refused = || Disconnect::Failed(std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into());
/// let delays: Vec<_> = (0..3)
///     .map(|_| match backoff.disconnected(&refused(), now, SystemTime::now(), &mut ZeroEntropy) {
///         Decision::Retry { delay, .. } => delay,
///         Decision::Stop(stop) => panic!("{stop:?}"),
///     })
///     .collect();
/// assert_eq!(delays, [500, 1000, 2000].map(Duration::from_millis));
/// ```
#[derive(Clone, Debug)]
pub struct Backoff {
    policy: ReconnectPolicy,
    /// Failed attempts and drops since the last reset.
    failures: u32,
    /// When the current connection opened, if one is open.
    connected_at: Option<Instant>,
}

/// What to do after a drop or a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Connect again at `at`.
    Retry {
        /// When to try.
        at: Instant,
        /// `at` minus the time of the drop: what to tell the application.
        delay: Duration,
        /// Which failure in a row this was (1 for the first since the last reset).
        attempt: u32,
    },
    /// Do not try again.
    Stop(Stop),
}

/// Why a reconnecting client gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Trying again would get the same answer (see [`classify`]).
    Fatal,
    /// [`ReconnectPolicy::max_attempts`] attempts in a row failed.
    Exhausted {
        /// How many.
        attempts: u32,
    },
}

impl Backoff {
    /// A schedule with no failures yet.
    pub fn new(policy: ReconnectPolicy) -> Backoff {
        Backoff {
            policy,
            failures: 0,
            connected_at: None,
        }
    }

    /// The settings.
    pub fn policy(&self) -> &ReconnectPolicy {
        &self.policy
    }

    /// Failed attempts and drops since the last reset.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A connection opened at `now` (its handshake completed).
    pub fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
    }

    /// A connection dropped or an attempt failed at `now` (`date`: the wall clock, for a
    /// `Retry-After` HTTP date). Takes randomness for the jitter from `entropy`.
    pub fn disconnected(
        &mut self,
        why: &Disconnect,
        now: Instant,
        date: SystemTime,
        entropy: &mut dyn Entropy,
    ) -> Decision {
        if let Some(since) = self.connected_at.take()
            && now.saturating_duration_since(since) >= self.policy.stable_after
        {
            self.failures = 0;
        }
        let not_before = match classify(why, date) {
            Verdict::Fatal => return Decision::Stop(Stop::Fatal),
            Verdict::Transient { not_before } => not_before,
        };
        self.failures = self.failures.saturating_add(1);
        if let Some(max) = self.policy.max_attempts
            && self.failures >= max
        {
            return Decision::Stop(Stop::Exhausted {
                attempts: self.failures,
            });
        }
        let mut delay = jittered(self.backoff_delay(), self.policy.jitter, entropy);
        if let Some(asked) = not_before {
            delay = delay.max(asked.min(self.policy.max_retry_after));
        }
        Decision::Retry {
            at: now.checked_add(delay).unwrap_or(now),
            delay,
            attempt: self.failures,
        }
    }

    /// [`disconnected`](Self::disconnected), and the event that reports `cause` with the
    /// decision to the application: the deadline of the next attempt (`None`: stop there)
    /// and the [`Reconnect`] to hand out.
    pub fn report(
        &mut self,
        cause: Disconnect,
        now: Instant,
        date: SystemTime,
        entropy: &mut dyn Entropy,
    ) -> (Option<Instant>, Reconnect) {
        let decision = self.disconnected(&cause, now, date, entropy);
        let retry_at = match decision {
            Decision::Retry { at, .. } => Some(at),
            Decision::Stop(_) => None,
        };
        (retry_at, Reconnect::after(cause, decision))
    }

    /// `initial_delay × factor^(failures − 1)`, capped at `max_delay`.
    fn backoff_delay(&self) -> Duration {
        let p = &self.policy;
        let exponent = i32::try_from(self.failures.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = p.initial_delay.as_secs_f64() * p.factor.max(1.0).powi(exponent);
        // Past the cap, or too large for a Duration (infinite, NaN from a NaN factor).
        Duration::try_from_secs_f64(secs)
            .unwrap_or(p.max_delay)
            .min(p.max_delay)
    }
}

/// `delay` shortened by a random share of up to `jitter` (clamped to 0..=1) of itself.
fn jittered(delay: Duration, jitter: f64, entropy: &mut dyn Entropy) -> Duration {
    let jitter = if jitter.is_nan() {
        0.0
    } else {
        jitter.clamp(0.0, 1.0)
    };
    if jitter == 0.0 {
        return delay;
    }
    let mut bytes = [0; 8];
    entropy.fill(&mut bytes);
    // 53 random bits: a uniform f64 in [0, 1).
    let unit = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    delay.mul_f64(1.0 - jitter * unit)
}
