//! What the daemon is doing, for humans and other processes: the problems that need a human
//! (raised once, cleared when fixed), the `STATUS=` line for systemd, and `status.json` in the
//! state folder, which `fdsync status` (another process) reads to show the daemon's view of the
//! quota.

use crate::engine::pacer::PacerSnapshot;
use crate::journal::{FileProgress, JournalStats};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The status file's name inside the state folder.
pub const STATUS_FILE: &str = "status.json";

/// A status file older than this belongs to a daemon that is not running.
const STALE_MS: i64 = 15_000;

/// Problems needing a human, shared by the daemon's tasks. Keys are stable ("auth", "held:7",
/// "inbox:/path") so that one problem is logged once however often it is seen.
#[derive(Debug, Default)]
pub struct Shared {
    inner: Mutex<Problems>,
}

#[derive(Debug, Default)]
struct Problems {
    open: BTreeMap<String, String>,
    last_error: Option<String>,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Problems> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a problem; true when it is new (the caller logs it then, and only then).
    pub fn raise(&self, key: &str, message: &str) -> bool {
        let mut p = self.lock();
        p.last_error = Some(message.to_string());
        p.open.insert(key.to_string(), message.to_string()).is_none()
    }

    /// The problem is over; true when it was open.
    pub fn clear(&self, key: &str) -> bool {
        self.lock().open.remove(key).is_some()
    }

    /// Clears every problem whose key starts with `prefix`.
    pub fn clear_prefix(&self, prefix: &str) {
        self.lock().open.retain(|k, _| !k.starts_with(prefix));
    }

    pub fn problems(&self) -> Vec<String> {
        self.lock().open.values().cloned().collect()
    }

    pub fn last_error(&self) -> Option<String> {
        self.lock().last_error.clone()
    }
}

/// The daemon's view of the quota (the fields of the pacer snapshot an operator reads).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct QuotaView {
    pub server_total: Option<u32>,
    pub budget_per_window: Option<u32>,
    pub window_secs: f64,
    pub remaining: Option<u32>,
    pub in_flight: usize,
    pub concurrency_limit: usize,
    pub requests: u64,
    pub rate_limited: u64,
    pub paused_for_ms: u64,
}

impl From<&PacerSnapshot> for QuotaView {
    fn from(s: &PacerSnapshot) -> Self {
        Self {
            server_total: s.server_total,
            budget_per_window: s.budget_per_window,
            window_secs: s.window_secs,
            remaining: s.remaining,
            in_flight: s.in_flight,
            concurrency_limit: s.concurrency_limit,
            requests: s.requests,
            rate_limited: s.rate_limited,
            paused_for_ms: s.paused_for_ms,
        }
    }
}

/// `status.json`: written every ~2 s by `fdsync run`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DaemonStatus {
    pub pid: u32,
    /// Milliseconds since the epoch.
    pub started_at: i64,
    pub updated_at: i64,
    pub inboxes: Vec<PathBuf>,
    pub quota: QuotaView,
    /// Files being read, running, or held.
    pub files_in_progress: Vec<FileProgress>,
    pub rows_pending: u64,
    /// Problems needing a human, now.
    pub problems: Vec<String>,
    pub last_error: Option<String>,
    /// False once the daemon has stopped.
    pub running: bool,
}

impl DaemonStatus {
    pub fn new(
        started_at: i64,
        inboxes: Vec<PathBuf>,
        stats: &JournalStats,
        pacer: &PacerSnapshot,
        shared: &Shared,
    ) -> Self {
        Self {
            pid: std::process::id(),
            started_at,
            updated_at: crate::journal::now_ms(),
            inboxes,
            quota: QuotaView::from(pacer),
            files_in_progress: stats.in_progress.clone(),
            rows_pending: stats.rows_pending(),
            problems: shared.problems(),
            last_error: shared.last_error(),
            running: true,
        }
    }

    /// Whether a daemon wrote this recently and has not stopped.
    pub fn is_live(&self) -> bool {
        self.running && crate::journal::now_ms() - self.updated_at < STALE_MS
    }

