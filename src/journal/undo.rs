//! What `fdsync undo` reads and writes: the rows of a file an undo can reverse (agents it
//! deleted or updated, with the record saved before; tickets it created), which undo already
//! holds a row's key, and the undo file itself: a `files` row with `undo_of` and its ops,
//! written in one transaction. It decides nothing (that is `cli/undo.rs`).

use super::files::{self, FileRecord, FileState, NewFile};
use super::ops::{NewOp, OpRecord, insert_ops_in};
use super::queries;
use super::{Journal, Result};
use crate::domain::Action;
use rusqlite::{OptionalExtension, params};
use std::collections::HashMap;

/// A row of a finished file that an undo can reverse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undoable {
    pub row: u64,
    /// `delete_agent` (outcome `deleted`), `update_agent` (outcome `updated`) or
    /// `create_ticket` (outcome `created`).
    pub action: Action,
    /// The deleted or updated agent's, or the created ticket's id.
    pub freshdesk_id: Option<u64>,
    /// The agent's record saved before the delete or update (`ops.snapshot`).
    pub snapshot: Option<String>,
    /// The op as journaled (an update's fields).
    pub payload: Option<String>,
}

impl Journal {
    /// The rows of `file_id` that changed Freshdesk in a way an undo reverses, in row order.
    pub async fn undoable_rows(&self, file_id: i64) -> Result<Vec<Undoable>> {
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT row, action, freshdesk_id, snapshot, payload FROM ops
                 WHERE file_id = ?1 AND state = 'done'
                   AND ((action = 'delete_agent' AND outcome = 'deleted')
                        OR (action = 'update_agent' AND outcome = 'updated')
                        OR (action = 'create_ticket' AND outcome = 'created'))
                 ORDER BY row",
            )?;
            let rows = stmt.query_map([file_id], |r| {
                let head = (r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Option<i64>>(2)?);
                Ok((head, r.get(3)?, r.get(4)?))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let ((row, action, id), snapshot, payload) = row?;
                out.push(Undoable {
                    row: row as u64,
                    action: Action::from_stored(&action).map_err(super::Error::Data)?,
                    freshdesk_id: id.map(|v| v as u64),
                    snapshot,
                    payload,
                });
            }
            Ok(out)
        })
        .await
    }

    /// For each key held by an op of another undo, that undo's file id. An op that ended
    /// `not_restorable` holds nothing: a later undo may try that row again.
    pub async fn undo_holders(&self, keys: Vec<String>) -> Result<HashMap<String, i64>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT file_id FROM ops WHERE key = ?1
                   AND (outcome IS NULL OR outcome <> 'not_restorable') ORDER BY id LIMIT 1",
            )?;
            let mut out = HashMap::new();
            for key in keys {
                if let Some(file) = stmt.query_row([&key], |r| r.get::<_, i64>(0)).optional()? {
                    out.insert(key, file);
                }
            }
            Ok(out)
        })
        .await
    }

    /// Journals an undo of file `of` by `actor`: the file row (`undo_of` set), its ops and its
    /// chain record, in one transaction. Its id.
    pub async fn insert_undo_file(
        &self,
        of: i64,
        file: NewFile,
        ops: Vec<NewOp>,
        state: FileState,
        actor: crate::account::Actor,
    ) -> Result<i64> {
        self.call(move |c| {
            // On the connection the undone file was sent on, whatever the config says now.
            let id = files::insert_in(c, &file, state, None, crate::domain::DEFAULT_CONNECTION)?;
            c.execute(
                "UPDATE files SET undo_of = ?2, connection = (SELECT connection FROM files WHERE id = ?2) WHERE id = ?1",
                params![id, of],
            )?;
            insert_ops_in(c, id, &ops)?;
            let content = serde_json::json!({
                "undo_file_id": id, "undo_of": of, "rows": ops.len(), "actor": actor,
            });
            super::chain::append(c, super::chain::Kind::Undo, Some(id), &content)?;
            Ok(id)
        })
        .await
    }

    /// Every op of an undo file with its payload, in row order (what an undo will do).
    pub async fn undo_ops(&self, file_id: i64) -> Result<Vec<OpRecord>> {
        self.call(move |c| {
            let sql = format!(
                "SELECT {} FROM ops WHERE file_id = ?1 AND payload IS NOT NULL ORDER BY row",
                queries::COLUMNS
            );
            queries::query_ops(c, &sql, [file_id])
        })
        .await
    }

    /// The undo files of `file_id`, oldest first.
    pub async fn undos_of(&self, file_id: i64) -> Result<Vec<FileRecord>> {
        self.call(move |c| {
            let sql = format!("SELECT {} FROM files WHERE undo_of = ?1 ORDER BY id", files::COLUMNS);
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([file_id], files::from_row)?;
            rows.map(|r| files::finish(r?)).collect()
        })
        .await
    }
}
