//! Approving held files: each one still held is let run, with who approved it, when and why,
//! in the same transaction as its audit chain record, so every file approved has its own
//! `approve` record naming the approver. A file approved meanwhile (by another operator) or no
//! longer held is skipped, never approved twice.

use crate::account::Actor;
use crate::journal::{self, Head, Journal};

/// Approves each of `ids` that is still held, in order: the ids approved, each with the audit
/// chain's head after its approval.
pub async fn approve_held(
    journal: &Journal,
    ids: &[i64],
    actor: &Actor,
    note: Option<&str>,
) -> journal::Result<Vec<(i64, Head)>> {
    let mut approved = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(head) = journal.approve_file(id, actor.clone(), note.map(String::from)).await? {
            approved.push((id, head));
        }
    }
    Ok(approved)
}
