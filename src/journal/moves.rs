//! The `moves` table (migration 8): offboarding's handover, one record per ticket moved from a
//! leaver to their successor before the leaver's delete (issue 24). Each move is an op of its
//! own: `pending → sending → done | failed`, `sending` committed before its `PUT` leaves, with
//! who held the ticket before (`from_*`) and who was asked to take it (`to_*`), so the audit can
//! show it and an undo can give it back (`back_*`). It decides nothing; the engine's handover
//! does (`src/engine/handover.rs`).

use super::{Journal, Result, now_ms};
use crate::freshdesk::Holder;
use rusqlite::{OptionalExtension, params};

pub(super) const SCHEMA: &str = r#"
    CREATE TABLE IF NOT EXISTS moves (
        id              INTEGER PRIMARY KEY,
        op_id           INTEGER NOT NULL,
        file_id         INTEGER NOT NULL,
        row             INTEGER NOT NULL,
        ticket_id       INTEGER NOT NULL,
        from_responder  INTEGER,
        from_group      INTEGER,
        to_responder    INTEGER,
        to_group        INTEGER,
        state           TEXT    NOT NULL,
        sent_at         INTEGER,
        http_status     INTEGER,
        error_code      TEXT,
        message         TEXT,
        back_state      TEXT,
        back_sent_at    INTEGER,
        back_message    TEXT,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        UNIQUE (op_id, ticket_id)
    );
    CREATE INDEX IF NOT EXISTS moves_op ON moves(op_id, state);
    CREATE INDEX IF NOT EXISTS moves_row ON moves(file_id, row);
"#;

/// A move's state (the same words as an op's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveState {
    Pending,
    Sending,
    Done,
    Failed,
}

impl MoveState {
    fn as_str(self) -> &'static str {
        match self {
            MoveState::Pending => "pending",
            MoveState::Sending => "sending",
            MoveState::Done => "done",
            MoveState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "sending" => MoveState::Sending,
            "done" => MoveState::Done,
            "failed" => MoveState::Failed,
            _ => MoveState::Pending,
        }
    }
}

/// Where an undo stands with a moved ticket (`back_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackState {
    /// The agent is restored: the ticket may be given back.
    Pending,
    /// The give-back's `PUT` may have left.
    Sending,
    /// Given back.
    Done,
    /// Not given back: someone changed the ticket since (`changed_since`) or it is gone.
    NotRestorable,
}

impl BackState {
    fn as_str(self) -> &'static str {
        match self {
            BackState::Pending => "pending",
            BackState::Sending => "sending",
            BackState::Done => "done",
            BackState::NotRestorable => "not_restorable",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => BackState::Pending,
            "sending" => BackState::Sending,
            "done" => BackState::Done,
            "not_restorable" => BackState::NotRestorable,
            _ => return None,
        })
    }
}

/// One ticket's move.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub id: i64,
    pub op_id: i64,
    pub file_id: i64,
    pub row: u64,
    pub ticket_id: u64,
    pub from: Holder,
    pub to: Holder,
    pub state: MoveState,
    pub sent_at: Option<i64>,
    pub http_status: Option<u16>,
    pub error_code: Option<String>,
    pub message: Option<String>,
    pub back: Option<BackState>,
    pub back_sent_at: Option<i64>,
    pub back_message: Option<String>,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, op_id, file_id, row, ticket_id, from_responder, from_group, to_responder, to_group, \
     state, sent_at, http_status, error_code, message, back_state, back_sent_at, back_message, updated_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Move> {
    let id = |i: usize| r.get::<_, Option<i64>>(i).map(|v| v.map(|v| v as u64));
    Ok(Move {
        id: r.get(0)?,
        op_id: r.get(1)?,
        file_id: r.get(2)?,
        row: r.get::<_, i64>(3)? as u64,
        ticket_id: r.get::<_, i64>(4)? as u64,
        from: Holder { responder_id: id(5)?, group_id: id(6)? },
        to: Holder { responder_id: id(7)?, group_id: id(8)? },
        state: MoveState::parse(&r.get::<_, String>(9)?),
        sent_at: r.get(10)?,
        http_status: r.get::<_, Option<i64>>(11)?.map(|v| v as u16),
        error_code: r.get(12)?,
        message: r.get(13)?,
        back: r.get::<_, Option<String>>(14)?.as_deref().and_then(BackState::parse),
        back_sent_at: r.get(15)?,
        back_message: r.get(16)?,
        updated_at: r.get(17)?,
    })
}

