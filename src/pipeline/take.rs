//! Taking a file into the journal: open it once, hash that handle, recognise content seen
//! before (resume it, or record a duplicate), parse the rest of the handle row by row on a
//! blocking thread and journal the rows in batches. A file from an inbox is held to that
//! inbox's powers ([`crate::config::Inbox`]): a row asking for an action the inbox does not
//! allow is refused (`action_not_allowed`) and the rest goes on, and a file above its caps
//! (`max_file_bytes`, `max_rows`) is held for approval. A file that cannot be read as a whole
//! leaves no rows behind. Nothing is sent from here and no report is written.

use super::Error;
use super::input::{Refused, open_input, sha256_of};
use crate::config::Inbox;
use crate::domain::{Action, Op, OpKey};
use crate::intake::{self, Record};
use crate::journal::{self, FileState, Journal, NewFile, NewOp};
use std::fs::File;
use std::path::Path;

/// Rows journaled per transaction while reading a file.
const BATCH: usize = 5000;

/// How a file is taken in, beyond its name and default action.
#[derive(Debug, Clone, Default)]
pub struct TakeOptions<'a> {
    /// The inbox folder it came from (the daemon).
    pub inbox: Option<&'a str>,
    /// Record caps and the request-size limit.
    pub limits: intake::Limits,
    /// Set the file to 0600 through its handle: it now lives in the private state folder.
    pub make_private: bool,
    /// The inbox's powers and caps (the daemon, `plan --inbox`); `None`: every action, no caps
    /// (`import`, run by the operator).
    pub powers: Option<&'a Inbox>,
    /// The inbox whose `date_format` and `attachments_dir` apply to the file's rows; `None`:
    /// those of `powers`. (`import` uses the inbox of the file's folder without its powers.)
    pub formats: Option<&'a Inbox>,
}

/// The error code of a row asking for an action its inbox does not allow.
const ACTION_NOT_ALLOWED: &str = "action_not_allowed";

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

/// Takes a file into the journal (see [`Taken`]) with the default [`intake::Limits`]. `name`
/// is the name the user gave it.
pub async fn take(
    journal: &Journal,
    path: &Path,
    name: &str,
    default_action: Option<Action>,
    inbox: Option<&str>,
) -> Result<Taken, Error> {
    let opts = TakeOptions { inbox, ..TakeOptions::default() };
    take_with(journal, path, name, default_action, &opts).await
}

/// [`take`] with explicit [`TakeOptions`]: opens the file once and hashes and parses that handle.
pub async fn take_with(
    journal: &Journal,
    path: &Path,
    name: &str,
    default_action: Option<Action>,
    opts: &TakeOptions<'_>,
) -> Result<Taken, Error> {
    let inbox = opts.inbox;
    let file = open_input(path)?;
    if opts.make_private {
        crate::private::restrict(&file).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
    }
    let bytes = file.metadata().map_err(|source| Error::Io { path: path.to_path_buf(), source })?.len();
    let sha = sha256_of(&file, path)?;
    // Inserted as a duplicate or as new, unless the content is already being worked on.
    let new = NewFile {
        name: name.into(),
        path: path.display().to_string(),
        sha256: sha.clone(),
        inbox: inbox.map(Into::into),
        default_action,
    };
    let file_id = match journal.find_file_by_sha(&sha).await? {
        Some(f) if matches!(f.state, FileState::Processing | FileState::Held) => {
            return Ok(Taken::Resume { file_id: f.id, state: f.state });
        }
        Some(f) if f.state == FileState::Done => {
            let id = journal.insert_file(new, FileState::Duplicate, Some(f.id)).await?;
            return Ok(Taken::Duplicate { file_id: id, of: f.id });
        }
        // Interrupted while being read: read it again from the start.
        Some(f) if f.state == FileState::Queued => {
            journal.discard_ops(f.id).await?;
            f.id
        }
        _ => journal.insert_file(new, FileState::Queued, None).await?,
    };
    let allowed = opts.powers.map(Allowed::of);
    let source = opts.formats.or(opts.powers);
    let shape = Shape {
        date_format: source.and_then(|ib| ib.date_format.clone()),
        attachments_dir: source.and_then(|ib| ib.attachments_dir.clone()),
    };
    let input = Input { file, path, limits: opts.limits, allowed, shape };
    match read_into_journal(journal, file_id, input, &sha, default_action).await? {
        Ok((rows, deletes)) => {
            // The volume guards (safety.max_deletes_*) are the engine's: they need the account's
            // agent count, and a held file's reason names every rule it trips.
            let over = opts.powers.and_then(|ib| over_caps(ib, bytes, rows));
            let state = if over.is_some() { FileState::Held } else { FileState::Processing };
            journal.set_file_state(file_id, state, over).await?;
            Ok(Taken::New { file_id, state, rows, deletes })
        }
        Err(error) => {
            journal.discard_ops(file_id).await?;
            journal.set_file_state(file_id, FileState::Failed, Some(error.clone())).await?;
            Ok(Taken::Rejected { file_id, error })
        }
    }
}

