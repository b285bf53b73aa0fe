//! `fdsync import --dry-run`: what each row of a file would do, read exactly as a real import
//! reads it (one open, same hash, same keys) but without the journal and without any call.

use super::input::{Refused, open_input, sha256_of};
use crate::domain::{Action, AgentRef, Op, OpKey, Outcome};
use crate::intake::{self, Record};
use crate::report::ReportRow;
use std::path::Path;

/// The error code the journal gives a refused row, repeated so a dry run reads the same.
use crate::report::INVALID_ROW;

/// The report of a dry run: what each row would do, without the journal or any call.
pub fn dry_run(
    path: &Path,
    default_action: Option<Action>,
    limits: &intake::Limits,
) -> Result<Vec<ReportRow>, String> {
    let file = open_input(path).map_err(|e| e.to_string())?;
    let sha = sha256_of(&file, path).map_err(|e| e.to_string())?;
    let reader = intake::from_file(file, path, default_action, limits).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for record in reader {
        out.push(match record.map_err(|e| e.to_string())? {
            Record::Op { row, op } => would(&op, OpKey::of(&op, &sha, row), row),
            Record::Invalid { row, action, key_hint, errors } => {
                let refused = Refused::new(&sha, row, action, key_hint, &errors);
                ReportRow {
                    row: refused.row,
                    action: refused.action.into(),
                    key: refused.key,
                    outcome: Outcome::Failed,
                    freshdesk_id: None,
                    http_status: None,
                    error_code: Some(INVALID_ROW.into()),
                    message: refused.reason,
                }
            }
        });
    }
    Ok(out)
}

/// The line of a valid row: the outcome it would have if Freshdesk accepted it.
fn would(op: &Op, key: OpKey, row: u64) -> ReportRow {
    let outcome = match op {
        Op::CreateTicket(_) | Op::CreateAgent(_) => Outcome::WouldCreate,
        Op::DeleteAgent { .. } => Outcome::WouldDelete,
        // Undo ops are never read from a file.
        Op::GetAgent { .. } | Op::RestoreAgent { .. } | Op::DeleteTicket { .. } => Outcome::Skipped,
    };
    let freshdesk_id = match op {
        Op::DeleteAgent { agent: AgentRef::Id(id) } => Some(*id),
        _ => None,
    };
    ReportRow {
        row,
        action: op.action().as_str().into(),
        key: key.into(),
        outcome,
        freshdesk_id,
        http_status: None,
        error_code: None,
        message: "dry run".into(),
    }
}
