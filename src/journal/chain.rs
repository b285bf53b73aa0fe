//! The audit chain: an append-only ledger (`chain`, [`SCHEMA`]) of every change that became
//! final and every approval, undo, retry and prune. Each record carries
//! `hash = SHA-256(previous record's hash (hex) || content)`, hex, the first record's previous
//! hash being 64 zeros; `content` is the record as JSON. Records are appended by the journal's
//! single writer in the same transaction as what they record (`finish_op`, `approve_file`, …),
//! and SQLite triggers refuse `UPDATE` and `DELETE` on them (and on `audit` rows).
//!
//! [`verify`] (`fdsync audit --verify`) recomputes the chain, then compares what the journal
//! shows now with it: each change (live op or pruned `audit` row) with its latest chained
//! content, each file's approval with its latest `approve` record, each undo file with its
//! `undo` record. It names the first record changed, removed or inserted. Someone with the
//! file can still rewrite the whole chain from a point on; the daemon logs the head after each
//! file and each operator action sends it to the system log, so a rewritten chain disagrees
//! with those logs.

use super::Result;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

/// The migration that creates the chain; [`super::migrate`] seals the history already in the
/// journal right after it ([`seal_history`]); [`TRIGGERS`] follow on every open.
pub(super) const SCHEMA: &str = r#"
    CREATE TABLE chain (
        seq             INTEGER PRIMARY KEY,
        kind            TEXT    NOT NULL,
        subject         INTEGER,
        at              INTEGER NOT NULL,
        content         TEXT    NOT NULL,
        hash            TEXT    NOT NULL
    );
    CREATE INDEX chain_subject ON chain(kind, subject);
"#;

/// The triggers that keep chained records and audit rows from being rewritten; created again
/// each time the journal is opened, should someone with the file have dropped them.
pub(super) const TRIGGERS: &str = r#"
    CREATE TRIGGER IF NOT EXISTS chain_append_only_update BEFORE UPDATE ON chain
        BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS chain_append_only_delete BEFORE DELETE ON chain
        BEGIN SELECT RAISE(ABORT, 'the audit chain is append-only'); END;
    CREATE TRIGGER IF NOT EXISTS audit_append_only_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit rows are never rewritten'); END;
    CREATE TRIGGER IF NOT EXISTS audit_append_only_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit rows are never rewritten'); END;
"#;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A change became final; subject: the op.
    Change,
    /// A held file was approved; subject: the file.
    Approve,
    /// An undo file was journaled; subject: the undo file.
    Undo,
    /// Failed rows were queued again; content lists their ops.
    Retry,
    /// Finished files' ops were pruned into `audit`.
    Prune,
    /// The history journaled before the chain existed was sealed.
    Sealed,
    /// An offboarding ticket move (or its undo) became final; subject: the move.
    Move,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Change => "change",
            Kind::Approve => "approve",
            Kind::Undo => "undo",
            Kind::Retry => "retry",
            Kind::Prune => "prune",
            Kind::Sealed => "sealed",
            Kind::Move => "move",
        }
    }
}

/// The newest record: its position and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

