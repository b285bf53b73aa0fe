//! Problems needing a human, shared by the daemon's tasks: raised once (the caller logs it
//! then), cleared when fixed, and listed in `status.json` ([`crate::status_file`]). Refused
//! credentials and a long run of 429s are also notification events: when one is raised (once
//! per episode) it is recorded in the journal's outbox ([`Shared::record_events_in`]). Holds no
//! schema and does no I/O itself.

use crate::config::NotifyEvent;
use crate::journal::Journal;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Problem keys that are notification events.
const EVENTS: [(&str, NotifyEvent); 2] =
    [(super::AUTH_PROBLEM, NotifyEvent::CredentialsRefused), ("rate_limited", NotifyEvent::RateLimitedLong)];

/// Problems needing a human, shared by the daemon's tasks. Keys are stable ("auth", "held:7",
/// "inbox:/path") so that one problem is logged once however often it is seen.
#[derive(Default)]
pub(super) struct Shared {
    inner: Mutex<Problems>,
    /// Where event problems are recorded as notifications, once set.
    events: OnceLock<Journal>,
}

#[derive(Debug, Default)]
struct Problems {
    open: BTreeMap<String, String>,
    last_error: Option<String>,
}

impl Shared {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Problems> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// From now on, a new event problem is recorded in `journal`'s outbox.
    pub(super) fn record_events_in(&self, journal: Journal) {
        let _ = self.events.set(journal);
    }

    /// Records a problem; true when it is new (the caller logs it then, and only then).
    pub(super) fn raise(&self, key: &str, message: &str) -> bool {
        let new = {
            let mut p = self.lock();
            p.last_error = Some(message.to_string());
            p.open.insert(key.to_string(), message.to_string()).is_none()
        };
        let event = EVENTS.iter().find(|(k, _)| *k == key).map(|(_, e)| *e);
        if let (true, Some(event), Some(journal)) = (new, event, self.events.get())
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let (journal, detail) = (journal.clone(), message.to_string());
            runtime.spawn(async move {
                if let Err(e) = journal.record_event(event, detail).await {
                    tracing::warn!(error = %e, "Notification of a problem cannot be recorded.");
                }
            });
        }
        new
    }

    /// The problem is over; true when it was open.
    pub(super) fn clear(&self, key: &str) -> bool {
        self.lock().open.remove(key).is_some()
    }

    pub(super) fn problems(&self) -> Vec<String> {
        self.lock().open.values().cloned().collect()
    }

    pub(super) fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_is_new_once_until_cleared() {
        let shared = Shared::new();
        assert!(shared.raise("auth", "bad key"));
        assert!(!shared.raise("auth", "bad key"));
        assert_eq!(shared.problems(), ["bad key"]);
        assert!(shared.clear("auth"));
        assert!(shared.raise("auth", "bad key"));
        assert!(shared.clear("auth"));
        assert!(shared.problems().is_empty());
        assert_eq!(shared.last_error().as_deref(), Some("bad key"));
    }

    #[tokio::test]
    async fn a_new_credentials_problem_is_recorded_once_as_a_notification() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let events = vec![NotifyEvent::CredentialsRefused, NotifyEvent::Held];
        journal.set_notify_routes(vec![crate::journal::Route { target: "t".into(), events }]);
        let shared = Shared::new();
        shared.record_events_in(journal.clone());
        assert!(shared.raise("auth", "Freshdesk answered 401"));
        assert!(!shared.raise("auth", "Freshdesk answered 401"));
        shared.raise("held:3", "held");
        let mut due = Vec::new();
        for _ in 0..500 {
            due = journal.due_notices(i64::MAX, 10).await.unwrap();
            if !due.is_empty() {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(due.len(), 1);
        assert_eq!(
            (due[0].event, due[0].detail.as_deref()),
            (NotifyEvent::CredentialsRefused, Some("Freshdesk answered 401"))
        );
    }
}
