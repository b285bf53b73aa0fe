//! The audit trail: every change fdsync made or tried (`fdsync audit`), and `fdsync prune`,
//! which drops the ops of finished files but keeps their audit rows in the `audit` table
//! (migration 3). A change is read from the live `ops` (joined with `files`) or from `audit`;
//! both give the same [`Change`], so a pruned file answers as before.
//!
//! Which ops are changes: a mutating action ([`Action::is_mutating`]) that was tried, meaning
//! sent at least once, or finished by the engine without being sent (refused by a safety rule,
//! e.g. `protected`, or found already deleted by its lookup). Rows refused by validation
//! (no payload) and rows not yet sent (pending, held) are not changes.
//!
//! [`Change`]'s fields, the live SQL, the `audit` columns and the CSV columns all come from one
//! table ([`audit_fields!`]): a new column is one line there (plus its migration). A mark kept on
//! `files`, which prune never deletes, reads the same for live and pruned rows, e.g.
//! `undone_by` below. Pruning is in `prune.rs`.
//! It only reads and archives; it must not change an op's state.

use super::{Journal, Result};
use crate::domain::Action;
use rusqlite::types::{FromSql, FromSqlResult, ValueRef};
use rusqlite::{Connection, Row, params};
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::fmt;

/// A time in the journal (ms since the epoch), shown as RFC 3339 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct When(pub i64);

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = i128::from(self.0) * 1_000_000;
        let text = time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok());
        match text {
            Some(t) => f.write_str(&t),
            None => write!(f, "{}ms", self.0),
        }
    }
}

impl Serialize for When {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl FromSql for When {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        i64::column_result(v).map(When)
    }
}

/// A value as one CSV cell (empty for none).
trait Cell {
    fn cell(&self) -> String;
}

impl Cell for i64 {
    fn cell(&self) -> String {
        self.to_string()
    }
}

impl Cell for String {
    fn cell(&self) -> String {
        self.clone()
    }
}

impl Cell for When {
    fn cell(&self) -> String {
        self.to_string()
    }
}

impl<T: Cell> Cell for Option<T> {
    fn cell(&self) -> String {
        self.as_ref().map(Cell::cell).unwrap_or_default()
    }
}

/// One audit column: its name, its SQL over a live op (`o`) and its file (`f`), and, when it is
/// not stored in `audit` under its name, its SQL over an archived row (`a`) and its file.
struct Field {
    name: &'static str,
    live: &'static str,
    kept: &'static [&'static str],
}

/// Declares [`Change`] and [`FIELDS`] from one list: `name: Type = "live SQL"` and, for a
/// column read elsewhere than `audit.name` for a pruned op, `, kept "SQL"` (e.g. a mark on
/// `files`, which prune never deletes).
macro_rules! audit_fields {
    ($( $(#[doc = $doc:literal])* $field:ident: $ty:ty = $live:expr $(, kept $kept:literal)?; )*) => {
        /// One change fdsync made or tried, as `fdsync audit` shows it.
        #[derive(Debug, Clone, Default, PartialEq, Serialize)]
        pub struct Change {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        const FIELDS: &[Field] = &[ $( Field { name: stringify!($field), live: $live, kept: &[$($kept)?] }, )* ];

        impl Change {
            fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
                Ok(Self { $( $field: r.get(stringify!($field))?, )* })
            }

            /// The CSV cells, in [`Change::NAMES`] order.
            pub fn cells(&self) -> Vec<String> {
                vec![ $( Cell::cell(&self.$field), )* ]
            }

            /// The column names, in order.
            pub const NAMES: &[&str] = &[ $( stringify!($field), )* ];
        }
    };
}

/// The row's e-mail, lower-cased: the requester of a ticket, the agent of an agent op (the
/// row's e-mail, else the e-mail in the record saved before a delete by id).
const LIVE_EMAIL: &str = "lower(COALESCE(
    CASE WHEN json_valid(o.payload) THEN COALESCE(json_extract(o.payload, '$.email'),
                                                  json_extract(o.payload, '$.agent.email')) END,
    CASE WHEN json_valid(o.snapshot) THEN json_extract(o.snapshot, '$.contact.email') END))";

