//! The `outbox` table: notifications waiting to be delivered, one row per event and target.
//!
//! A file event's rows are inserted in the same transaction as the state change that causes it
//! (`files.rs` calls [`file_event`]: held, failed, done with or without failed rows), so an event
//! is never recorded without its notifications nor the reverse. Daemon events (credentials
//! refused, a long run of 429s) come through [`Journal::record_event`]. Which target wants which
//! event is set once by the daemon ([`Journal::set_notify_routes`]); with no routes (every
//! `import`) nothing is recorded. Targets are named by their key (a hash, never a URL).
//!
//! Rows go `pending` → `sent` | `given_up` (a day of failures, or an answer that will not
//! change) | `dropped` (its target is no longer configured). This file records and reads;
//! deciding when to send, and sending, are `crate::notify`'s.

use super::files::{FileRecord, FileState};
use super::{Error, Journal, Result, now_ms};
use crate::domain::NotifyEvent;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// Which events one target wants.
#[derive(Debug, Clone)]
pub struct Route {
    /// The target's key (a hash of where it sends, from the config).
    pub target: String,
    pub events: Vec<NotifyEvent>,
}

/// The routes, shared by every clone of a [`Journal`] handle.
pub(super) type Routes = Arc<RwLock<Arc<[Route]>>>;

pub(super) fn no_routes() -> Routes {
    Arc::new(RwLock::new(Arc::from(Vec::new())))
}

/// How a notification ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeEnd {
    Sent,
    /// Failed for a day, or refused in a way a retry will not change.
    GivenUp,
    /// Its target is no longer configured: nothing is sent anywhere else.
    Dropped,
}

impl NoticeEnd {
    fn as_str(self) -> &'static str {
        match self {
            NoticeEnd::Sent => "sent",
            NoticeEnd::GivenUp => "given_up",
            NoticeEnd::Dropped => "dropped",
        }
    }
}

/// A notification due for delivery.
#[derive(Debug, Clone)]
pub struct Notice {
    pub id: i64,
    pub event: NotifyEvent,
    pub file_id: Option<i64>,
    pub target: String,
    /// A daemon event's message.
    pub detail: Option<String>,
    pub attempts: u32,
    pub created_at: i64,
}

/// What a notification says about a file.
#[derive(Debug, Clone)]
pub struct FileFacts {
    pub file: FileRecord,
    /// Rows by outcome (a row not yet final counts under its state, e.g. `pending`).
    pub counts: BTreeMap<String, u64>,
    /// The first failed rows, in row order: (row, message).
    pub failures: Vec<(u64, String)>,
}

/// Records the notifications of file `id` entering `state` (called inside that transaction).
pub(super) fn file_event(c: &Connection, id: i64, state: FileState, routes: &[Route]) -> Result<()> {
    let event = match state {
        FileState::Held => NotifyEvent::Held,
        FileState::Failed => NotifyEvent::Failed,
        FileState::Done => {
            let failed: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM ops WHERE file_id = ?1 AND state = 'failed' AND outcome = 'failed')",
                [id],
                |r| r.get(0),
            )?;
            if failed { NotifyEvent::Rejected } else { NotifyEvent::Done }
        }
        _ => return Ok(()),
    };
    insert(c, event, Some(id), None, routes).map(|_| ())
}

fn insert(
    c: &Connection,
    event: NotifyEvent,
    file_id: Option<i64>,
    detail: Option<&str>,
    routes: &[Route],
) -> Result<usize> {
    let now = now_ms();
    let mut n = 0;
    for r in routes.iter().filter(|r| r.events.contains(&event)) {
        c.execute(
            "INSERT INTO outbox (event, file_id, target, detail, state, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'pending', ?5, ?5)",
            params![event.as_str(), file_id, r.target, detail, now],
        )?;
        n += 1;
    }
    Ok(n)
}

impl Journal {
    /// Sets which target wants which event (the daemon, once, before it takes files).
    pub fn set_notify_routes(&self, routes: Vec<Route>) {
        *self.routes.write().unwrap_or_else(|e| e.into_inner()) = Arc::from(routes);
    }

