//! What the daemon knows in memory and the page shows without asking the journal: the latest
//! [`DaemonStatus`] (quota, files in progress, problems), the quota chart's ring, and each
//! running file's pace for its ETA. The daemon's status writer records into it every tick; the
//! page only reads. Every collection is bounded (the chart by its ring, the paces by the files
//! in progress, themselves at most 100).

use super::chart::{Ring, Sample};
use crate::status_file::DaemonStatus;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Shared between the daemon's status writer and the page.
#[derive(Debug, Default)]
pub struct Live {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    status: Option<DaemonStatus>,
    chart: Ring,
    /// File id → (first seen at, rows final then), for running files.
    first_seen: HashMap<i64, (i64, u64)>,
}

impl Live {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One status tick: keeps the status, adds the pacer's new requests and 429s to the chart,
    /// and notes when each running file was first seen.
    pub fn record(&self, status: &DaemonStatus) {
        let mut inner = self.lock();
        let q = &status.quota;
        inner.chart.record(status.updated_at, q.window_secs, q.requests, q.rate_limited);
        let running: HashMap<i64, u64> = status
            .files_in_progress
            .iter()
            .filter(|f| f.state == "processing")
            .map(|f| (f.id, f.done + f.failed))
            .collect();
        inner.first_seen.retain(|id, _| running.contains_key(id));
        for (id, finished) in running {
            inner.first_seen.entry(id).or_insert((status.updated_at, finished));
        }
        inner.status = Some(status.clone());
    }

    /// The latest status, once the first tick has run.
    pub(crate) fn status(&self) -> Option<DaemonStatus> {
        self.lock().status.clone()
    }

    pub(crate) fn chart(&self) -> Vec<Sample> {
        self.lock().chart.samples()
    }

    /// How long the file's pending rows will take at its pace since it was first seen; `None`
    /// until it has finished a row under this daemon.
    pub(crate) fn eta(&self, file_id: i64, finished: u64, pending: u64, now_ms: i64) -> Option<Duration> {
        let inner = self.lock();
        let &(since, then) = inner.first_seen.get(&file_id)?;
        eta(finished.saturating_sub(then), now_ms - since, pending)
    }
}

/// `pending` rows at `rows` per `elapsed_ms`.
fn eta(rows: u64, elapsed_ms: i64, pending: u64) -> Option<Duration> {
    if rows == 0 || elapsed_ms <= 0 {
        return None;
    }
    let ms = (pending as f64) * (elapsed_ms as f64) / (rows as f64);
    Some(Duration::from_millis(ms.min(1e12) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::FileProgress;
    use std::path::PathBuf;

    fn tick(at: i64, done: u64, pending: u64, requests: u64) -> DaemonStatus {
        DaemonStatus {
            pid: 1,
            started_at: 0,
            updated_at: at,
            inboxes: vec![PathBuf::from("/in")],
            quota: crate::status_file::QuotaView { window_secs: 60.0, requests, ..Default::default() },
            files_in_progress: vec![FileProgress {
                id: 4,
                name: "a.csv".into(),
                state: "processing".into(),
                total: done + pending,
                pending,
                done,
                failed: 0,
            }],
            rows_pending: pending,
            connections: vec![],
            problems: vec![],
            last_error: None,
            running: true,
        }
    }

    #[test]
    fn the_eta_is_the_pending_rows_at_the_pace_seen_so_far() {
        let live = Live::new();
        assert!(live.status().is_none());
        live.record(&tick(10_000, 10, 90, 5));
        assert_eq!(live.eta(4, 10, 90, 10_000), None, "no pace yet");
        live.record(&tick(20_000, 30, 70, 25));
        assert_eq!(live.eta(4, 30, 70, 20_000), Some(Duration::from_secs(35)));
        assert_eq!(live.chart().iter().map(|s| s.requests).sum::<u64>(), 25);
        let mut done = tick(22_000, 100, 0, 90);
        done.files_in_progress.clear();
        live.record(&done);
        assert_eq!(live.eta(4, 100, 0, 22_000), None, "a finished file is forgotten");
        assert_eq!(live.status().map(|s| s.updated_at), Some(22_000));
    }
}