    /// The one-line summary for `STATUS=` and `fdsync status`.
    pub fn line(&self) -> String {
        let running = self.files_in_progress.iter().filter(|f| f.state == "processing").count();
        let held: Vec<String> =
            self.files_in_progress.iter().filter(|f| f.state == "held").map(|f| f.id.to_string()).collect();
        let mut s = format!("{running} files in progress, {} rows pending", self.rows_pending);
        match (self.quota.remaining, self.quota.budget_per_window) {
            (Some(rem), Some(budget)) => {
                s.push_str(&format!("; quota {rem} left, budget {budget}/{}s", self.quota.window_secs))
            }
            (None, Some(budget)) => {
                s.push_str(&format!("; quota budget {budget}/{}s", self.quota.window_secs))
            }
            _ => s.push_str("; quota not learnt yet"),
        }
        if !held.is_empty() {
            s.push_str(&format!("; held: {} (fdsync approve ID)", held.join(", ")));
        }
        for p in &self.problems {
            s.push_str("; ");
            s.push_str(p);
        }
        s
    }
}

impl std::fmt::Display for DaemonStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_live() {
            write!(f, "daemon (pid {}): {}", self.pid, self.line())
        } else {
            write!(f, "daemon: not running (last status from pid {})", self.pid)
        }
    }
}

/// Writes `status.json` atomically (temporary file, then rename).
pub fn write_status(state_dir: &Path, status: &DaemonStatus) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    let tmp = state_dir.join(".status.json.tmp");
    crate::private::write(&tmp, text)?;
    std::fs::rename(&tmp, state_dir.join(STATUS_FILE))
}

/// The status the daemon last wrote in `state_dir`, if any (see [`DaemonStatus::is_live`]).
pub fn read_status(state_dir: &Path) -> Option<DaemonStatus> {
    let text = std::fs::read(state_dir.join(STATUS_FILE)).ok()?;
    serde_json::from_slice(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(in_progress: Vec<FileProgress>) -> DaemonStatus {
        DaemonStatus {
            pid: 42,
            started_at: 0,
            updated_at: crate::journal::now_ms(),
            inboxes: vec![PathBuf::from("/in")],
            quota: QuotaView {
                remaining: Some(100),
                budget_per_window: Some(360),
                window_secs: 60.0,
                ..Default::default()
            },
            files_in_progress: in_progress,
            rows_pending: 12,
            problems: vec!["Freshdesk refused the credentials".into()],
            last_error: None,
            running: true,
        }
    }

    fn file(id: i64, state: &str) -> FileProgress {
        FileProgress {
            id,
            name: format!("f{id}.csv"),
            state: state.into(),
            total: 3,
            pending: 3,
            done: 0,
            failed: 0,
        }
    }

    #[test]
    fn the_status_line_names_progress_quota_held_files_and_problems() {
        let line = status(vec![file(1, "processing"), file(7, "held")]).line();
        assert!(line.starts_with("1 files in progress, 12 rows pending"), "{line}");
        assert!(line.contains("quota 100 left, budget 360/60s"), "{line}");
        assert!(line.contains("held: 7 (fdsync approve ID)"), "{line}");
        assert!(line.contains("refused the credentials"), "{line}");
    }

    #[test]
    fn the_status_file_round_trips_and_goes_stale_when_stopped() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read_status(dir.path()).is_none());
        let mut s = status(vec![]);
        write_status(dir.path(), &s).expect("write");
        let back = read_status(dir.path()).expect("read");
        assert_eq!(back, s);
        assert!(back.is_live());
        s.running = false;
        write_status(dir.path(), &s).expect("write");
        assert!(!read_status(dir.path()).expect("read").is_live());
        assert!(read_status(dir.path()).expect("read").to_string().contains("not running"));
    }

    #[test]
    fn a_problem_is_new_once_until_cleared() {
        let shared = Shared::new();
        assert!(shared.raise("auth", "bad key"));
        assert!(!shared.raise("auth", "bad key"));
        assert_eq!(shared.problems(), ["bad key"]);
        assert!(shared.clear("auth"));
        assert!(shared.raise("auth", "bad key"));
        shared.clear_prefix("au");
        assert!(shared.problems().is_empty());
        assert_eq!(shared.last_error().as_deref(), Some("bad key"));
    }
}