    pub(super) fn routes(&self) -> Arc<[Route]> {
        self.routes.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records a daemon event's notifications; returns how many.
    pub async fn record_event(&self, event: NotifyEvent, detail: String) -> Result<usize> {
        let routes = self.routes();
        if routes.is_empty() {
            return Ok(0);
        }
        self.call(move |c| insert(c, event, None, Some(&detail), &routes)).await
    }

    /// Pending notifications due at `now`, oldest first.
    pub async fn due_notices(&self, now: i64, limit: usize) -> Result<Vec<Notice>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, event, file_id, target, detail, attempts, created_at FROM outbox
                 WHERE state = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![now, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get::<_, i64>(5)?,
                    r.get(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, event, file_id, target, detail, attempts, created_at) = row?;
                let event = event.parse().map_err(|e| Error::Data(format!("outbox {id}: {e}")))?;
                out.push(Notice {
                    id,
                    event,
                    file_id,
                    target,
                    detail,
                    attempts: attempts as u32,
                    created_at,
                });
            }
            Ok(out)
        })
        .await
    }

    /// The held notices of one provisioning cycle, when `id` is the `held` notice of a file
    /// that came from `inbox` (the SCIM source): every pending `held` notice for the same target
    /// whose file came from `inbox` on the same connection, oldest first (without `id` if that
    /// one is no longer pending). `None` for any other notice.
    pub async fn held_cycle(&self, id: i64, inbox: &'static str) -> Result<Option<Vec<Notice>>> {
        self.call(move |c| {
            let lead: Option<(String, String)> = c
                .query_row(
                    "SELECT o.target, f.connection FROM outbox o JOIN files f ON f.id = o.file_id
                     WHERE o.id = ?1 AND o.event = 'held' AND f.inbox = ?2",
                    params![id, inbox],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let Some((target, connection)) = lead else { return Ok(None) };
            let mut stmt = c.prepare_cached(
                "SELECT o.id, o.file_id, o.detail, o.attempts, o.created_at FROM outbox o
                 JOIN files f ON f.id = o.file_id
                 WHERE o.event = 'held' AND o.state = 'pending' AND o.target = ?1
                   AND f.inbox = ?2 AND f.connection = ?3
                 ORDER BY o.id",
            )?;
            let rows = stmt.query_map(params![target, inbox, connection], |r| {
                Ok(Notice {
                    id: r.get(0)?,
                    event: NotifyEvent::Held,
                    file_id: r.get(1)?,
                    target: target.clone(),
                    detail: r.get(2)?,
                    attempts: r.get::<_, i64>(3)? as u32,
                    created_at: r.get(4)?,
                })
            })?;
            Ok(Some(rows.collect::<rusqlite::Result<_>>()?))
        })
        .await
    }

    /// Puts notices off until `at` (ms) without counting an attempt (a cycle still going on).
    pub async fn notice_defer(&self, ids: Vec<i64>, at: i64) -> Result<()> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "UPDATE outbox SET next_attempt_at = ?2, updated_at = ?3 WHERE id = ?1 AND state = 'pending'",
            )?;
            for id in ids {
                stmt.execute(params![id, at, now_ms()])?;
            }
            Ok(())
        })
        .await
    }

    /// A failed attempt: try again at `next_at` (ms).
    pub async fn notice_retry(&self, id: i64, next_at: i64, error: String) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3, updated_at = ?4
                 WHERE id = ?1",
                params![id, next_at, error, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// The notification is over: sent, given up or dropped (`error` says why for the last two).
    pub async fn notice_end(&self, id: i64, end: NoticeEnd, error: Option<String>) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE outbox SET state = ?2, attempts = attempts + 1, last_error = COALESCE(?3, last_error),
                        updated_at = ?4 WHERE id = ?1",
                params![id, end.as_str(), error, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    /// File `id` with its rows by outcome and its first `max_failures` failed rows.
    pub async fn file_facts(&self, id: i64, max_failures: usize) -> Result<Option<FileFacts>> {
        self.call(move |c| {
            let Some(file) = super::files::get(c, id)? else { return Ok(None) };
            let mut stmt = c.prepare_cached(
                "SELECT COALESCE(outcome, state), COUNT(*) FROM ops WHERE file_id = ?1 GROUP BY 1 ORDER BY 1",
            )?;
            let counts = stmt
                .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
                .collect::<rusqlite::Result<BTreeMap<_, _>>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT row, COALESCE(NULLIF(message, ''), error_code, 'failed') FROM ops
                 WHERE file_id = ?1 AND state = 'failed' AND outcome = 'failed' ORDER BY row LIMIT ?2",
            )?;
            let failures = stmt
                .query_map(params![id, max_failures as i64], |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(Some(FileFacts { file, counts, failures }))
        })
        .await
    }

    /// The state of notification `id` (tests, diagnostics).
    pub async fn notice_state(&self, id: i64) -> Result<Option<String>> {
        self.call(move |c| {
            Ok(c.query_row("SELECT state FROM outbox WHERE id = ?1", [id], |r| r.get(0)).optional()?)
        })
        .await
    }
}

#[cfg(test)]
mod tests;