audit_fields! {
    file_id: i64 = "f.id";
    file_name: String = "f.name";
    sha256: String = "f.sha256";
    /// The inbox the file came from (none for `fdsync import`).
    inbox: Option<String> = "f.inbox";
    /// The connection (Freshdesk account and credentials) the change was sent on.
    connection: Option<String> = "f.connection", kept "f.connection";
    row: i64 = "o.row";
    action: String = "o.action";
    key: String = "o.key";
    email: Option<String> = LIVE_EMAIL;
    /// When the change was last sent (none: decided without sending, e.g. `protected`).
    sent_at: Option<When> = "o.sent_at";
    /// When the op reached its final state (none: not final yet).
    confirmed_at: Option<When> = "CASE WHEN o.state IN ('done', 'failed') THEN o.updated_at END";
    outcome: Option<String> = "o.outcome";
    freshdesk_id: Option<i64> = "o.freshdesk_id";
    http_status: Option<i64> = "o.http_status";
    error_code: Option<String> = "o.error_code";
    message: Option<String> = "o.message";
    approved_by: Option<String> = "f.approved_by";
    approved_at: Option<When> = "f.approved_at";
    approval_note: Option<String> = "f.approval_note";
    /// The undo (`fdsync undo`) that reversed this change's file, if one did.
    undone_by: Option<i64> = "(SELECT MIN(u.id) FROM files u WHERE u.undo_of = f.id)",
        kept "(SELECT MIN(u.id) FROM files u WHERE u.undo_of = f.id)";
}

/// The agent as it was before a delete, read from the record saved then (`ops.snapshot`):
/// whatever of it is there; a field missing or of another type is none.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BeforeImage {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role_ids: Option<Vec<u64>>,
    pub group_ids: Option<Vec<u64>>,
    pub ticket_scope: Option<u64>,
    pub occasional: Option<bool>,
    /// The saved record is not a JSON object (nothing above could be read).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unreadable: bool,
}

impl BeforeImage {
    /// The CSV column names, in [`BeforeImage::cells`] order.
    pub const NAMES: &[&str] = &[
        "before_name",
        "before_email",
        "before_role_ids",
        "before_group_ids",
        "before_ticket_scope",
        "before_occasional",
    ];

    /// Reads a saved record; never fails (an unreadable one is marked so).
    pub fn parse(record: &str) -> Self {
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(record) else {
            return Self { unreadable: true, ..Self::default() };
        };
        let contact = obj.get("contact").and_then(Value::as_object);
        let text = |k: &str| {
            let v = contact.and_then(|c| c.get(k)).or_else(|| obj.get(k));
            v.and_then(Value::as_str).map(String::from)
        };
        let ids =
            |k: &str| -> Option<Vec<u64>> { obj.get(k)?.as_array()?.iter().map(Value::as_u64).collect() };
        Self {
            name: text("name"),
            email: text("email"),
            role_ids: ids("role_ids"),
            group_ids: ids("group_ids"),
            ticket_scope: obj.get("ticket_scope").and_then(Value::as_u64),
            occasional: obj.get("occasional").and_then(Value::as_bool),
            unreadable: false,
        }
    }

    /// The CSV cells (lists joined with `;`).
    pub fn cells(&self) -> Vec<String> {
        let ids = |v: &Option<Vec<u64>>| {
            v.as_ref().map(|v| v.iter().map(u64::to_string).collect::<Vec<_>>().join(";")).unwrap_or_default()
        };
        let opt = |v: Option<String>| v.unwrap_or_default();
        vec![
            self.name.clone().unwrap_or_default(),
            self.email.clone().unwrap_or_default(),
            ids(&self.role_ids),
            ids(&self.group_ids),
            opt(self.ticket_scope.map(|s| s.to_string())),
            opt(self.occasional.map(|b| b.to_string())),
        ]
    }
}

/// A change with the before-image of its target (deletes), when a record was saved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    #[serde(flatten)]
    pub change: Change,
    pub before: Option<BeforeImage>,
}

/// What `fdsync audit` asks for; every filter optional. Times are ms since the epoch; a change
/// is dated by when it was sent, else when it was decided.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    /// At or after.
    pub since: Option<i64>,
    /// Before.
    pub until: Option<i64>,
    /// The row's e-mail, case-insensitively.
    pub email: Option<String>,
    pub file: Option<i64>,
    pub action: Option<Action>,
    /// Most rows returned (the answer says when there were more).
    pub limit: usize,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self { since: None, until: None, email: None, file: None, action: None, limit: 100_000 }
    }
}

/// The rows found, oldest first, and whether the limit cut them.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    pub truncated: bool,
}

fn mutating_actions() -> String {
    let names: Vec<String> =
        Action::ALL.iter().filter(|a| a.is_mutating()).map(|a| format!("'{}'", a.as_str())).collect();
    names.join(", ")
}

/// The live ops that are changes (module docs).
fn tried() -> String {
    format!(
        "o.action IN ({}) AND o.payload IS NOT NULL AND (o.sent_at IS NOT NULL OR o.state IN ('done', 'failed'))",
        mutating_actions()
    )
}

fn live_columns() -> String {
    let cols: Vec<String> = FIELDS.iter().map(|f| format!("{} AS \"{}\"", f.live, f.name)).collect();
    cols.join(", ")
}

