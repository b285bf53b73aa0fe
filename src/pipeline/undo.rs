//! Taking an undo (`fdsync undo`): the ops that reverse a finished file's rows, and the undo's
//! own file in the journal, held when its ticket deletes exceed `safety.max_deletes_per_file`.
//! What to show and whether to ask are the CLI's; which rows, their ops, the undo file's
//! content hash and its state are decided here.

use crate::domain::{Action, AgentEdit, Op, OpKey, UndoOf};
use crate::freshdesk::agents::{before_image, put_back};
use crate::freshdesk::{Agent, Decode};
use crate::journal::{self, FileRecord, FileState, Journal, NewFile, NewOp, Undoable};
use sha2::{Digest, Sha256};

/// What an undo of one file would do.
#[derive(Debug, Default)]
pub struct UndoPlan {
    /// The ops that reverse its rows, with their keys (`OpKey::undo`), in row order.
    pub ops: Vec<(OpKey, Op)>,
    /// Rows another undo holds already, one line each (`row 3: already undone by file 9`).
    pub skipped: Vec<String>,
}

impl UndoPlan {
    /// Ticket deletes: the guards count them as deletes.
    pub fn deletes(&self) -> usize {
        self.ops.iter().filter(|(_, op)| matches!(op, Op::DeleteTicket { .. })).count()
    }

    /// Why this undo is held until approved, if its deletes exceed `max_deletes_per_file`.
    pub fn over(&self, max_deletes_per_file: u32) -> Option<String> {
        let deletes = self.deletes();
        (deletes > max_deletes_per_file as usize).then(|| {
            format!("{deletes} ticket deletes exceed safety.max_deletes_per_file = {max_deletes_per_file}")
        })
    }
}

/// The ops that undo the rows of `file` that `wanted` names and no other undo holds.
pub async fn plan_undo(
    journal: &Journal,
    file: &FileRecord,
    wanted: impl Fn(u64) -> bool,
) -> journal::Result<UndoPlan> {
    let candidates: Vec<Undoable> =
        journal.undoable_rows(file.id).await?.into_iter().filter(|u| wanted(u.row)).collect();
    let of = |row| UndoOf { file_id: file.id, row };
    let keys: Vec<String> = candidates.iter().map(|u| OpKey::undo(of(u.row)).into()).collect();
    let held = journal.undo_holders(keys).await?;
    let mut plan = UndoPlan::default();
    for u in candidates {
        let key = OpKey::undo(of(u.row));
        if let Some(by) = held.get(key.as_str()) {
            plan.skipped.push(format!("row {}: already undone by file {by}", u.row));
            continue;
        }
        if let Some(op) = undo_op(&u, of(u.row)) {
            plan.ops.push((key, op));
        }
    }
    Ok(plan)
}

/// Journals the undo of `file` as a file of its own, held (with why) when its deletes exceed
/// `max_deletes_per_file`; its id.
pub async fn take_undo(
    journal: &Journal,
    file: &FileRecord,
    plan: &UndoPlan,
    max_deletes_per_file: u32,
    actor: crate::account::Actor,
) -> journal::Result<i64> {
    let over = plan.over(max_deletes_per_file);
    let state = if over.is_some() { FileState::Held } else { FileState::Processing };
    let undo = journal
        .insert_undo_file(file.id, undo_file(file, &plan.ops), new_ops(&plan.ops), state, actor)
        .await?;
    if let Some(why) = over {
        super::hold(journal, undo, why).await?;
    }
    Ok(undo)
}

/// The op that reverses one row: a restore from the saved record, the old values of an
/// update put back (nothing to put back without its record: `not_restorable`), or a ticket delete.
fn undo_op(u: &Undoable, of: UndoOf) -> Option<Op> {
    let id = u.freshdesk_id?;
    Some(match u.action {
        Action::CreateTicket => Op::DeleteTicket { ticket_id: id, of },
        Action::UpdateAgent => {
            let done = u.payload.as_deref().and_then(|p| serde_json::from_str::<Op>(p).ok());
            let set = match (done, u.snapshot.as_deref()) {
                (Some(Op::UpdateAgent { set, .. }), Some(s)) => put_back(s, &set).unwrap_or_default(),
                _ => AgentEdit::default(),
            };
            Op::UpdateAgent { agent_id: id, set, of: Some(of) }
        }
        _ => {
            let snapshot = u.snapshot.as_deref();
            let email = snapshot.and_then(|s| Agent::decode(s.as_bytes()).ok()).and_then(|a| a.email);
            Op::RestoreAgent { agent_id: id, of, image: snapshot.and_then(|s| before_image(s).ok()), email }
        }
    })
}

