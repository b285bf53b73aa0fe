//! Retry policy: the one place a delay between tries is computed. An op's next attempt (and an
//! uncertain op's next lookup): exponential backoff from backon (1 s, ×2, up to 60 s, with
//! jitter), [`backoff`]; a 429's `Retry-After` is used as it is by the worker instead. Tries
//! inside one decision (a safety read, whose key this is) and the breaker's open periods:
//! a [`Doubling`] each names. Pure: it computes delays, the engine waits them out.

use backon::{BackoffBuilder, ExponentialBuilder};
use std::time::Duration;

/// The first retry's base delay.
pub const MIN_DELAY: Duration = Duration::from_secs(1);
/// No computed delay exceeds this (the server's `Retry-After` may).
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// The delay before retry number `attempt` (1 = the first retry; 0 is read as 1): exponential
/// with additive jitter (up to +100 %), capped at [`MAX_DELAY`].
pub fn backoff(attempt: u32) -> Duration {
    // From the 7th retry on the delay sits at the cap; no need to walk further.
    let nth = attempt.clamp(1, 16) as usize;
    ExponentialBuilder::default()
        .with_min_delay(MIN_DELAY)
        .with_factor(2.0)
        .with_max_delay(MAX_DELAY)
        .with_jitter()
        .with_max_times(nth)
        .build()
        .nth(nth - 1)
        .unwrap_or(MAX_DELAY)
        .min(MAX_DELAY)
}

/// A doubling delay without jitter: `first`, ×2 after each failed try, never above `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Doubling {
    pub first: Duration,
    pub max: Duration,
}

impl Doubling {
    /// The delay after `failed` failed tries (0: before the first retry).
    pub fn after(&self, failed: u32) -> Duration {
        self.first.saturating_mul(2u32.saturating_pow(failed.min(16))).min(self.max)
    }
}

/// A read a safety decision needs, after an answer that proves nothing: 250 ms, 500 ms, 1 s.
pub const READ: Doubling = Doubling { first: Duration::from_millis(250), max: MAX_DELAY };
/// Asking whose key this is, after an answer that proves nothing: 500 ms, 1 s, 2 s.
pub const IDENTITY: Doubling = Doubling { first: Duration::from_millis(500), max: MAX_DELAY };

/// How a read that a decision needs is carried through passing trouble (the send path's
/// `read_as` follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPolicy {
    /// Answers that prove nothing (and pauses, where they are waited out) before giving up.
    pub tries: u32,
    /// 429s before giving up (each waited out in the pacer).
    pub rate_limited: u32,
    /// The wait after an answer that proves nothing.
    pub backoff: Doubling,
    /// While the breaker holds requests: wait this long and count a try (`None`: give up).
    pub paused: Option<Duration>,
}

/// A read a safety decision needs (roles, the agent listing, ticket fields, open tickets).
pub const SAFETY_READ: ReadPolicy = ReadPolicy { tries: 3, rate_limited: 20, backoff: READ, paused: None };
/// `GET agents/me`: a pause is waited out (500 ms), since a run cannot delete without it.
pub const IDENTITY_READ: ReadPolicy =
    ReadPolicy { tries: 3, rate_limited: 20, backoff: IDENTITY, paused: Some(Duration::from_millis(500)) };

/// Whether an op that has made `attempt` attempts so far may make another.
pub fn should_retry(attempt: u32, max_attempts: u32) -> bool {
    attempt < max_attempts
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn backoff_doubles_from_one_second_with_at_most_double_jitter() {
        for (attempt, base) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 32)] {
            for _ in 0..50 {
                let d = backoff(attempt);
                assert!(d >= base * S && d < 2 * base * S, "attempt {attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn backoff_is_capped_at_sixty_seconds() {
        for attempt in [7, 10, 40, u32::MAX / 2] {
            let d = backoff(attempt);
            assert!(d <= MAX_DELAY && d >= 32 * S, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn jitter_spreads_the_delays() {
        let delays: std::collections::HashSet<_> = (0..20).map(|_| backoff(3)).collect();
        assert!(delays.len() > 10);
    }

    #[test]
    fn attempt_zero_reads_as_the_first_retry() {
        let d = backoff(0);
        assert!(d >= S && d < 2 * S);
    }

    #[test]
    fn a_doubling_delay_doubles_from_its_first_and_stops_at_its_max() {
        let ms = Duration::from_millis;
        assert_eq!([0, 1, 2].map(|n| READ.after(n)), [ms(250), ms(500), ms(1000)]);
        assert_eq!([0, 1, 2].map(|n| IDENTITY.after(n)), [ms(500), ms(1000), ms(2000)]);
        let breaker = Doubling { first: 5 * S, max: 300 * S };
        assert_eq!(
            [0, 1, 5, 6, 40, u32::MAX].map(|n| breaker.after(n)),
            [5, 10, 160, 300, 300, 300].map(|s| s * S)
        );
    }

    #[test]
    fn should_retry_stops_at_max_attempts() {
        assert!(should_retry(1, 8));
        assert!(should_retry(7, 8));
        assert!(!should_retry(8, 8));
        assert!(!should_retry(0, 0));
    }
}
