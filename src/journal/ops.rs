//! The `ops` table: one row per input row, and its journey `pending → sending → done | failed`.
//! `sending` is committed before a mutating request leaves; an op left in `sending` that is not
//! in flight in this process is uncertain and must be reconciled before it is sent again.
//! This file holds the op types and the writes that move an op along; the reads (ready and
//! sending ops, counts, report lines) are in `queries.rs`. It must not decide *when* an op moves
//! (that is the engine's); it only records it.

use super::{Error, Journal, Result, now_ms};
use crate::domain::{Action, Op, Outcome};
use rusqlite::params;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpState {
    Pending,
    Sending,
    Done,
    Failed,
}

impl OpState {
    pub fn as_str(self) -> &'static str {
        match self {
            OpState::Pending => "pending",
            OpState::Sending => "sending",
            OpState::Done => "done",
            OpState::Failed => "failed",
        }
    }

    pub(super) fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => OpState::Pending,
            "sending" => OpState::Sending,
            "done" => OpState::Done,
            "failed" => OpState::Failed,
            other => return Err(Error::Data(format!("unknown op state '{other}'"))),
        })
    }
}

/// A row as the intake hands it to the journal. Invalid rows arrive already `failed`.
#[derive(Debug, Clone)]
pub struct NewOp {
    pub row: u64,
    pub action: String,
    pub key: String,
    /// The op as JSON (serialised by the reader, off the writer thread); `None` for invalid rows.
    pub payload: Option<String>,
    /// For rows refused by validation: the reason (state becomes `failed`).
    pub invalid: Option<String>,
    /// The refused row's error code; `None`: `invalid_row`.
    pub code: Option<&'static str>,
}

impl NewOp {
    /// A valid row.
    pub fn valid(row: u64, op: &Op, key: String) -> Self {
        let payload = serde_json::to_string(op).ok();
        Self { row, action: op.action().as_str().into(), key, payload, invalid: None, code: None }
    }

    /// A row refused before any call for a reason of its own (`code`); it never runs, and
    /// `fdsync retry` never brings it back (it has no payload).
    pub fn refused(row: u64, action: &str, key: String, code: &'static str, reason: String) -> Self {
        Self { row, action: action.into(), key, payload: None, invalid: Some(reason), code: Some(code) }
    }
}

/// An op as the engine sees it.
#[derive(Debug, Clone)]
pub struct OpRecord {
    pub id: i64,
    pub file_id: i64,
    pub row: u64,
    pub action: Action,
    pub key: String,
    pub op: Op,
    pub state: OpState,
    pub attempts: u32,
    pub freshdesk_id: Option<u64>,
    pub sent_at: Option<i64>,
}

/// The final word on an op.
#[derive(Debug, Clone, PartialEq)]
pub struct OpResult {
    pub outcome: Outcome,
    pub freshdesk_id: Option<u64>,
    pub http_status: Option<u16>,
    pub error_code: Option<String>,
    pub message: String,
}

/// Inserts rows of one file inside the caller's transaction; counts them in `rows_total`.
pub(super) fn insert_ops_in(c: &rusqlite::Connection, file_id: i64, rows: &[NewOp]) -> Result<()> {
    let now = now_ms();
    let mut stmt = c.prepare_cached(
        "INSERT INTO ops (file_id, row, action, key, payload, state, outcome, error_code, message, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for r in rows {
        let (state, outcome, code) = match r.invalid {
            Some(_) => {
                (OpState::Failed, Some(Outcome::Failed.as_str()), Some(r.code.unwrap_or("invalid_row")))
            }
            None => (OpState::Pending, None, None),
        };
        stmt.execute(params![
            file_id,
            r.row as i64,
            r.action,
            r.key,
            r.payload,
            state.as_str(),
            outcome,
            code,
            r.invalid,
            now
        ])?;
    }
    c.execute(
        "UPDATE files SET rows_total = rows_total + ?2, updated_at = ?3 WHERE id = ?1",
        params![file_id, rows.len() as i64, now],
    )?;
    Ok(())
}

impl Journal {
    /// Adds a batch of rows of one file (one transaction per batch).
    pub async fn insert_ops(&self, file_id: i64, rows: Vec<NewOp>) -> Result<()> {
        self.call(move |c| insert_ops_in(c, file_id, &rows)).await
    }

    /// Removes every op of a file (a file rejected as a whole after some rows were journaled).
    pub async fn discard_ops(&self, file_id: i64) -> Result<()> {
        self.call(move |c| {
            c.execute("DELETE FROM ops WHERE file_id = ?1", [file_id])?;
            c.execute("UPDATE files SET rows_total = 0 WHERE id = ?1", [file_id])?;
            Ok(())
        })
        .await
    }

