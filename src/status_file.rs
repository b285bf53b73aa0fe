//! `status.json`: the schema of the file `fdsync run` writes every ~2 s in the state folder and
//! `fdsync status` (another process) reads, with its atomic write and tolerant read; and
//! [`StatusReport`], the JSON of `fdsync status --json`, which the status page serves as
//! `/api/status` from the same code. Sits below [`crate::cli`] and [`crate::daemon`] so both can
//! use it; it knows nothing of the daemon's tasks and keeps the JSON field names stable (other
//! tools read them).

use crate::engine::pacer::PacerSnapshot;
use crate::journal::{FileProgress, FileRecord, Journal, JournalStats, RowCounts};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The status file's name inside the state folder.
pub const STATUS_FILE: &str = "status.json";

/// A status file older than this belongs to a daemon that is not running.
const STALE_MS: i64 = 15_000;

/// The daemon's view of the quota: the pacer's snapshot as it is, under the same field names
/// (`server_total`, `budget_per_window`, `remaining`, `in_flight`, …).
pub type QuotaView = PacerSnapshot;

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
    /// Each configured connection: its account, quota, rows and credentials.
    #[serde(default)]
    pub connections: Vec<ConnectionStatus>,
}

/// One connection as the daemon sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct ConnectionStatus {
    pub name: String,
    /// The Freshdesk account (`host:port`); connections to one account share its quota.
    pub account: String,
    pub quota: QuotaView,
    /// Rows of its running or held files not yet final.
    pub rows_pending: u64,
    /// Why Freshdesk refuses its credentials, while it does (its files wait).
    pub credentials_refused: Option<String>,
}

impl DaemonStatus {
    pub fn new(
        started_at: i64,
        inboxes: Vec<PathBuf>,
        stats: &JournalStats,
        pacer: &PacerSnapshot,
        problems: Vec<String>,
        last_error: Option<String>,
    ) -> Self {
        Self {
            pid: std::process::id(),
            started_at,
            updated_at: crate::journal::now_ms(),
            inboxes,
            quota: pacer.clone(),
            files_in_progress: stats.in_progress.clone(),
            rows_pending: stats.rows_pending(),
            problems,
            last_error,
            running: true,
            connections: Vec::new(),
        }
    }

    /// The same status with each connection's view.
    pub fn with_connections(mut self, connections: Vec<ConnectionStatus>) -> Self {
        self.connections = connections;
        self
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
        let wait = std::time::Duration::from_millis(self.quota.paused_for_ms);
        if wait > crate::engine::pacer::LONG_WAIT {
            s.push_str(&format!("; every request waits {} s more (Freshdesk asked)", wait.as_secs()));
        }
        if !held.is_empty() {
            s.push_str(&format!("; held: {} (fdsync approve ID)", held.join(", ")));
        }
        if self.connections.len() > 1 {
            let each: Vec<String> = self.connections.iter().map(ConnectionStatus::summary).collect();
            s.push_str(&format!("; connections: {}", each.join(", ")));
        }
        for p in &self.problems {
            s.push_str("; ");
            s.push_str(p);
        }
        s
    }
}

impl ConnectionStatus {
    /// `it-desk 12 pending, budget 360/60s` (or `credentials refused`).
    fn summary(&self) -> String {
        let mut s = format!("{} {} pending", self.name, self.rows_pending);
        match (self.credentials_refused.is_some(), self.quota.budget_per_window) {
            (true, _) => s.push_str(", credentials refused"),
            (false, Some(b)) => s.push_str(&format!(", budget {b}/{}s", self.quota.window_secs)),
            (false, None) => {}
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

/// How many files `fdsync status` and `/api/status` list by default (newest first).
pub const STATUS_FILES: usize = 50;

/// One file in `fdsync status`: the journal's record and its rows by state.
#[derive(Debug, Serialize)]
pub struct FileStatus {
    #[serde(flatten)]
    pub file: FileRecord,
    pub rows: RowCounts,
    /// The undo files (`fdsync undo`) of this file, oldest first.
    pub undone_by: Vec<i64>,
}

impl FileStatus {
    /// The name, with what undid it or what it undoes.
    pub fn label(&self) -> String {
        let mut label = self.file.name.clone();
        if let Some(of) = self.file.undo_of {
            label.push_str(&format!(" (undo of file {of})"));
        }
        if !self.undone_by.is_empty() {
            let by: Vec<String> = self.undone_by.iter().map(i64::to_string).collect();
            label.push_str(&format!(" (undone by file {})", by.join(", ")));
        }
        label
    }
}

/// A configured connection, as `status --json` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    pub name: String,
    pub description: Option<String>,
    /// The Freshdesk account (`host:port`); connections to one account share its quota.
    pub account: String,
}

impl ConnectionInfo {
    pub fn of(settings: &crate::config::Settings) -> Vec<Self> {
        let info = |c: &crate::config::Connection| ConnectionInfo {
            name: c.name.clone(),
            description: c.description.clone(),
            account: c.account(),
        };
        settings.connections.iter().map(info).collect()
    }
}

/// `fdsync status --json` and the status page's `/api/status`: the newest files, row totals,
/// the inboxes, and what a running `fdsync run` last wrote to `status.json`.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub files: Vec<FileStatus>,
    pub totals: RowCounts,
    pub inboxes: Vec<String>,
    pub connections: Vec<ConnectionInfo>,
    /// What a running `fdsync run` last reported (quota, files in progress, problems).
    pub daemon: Option<DaemonStatus>,
}

impl StatusReport {
    /// The newest `limit` files (one bounded journal read) and `state_dir`'s `status.json`.
    pub async fn build(
        journal: &Journal,
        state_dir: &Path,
        inboxes: Vec<String>,
        connections: Vec<ConnectionInfo>,
        limit: usize,
    ) -> crate::journal::Result<Self> {
        let mut files = Vec::new();
        let mut totals = RowCounts::default();
        for view in journal.recent_file_views(limit).await? {
            let rows = view.rows;
            totals.total += rows.total;
            totals.pending += rows.pending;
            totals.sending += rows.sending;
            totals.done += rows.done;
            totals.failed += rows.failed;
            files.push(FileStatus { file: view.file, rows, undone_by: view.undone_by });
        }
        Ok(Self { files, totals, inboxes, connections, daemon: read_status(state_dir) })
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
            connections: vec![],
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
        assert!(!line.contains("waits"), "{line}");
    }

    #[test]
    fn with_several_connections_the_line_names_each() {
        let one = ConnectionStatus { name: "default".into(), rows_pending: 12, ..Default::default() };
        assert!(!status(vec![]).with_connections(vec![one.clone()]).line().contains("connections"));
        let two = ConnectionStatus {
            name: "it-desk".into(),
            rows_pending: 3,
            credentials_refused: Some("401".into()),
            ..Default::default()
        };
        let line = status(vec![]).with_connections(vec![one, two]).line();
        assert!(
            line.contains("; connections: default 12 pending, it-desk 3 pending, credentials refused"),
            "{line}"
        );
    }

    #[test]
    fn a_wait_of_over_a_minute_is_shown_with_its_length() {
        let mut s = status(vec![]);
        s.quota.paused_for_ms = 30_000;
        assert!(!s.line().contains("waits"), "a short pause is not news");
        s.quota.paused_for_ms = 3_599_000;
        assert!(s.line().contains("every request waits 3599 s more (Freshdesk asked)"), "{}", s.line());
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
}
