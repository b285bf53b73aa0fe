//! A file's life in the journal: taken in (hashed, deduplicated, parsed row by row, journaled in
//! batches, held when it deletes too much) and finished (report written, state `done`). Moving
//! files between folders is the daemon's business; this module only reads them.
//!
//! An input is opened once ([`intake::open_file`]: no symlink, no FIFO, regular files only) and
//! hashed and parsed from that one handle, so what is hashed is what is parsed. File names and
//! input strings in messages go through [`crate::text`].

use crate::config::Safety;
use crate::domain::{Action, AgentRef, Op, OpKey, Outcome};
use crate::intake::{self, Record};
use crate::journal::{self, FileState, Journal, NewFile, NewOp};
use crate::report::{self, ReportRow};
use crate::text::{Shown, shown_path};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Rows journaled per transaction while reading a file.
const BATCH: usize = 5000;

#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot read {}: {source}", shown_path(path))]
    Io { path: PathBuf, source: std::io::Error },
    /// The input cannot be opened as a regular file (symlink, FIFO, folder, …) or read.
    #[error("{}: {source}", shown_path(path))]
    Input { path: PathBuf, source: intake::Error },
    #[error(transparent)]
    Journal(#[from] journal::Error),
}

/// How a file is taken in, beyond its name and default action.
#[derive(Debug, Clone, Default)]
pub struct TakeOptions<'a> {
    /// The inbox folder it came from (the daemon).
    pub inbox: Option<&'a str>,
    /// Record caps and the request-size limit.
    pub limits: intake::Limits,
    /// Set the file to 0600 through its handle: it now lives in the private state folder.
    pub make_private: bool,
}

/// What taking a file in did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Journaled; its ops can run (`Processing`) or wait for approval (`Held`).
    New { file_id: i64, state: FileState, rows: u64, deletes: u64 },
    /// The same content was taken before and is not finished: carry on with it.
    Resume { file_id: i64, state: FileState },
    /// The same content was already done: nothing to send.
    Duplicate { file_id: i64, of: i64 },
    /// The file cannot be read as a whole; nothing from it will be sent.
    Rejected { file_id: i64, error: String },
}

impl Taken {
    pub fn file_id(&self) -> i64 {
        match self {
            Taken::New { file_id, .. }
            | Taken::Resume { file_id, .. }
            | Taken::Duplicate { file_id, .. }
            | Taken::Rejected { file_id, .. } => *file_id,
        }
    }
}

/// sha256 of a file's bytes, streamed (opened with [`intake::open_file`]).
pub fn sha256_file(path: &Path) -> Result<String, Error> {
    let file = open_input(path)?;
    sha256_of(&file, path)
}

/// Opens an input once, safely (see [`intake::open_file`]).
pub fn open_input(path: &Path) -> Result<File, Error> {
    intake::open_file(path).map_err(|source| Error::Input { path: path.to_path_buf(), source })
}