/// Why a file from `inbox` is held before any call, if it is above a cap. Pure.
fn over_caps(inbox: &Inbox, bytes: u64, rows: u64) -> Option<String> {
    let (caps, dir) = (inbox.caps, crate::text::shown_path(&inbox.dir));
    let mut why = Vec::new();
    if bytes > caps.max_file_bytes {
        why.push(format!("{bytes} bytes, over the max_file_bytes = {} of inbox {dir}", caps.max_file_bytes));
    }
    if rows > caps.max_rows {
        why.push(format!("{rows} rows, over the max_rows = {} of inbox {dir}", caps.max_rows));
    }
    (!why.is_empty()).then(|| format!("{}; nothing was sent: check it, then approve it", why.join("; ")))
}

/// The actions an inbox allows, and how a refusal names them.
struct Allowed {
    actions: Vec<Action>,
    /// `inbox DIR allows only a, b`.
    says: String,
}

impl Allowed {
    fn of(inbox: &Inbox) -> Self {
        let names: Vec<&str> = inbox.actions.iter().map(|a| a.as_str()).collect();
        let dir = crate::text::shown_path(&inbox.dir);
        let says = format!("inbox {dir} allows only {} (inbox.actions)", names.join(", "));
        Self { actions: inbox.actions.clone(), says }
    }

    /// The journal row of a row asking for `op`: refused when its action is not allowed.
    fn row(allowed: Option<&Self>, row: u64, op: &Op, sha: &str) -> NewOp {
        let key: String = OpKey::of(op, sha, row).into();
        match allowed {
            Some(a) if !a.actions.contains(&op.action()) => {
                let action = op.action().as_str();
                let why = format!("the row asks for {action}; {}", a.says);
                NewOp::refused(row, action, key, ACTION_NOT_ALLOWED, why)
            }
            _ => NewOp::valid(row, op, key),
        }
    }
}

/// An opened input on its way to the parser.
struct Input<'a> {
    file: File,
    path: &'a Path,
    limits: intake::Limits,
    allowed: Option<Allowed>,
    shape: Shape,
}

/// What a file's inbox adds to its ticket rows.
#[derive(Default)]
struct Shape {
    /// Kept with each ticket row.
    date_format: Option<String>,
    /// Where attachments are resolved.
    attachments_dir: Option<std::path::PathBuf>,
}

