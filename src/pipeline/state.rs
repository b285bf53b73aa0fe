//! A file's state between taken ([`super::take()`]) and finished ([`super::finish()`]): held,
//! approved, started, moved, retried, and the one answer to "is this file finished?"
//! ([`progress`]). Whoever decides a move (the engine's guards hold a file, the operator approves
//! it, the daemon moves its bytes to another folder) asks this module to record it; nothing
//! outside the pipeline writes a file's row in the journal.

use crate::account::Actor;
use crate::journal::{self, FileState, Head, Journal};
use std::path::Path;

/// Where a file stands for whoever waits on it (the engine's run, the daemon's lifecycle and
/// `fdsync import` each ask [`progress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Held until approved, whatever its rows (and why, when known).
    Held(Option<String>),
    /// Every row is final: its report can be written.
    Final,
    /// Rows are still pending or being sent.
    Running,
}

/// Whether file `file_id` is held, finished (every row final) or still running. A held file is
/// held even when every row is final: its report waits for the approval.
pub async fn progress(journal: &Journal, file_id: i64) -> journal::Result<Progress> {
    if let Some(f) = journal.file(file_id).await?
        && f.state == FileState::Held
    {
        return Ok(Progress::Held(f.error));
    }
    let final_ = journal.row_counts(file_id).await?.is_final();
    Ok(if final_ { Progress::Final } else { Progress::Running })
}

/// Holds file `file_id` until approved, saying why (a delete of its rows cannot run safely yet).
pub async fn hold(journal: &Journal, file_id: i64, reason: String) -> journal::Result<()> {
    journal.set_file_state(file_id, FileState::Held, Some(reason)).await
}

/// Lets file `file_id`'s rows run: journaled whole (a SCIM change), or previewed although held.
pub async fn start(journal: &Journal, file_id: i64) -> journal::Result<()> {
    journal.set_file_state(file_id, FileState::Processing, None).await
}

/// `actor` lets held file `file_id` run (with `note`), chained; the chain's new head, or none if
/// the file was not held.
pub async fn approve(
    journal: &Journal,
    file_id: i64,
    actor: Actor,
    note: Option<String>,
) -> journal::Result<Option<Head>> {
    journal.approve_file(file_id, actor, note).await
}

/// `actor` approves each of `ids` that is still held, in order, each with its own approval
/// record naming them (as [`approve`] records one); a file approved meanwhile or no longer held
/// is skipped, never approved twice. The ids approved, each with the chain's head after it.
pub async fn approve_held(
    journal: &Journal,
    ids: &[i64],
    actor: &Actor,
    note: Option<&str>,
) -> journal::Result<Vec<(i64, Head)>> {
    let mut approved = Vec::with_capacity(ids.len());
    for &id in ids {
        if let Some(head) = approve(journal, id, actor.clone(), note.map(String::from)).await? {
            approved.push((id, head));
        }
    }
    Ok(approved)
}

/// File `file_id`'s input is now at `path` (the daemon moved it between the state folders).
pub async fn moved(journal: &Journal, file_id: i64, path: &Path) -> journal::Result<()> {
    journal.set_file_path(file_id, path.display().to_string()).await
}

/// `fdsync retry` by `actor`: the failed rows that can run again (of `file_id`, or of every file
/// of `connection`, or of all) go back to the queue, and a done file with such rows is running
/// again; how many rows.
pub async fn retry(
    journal: &Journal,
    file_id: Option<i64>,
    connection: Option<String>,
    actor: Actor,
) -> journal::Result<u64> {
    journal.requeue_failed_on(file_id, connection, actor).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Action, Outcome};
    use crate::journal::{OpResult, now_ms};

    #[tokio::test]
    async fn a_file_is_running_until_every_row_is_final_and_held_whatever_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::open(dir.path()).unwrap();
        let input = dir.path().join("f.csv");
        std::fs::write(&input, "email\na@example.com\n").unwrap();
        let taken = super::super::take(&j, &input, "f.csv", Some(Action::GetAgent), None).await.unwrap();
        let file = taken.file_id();
        assert_eq!(progress(&j, file).await.unwrap(), Progress::Running);
        hold(&j, file, "too many deletes".into()).await.unwrap();
        assert_eq!(progress(&j, file).await.unwrap(), Progress::Held(Some("too many deletes".into())));
        start(&j, file).await.unwrap();
        let op = j.ready_ops(now_ms(), 10).await.unwrap().remove(0);
        let found = OpResult {
            outcome: Outcome::Found,
            freshdesk_id: Some(7),
            http_status: Some(200),
            error_code: None,
            message: String::new(),
        };
        j.finish_op(op.id, found).await.unwrap();
        assert_eq!(progress(&j, file).await.unwrap(), Progress::Final);
        j.set_file_state(file, FileState::Held, None).await.unwrap();
        let progress = progress(&j, file).await.unwrap();
        assert!(matches!(progress, Progress::Held(_)), "held, though every row is final: {progress:?}");
    }
}