/// sha256 of an open file's bytes from where it stands, streamed.
fn sha256_of(mut file: &File, path: &Path) -> Result<String, Error> {
    let io = |source| Error::Io { path: path.to_path_buf(), source };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Takes a file into the journal (see [`Taken`]) with the default [`intake::Limits`]. `name`
/// is the name the user gave it.
pub async fn take(
    journal: &Journal,
    path: &Path,
    name: &str,
    default_action: Option<Action>,
    inbox: Option<&str>,
    safety: &Safety,
) -> Result<Taken, Error> {
    let opts = TakeOptions { inbox, ..TakeOptions::default() };
    take_with(journal, path, name, default_action, safety, &opts).await
}

/// [`take`] with explicit [`TakeOptions`]: opens the file once and hashes and parses that handle.
pub async fn take_with(
    journal: &Journal,
    path: &Path,
    name: &str,
    default_action: Option<Action>,
    safety: &Safety,
    opts: &TakeOptions<'_>,
) -> Result<Taken, Error> {
    let inbox = opts.inbox;
    let file = open_input(path)?;
    if opts.make_private {
        crate::private::restrict(&file).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    }
    let sha = sha256_of(&file, path)?;
    let file_id = match journal.find_file_by_sha(&sha).await? {
        Some(f) if matches!(f.state, FileState::Processing | FileState::Held) => {
            return Ok(Taken::Resume { file_id: f.id, state: f.state });
        }
        Some(f) if f.state == FileState::Done => {
            let new = NewFile {
                name: name.into(),
                path: path.display().to_string(),
                sha256: sha,
                inbox: inbox.map(Into::into),
                default_action,
            };
            let id = journal.insert_file(new, FileState::Duplicate, Some(f.id)).await?;
            return Ok(Taken::Duplicate { file_id: id, of: f.id });
        }
        // Interrupted while being read: read it again from the start.
        Some(f) if f.state == FileState::Queued => {
            journal.discard_ops(f.id).await?;
            f.id
        }
        _ => {
            let new = NewFile {
                name: name.into(),
                path: path.display().to_string(),
                sha256: sha.clone(),
                inbox: inbox.map(Into::into),
                default_action,
            };
            journal.insert_file(new, FileState::Queued, None).await?
        }
    };
    let input = Input { file, path, limits: opts.limits };
    match read_into_journal(journal, file_id, input, &sha, default_action).await? {
        Ok((rows, deletes)) => {
            let state = if deletes > u64::from(safety.max_deletes_per_file) {
                FileState::Held
            } else {
                FileState::Processing
            };
            journal.set_file_state(file_id, state, None).await?;
            Ok(Taken::New { file_id, state, rows, deletes })
        }
        Err(error) => {
            journal.discard_ops(file_id).await?;
            journal.set_file_state(file_id, FileState::Failed, Some(error.clone())).await?;
            Ok(Taken::Rejected { file_id, error })
        }
    }
}

/// An opened input on its way to the parser.
struct Input<'a> {
    file: File,
    path: &'a Path,
    limits: intake::Limits,
}

/// Streams the file's records into the journal. The inner `Err` is a whole-file rejection.
/// Parsing runs on a blocking thread, one batch ahead of the journal's inserts.
async fn read_into_journal(
    journal: &Journal,
    file_id: i64,
    input: Input<'_>,
    sha: &str,
    default_action: Option<Action>,
) -> Result<Result<(u64, u64), String>, Error> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<NewOp>, String>>(2);
    let (file, path, limits, sha) = (input.file, input.path.to_path_buf(), input.limits, sha.to_string());
    let parser = tokio::task::spawn_blocking(move || {
        let reader = intake::from_file(file, &path, default_action, &limits);
        parse_batches(reader, &sha, &tx)
    });
    let mut rows = 0u64;
    while let Some(batch) = rx.recv().await {
        match batch {
            Ok(batch) => {
                rows += batch.len() as u64;
                journal.insert_ops(file_id, batch).await?;
            }
            Err(e) => return Ok(Err(e)),
        }
    }
    let deletes = parser.await.map_err(|e| journal::Error::Data(format!("the file reader failed: {e}")))?;
    Ok(Ok((rows, deletes)))
}

/// Reads records into batches of journal rows; returns how many rows delete an agent.
fn parse_batches(
    reader: Result<intake::Reader<File>, intake::Error>,
    sha: &str,
    tx: &tokio::sync::mpsc::Sender<Result<Vec<NewOp>, String>>,
) -> u64 {
    let reader = match reader {
        Ok(r) => r,
        Err(e) => {
            let _ = tx.blocking_send(Err(e.to_string()));
            return 0;
        }
    };
    let mut deletes = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    for record in reader {
        let new = match record {
            Ok(Record::Op { row, op }) => {
                if matches!(op, Op::DeleteAgent { .. }) {
                    deletes += 1;
                }
                NewOp::valid(row, &op, op.key(sha, row))
            }
            Ok(Record::Invalid { row, action, key_hint, errors }) => NewOp {
                row,
                action: action.map_or("unknown", Action::as_str).into(),
                key: key_hint.unwrap_or_else(|| OpKey::row(sha, row).into()),
                payload: None,
                invalid: Some(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")),
            },
            Err(e) => {
                let _ = tx.blocking_send(Err(e.to_string()));
                return deletes;
            }
        };
        batch.push(new);
        if batch.len() >= BATCH
            && tx.blocking_send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))).is_err()
        {
            return deletes;
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(batch));
    }
    deletes
}

