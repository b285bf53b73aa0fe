//! The `ops` table: one row per input row, and its journey `pending → sending → done | failed`.
//! `sending` is committed before a mutating request leaves; an op left in `sending` that is not
//! in flight in this process is uncertain and must be reconciled before it is sent again.

use super::{Error, Journal, Result, now_ms};
use crate::domain::{Action, Op, Outcome};
use rusqlite::{Connection, OptionalExtension, Row, params};
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

    fn parse(s: &str) -> Result<Self> {
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
}

impl NewOp {
    /// A valid row.
    pub fn valid(row: u64, op: &Op, key: String) -> Self {
        let payload = serde_json::to_string(op).ok();
        Self { row, action: op.action().as_str().into(), key, payload, invalid: None }
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

/// Rows of one file by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    pub total: u64,
    pub pending: u64,
    pub sending: u64,
    pub done: u64,
    pub failed: u64,
}

impl RowCounts {
    pub fn is_final(&self) -> bool {
        self.pending == 0 && self.sending == 0
    }
}

/// One line of a report, straight from the journal.
#[derive(Debug, Clone)]
pub struct ReportLine {
    pub row: u64,
    pub action: String,
    pub key: String,
    pub outcome: Option<Outcome>,
    pub freshdesk_id: Option<u64>,
    pub http_status: Option<u16>,
    pub error_code: Option<String>,
    pub message: Option<String>,
}

const COLUMNS: &str = "id, file_id, row, action, key, payload, state, attempts, freshdesk_id, sent_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<RawOp> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

type RawOp = (i64, i64, i64, String, String, Option<String>, String, i64, Option<i64>, Option<i64>);

fn to_record(raw: RawOp) -> Result<OpRecord> {
    let (id, file_id, row, action, key, payload, state, attempts, freshdesk_id, sent_at) = raw;
    let payload = payload.ok_or_else(|| Error::Data(format!("op {id} has no payload")))?;
    let op: Op = serde_json::from_str(&payload).map_err(|e| Error::Data(format!("op {id} payload: {e}")))?;
    let action = action.parse::<Action>().map_err(Error::Data)?;
    Ok(OpRecord {
        id,
        file_id,
        row: row as u64,
        action,
        key,
        op,
        state: OpState::parse(&state)?,
        attempts: attempts as u32,
        freshdesk_id: freshdesk_id.map(|v| v as u64),
        sent_at,
    })
}

fn query_ops(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<OpRecord>> {
    let mut stmt = c.prepare_cached(sql)?;
    let raws: Vec<RawOp> = stmt.query_map(p, from_row)?.collect::<rusqlite::Result<_>>()?;
    raws.into_iter().map(to_record).collect()
}

impl Journal {
    /// Adds a batch of rows of one file (one transaction per batch).
    pub async fn insert_ops(&self, file_id: i64, rows: Vec<NewOp>) -> Result<()> {
        self.call(move |c| {
            let now = now_ms();
            let mut stmt = c.prepare_cached(
                "INSERT INTO ops (file_id, row, action, key, payload, state, outcome, error_code, message, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?;
            for r in &rows {
                let (state, outcome, code) = match r.invalid {
                    Some(_) => (OpState::Failed, Some(Outcome::Failed.as_str()), Some("invalid_row")),
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
        })
        .await
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

    /// Pending ops that may run now, in arrival order: their file is processing, their retry time
    /// has come, and no earlier op with the same key is still unfinished (per-key file order).
    pub async fn ready_ops(&self, now: i64, limit: usize) -> Result<Vec<OpRecord>> {
        self.call(move |c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM ops o
                 WHERE o.state = 'pending' AND o.next_attempt_at <= ?1
                   AND o.file_id IN (SELECT id FROM files WHERE state = 'processing')
                   AND NOT EXISTS (SELECT 1 FROM ops p WHERE p.key = o.key AND p.id < o.id
                                   AND p.state IN ('pending', 'sending')
                                   AND p.file_id IN (SELECT id FROM files WHERE state = 'processing'))
                 ORDER BY o.id LIMIT ?2"
            );
            query_ops(c, &sql, params![now, limit as i64])
        })
        .await
    }

    /// Ops left in `sending`: uncertain unless this process has them in flight.
    pub async fn sending_ops(&self) -> Result<Vec<OpRecord>> {
        self.call(|c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM ops WHERE state = 'sending'
                 AND file_id IN (SELECT id FROM files WHERE state = 'processing') ORDER BY id"
            );
            query_ops(c, &sql, [])
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

    /// The record saved before a row's delete (`ops.snapshot`), if any.
    pub async fn snapshot(&self, file_id: i64, row: u64) -> Result<Option<String>> {
        self.call(move |c| {
            let found = c
                .query_row(
                    "SELECT snapshot FROM ops WHERE file_id = ?1 AND row = ?2",
                    params![file_id, row as i64],
                    |r| r.get::<_, Option<String>>(0),
                )
                .optional()?;
            Ok(found.flatten())
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
            Ok(())
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

    /// Pending `get_agent` / `delete_agent` rows that name an email (the agent directory's test
    /// of whether listing all agents is cheaper than a lookup per row).
    pub async fn pending_email_agent_ops(&self) -> Result<u64> {
        self.call(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM ops WHERE state = 'pending' AND action IN ('get_agent', 'delete_agent')
                   AND key NOT LIKE 'agent:%' AND file_id IN (SELECT id FROM files WHERE state = 'processing')",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
        .await
    }

    pub async fn row_counts(&self, file_id: i64) -> Result<RowCounts> {
        self.call(move |c| counts(c, file_id)).await
    }

    /// A finished op elsewhere with this key that created something (cross-file `external_id`).
    pub async fn created_with_key(&self, key: String, except_op: i64) -> Result<Option<(i64, u64, u64)>> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT file_id, row, freshdesk_id FROM ops
                     WHERE key = ?1 AND id <> ?2 AND state = 'done' AND freshdesk_id IS NOT NULL
                       AND outcome IN ('created', 'exists') ORDER BY id LIMIT 1",
                params![key, except_op],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64)),
            )
            .optional()?)
        })
        .await
    }

    pub async fn report_lines(&self, file_id: i64) -> Result<Vec<ReportLine>> {
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT row, action, key, outcome, freshdesk_id, http_status, error_code, message
                 FROM ops WHERE file_id = ?1 ORDER BY row",
            )?;
            let rows = stmt.query_map([file_id], |r| {
                let outcome: Option<String> = r.get(3)?;
                Ok(ReportLine {
                    row: r.get::<_, i64>(0)? as u64,
                    action: r.get(1)?,
                    key: r.get(2)?,
                    outcome: outcome.and_then(|o| o.parse().ok()),
                    freshdesk_id: r.get::<_, Option<i64>>(4)?.map(|v| v as u64),
                    http_status: r.get(5)?,
                    error_code: r.get(6)?,
                    message: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// `fdsync retry`: failed rows that can run (not validation failures) go back to pending.
    pub async fn requeue_failed(&self, file_id: Option<i64>) -> Result<u64> {
        self.call(move |c| {
            let now = now_ms();
            // A change whose answer could not be read may have been applied: it goes back to
            // `sending`, so the next run looks it up before anything is sent again.
            let n = c.execute(
                "UPDATE ops SET state = CASE WHEN error_code = 'unverifiable_answer' AND sent_at IS NOT NULL
                                             THEN 'sending' ELSE 'pending' END,
                        outcome = NULL, attempts = 0, next_attempt_at = 0, updated_at = ?2
                 WHERE state = 'failed' AND payload IS NOT NULL AND (?1 IS NULL OR file_id = ?1)",
                params![file_id, now],
            )?;
            c.execute(
                "UPDATE files SET state = 'processing', updated_at = ?2
                 WHERE state = 'done' AND id IN (SELECT file_id FROM ops WHERE state IN ('pending', 'sending'))
                   AND (?1 IS NULL OR id = ?1)",
                params![file_id, now],
            )?;
            Ok(n as u64)
        })
        .await
    }
}

pub(super) fn counts(c: &Connection, file_id: i64) -> Result<RowCounts> {
    let mut stmt = c.prepare_cached("SELECT state, COUNT(*) FROM ops WHERE file_id = ?1 GROUP BY state")?;
    let mut rc = RowCounts::default();
    for pair in stmt.query_map([file_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))? {
        let (state, n) = pair?;
        match OpState::parse(&state)? {
            OpState::Pending => rc.pending = n,
            OpState::Sending => rc.sending = n,
            OpState::Done => rc.done = n,
            OpState::Failed => rc.failed = n,
        }
        rc.total += n;
    }
    Ok(rc)
}