/// Every change, live and archived, with `snapshot` last.
fn union_sql() -> String {
    let kept: Vec<String> = FIELDS
        .iter()
        .map(|f| match f.kept.first() {
            Some(sql) => format!("{sql} AS \"{}\"", f.name),
            None => format!("a.\"{0}\" AS \"{0}\"", f.name),
        })
        .collect();
    format!(
        "SELECT {}, o.snapshot AS snapshot, o.id AS op_id, o.state IN ('done', 'failed') AS final
         FROM ops o JOIN files f ON f.id = o.file_id WHERE {}
         UNION ALL
         SELECT {}, a.snapshot AS snapshot, a.op_id AS op_id, 1 AS final
         FROM audit a LEFT JOIN files f ON f.id = a.file_id",
        live_columns(),
        tried(),
        kept.join(", ")
    )
}

/// A change as the audit chain holds it (`chain.rs`): what `fdsync audit` shows of it when it
/// became final, with its op id and saved record, but not the marks added later on its file
/// (the approval, chained on its own, and `undone_by`).
fn sealed(r: &Row<'_>) -> rusqlite::Result<(i64, bool, Value)> {
    let change = Change {
        approved_by: None,
        approved_at: None,
        approval_note: None,
        undone_by: None,
        ..Change::from_row(r)?
    };
    let mut value =
        serde_json::to_value(&change).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    if let Value::Object(map) = &mut value {
        for k in ["approved_by", "approved_at", "approval_note", "undone_by"] {
            map.remove(k);
        }
        map.insert("op_id".into(), r.get::<_, i64>("op_id")?.into());
        map.insert("snapshot".into(), r.get::<_, Option<String>>("snapshot")?.into());
    }
    Ok((r.get("op_id")?, r.get("final")?, value))
}

/// Op `op_id` as a chained change, if it is a change and final.
pub(super) fn sealed_change(c: &Connection, op_id: i64) -> Result<Option<Value>> {
    let sql = format!(
        "SELECT {}, o.snapshot AS snapshot, o.id AS op_id, 1 AS final FROM ops o JOIN files f ON f.id = o.file_id
         WHERE o.id = ?1 AND o.state IN ('done', 'failed') AND {}",
        live_columns(),
        tried()
    );
    let mut stmt = c.prepare_cached(&sql)?;
    let found = stmt.query_map([op_id], sealed)?.next().transpose()?;
    Ok(found.map(|(_, _, v)| v))
}

/// Every change, live and pruned, as (op id, final, chained content), by op id.
pub(super) fn sealed_changes(c: &Connection) -> Result<Vec<(i64, bool, Value)>> {
    let sql = format!("SELECT * FROM ({}) ORDER BY op_id", union_sql());
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map([], sealed)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn query(c: &Connection, q: &AuditQuery) -> Result<AuditPage> {
    let sql = format!(
        "SELECT * FROM ({}) WHERE (?1 IS NULL OR COALESCE(sent_at, confirmed_at) >= ?1)
           AND (?2 IS NULL OR COALESCE(sent_at, confirmed_at) < ?2)
           AND (?3 IS NULL OR email = lower(?3)) AND (?4 IS NULL OR file_id = ?4)
           AND (?5 IS NULL OR action = ?5)
         ORDER BY COALESCE(sent_at, confirmed_at), file_id, \"row\" LIMIT ?6",
        union_sql()
    );
    let limit = q.limit.min(i64::MAX as usize - 1);
    let mut stmt = c.prepare(&sql)?;
    let action = q.action.map(Action::as_str);
    let found =
        stmt.query_map(params![q.since, q.until, q.email, q.file, action, limit as i64 + 1], |r| {
            let snapshot: Option<String> = r.get("snapshot")?;
            Ok(AuditRow { change: Change::from_row(r)?, before: snapshot.as_deref().map(BeforeImage::parse) })
        })?;
    let mut rows = found.collect::<rusqlite::Result<Vec<_>>>()?;
    // Offboarding's ticket moves (`moves`), among the changes in time order.
    rows.extend(super::moves::audit_moves(c, q)?);
    rows.sort_by_key(|r| (r.change.sent_at.or(r.change.confirmed_at), r.change.file_id, r.change.row));
    let truncated = rows.len() > limit;
    rows.truncate(limit);
    Ok(AuditPage { rows, truncated })
}
impl Journal {
    /// The changes matching `q`, live and pruned alike, oldest first.
    pub async fn audit(&self, q: AuditQuery) -> Result<AuditPage> {
        self.call(move |c| query(c, &q)).await
    }
}

mod prune;
pub use prune::PrunedFile;

#[cfg(test)]
mod tests;
