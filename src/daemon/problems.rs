//! Problems needing a human, shared by the daemon's tasks: raised once (the caller logs it
//! then), cleared when fixed, and listed in `status.json` ([`crate::status_file`]). Holds no
//! schema and does no I/O.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Problems needing a human, shared by the daemon's tasks. Keys are stable ("auth", "held:7",
/// "inbox:/path") so that one problem is logged once however often it is seen.
#[derive(Debug, Default)]
pub(super) struct Shared {
    inner: Mutex<Problems>,
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

    /// Records a problem; true when it is new (the caller logs it then, and only then).
    pub(super) fn raise(&self, key: &str, message: &str) -> bool {
        let mut p = self.lock();
        p.last_error = Some(message.to_string());
        p.open.insert(key.to_string(), message.to_string()).is_none()
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
}