impl Shape {
    /// The row's op with its inbox's additions, or why the row is bad.
    fn apply(&self, op: &mut Op) -> Result<(), crate::domain::FieldError> {
        let Op::CreateTicket(t) = op else { return Ok(()) };
        if let Some(f) = &self.date_format {
            t.date_format = Some(f.clone());
        }
        super::attach::resolve(self.attachments_dir.as_deref(), &mut t.attachments)
    }
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
    let (allowed, shape) = (input.allowed, input.shape);
    let parser = tokio::task::spawn_blocking(move || {
        let reader = intake::from_file(file, &path, default_action, &limits);
        parse_batches(reader, &sha, allowed.as_ref(), &shape, &tx)
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
    allowed: Option<&Allowed>,
    shape: &Shape,
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
            Ok(Record::Op { row, mut op }) => {
                if let Err(e) = shape.apply(&mut op) {
                    let key_hint = Some(op.key(sha, row));
                    let refused = Refused::new(sha, row, Some(op.action()), key_hint, &[e]);
                    batch.push(refused.into_new_op());
                    continue;
                }
                let new = Allowed::row(allowed, row, &op, sha);
                if new.invalid.is_none() && matches!(op, Op::DeleteAgent { .. }) {
                    deletes += 1;
                }
                new
            }
            Ok(Record::Invalid { row, action, key_hint, errors }) => {
                Refused::new(sha, row, action, key_hint, &errors).into_new_op()
            }
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

/// A change that is not a dropped file (one request of an identity provider over SCIM) taken in
/// as a file of its own, once per `file.sha256` (the change's identity): its row journaled and
/// the file started. An earlier take left `queued` (killed between the file and its row) gets
/// its row again; a file already taken is found as it is (running, held or done). Its id.
pub async fn take_change(journal: &Journal, file: NewFile, rows: Vec<NewOp>) -> journal::Result<i64> {
    match journal.find_file_by_sha(&file.sha256).await? {
        Some(f) if f.state == FileState::Queued => {
            journal.discard_ops(f.id).await?;
            journal.insert_ops(f.id, rows).await?;
            super::start(journal, f.id).await?;
            Ok(f.id)
        }
        Some(f) => Ok(f.id),
        None => {
            let id = journal.insert_file(file, FileState::Queued, None).await?;
            journal.insert_ops(id, rows).await?;
            super::start(journal, id).await?;
            Ok(id)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::finish;

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
        let taken = take(&journal, &csv, "t.csv", Some(Action::CreateTicket), None).await.unwrap();
        let Taken::New { file_id, state, rows, deletes } = taken else { panic!("{taken:?}") };
        assert_eq!((state, rows, deletes), (FileState::Processing, 2, 0));
        let again = take(&journal, &csv, "t.csv", Some(Action::CreateTicket), None).await.unwrap();
        assert_eq!(again, Taken::Resume { file_id, state: FileState::Processing });
        let summary = finish(&journal, &dir.path().join("state"), file_id).await.unwrap();
        assert_eq!(summary.failed, 1, "the invalid row is failed");
        assert!(summary.report.exists());
        let dup = take(&journal, &csv, "copy.csv", None, None).await.unwrap();
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
        let taken = take(&journal, &json, "t.json", Some(Action::CreateTicket), None).await.unwrap();
        let Taken::Rejected { file_id, error } = taken else { panic!("{taken:?}") };
        assert!(!error.is_empty());
        assert_eq!(journal.row_counts(file_id).await.unwrap().total, 0);
        assert_eq!(journal.file(file_id).await.unwrap().unwrap().state, FileState::Failed);
    }

    #[tokio::test]
    async fn deletes_are_counted_and_left_to_the_engine_guards() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(&dir.path().join("state")).unwrap();
        let csv = dir.path().join("off.csv");
        std::fs::write(&csv, "email\na@example.com\nb@example.com\nc@example.com\n").unwrap();
        let taken = take(&journal, &csv, "off.csv", Some(Action::DeleteAgent), None).await.unwrap();
        assert!(matches!(taken, Taken::New { state: FileState::Processing, deletes: 3, .. }), "{taken:?}");
        assert_eq!(journal.count_action(taken.file_id(), "delete_agent").await.unwrap(), 3);
    }
}