/// Rows of a finished file by outcome, for the one-line summary.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub file_id: i64,
    pub name: String,
    pub by_outcome: BTreeMap<&'static str, u64>,
    pub failed: u64,
    /// The first few failed rows, as `row N: reason`.
    pub failures: Vec<String>,
    pub report: PathBuf,
}

/// Failed rows named in a summary; the report has them all.
const FAILURES_SHOWN: usize = 5;

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: u64 = self.by_outcome.values().sum();
        let parts: Vec<String> = self.by_outcome.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let report = self.report.display();
        write!(
            f,
            "{} (file {}): {total} rows: {}; report: {report}",
            Shown(&self.name),
            self.file_id,
            parts.join(", ")
        )?;
        for line in &self.failures {
            write!(f, "\n  {line}")?;
        }
        let more = self.failed as usize - self.failures.len().min(self.failed as usize);
        if more > 0 {
            write!(f, "\n  ... and {more} more failed rows in the report")?;
        }
        Ok(())
    }
}

/// Writes the report of a file whose ops are all final and marks it `done`.
pub async fn finish(journal: &Journal, state_dir: &Path, file_id: i64) -> Result<Summary, Error> {
    let file = journal
        .file(file_id)
        .await?
        .ok_or_else(|| journal::Error::Data(format!("no file {file_id} in the journal")))?;
    let lines = journal.report_lines(file_id).await?;
    let mut summary = Summary { file_id, name: file.name.clone(), ..Default::default() };
    let rows: Vec<ReportRow> = lines
        .into_iter()
        .map(|l| {
            let outcome = l.outcome.unwrap_or(Outcome::Skipped);
            *summary.by_outcome.entry(outcome.as_str()).or_default() += 1;
            if outcome == Outcome::Failed {
                summary.failed += 1;
                if summary.failures.len() < FAILURES_SHOWN {
                    let why = l.message.as_deref().unwrap_or("failed");
                    summary.failures.push(format!("row {}: {why}", l.row));
                }
            }
            ReportRow {
                row: l.row,
                action: l.action,
                key: l.key,
                outcome,
                freshdesk_id: l.freshdesk_id,
                http_status: l.http_status,
                error_code: l.error_code,
                message: l.message.unwrap_or_default(),
            }
        })
        .collect();
    let reports = state_dir.join("reports");
    let report_path = reports.join(report_name(file_id, &file.name));
    let io = |source| Error::Io { path: report_path.clone(), source };
    crate::private::create_dir(&reports).map_err(io)?;
    report::write_report_file(&report_path, rows).map_err(io)?;
    journal.set_report_path(file_id, report_path.display().to_string()).await?;
    journal.set_file_state(file_id, FileState::Done, None).await?;
    summary.report = report_path;
    Ok(summary)
}

