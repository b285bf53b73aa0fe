//! Read queries over the `ops` table: the ops the engine may run now, the ops left `sending`,
//! a file's row counts (from which the pipeline answers whether it is finished) and report lines,
//! a row's pre-delete snapshot, and cross-file key lookups. It only reads; it must not change an op
//! (the writes are in `ops.rs`).

use super::ops::{OpRecord, OpState};
use super::{Error, Journal, Result};
use crate::domain::{Action, Op, Outcome};
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

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

pub(super) const COLUMNS: &str =
    "id, file_id, row, action, key, payload, state, attempts, freshdesk_id, sent_at";

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
    let action = Action::from_stored(&action).map_err(Error::Data)?;
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

pub(super) fn query_ops(c: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<OpRecord>> {
    let mut stmt = c.prepare_cached(sql)?;
    let raws: Vec<RawOp> = stmt.query_map(p, from_row)?.collect::<rusqlite::Result<_>>()?;
    raws.into_iter().map(to_record).collect()
}

impl Journal {
    /// Pending ops of this connection that may run now, in arrival order: their file is
    /// processing, their retry time has come, and no earlier op of the connection with the same
    /// key is still unfinished (per-key file order).
    pub async fn ready_ops(&self, now: i64, limit: usize) -> Result<Vec<OpRecord>> {
        let conn = self.conn_name();
        self.call(move |c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM ops o
                 WHERE o.state = 'pending' AND o.next_attempt_at <= ?1
                   AND o.file_id IN (SELECT id FROM files WHERE state = 'processing' AND connection = ?3)
                   AND NOT EXISTS (SELECT 1 FROM ops p WHERE p.key = o.key AND p.id < o.id
                                   AND p.state IN ('pending', 'sending')
                                   AND p.file_id IN (SELECT id FROM files
                                                     WHERE state = 'processing' AND connection = ?3))
                 ORDER BY o.id LIMIT ?2"
            );
            query_ops(c, &sql, params![now, limit as i64, conn])
        })
        .await
    }

    /// Ops of this connection left in `sending`: uncertain unless this process has them in flight.
    pub async fn sending_ops(&self) -> Result<Vec<OpRecord>> {
        let conn = self.conn_name();
        self.call(move |c| {
            let sql = format!(
                "SELECT {COLUMNS} FROM ops WHERE state = 'sending'
                 AND file_id IN (SELECT id FROM files WHERE state = 'processing' AND connection = ?1) ORDER BY id"
            );
            query_ops(c, &sql, [conn])
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

    /// Pending `get_agent` / `delete_agent` rows that name an email (the agent directory's test
    /// of whether listing all agents is cheaper than a lookup per row).
    pub async fn pending_email_agent_ops(&self) -> Result<u64> {
        let conn = self.conn_name();
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM ops WHERE state = 'pending' AND action IN ('get_agent', 'delete_agent')
                   AND key NOT LIKE 'agent:%'
                   AND file_id IN (SELECT id FROM files WHERE state = 'processing' AND connection = ?1)",
                [conn],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
        .await
    }

    /// How many rows of a file ask for this action and may run (the volume guards count
    /// `delete_agent`; a refused row does not count).
    pub async fn count_action(&self, file_id: i64, action: &'static str) -> Result<u64> {
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM ops WHERE file_id = ?1 AND action = ?2 AND payload IS NOT NULL",
                rusqlite::params![file_id, action],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
        .await
    }

    pub async fn row_counts(&self, file_id: i64) -> Result<RowCounts> {
        self.call(move |c| counts(c, file_id)).await
    }

    /// A finished op elsewhere on this connection with this key that created something
    /// (cross-file `external_id`; another account's ticket is not this account's), live or
    /// pruned (kept in `audit`, so a pruned file still dedupes its `external_id`s).
    pub async fn created_with_key(&self, key: String, except_op: i64) -> Result<Option<(i64, u64, u64)>> {
        let conn = self.conn_name();
        self.call(move |c| {
            Ok(c.query_row(
                "SELECT file_id, row, freshdesk_id, id FROM ops
                     WHERE key = ?1 AND id <> ?2 AND state = 'done' AND freshdesk_id IS NOT NULL
                       AND outcome IN ('created', 'exists')
                       AND file_id IN (SELECT id FROM files WHERE connection = ?3)
                 UNION ALL
                 SELECT file_id, row, freshdesk_id, op_id FROM audit
                     WHERE key = ?1 AND freshdesk_id IS NOT NULL AND outcome IN ('created', 'exists')
                       AND file_id IN (SELECT id FROM files WHERE connection = ?3)
                 ORDER BY 4 LIMIT 1",
                params![key, except_op, conn],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64)),
            )
            .optional()?)
        })
        .await
    }

    pub async fn report_lines(&self, file_id: i64) -> Result<Vec<ReportLine>> {
        self.call(move |c| {
            let sql = format!("SELECT {REPORT_COLUMNS} FROM ops WHERE file_id = ?1 ORDER BY row");
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([file_id], report_line)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }
}

/// The columns [`report_line`] reads, in its order.
pub(super) const REPORT_COLUMNS: &str =
    "row, action, key, outcome, freshdesk_id, http_status, error_code, message";

pub(super) fn report_line(r: &Row<'_>) -> rusqlite::Result<ReportLine> {
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
