//! `[limits]` → [`Limits`]: the quota, pacing, retry and size bounds, range-checked and typed.
//! It only validates numbers; it must not decide pacing (that is `engine::pacer`).

use super::Error;
use super::raw::RawLimits;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    /// 0: learn the budget from `X-RateLimit-Total`.
    pub requests_per_window: u32,
    pub window: Duration,
    pub reserve_percent: u8,
    pub concurrency: usize,
    pub max_attempts: u32,
    pub ticket_create_per_window: u32,
    pub ticket_update_per_window: u32,
    pub tickets_list_per_window: u32,
    pub contacts_list_per_window: u32,
    /// Longest wait a `Retry-After` may impose (absurd values are clamped into 1 s ..= this).
    pub max_retry_after: Duration,
    /// A one-shot import answered only by 429s for this long exits 3.
    pub max_rate_limited: Duration,
    /// Most bytes of an answer read; a larger answer is not parsed.
    pub max_answer_bytes: usize,
    /// Most bytes of one request body; a row that would need more is invalid.
    pub max_request_bytes: usize,
}

impl Limits {
    pub(super) fn resolve(l: RawLimits) -> Result<Self, Error> {
        check(&l)?;
        // `requests_per_minute` is per window: on a 60 s window it is per minute.
        Ok(Limits {
            requests_per_window: l.requests_per_minute,
            window: Duration::from_secs(l.window_secs),
            reserve_percent: l.reserve_percent,
            concurrency: l.concurrency,
            max_attempts: l.max_attempts,
            ticket_create_per_window: l.ticket_create_per_window,
            ticket_update_per_window: l.ticket_update_per_window,
            tickets_list_per_window: l.tickets_list_per_window,
            contacts_list_per_window: l.contacts_list_per_window,
            max_retry_after: Duration::from_secs(l.max_retry_after_secs),
            max_rate_limited: Duration::from_secs(l.max_rate_limited_secs.max(1)),
            max_answer_bytes: l.max_answer_bytes,
            max_request_bytes: l.max_request_bytes,
        })
    }
}

/// The first out-of-range key, in the order the file documents them.
fn check(l: &RawLimits) -> Result<(), Error> {
    if l.window_secs == 0 {
        return Err(Error::invalid("limits.window_secs", "must be at least 1"));
    }
    if l.reserve_percent >= 100 {
        return Err(Error::invalid("limits.reserve_percent", "must be below 100"));
    }
    if l.concurrency == 0 || l.concurrency > 256 {
        return Err(Error::invalid("limits.concurrency", "must be between 1 and 256"));
    }
    if l.max_attempts == 0 {
        return Err(Error::invalid("limits.max_attempts", "must be at least 1"));
    }
    if l.max_retry_after_secs == 0 {
        return Err(Error::invalid("limits.max_retry_after_secs", "must be at least 1"));
    }
    if l.max_answer_bytes < 1024 || l.max_request_bytes < 1024 {
        return Err(Error::invalid("limits.max_answer_bytes", "limits of bytes must be at least 1024"));
    }
    Ok(())
}
