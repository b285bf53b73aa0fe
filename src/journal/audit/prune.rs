//! `fdsync prune`: the ops (and payloads) of finished files last updated before a date are
//! deleted, and in the same transaction each of their changes is copied into `audit` with the
//! columns of [`super::FIELDS`]; a batch of files per transaction. Never a file in progress,
//! held or queued, nor one with an op still pending or sending. Files' rows stay.

use super::{FIELDS, Field, tried};
use crate::journal::files::FileState;
use crate::journal::{Journal, Result, now_ms};
use rusqlite::{Connection, params};
use serde::Serialize;

/// A finished file whose ops prune removes (or removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrunedFile {
    pub id: i64,
    pub name: String,
    pub state: String,
    /// Op rows deleted.
    pub ops: u64,
    /// Of those, the changes kept as audit rows.
    pub kept: u64,
}

/// The file states prune may touch: nothing of these runs again (unless `fdsync retry`, which
/// moves a file back to `processing` first).
const FINISHED: [FileState; 3] = [FileState::Done, FileState::Failed, FileState::Duplicate];

/// Most files pruned in one transaction (bounds how long the journal writer is held).
const PRUNE_BATCH: usize = 50;

/// Finished files last updated before `before` that still have op rows, oldest first: never a
/// file with an op still pending or sending, nor a done file whose report is not written yet.
fn candidates(c: &Connection, before: i64, limit: usize) -> Result<Vec<PrunedFile>> {
    let states: Vec<String> = FINISHED.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let sql = format!(
        "SELECT f.id, f.name, f.state, COUNT(o.id), COALESCE(SUM(({})), 0)
         FROM files f JOIN ops o ON o.file_id = f.id
         WHERE f.state IN ({}) AND f.updated_at < ?1 AND (f.state <> 'done' OR f.report_path IS NOT NULL)
           AND NOT EXISTS (SELECT 1 FROM ops p WHERE p.file_id = f.id AND p.state IN ('pending', 'sending'))
         GROUP BY f.id ORDER BY f.id LIMIT ?2",
        tried(),
        states.join(", ")
    );
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map(params![before, limit as i64], |r| {
        Ok(PrunedFile {
            id: r.get(0)?,
            name: r.get(1)?,
            state: r.get(2)?,
            ops: r.get::<_, i64>(3)?.max(0) as u64,
            kept: r.get::<_, i64>(4)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Archives one file's changes into `audit` and deletes its ops (inside the caller's transaction).
fn prune_file(c: &Connection, file: &PrunedFile, now: i64) -> Result<()> {
    let stored: Vec<&Field> = FIELDS.iter().filter(|f| f.kept.is_empty()).collect();
    let names: Vec<String> = stored.iter().map(|f| format!("\"{}\"", f.name)).collect();
    let exprs: Vec<&str> = stored.iter().map(|f| f.live).collect();
    let sql = format!(
        "INSERT INTO audit ({}, op_id, snapshot, pruned_at)
         SELECT {}, o.id, o.snapshot, ?2 FROM ops o JOIN files f ON f.id = o.file_id
         WHERE o.file_id = ?1 AND {} ORDER BY o.id",
        names.join(", "),
        exprs.join(", "),
        tried()
    );
    c.execute(&sql, params![file.id, now])?;
    c.execute("DELETE FROM ops WHERE file_id = ?1", [file.id])?;
    Ok(())
}
impl Journal {
    /// What [`Journal::prune`] would remove now (at most `limit` files).
    pub async fn prune_plan(&self, before: i64, limit: usize) -> Result<Vec<PrunedFile>> {
        self.call(move |c| candidates(c, before, limit)).await
    }

    /// Drops the ops of finished files last updated before `before`, keeping their changes as
    /// audit rows (copied unchanged; the chain records them already), a batch of files per
    /// transaction, each batch chained as a `prune` record by `actor`; returns the files pruned.
    pub async fn prune(&self, before: i64, actor: crate::account::Actor) -> Result<Vec<PrunedFile>> {
        let mut pruned = Vec::new();
        loop {
            let actor = actor.clone();
            let batch = self
                .call(move |c| {
                    let files = candidates(c, before, PRUNE_BATCH)?;
                    let now = now_ms();
                    for f in &files {
                        prune_file(c, f, now)?;
                    }
                    if !files.is_empty() {
                        let content = serde_json::json!({ "before": before, "files": files, "actor": actor, "at": now });
                        crate::journal::chain::append(c, crate::journal::chain::Kind::Prune, None, &content)?;
                    }
                    Ok(files)
                })
                .await?;
            let last = batch.len() < PRUNE_BATCH;
            pruned.extend(batch);
            if last {
                return Ok(pruned);
            }
        }
    }
}
