//! A value read from the account (its ticket fields, its roles, a list of names): read when
//! first needed, trusted for a time-to-live, and, when it could not be read, asked again only
//! after a pause, with why it could not be read given meanwhile. One state machine for the
//! engine's books ([`super::fieldbook`], [`super::names`], [`super::safety::roles`]).

use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

enum State<T> {
    NotAsked,
    Known { value: T, until: Instant },
    Unknown { why: String, ask_again: Instant },
}

pub(crate) struct Cached<T> {
    ttl: Duration,
    retry: Duration,
    state: tokio::sync::Mutex<State<T>>,
}

impl<T: Clone> Cached<T> {
    /// Trusted for `ttl` once read; asked again `retry` after a read that failed.
    pub(crate) fn new(ttl: Duration, retry: Duration) -> Self {
        Self { ttl, retry, state: tokio::sync::Mutex::new(State::NotAsked) }
    }

    /// The value, read with `read` when it was never read, is older than the time-to-live, or
    /// failed more than the pause ago (one read at a time: callers wait for it); else the last
    /// read's value, or why it failed.
    pub(crate) async fn get<F, Fut>(&self, read: F) -> Result<T, String>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, String>>,
    {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        let due = match &*state {
            State::NotAsked => true,
            State::Known { until, .. } => now >= *until,
            State::Unknown { ask_again, .. } => now >= *ask_again,
        };
        if due {
            *state = match read().await {
                Ok(value) => State::Known { value, until: now + self.ttl },
                Err(why) => State::Unknown { why, ask_again: now + self.retry },
            };
        }
        match &*state {
            State::Known { value, .. } => Ok(value.clone()),
            State::Unknown { why, .. } => Err(why.clone()),
            State::NotAsked => Err("not read".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn read_once_per_ttl_and_a_failure_asked_again_only_after_the_pause() {
        let cache = Cached::new(Duration::from_secs(600), Duration::from_secs(30));
        let reads = AtomicU32::new(0);
        let read = |ok: bool| {
            reads.fetch_add(1, Ordering::SeqCst);
            async move { if ok { Ok(7) } else { Err("down".to_string()) } }
        };
        assert_eq!(cache.get(|| read(false)).await, Err("down".into()));
        assert_eq!(cache.get(|| read(true)).await, Err("down".into()), "asked again too soon");
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(cache.get(|| read(true)).await, Ok(7));
        assert_eq!(cache.get(|| read(false)).await, Ok(7), "a known value is trusted");
        assert_eq!(reads.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_secs(601)).await;
        assert_eq!(cache.get(|| read(false)).await, Err("down".into()), "read again after its ttl");
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }
}
