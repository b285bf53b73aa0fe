//! TEMPORARY stub; replaced by the pacer branch.
use std::time::Duration;

pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let base = Duration::from_secs(1u64 << attempt.min(6)).min(Duration::from_secs(60));
    retry_after.map_or(base, |r| r.max(base))
}
