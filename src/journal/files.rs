//! The `files` table: one row per file taken in, with its lifecycle state.

use super::{Error, Journal, Result, now_ms};
use crate::domain::Action;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Being read into the journal; nothing from it runs yet.
    Queued,
    Processing,
    /// Waiting for `fdsync approve` (too many deletes).
    Held,
    Done,
    /// Unreadable as a whole; nothing from it was sent.
    Failed,
    /// Identical (same sha256) to a file already taken; costs no calls.
    Duplicate,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Queued => "queued",
            FileState::Processing => "processing",
            FileState::Held => "held",
            FileState::Done => "done",
            FileState::Failed => "failed",
            FileState::Duplicate => "duplicate",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => FileState::Queued,
            "processing" => FileState::Processing,
            "held" => FileState::Held,
            "done" => FileState::Done,
            "failed" => FileState::Failed,
            "duplicate" => FileState::Duplicate,
            other => return Err(Error::Data(format!("unknown file state '{other}'"))),
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewFile {
    pub name: String,
    pub path: String,
    pub sha256: String,
    pub inbox: Option<String>,
    pub default_action: Option<Action>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileRecord {
    pub id: i64,
    pub name: String,
    pub path: String,
    pub sha256: String,
    pub inbox: Option<String>,
    pub default_action: Option<String>,
    pub state: FileState,
    pub rows_total: i64,
    pub error: Option<String>,
    pub duplicate_of: Option<i64>,
    pub report_path: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Who let a held file run (`fdsync approve`), when (ms) and with what note.
    pub approved_by: Option<String>,
    pub approved_at: Option<i64>,
    pub approval_note: Option<String>,
    /// On an undo file (`fdsync undo`): the file it reverses.
    pub undo_of: Option<i64>,
    /// The connection its rows are sent on (recorded when it was taken; never changed).
    pub connection: String,
}

pub(super) const COLUMNS: &str = "id, name, path, sha256, inbox, default_action, state, rows_total, error, duplicate_of, \
                       report_path, created_at, updated_at, approved_by, approved_at, approval_note, undo_of, connection";

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<(FileRecord, String)> {
    let state: String = r.get(6)?;
    Ok((
        FileRecord {
            id: r.get(0)?,
            name: r.get(1)?,
            path: r.get(2)?,
            sha256: r.get(3)?,
            inbox: r.get(4)?,
            default_action: r.get(5)?,
            state: FileState::Queued,
            rows_total: r.get(7)?,
            error: r.get(8)?,
            duplicate_of: r.get(9)?,
            report_path: r.get(10)?,
            created_at: r.get(11)?,
            updated_at: r.get(12)?,
            approved_by: r.get(13)?,
            approved_at: r.get(14)?,
            approval_note: r.get(15)?,
            undo_of: r.get(16)?,
            connection: r.get(17)?,
        },
        state,
    ))
}

pub(super) fn finish(pair: (FileRecord, String)) -> Result<FileRecord> {
    let (mut rec, state) = pair;
    rec.state = FileState::parse(&state)?;
    Ok(rec)
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<FileRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM files WHERE id = ?1");
    conn.query_row(&sql, [id], from_row).optional()?.map(finish).transpose()
}

/// Inserts a file row inside the caller's transaction; its id.
pub(super) fn insert_in(
    c: &Connection,
    f: &NewFile,
    state: FileState,
    duplicate_of: Option<i64>,
    connection: &str,
) -> Result<i64> {
    let now = now_ms();
    c.execute(
        "INSERT INTO files (name, path, sha256, inbox, default_action, state, duplicate_of, created_at, updated_at,
                            connection)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
        params![
            f.name,
            f.path,
            f.sha256,
            f.inbox,
            f.default_action.map(|a| a.as_str()),
            state.as_str(),
            duplicate_of,
            now,
            connection
        ],
    )?;
    Ok(c.last_insert_rowid())
}

/// The newest `limit` files, newest first.
pub(super) fn newest(conn: &Connection, limit: usize) -> Result<Vec<FileRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM files ORDER BY id DESC LIMIT ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([limit as i64], from_row)?;
    rows.map(|r| finish(r?)).collect()
}

impl Journal {
    /// The file that first brought this content in on this connection (not a duplicate
    /// record), if any: the same file sent to another account is another job.
    pub async fn find_file_by_sha(&self, sha256: &str) -> Result<Option<FileRecord>> {
        let (sha, conn) = (sha256.to_string(), self.conn_name());
        self.call(move |c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM files WHERE sha256 = ?1 AND connection = ?2 AND state NOT IN ('duplicate')
                 ORDER BY id LIMIT 1"
            );
            c.query_row(&sql, [sha, conn], from_row).optional()?.map(finish).transpose()
        })
        .await
    }

    /// Records a file on this handle's connection.
    pub async fn insert_file(&self, f: NewFile, state: FileState, duplicate_of: Option<i64>) -> Result<i64> {
        let conn = self.conn_name();
        self.call(move |c| insert_in(c, &f, state, duplicate_of, &conn)).await
    }

    /// Sets a file's state; entering held, failed or done records its notifications in the same
    /// transaction (see `outbox.rs`).
    pub async fn set_file_state(&self, id: i64, state: FileState, error: Option<String>) -> Result<()> {
        let routes = self.routes();
        self.call(move |c| {
            let before = match routes.is_empty() {
                true => None,
                false => get(c, id)?.map(|f| f.state),
            };
            c.execute(
                "UPDATE files SET state = ?2, error = COALESCE(?3, error), updated_at = ?4 WHERE id = ?1",
                params![id, state.as_str(), error, now_ms()],
            )?;
            if !routes.is_empty() && before.is_some_and(|b| b != state) {
                super::outbox::file_event(c, id, state, &routes)?;
            }
            Ok(())
        })
        .await
    }

    /// Lets a held file run, recording who approved it (`actor`), when and why, chained in the
    /// same transaction; the chain's new head, or none if the file was not held.
    pub async fn approve_file(
        &self,
        id: i64,
        actor: crate::account::Actor,
        note: Option<String>,
    ) -> Result<Option<super::Head>> {
        self.call(move |c| {
            let n = c.execute(
                "UPDATE files SET state = 'processing', error = NULL, approved_by = ?2, approved_at = ?3,
                        approval_note = ?4, updated_at = ?3
                 WHERE id = ?1 AND state = 'held'",
                params![id, actor.label(), now_ms(), note],
            )?;
            if n != 1 {
                return Ok(None);
            }
            super::chain::record_approval(c, id, &actor).map(Some)
        })
        .await
    }

    pub async fn set_file_path(&self, id: i64, path: String) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE files SET path = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, path, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn set_report_path(&self, id: i64, path: String) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE files SET report_path = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, path, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn file(&self, id: i64) -> Result<Option<FileRecord>> {
        self.call(move |c| get(c, id)).await
    }

    /// Files, newest first; `states` empty means all.
    pub async fn files(&self, states: Vec<FileState>) -> Result<Vec<FileRecord>> {
        self.call(move |c| {
            let sql = format!("SELECT {COLUMNS} FROM files ORDER BY id DESC");
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], from_row)?;
            let mut out = Vec::new();
            for r in rows {
                let rec = finish(r?)?;
                if states.is_empty() || states.contains(&rec.state) {
                    out.push(rec);
                }
            }
            Ok(out)
        })
        .await
    }
}
