//! Read-only aggregates for the daemon's status file and metrics: files by state, rows by state
//! and outcome, the age of the oldest unfinished row, and the files still in progress.

use super::{Journal, Result};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One file that is being read, running, or held, with its rows by state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileProgress {
    pub id: i64,
    pub name: String,
    /// `queued`, `processing` or `held`.
    pub state: String,
    pub total: u64,
    pub pending: u64,
    pub done: u64,
    pub failed: u64,
}

/// A file the daemon still has to move on: `processing` or `held`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveFile {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub held: bool,
    /// Why it is held, when the engine held it (else the delete rules held it at intake).
    pub reason: Option<String>,
    /// Where it came from (an inbox folder, or the SCIM source).
    pub inbox: Option<String>,
}

/// A snapshot of the journal's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalStats {
    pub files_by_state: BTreeMap<String, u64>,
    pub rows_by_state: BTreeMap<String, u64>,
    pub rows_by_outcome: BTreeMap<String, u64>,
    /// When the oldest unfinished row of a running file last changed (ms since the epoch).
    pub oldest_unfinished_ms: Option<i64>,
    /// At most 100 files, oldest first.
    pub in_progress: Vec<FileProgress>,
    /// Rows not yet final (`pending` or `sending`) of files running or held, by connection.
    pub pending_by_connection: BTreeMap<String, u64>,
}

impl JournalStats {
    /// Rows not yet final (`pending` or `sending`).
    pub fn rows_pending(&self) -> u64 {
        ["pending", "sending"].iter().filter_map(|s| self.rows_by_state.get(*s)).sum()
    }
}

fn grouped(c: &Connection, sql: &str) -> Result<BTreeMap<String, u64>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (k, v) = row?;
        out.insert(k, v.max(0) as u64);
    }
    Ok(out)
}

fn in_progress(c: &Connection) -> Result<Vec<FileProgress>> {
    let mut stmt = c.prepare_cached(
        "SELECT f.id, f.name, f.state, f.rows_total,
                COALESCE(SUM(o.state IN ('pending', 'sending')), 0),
                COALESCE(SUM(o.state = 'done'), 0), COALESCE(SUM(o.state = 'failed'), 0)
         FROM files f LEFT JOIN ops o ON o.file_id = f.id
         WHERE f.state IN ('queued', 'processing', 'held')
         GROUP BY f.id ORDER BY f.id LIMIT 100",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(FileProgress {
            id: r.get(0)?,
            name: r.get(1)?,
            state: r.get(2)?,
            total: r.get::<_, i64>(3)?.max(0) as u64,
            pending: r.get::<_, i64>(4)?.max(0) as u64,
            done: r.get::<_, i64>(5)?.max(0) as u64,
            failed: r.get::<_, i64>(6)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Journal {
    /// Files in `processing` or `held`, oldest first (an indexed lookup, cheap to poll).
    pub async fn active_files(&self) -> Result<Vec<ActiveFile>> {
        self.call(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, name, path, state, error, inbox FROM files WHERE state IN ('processing', 'held') ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(ActiveFile {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    path: r.get(2)?,
                    held: r.get::<_, String>(3)? == "held",
                    reason: r.get(4)?,
                    inbox: r.get(5)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    /// Counts for status and metrics; a few indexed aggregate queries.
    /// A mark that moves whenever the journal changes, by this process (its writes) or another
    /// (`fdsync approve`, `retry`: SQLite's `data_version`). Cheap: no table is read, so an
    /// idle daemon can ask it often and skip [`Journal::stats`] while it stays the same.
    pub async fn version(&self) -> Result<(i64, u64)> {
        self.call(|c| {
            let data: i64 = c.query_row("PRAGMA data_version", [], |r| r.get(0))?;
            Ok((data, c.total_changes()))
        })
        .await
    }

    pub async fn stats(&self) -> Result<JournalStats> {
        self.call(|c| {
            let oldest: Option<i64> = c.query_row(
                "SELECT MIN(o.updated_at) FROM ops o JOIN files f ON f.id = o.file_id
                 WHERE o.state IN ('pending', 'sending') AND f.state = 'processing'",
                [],
                |r| r.get(0),
            )?;
            Ok(JournalStats {
                files_by_state: grouped(c, "SELECT state, COUNT(*) FROM files GROUP BY state")?,
                rows_by_state: grouped(c, "SELECT state, COUNT(*) FROM ops GROUP BY state")?,
                rows_by_outcome: grouped(
                    c,
                    "SELECT outcome, COUNT(*) FROM ops WHERE outcome IS NOT NULL GROUP BY outcome",
                )?,
                oldest_unfinished_ms: oldest,
                in_progress: in_progress(c)?,
                pending_by_connection: grouped(
                    c,
                    "SELECT f.connection, COUNT(*) FROM ops o JOIN files f ON f.id = o.file_id
                     WHERE o.state IN ('pending', 'sending') AND f.state IN ('processing', 'held')
                     GROUP BY f.connection",
                )?,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{FileState, NewFile, NewOp};

    #[tokio::test]
    async fn stats_count_files_rows_and_outcomes_and_list_files_in_progress() {
        let dir = tempfile::tempdir().expect("tempdir");
        let j = Journal::open(dir.path()).expect("open");
        assert_eq!(j.stats().await.expect("stats"), JournalStats::default());
        let new = NewFile {
            name: "a.csv".into(),
            path: "/p/a.csv".into(),
            sha256: "s".into(),
            inbox: None,
            default_action: None,
        };
        let id = j.insert_file(new, FileState::Queued, None).await.expect("file");
        let rows = vec![
            NewOp {
                row: 1,
                action: "get_agent".into(),
                key: "k1".into(),
                payload: None,
                invalid: Some("bad".into()),
                code: None,
            },
            NewOp {
                row: 2,
                action: "get_agent".into(),
                key: "k2".into(),
                payload: None,
                invalid: None,
                code: None,
            },
        ];
        j.insert_ops(id, rows).await.expect("ops");
        j.set_file_state(id, FileState::Processing, None).await.expect("state");
        let s = j.stats().await.expect("stats");
        assert_eq!(s.files_by_state.get("processing"), Some(&1));
        assert_eq!(s.rows_pending(), 1);
        assert_eq!(s.rows_by_outcome.get("failed"), Some(&1));
        assert!(s.oldest_unfinished_ms.is_some());
        let active = j.active_files().await.expect("active");
        assert_eq!(
            active,
            [ActiveFile {
                id,
                name: "a.csv".into(),
                path: "/p/a.csv".into(),
                held: false,
                reason: None,
                inbox: None
            }]
        );
        assert_eq!(
            s.in_progress,
            [FileProgress {
                id,
                name: "a.csv".into(),
                state: "processing".into(),
                total: 2,
                pending: 1,
                done: 0,
                failed: 1
            }]
        );
    }
}