fn link(prev: &str, content: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(content.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The newest record, if any.
pub(super) fn head(c: &Connection) -> Result<Option<Head>> {
    let mut stmt = c.prepare_cached("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1")?;
    Ok(stmt.query_row([], |r| Ok(Head { seq: r.get(0)?, hash: r.get(1)? })).optional()?)
}

/// Appends one record (inside the caller's transaction); the new head.
pub(super) fn append(c: &Connection, kind: Kind, subject: Option<i64>, content: &Value) -> Result<Head> {
    let prev = head(c)?;
    let text = content.to_string();
    let hash = link(prev.as_ref().map_or(GENESIS, |h| h.hash.as_str()), &text);
    let seq = prev.map_or(1, |h| h.seq + 1);
    c.prepare_cached(
        "INSERT INTO chain (seq, kind, subject, at, content, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![seq, kind.as_str(), subject, super::now_ms(), text, hash])?;
    Ok(Head { seq, hash })
}

/// Chains op `op_id` if it is a change and final (called where an op becomes final).
pub(super) fn record_change(c: &Connection, op_id: i64) -> Result<()> {
    if let Some(content) = super::audit::sealed_change(c, op_id)? {
        append(c, Kind::Change, Some(op_id), &content)?;
    }
    Ok(())
}

/// An approval as chained and as `files` shows it.
fn approval(approved_by: Option<String>, approved_at: Option<i64>, note: Option<String>) -> Value {
    json!({ "approved_by": approved_by, "approved_at": approved_at, "approval_note": note })
}

/// Chains the approval of `file_id` as `files` now holds it, with who gave it.
pub(super) fn record_approval(c: &Connection, file_id: i64, actor: &crate::account::Actor) -> Result<Head> {
    let (by, at, note) = c.query_row(
        "SELECT approved_by, approved_at, approval_note FROM files WHERE id = ?1",
        [file_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut content = approval(by, at, note);
    content["file_id"] = file_id.into();
    content["actor"] = json!(actor);
    append(c, Kind::Approve, Some(file_id), &content)
}

/// Seals what was journaled before the chain existed: each final change, each approval and
/// each undo file, then one `sealed` record counting them (inside the migration's transaction).
pub(super) fn seal_history(c: &Connection) -> Result<()> {
    let changes = super::audit::sealed_changes(c)?;
    let mut counts = BTreeMap::from([("changes", 0u64), ("approvals", 0), ("undos", 0)]);
    for (op_id, _, content) in changes.into_iter().filter(|(_, fin, _)| *fin) {
        append(c, Kind::Change, Some(op_id), &content)?;
        *counts.entry("changes").or_default() += 1;
    }
    for (file_id, by, at, note) in approvals(c)? {
        let mut content = approval(Some(by), at, note);
        content["file_id"] = file_id.into();
        content["actor"] = Value::Null;
        append(c, Kind::Approve, Some(file_id), &content)?;
        *counts.entry("approvals").or_default() += 1;
    }
    for (id, of) in undo_files(c)? {
        append(c, Kind::Undo, Some(id), &json!({ "undo_file_id": id, "undo_of": of, "actor": null }))?;
        *counts.entry("undos").or_default() += 1;
    }
    if counts.values().any(|n| *n > 0) {
        append(c, Kind::Sealed, None, &json!({ "sealed_before_chain": counts }))?;
    }
    Ok(())
}

/// A file's approval as `files` holds it: id, by, at, note.
type Approval = (i64, String, Option<i64>, Option<String>);

fn approvals(c: &Connection) -> Result<Vec<Approval>> {
    let mut stmt = c.prepare(
        "SELECT id, approved_by, approved_at, approval_note FROM files WHERE approved_by IS NOT NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn undo_files(c: &Connection) -> Result<Vec<(i64, i64)>> {
    let mut stmt = c.prepare("SELECT id, undo_of FROM files WHERE undo_of IS NOT NULL ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One thing `--verify` found wrong; `seq` is the chain record it concerns (none: something in
/// the journal that no record covers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub seq: Option<i64>,
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "record {seq}: {}", self.what),
            None => write!(f, "not in the chain: {}", self.what),
        }
    }
}

/// What `--verify` found: the records, the head, and the problems, first first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub records: i64,
    pub head: Option<Head>,
    pub problems: Vec<Problem>,
}

/// The latest chained state of one op.
enum Latest {
    Final(i64, Value),
    Requeued(i64),
}

/// A change's place for people: `file F row R (op O)`.
fn change_name(v: &Value, op_id: i64) -> String {
    format!("file {} row {} (op {op_id})", v["file_id"], v["row"])
}

/// The keys whose values differ, in order.
pub(super) fn differing(a: &Value, b: &Value) -> String {
    let keys: std::collections::BTreeSet<&String> =
        a.as_object().into_iter().chain(b.as_object()).flat_map(|m| m.keys()).collect();
    let diff: Vec<&str> =
        keys.into_iter().filter(|k| a.get(k.as_str()) != b.get(k.as_str())).map(|k| k.as_str()).collect();
    diff.join(", ")
}

/// Recomputes the chain and compares the journal with it (module docs).
pub(super) fn verify(c: &Connection) -> Result<Verdict> {
    let mut problems = Vec::new();
    let mut changes: HashMap<i64, Latest> = HashMap::new();
    let mut approved: HashMap<i64, (i64, Value)> = HashMap::new();
    let mut undos: HashMap<i64, (i64, Value)> = HashMap::new();
    let mut moves: HashMap<i64, (i64, Value)> = HashMap::new();
    let mut prev = GENESIS.to_string();
    let mut expected = 1i64;
    let mut records = 0i64;
    let mut stmt = c.prepare("SELECT seq, kind, subject, content, hash FROM chain ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (seq, kind, subject, content, hash): (i64, String, Option<i64>, String, String) =
            (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
        records += 1;
        let mut bad = |what: String| problems.push(Problem { seq: Some(seq), what });
        if seq != expected {
            bad(format!("records {expected} to {} were removed (or this one was inserted)", seq - 1));
        } else if link(&prev, &content) != hash {
            bad(format!(
                "{kind} record was changed, or a record was removed or inserted before it: its hash does not \
                 follow from the record before it and its content"
            ));
        }
        prev = hash;
        expected = seq + 1;
        let value: Value = match serde_json::from_str(&content) {
            Ok(v) => v,
            Err(_) => {
                bad(format!("{kind} record's content is not JSON"));
                continue;
            }
        };
        match (kind.as_str(), subject) {
            ("change", Some(op)) => {
                changes.insert(op, Latest::Final(seq, value));
            }
            ("approve", Some(file)) => {
                approved.insert(file, (seq, value));
            }
            ("undo", Some(file)) => {
                undos.insert(file, (seq, value));
            }
            ("retry", _) => {
                for op in value["ops"].as_array().into_iter().flatten().filter_map(Value::as_i64) {
                    changes.insert(op, Latest::Requeued(seq));
                }
            }
            ("move", Some(id)) => {
                moves.insert(id, (seq, value));
            }
            ("prune" | "sealed", _) => {}
            _ => bad(format!("unknown record kind {}", crate::text::shown(&kind))),
        }
    }
    drop(rows);
    compare_changes(c, &changes, &mut problems)?;
    compare_files(c, &approved, &undos, &mut problems)?;
    problems.extend(super::moves::compare_moves(c, &moves)?);
    problems.sort_by_key(|p| (p.seq.is_none(), p.seq));
    Ok(Verdict { records, head: head(c)?, problems })
}

/// Each change in the journal against its latest chained state.
fn compare_changes(
    c: &Connection,
    chained: &HashMap<i64, Latest>,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let shown = super::audit::sealed_changes(c)?;
    let mut present: HashSet<i64> = HashSet::new();
    let mut stmt = c.prepare("SELECT id FROM ops UNION SELECT op_id FROM audit")?;
    for id in stmt.query_map([], |r| r.get::<_, i64>(0))? {
        present.insert(id?);
    }
    for (op_id, fin, now) in &shown {
        let name = change_name(now, *op_id);
        match chained.get(op_id) {
            Some(Latest::Final(seq, _)) if !fin => problems.push(Problem {
                seq: Some(*seq),
                what: format!("change {name} is no longer final, and no retry of it was recorded"),
            }),
            Some(Latest::Final(seq, was)) if was != now => problems.push(Problem {
                seq: Some(*seq),
                what: format!("change {name} was changed ({})", differing(was, now)),
            }),
            Some(Latest::Requeued(seq)) if *fin => problems.push(Problem {
                seq: Some(*seq),
                what: format!("change {name} is final but its result is not in the chain after this retry"),
            }),
            None if *fin => problems.push(Problem { seq: None, what: format!("change {name} (inserted)") }),
            _ => {}
        }
    }
    for (op_id, latest) in chained {
        if let Latest::Final(seq, was) = latest
            && !present.contains(op_id)
        {
            problems.push(Problem {
                seq: Some(*seq),
                what: format!("change {} was removed from the journal", change_name(was, *op_id)),
            });
        }
    }
    Ok(())
}

/// Each file's approval and undo mark against the chain.
fn compare_files(
    c: &Connection,
    approved: &HashMap<i64, (i64, Value)>,
    undos: &HashMap<i64, (i64, Value)>,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let mut stmt = c.prepare("SELECT id, approved_by, approved_at, approval_note, undo_of FROM files")?;
    let mut seen = HashSet::new();
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, Option<i64>>(4)?))
    })?;
    for row in rows {
        let (id, by, at, note, undo_of): (i64, Option<String>, Option<i64>, Option<String>, _) = row?;
        seen.insert(id);
        let now = approval(by.clone(), at, note);
        match approved.get(&id) {
            Some((seq, was)) => {
                let was = approval(
                    was["approved_by"].as_str().map(String::from),
                    was["approved_at"].as_i64(),
                    was["approval_note"].as_str().map(String::from),
                );
                if was != now {
                    let what = format!("approval of file {id} was changed ({})", differing(&was, &now));
                    problems.push(Problem { seq: Some(*seq), what });
                }
            }
            None if by.is_some() => {
                problems.push(Problem { seq: None, what: format!("approval of file {id} (inserted)") })
            }
            None => {}
        }
        match (undos.get(&id), undo_of) {
            (Some((seq, was)), of) if was["undo_of"].as_i64() != of => problems.push(Problem {
                seq: Some(*seq),
                what: format!("undo file {id} no longer names the file it reverses as chained"),
            }),
            (None, Some(of)) => {
                problems.push(Problem { seq: None, what: format!("undo file {id} of file {of} (inserted)") })
            }
            _ => {}
        }
    }
    for (id, (seq, _)) in approved.iter().chain(undos) {
        if !seen.contains(id) {
            problems
                .push(Problem { seq: Some(*seq), what: format!("file {id} was removed from the journal") });
        }
    }
    Ok(())
}

impl super::Journal {
    /// The newest chain record, if any (logged after each file; sent with each operator action).
    pub async fn chain_head(&self) -> Result<Option<Head>> {
        self.call(head).await
    }

    /// `fdsync audit --verify`: the chain recomputed and the journal compared with it.
    pub async fn verify_chain(&self) -> Result<Verdict> {
        self.call(verify).await
    }
}

#[cfg(test)]
mod tests;