/// The undo's own `files` row: named after the file it reverses; no input file behind it.
fn undo_file(file: &FileRecord, ops: &[(OpKey, Op)]) -> NewFile {
    let mut hash = Sha256::new();
    for (key, _) in ops {
        hash.update(key.as_str().as_bytes());
        hash.update(b"\n");
    }
    NewFile {
        name: format!("undo-of-{}-{}", file.id, file.name),
        path: String::new(),
        sha256: hash.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        inbox: None,
        default_action: None,
    }
}

fn new_ops(ops: &[(OpKey, Op)]) -> Vec<NewOp> {
    ops.iter()
        .map(|(key, op)| {
            let row = match op {
                Op::RestoreAgent { of, .. }
                | Op::DeleteTicket { of, .. }
                | Op::UpdateAgent { of: Some(of), .. } => of.row,
                _ => 0,
            };
            NewOp::valid(row, op, key.clone().into())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delete_ticket(row: u64) -> (OpKey, Op) {
        let of = UndoOf { file_id: 1, row };
        (OpKey::undo(of), Op::DeleteTicket { ticket_id: 100 + row, of })
    }

    #[tokio::test]
    async fn an_update_is_undone_by_putting_back_the_values_it_changed_from_its_before_image() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let new = NewFile {
            name: "scim-update-7".into(),
            path: String::new(),
            sha256: "cd".repeat(32),
            inbox: Some("scim".into()),
            default_action: None,
        };
        let file_id = journal.insert_file(new, FileState::Processing, None).await.unwrap();
        let set = AgentEdit { name: Some("Ann Lee".into()), job_title: None, email: None };
        let op = Op::UpdateAgent { agent_id: 7, set, of: None };
        journal.insert_ops(file_id, vec![NewOp::valid(1, &op, op.key("x", 1))]).await.unwrap();
        let id = journal.ready_ops(i64::MAX, 1).await.unwrap()[0].id;
        let before = r#"{"id": 7, "contact": {"name": "Ann", "email": "ann@x.io", "job_title": "Lead"}}"#;
        journal.record_lookup(id, 7, Some(before.into())).await.unwrap();
        let result = |outcome| crate::journal::OpResult {
            outcome,
            freshdesk_id: Some(7),
            http_status: Some(200),
            error_code: None,
            message: String::new(),
        };
        journal.finish_op(id, result(crate::domain::Outcome::Updated)).await.unwrap();
        journal.set_file_state(file_id, FileState::Done, None).await.unwrap();
        let file = journal.file(file_id).await.unwrap().unwrap();
        let plan = plan_undo(&journal, &file, |_| true).await.unwrap();
        let of = UndoOf { file_id, row: 1 };
        let back = AgentEdit { name: Some("Ann".into()), job_title: None, email: None };
        assert_eq!(plan.ops, [(OpKey::undo(of), Op::UpdateAgent { agent_id: 7, set: back, of: Some(of) })]);
    }

    #[tokio::test]
    async fn an_undo_over_the_delete_limit_is_journaled_held_with_why_and_one_within_it_runs() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        let new = NewFile {
            name: "t.csv".into(),
            path: "t.csv".into(),
            sha256: "ab".repeat(32),
            inbox: None,
            default_action: None,
        };
        let id = journal.insert_file(new, FileState::Done, None).await.unwrap();
        let file = journal.file(id).await.unwrap().unwrap();
        let plan = UndoPlan { ops: (1..=3).map(delete_ticket).collect(), skipped: vec![] };
        assert_eq!(plan.deletes(), 3);
        let held = take_undo(&journal, &file, &plan, 2, crate::account::Actor::current()).await.unwrap();
        let held = journal.file(held).await.unwrap().unwrap();
        assert_eq!(held.state, FileState::Held);
        assert_eq!(held.error.as_deref(), Some("3 ticket deletes exceed safety.max_deletes_per_file = 2"));
        assert_eq!(held.name, "undo-of-1-t.csv");
        assert_eq!(journal.row_counts(held.id).await.unwrap().total, 3);
        let plan = UndoPlan { ops: vec![delete_ticket(4)], skipped: vec![] };
        let runs = take_undo(&journal, &file, &plan, 2, crate::account::Actor::current()).await.unwrap();
        assert_eq!(journal.file(runs).await.unwrap().unwrap().state, FileState::Processing);
    }
}