    /// Counts an attempt; a mutating op is durably marked `sending` with its send time.
    pub async fn begin_attempt(&self, op_id: i64, mutating: bool) -> Result<i64> {
        self.call(move |c| {
            let now = now_ms();
            if mutating {
                c.execute(
                    "UPDATE ops SET state = 'sending', sent_at = ?2, attempts = attempts + 1, updated_at = ?2
                     WHERE id = ?1",
                    params![op_id, now],
                )?;
            } else {
                c.execute(
                    "UPDATE ops SET attempts = attempts + 1, updated_at = ?2 WHERE id = ?1",
                    params![op_id, now],
                )?;
            }
            Ok(now)
        })
        .await
    }

    /// Marks an op `sending` (durably) right before its mutating call, when an earlier lookup of
    /// the same attempt already counted the attempt.
    pub async fn mark_sending(&self, op_id: i64) -> Result<i64> {
        self.call(move |c| {
            let now = now_ms();
            c.execute(
                "UPDATE ops SET state = 'sending', sent_at = ?2, updated_at = ?2 WHERE id = ?1",
                params![op_id, now],
            )?;
            Ok(now)
        })
        .await
    }

    /// Records what a lookup found before the mutating call: the target id and the record as it
    /// was (the pre-delete snapshot that makes an offboarding auditable and undoable).
    pub async fn record_lookup(&self, op_id: i64, freshdesk_id: u64, snapshot: Option<String>) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE ops SET freshdesk_id = ?2, snapshot = COALESCE(?3, snapshot), updated_at = ?4 WHERE id = ?1",
                params![op_id, freshdesk_id as i64, snapshot, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// The op's final outcome.
    pub async fn finish_op(&self, op_id: i64, r: OpResult) -> Result<()> {
        self.call(move |c| {
            let state = if r.outcome == Outcome::Failed { OpState::Failed } else { OpState::Done };
            c.execute(
                "UPDATE ops SET state = ?2, outcome = ?3, freshdesk_id = COALESCE(?4, freshdesk_id),
                        http_status = ?5, error_code = ?6, message = ?7, updated_at = ?8
                 WHERE id = ?1",
                params![
                    op_id,
                    state.as_str(),
                    r.outcome.as_str(),
                    r.freshdesk_id.map(|v| v as i64),
                    r.http_status,
                    r.error_code,
                    r.message,
                    now_ms()
                ],
            )?;
            super::chain::record_change(c, op_id)
        })
        .await
    }

    /// Back to `pending`, to run again at `at` (ms). `refund` gives the attempt back (429s).
    pub async fn retry_op(
        &self,
        op_id: i64,
        at: i64,
        refund: bool,
        http_status: Option<u16>,
        message: String,
    ) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE ops SET state = 'pending', next_attempt_at = ?2,
                        attempts = MAX(0, attempts - ?3), http_status = ?4, message = ?5, updated_at = ?6
                 WHERE id = ?1",
                params![op_id, at, refund as i64, http_status, message, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// `fdsync retry`: failed rows that can run (not validation failures) go back to pending.
    pub async fn requeue_failed(&self, file_id: Option<i64>) -> Result<u64> {
        self.requeue_failed_on(file_id, None, crate::account::Actor::current()).await
    }

    /// [`Journal::requeue_failed`], only for the files of `connection` when given, as `actor`
    /// (chained with the ops it requeued, in the same transaction). A row goes back on the
    /// connection its file was sent on; nothing moves it to another.
    pub async fn requeue_failed_on(
        &self,
        file_id: Option<i64>,
        connection: Option<String>,
        actor: crate::account::Actor,
    ) -> Result<u64> {
        self.call(move |c| {
            let now = now_ms();
            // A change whose answer could not be read may have been applied: it goes back to
            // `sending`, so the next run looks it up before anything is sent again.
            let mut stmt = c.prepare(
                "UPDATE ops SET state = CASE WHEN error_code = 'unverifiable_answer' AND sent_at IS NOT NULL
                                             THEN 'sending' ELSE 'pending' END,
                        outcome = NULL, attempts = 0, next_attempt_at = 0, updated_at = ?2
                 WHERE state = 'failed' AND payload IS NOT NULL AND (?1 IS NULL OR file_id = ?1)
                   AND (?3 IS NULL OR file_id IN (SELECT id FROM files WHERE connection = ?3))
                 RETURNING id",
            )?;
            let ids = stmt
                .query_map(params![file_id, now, connection], |r| r.get::<_, i64>(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            c.execute(
                "UPDATE files SET state = 'processing', updated_at = ?2
                 WHERE state = 'done' AND id IN (SELECT file_id FROM ops WHERE state IN ('pending', 'sending'))
                   AND (?1 IS NULL OR id = ?1) AND (?3 IS NULL OR connection = ?3)",
                params![file_id, now, connection],
            )?;
            if !ids.is_empty() {
                let content = serde_json::json!({
                    "ops": ids, "file": file_id, "connection": connection, "actor": actor, "at": now,
                });
                super::chain::append(c, super::chain::Kind::Retry, file_id, &content)?;
            }
            Ok(ids.len() as u64)
        })
        .await
    }
}