fn to_sql(v: Option<u64>) -> Option<i64> {
    v.map(|v| v as i64)
}

/// A ticket found for a handover: its id and who holds it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub ticket_id: u64,
    pub from: Holder,
}

impl Journal {
    /// Records the tickets found for op `op_id` (row `row` of `file_id`) to be moved to `to`;
    /// a ticket already recorded for this op is left as it is. How many were new.
    pub async fn record_moves(
        &self,
        op_id: i64,
        file_id: i64,
        row: u64,
        to: Holder,
        found: Vec<Found>,
    ) -> Result<u64> {
        self.call(move |c| {
            let now = now_ms();
            let mut stmt = c.prepare_cached(
                "INSERT OR IGNORE INTO moves (op_id, file_id, row, ticket_id, from_responder, from_group,
                     to_responder, to_group, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?9)",
            )?;
            let mut new = 0;
            for f in &found {
                new += stmt.execute(params![
                    op_id,
                    file_id,
                    row as i64,
                    f.ticket_id as i64,
                    to_sql(f.from.responder_id),
                    to_sql(f.from.group_id),
                    to_sql(to.responder_id),
                    to_sql(to.group_id),
                    now
                ])? as u64;
            }
            Ok(new)
        })
        .await
    }

    /// Every move of op `op_id`, by ticket id.
    pub async fn moves_of(&self, op_id: i64) -> Result<Vec<Move>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM moves WHERE op_id = ?1 ORDER BY ticket_id"
            ))?;
            Ok(stmt.query_map([op_id], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Every move made for row `row` of file `file_id` (an undo gives them back), by ticket id.
    pub async fn moves_of_row(&self, file_id: i64, row: u64) -> Result<Vec<Move>> {
        self.call(move |c| {
            let sql =
                format!("SELECT {COLUMNS} FROM moves WHERE file_id = ?1 AND row = ?2 ORDER BY ticket_id");
            let mut stmt = c.prepare_cached(&sql)?;
            Ok(stmt
                .query_map(params![file_id, row as i64], from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Every move that was tried (sent at least once), for the audit, oldest first.
    pub async fn tried_moves(&self) -> Result<Vec<Move>> {
        self.call(move |c| {
            let sql = format!("SELECT {COLUMNS} FROM moves WHERE sent_at IS NOT NULL ORDER BY sent_at, id");
            let mut stmt = c.prepare_cached(&sql)?;
            Ok(stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// A new pass over op `op_id`'s moves (`fdsync retry`): the failed ones are pending again.
    pub async fn reopen_failed_moves(&self, op_id: i64) -> Result<u64> {
        self.call(move |c| {
            let n = c.execute(
                "UPDATE moves SET state = 'pending', updated_at = ?2 WHERE op_id = ?1 AND state = 'failed'",
                params![op_id, now_ms()],
            )?;
            Ok(n as u64)
        })
        .await
    }

    /// Durably marks a move `sending` before its `PUT` leaves; the send time.
    pub async fn move_sending(&self, move_id: i64) -> Result<i64> {
        self.call(move |c| {
            let now = now_ms();
            c.execute(
                "UPDATE moves SET state = 'sending', sent_at = ?2, updated_at = ?2 WHERE id = ?1",
                params![move_id, now],
            )?;
            Ok(now)
        })
        .await
    }

    /// A move's new state with what Freshdesk answered (`pending`: nothing was applied).
    pub async fn move_state(
        &self,
        move_id: i64,
        state: MoveState,
        http_status: Option<u16>,
        error_code: Option<String>,
        message: String,
    ) -> Result<()> {
        self.call(move |c| {
            c.execute(
                "UPDATE moves SET state = ?2, http_status = ?3, error_code = ?4, message = ?5, updated_at = ?6
                 WHERE id = ?1",
                params![move_id, state.as_str(), http_status, error_code, message, now_ms()],
            )?;
            if matches!(state, MoveState::Done | MoveState::Failed) {
                chain_move(c, move_id)?;
            }
            Ok(())
        })
        .await
    }

    /// Whether file `file_id` deletes, in another row than `row`, the agent with one of `keys`.
    pub async fn deleted_in_file(&self, file_id: i64, row: u64, keys: Vec<String>) -> Result<Option<u64>> {
        self.call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT row FROM ops WHERE file_id = ?1 AND row <> ?2 AND action = 'delete_agent' AND key = ?3
                 ORDER BY row LIMIT 1",
            )?;
            for key in keys {
                if let Some(r) =
                    stmt.query_row(params![file_id, row as i64, key], |r| r.get::<_, i64>(0)).optional()?
                {
                    return Ok(Some(r as u64));
                }
            }
            Ok(None)
        })
        .await
    }

    /// An undo's progress with a moved ticket.
    pub async fn move_back(&self, move_id: i64, back: BackState, message: String) -> Result<i64> {
        self.call(move |c| {
            let now = now_ms();
            let sent = if back == BackState::Sending { Some(now) } else { None };
            c.execute(
                "UPDATE moves SET back_state = ?2, back_message = ?3, back_sent_at = COALESCE(?4, back_sent_at),
                                  updated_at = ?5 WHERE id = ?1",
                params![move_id, back.as_str(), message, sent, now],
            )?;
            if matches!(back, BackState::Done | BackState::NotRestorable) {
                chain_move(c, move_id)?;
            }
            Ok(now)
        })
        .await
    }

    /// The agent of row `row` of `file_id` is restored: its moved tickets may be given back.
    pub async fn open_give_back(&self, file_id: i64, row: u64) -> Result<u64> {
        self.call(move |c| {
            let n = c.execute(
                "UPDATE moves SET back_state = 'pending', updated_at = ?3
                 WHERE file_id = ?1 AND row = ?2 AND state = 'done' AND back_state IS NULL",
                params![file_id, row as i64, now_ms()],
            )?;
            Ok(n as u64)
        })
        .await
    }
}

/// `agent 7, group 3` / `no agent, group 3`: a holder as the audit shows it.
fn holder_text(responder: Option<i64>, group: Option<i64>) -> String {
    let agent = responder.map_or_else(|| "no agent".to_string(), |a| format!("agent {a}"));
    let group = group.map_or_else(|| "no group".to_string(), |g| format!("group {g}"));
    format!("{agent}, {group}")
}

/// The moves that were tried, as changes `fdsync audit` lists (action `reassign_ticket`, key
/// `ticket:<id>`, the ticket's id, its holder before and after in the message), filtered as `q`
/// asks. Moves are not pruned with their file's ops and not chained (yet).
pub(super) fn audit_moves(c: &rusqlite::Connection, q: &super::AuditQuery) -> Result<Vec<super::AuditRow>> {
    if q.action.is_some() {
        return Ok(Vec::new());
    }
    let sql = "SELECT f.id, f.name, f.sha256, f.inbox, f.connection, m.row, m.ticket_id, o.key,
                      m.sent_at, m.state, m.updated_at, m.http_status, m.error_code, m.message,
                      m.from_responder, m.from_group, m.to_responder, m.to_group, m.back_state, m.back_message,
                      f.approved_by, f.approved_at, f.approval_note,
                      (SELECT MIN(u.id) FROM files u WHERE u.undo_of = f.id)
               FROM moves m JOIN files f ON f.id = m.file_id LEFT JOIN ops o ON o.id = m.op_id
               WHERE m.sent_at IS NOT NULL AND (?1 IS NULL OR m.sent_at >= ?1) AND (?2 IS NULL OR m.sent_at < ?2)
                 AND (?3 IS NULL OR lower(o.key) = lower(?3)) AND (?4 IS NULL OR f.id = ?4)
               ORDER BY m.sent_at, m.id";
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(params![q.since, q.until, q.email, q.file], |r| {
        let state: String = r.get(9)?;
        let fin = state == "done" || state == "failed";
        let outcome = match state.as_str() {
            "done" => Some("reassigned".to_string()),
            "failed" => Some("failed".to_string()),
            _ => None,
        };
        let before = holder_text(r.get(14)?, r.get(15)?);
        let after = holder_text(r.get(16)?, r.get(17)?);
        let mut message = format!("before: {before}; after: {after}");
        if let Some(m) = r.get::<_, Option<String>>(13)?.filter(|m| !m.is_empty()) {
            message.push_str(&format!("; {m}"));
        }
        if let Some(back) = r.get::<_, Option<String>>(18)? {
            let why = r.get::<_, Option<String>>(19)?.filter(|m| !m.is_empty());
            message
                .push_str(&format!("; undo: {back}{}", why.map(|w| format!(" ({w})")).unwrap_or_default()));
        }
        let key: Option<String> = r.get(7)?;
        let change = super::Change {
            file_id: r.get(0)?,
            file_name: r.get(1)?,
            sha256: r.get(2)?,
            inbox: r.get(3)?,
            connection: r.get(4)?,
            row: r.get(5)?,
            action: "reassign_ticket".into(),
            key: format!("ticket:{}", r.get::<_, i64>(6)?),
            email: key.filter(|k| k.contains('@')),
            sent_at: r.get(8)?,
            confirmed_at: if fin { r.get(10)? } else { None },
            outcome,
            freshdesk_id: r.get(6)?,
            http_status: r.get(11)?,
            error_code: r.get(12)?,
            message: Some(message),
            approved_by: r.get(20)?,
            approved_at: r.get(21)?,
            approval_note: r.get(22)?,
            undone_by: r.get(23)?,
        };
        Ok(super::AuditRow { change, before: None })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// What the audit chain holds of a move: who held the ticket before, who was asked to take it,
/// how it ended, and how its undo ended (`chain.rs`, kind `move`).
fn sealed_move(m: &Move) -> serde_json::Value {
    let state = |s: MoveState| s.as_str();
    serde_json::json!({
        "move_id": m.id, "op_id": m.op_id, "file_id": m.file_id, "row": m.row, "ticket_id": m.ticket_id,
        "from": m.from, "to": m.to, "state": state(m.state), "http_status": m.http_status,
        "error_code": m.error_code, "message": m.message,
        "back_state": m.back.map(BackState::as_str), "back_message": m.back_message,
    })
}

fn one(c: &rusqlite::Connection, move_id: i64) -> Result<Option<Move>> {
    let sql = format!("SELECT {COLUMNS} FROM moves WHERE id = ?1");
    Ok(c.prepare_cached(&sql)?.query_row([move_id], from_row).optional()?)
}

/// Chains move `move_id` as it is now (it just became final, or its undo did).
fn chain_move(c: &rusqlite::Connection, move_id: i64) -> Result<()> {
    if let Some(m) = one(c, move_id)? {
        super::chain::append(c, super::chain::Kind::Move, Some(move_id), &sealed_move(&m))?;
    }
    Ok(())
}

/// Each final move against its latest chained record: changed, inserted, or removed. A move
/// chained `failed` and pending again was reopened by a new pass (`fdsync retry`), not tampered.
pub(super) fn compare_moves(
    c: &rusqlite::Connection,
    chained: &std::collections::HashMap<i64, (i64, serde_json::Value)>,
) -> Result<Vec<super::chain::Problem>> {
    use super::chain::Problem;
    let mut problems = Vec::new();
    let mut stmt = c.prepare(&format!("SELECT {COLUMNS} FROM moves"))?;
    let moves = stmt.query_map([], from_row)?.collect::<rusqlite::Result<Vec<Move>>>()?;
    let mut present = std::collections::HashSet::new();
    for m in &moves {
        present.insert(m.id);
        let now = sealed_move(m);
        let name =
            format!("move of ticket {} (file {} row {}, move {})", m.ticket_id, m.file_id, m.row, m.id);
        let fin = matches!(m.state, MoveState::Done | MoveState::Failed);
        match chained.get(&m.id) {
            Some((seq, was)) if fin && *was != now => problems.push(Problem {
                seq: Some(*seq),
                what: format!("{name} was changed ({})", super::chain::differing(was, &now)),
            }),
            Some((seq, was)) if !fin && was["state"] != "failed" => {
                problems.push(Problem { seq: Some(*seq), what: format!("{name} is no longer final") })
            }
            None if fin => problems.push(Problem { seq: None, what: format!("{name} (inserted)") }),
            _ => {}
        }
    }
    for (id, (seq, was)) in chained {
        if !present.contains(id) {
            let what =
                format!("move of ticket {} (move {id}) was removed from the journal", was["ticket_id"]);
            problems.push(Problem { seq: Some(*seq), what });
        }
    }
    Ok(problems)
}