/// `<id>-<stem>.report.csv`, with anything but `[A-Za-z0-9._-]` replaced.
pub fn report_name(file_id: i64, name: &str) -> String {
    let stem = Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or("file");
    let clean: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect();
    format!("{file_id}-{clean}.report.csv")
}

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
            Record::Op { row, op } => {
                let outcome = match &op {
                    Op::CreateTicket(_) | Op::CreateAgent(_) => Outcome::WouldCreate,
                    Op::DeleteAgent { .. } => Outcome::WouldDelete,
                    Op::GetAgent { .. } => Outcome::Skipped,
                };
                let freshdesk_id = match &op {
                    Op::DeleteAgent { agent: AgentRef::Id(id) } => Some(*id),
                    _ => None,
                };
                ReportRow {
                    row,
                    action: op.action().as_str().into(),
                    key: op.key(&sha, row),
                    outcome,
                    freshdesk_id,
                    http_status: None,
                    error_code: None,
                    message: "dry run".into(),
                }
            }
            Record::Invalid { row, action, key_hint, errors } => ReportRow {
                row,
                action: action.map_or("unknown", Action::as_str).into(),
                key: key_hint.unwrap_or_else(|| OpKey::row(&sha, row).into()),
                outcome: Outcome::Failed,
                freshdesk_id: None,
                http_status: None,
                error_code: Some("invalid_row".into()),
                message: errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Safety;

    fn safety(max: u32) -> Safety {
        Safety { max_deletes_per_file: max, protected_emails: vec![] }
    }

    #[tokio::test]
    async fn a_file_is_journaled_then_resumed_then_recognised_as_a_duplicate() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("state")).unwrap();
        let csv = dir.path().join("t.csv");
        std::fs::write(
            &csv,
            "email,subject,description,priority,status\na@example.com,s,d,low,open\nbad,s,d,low,open\n",
        )
        .unwrap();
        let taken =
            take(&journal, &csv, "t.csv", Some(Action::CreateTicket), None, &safety(25)).await.unwrap();
        let Taken::New { file_id, state, rows, deletes } = taken else { panic!("{taken:?}") };
        assert_eq!((state, rows, deletes), (FileState::Processing, 2, 0));
        let again =
            take(&journal, &csv, "t.csv", Some(Action::CreateTicket), None, &safety(25)).await.unwrap();
        assert_eq!(again, Taken::Resume { file_id, state: FileState::Processing });
        let summary = finish(&journal, &dir.path().join("state"), file_id).await.unwrap();
        assert_eq!(summary.failed, 1, "the invalid row is failed");
        assert!(summary.report.exists());
        let dup = take(&journal, &csv, "copy.csv", None, None, &safety(25)).await.unwrap();
        assert!(matches!(dup, Taken::Duplicate { of, .. } if of == file_id), "{dup:?}");
    }

    #[tokio::test]
    async fn an_unreadable_file_is_rejected_with_no_rows_left_in_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("state")).unwrap();
        let json = dir.path().join("t.json");
        std::fs::write(
            &json,
            r#"[{"email":"a@example.com","subject":"s","description":"d","priority":1,"status":2},{"#,
        )
        .unwrap();
        let taken =
            take(&journal, &json, "t.json", Some(Action::CreateTicket), None, &safety(25)).await.unwrap();
        let Taken::Rejected { file_id, error } = taken else { panic!("{taken:?}") };
        assert!(!error.is_empty());
        assert_eq!(journal.row_counts(file_id).await.unwrap().total, 0);
        assert_eq!(journal.file(file_id).await.unwrap().unwrap().state, FileState::Failed);
    }

    #[tokio::test]
    async fn more_deletes_than_allowed_hold_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("state")).unwrap();
        let csv = dir.path().join("off.csv");
        std::fs::write(&csv, "email\na@example.com\nb@example.com\nc@example.com\n").unwrap();
        let taken =
            take(&journal, &csv, "off.csv", Some(Action::DeleteAgent), None, &safety(2)).await.unwrap();
        assert!(matches!(taken, Taken::New { state: FileState::Held, deletes: 3, .. }), "{taken:?}");
        assert!(
            journal.ready_ops(crate::journal::now_ms(), 10).await.unwrap().is_empty(),
            "held rows do not run"
        );
    }

    #[test]
    fn report_names_are_safe_file_names() {
        assert_eq!(report_name(7, "HR export (final).csv"), "7-HR_export__final_.report.csv");
        assert_eq!(report_name(8, "../../etc/passwd"), "8-passwd.report.csv");
    }
}
