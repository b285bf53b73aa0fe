//! One identity-provider change as a file of one row in the journal, run by the same engine
//! as a dropped file (pacer, guards, reconciliation, audit, undo). The file's sha256 is the
//! change's identity (connection, what, and the user's version): the provider's retry of the
//! same operation finds the same file (running, held, or done) and never journals a second
//! one, also after a kill -9 mid-request. Waits (bounded) for the row to be final; a held file
//! is 503 with `Retry-After`, so the provider retries, and after `fdsync approve` its next retry
//! finds the row done.

use super::error::ScimError;
use crate::domain::Op;
use crate::journal::{FileState, Journal, NewFile, NewOp, ReportLine};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// How long a request waits for its change to be final before answering 503.
const WAIT: Duration = Duration::from_secs(20);
/// What a held change's 503 asks the provider to wait.
pub(crate) const HELD_RETRY_SECS: u64 = 60;
/// The `inbox` column of a SCIM change: the identity provider is the source.
pub(crate) const SOURCE: &str = "scim";

/// What a change's file does, read from the name [`super::store`] and [`super::users`] give
/// it (`scim-deprovision-{id}-{email}`, …); a name no SCIM change gives is a `change` of
/// whom the name says.
pub(crate) fn describe(name: &str) -> Described {
    const KINDS: [(&str, &str); 4] = [
        ("scim-deprovision-", "delete"),
        ("scim-reprovision-", "restore"),
        ("scim-update-", "update"),
        ("scim-provision-", "create"),
    ];
    let read = || {
        let (change, rest) = KINDS.iter().find_map(|(p, v)| name.strip_prefix(p).map(|rest| (*v, rest)))?;
        let (agent, email) = match rest.split_once('-') {
            Some((id, email)) if change != "create" => (Some(id.parse().ok()?), email),
            _ => (None, rest),
        };
        Some(Described { change, email: email.to_string(), agent })
    };
    read().unwrap_or_else(|| Described { change: "change", email: name.to_string(), agent: None })
}

/// A SCIM change as [`describe`] reads it from its file's name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Described {
    /// `delete`, `create`, `restore` or `update`.
    pub(crate) change: &'static str,
    /// The user's e-mail, as the provider sent it (escape it for display).
    pub(crate) email: String,
    /// The agent's id, for every change but a creation.
    #[serde(rename = "agent_id")]
    pub(crate) agent: Option<u64>,
}

impl Described {
    /// `ann@example.com (agent 7)`, with the e-mail written by `email` (escaping for where it goes).
    pub(crate) fn whom(&self, email: impl Fn(&str) -> String) -> String {
        match self.agent {
            Some(id) => format!("{} (agent {id})", email(&self.email)),
            None => email(&self.email),
        }
    }
}

/// The final row of a change and its file.
pub(crate) struct Done {
    pub(crate) file_id: i64,
    pub(crate) line: ReportLine,
}

/// Journals `op` (once per `identity`) and waits for its row to be final.
pub(crate) async fn run(
    journal: &Journal,
    submit: &tokio::sync::Mutex<()>,
    nudge: impl Fn(),
    name: String,
    identity: &str,
    op: &Op,
) -> Result<Done, ScimError> {
    let payload = serde_json::to_string(op).map_err(|e| ScimError::internal(e.to_string()))?;
    let sha: String =
        Sha256::digest(format!("scim\n{}\n{identity}\n{payload}", journal.connection()).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    let row = vec![NewOp::valid(1, op, op.key(&sha, 1))];
    let file =
        NewFile { name, path: String::new(), sha256: sha, inbox: Some(SOURCE.into()), default_action: None };
    // One lookup-then-insert at a time: two copies of one request (a provider retrying while
    // the first still waits) must find one file, not insert two.
    let submitting = submit.lock().await;
    let file_id = crate::pipeline::take_change(journal, file, row).await?;
    tracing::info!(file_id, action = %op.action(), "SCIM change journaled.");
    drop(submitting);
    nudge();
    wait(journal, file_id).await
}

async fn wait(journal: &Journal, file_id: i64) -> Result<Done, ScimError> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let Some(f) = journal.file(file_id).await? else {
            return Err(ScimError::internal("the change's file is gone from the journal"));
        };
        if f.state == FileState::Held {
            let why = f.error.unwrap_or_else(|| "its delete waits for approval".into());
            return Err(ScimError::later(
                HELD_RETRY_SECS,
                format!(
                    "held by fdsync's guards as file {file_id} ({why}); an operator runs `fdsync approve {file_id}` (or `fdsync approve --scim` for every held change), then the next retry goes through"
                ),
            ));
        }
        if journal.row_counts(file_id).await?.is_final() {
            let line = journal.report_lines(file_id).await?.into_iter().next();
            return line
                .map(|line| Done { file_id, line })
                .ok_or_else(|| ScimError::internal("the change's row is gone from the journal"));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ScimError::later(
                10,
                format!("the change (file {file_id}) is still running; try again"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// "1 SCIM change", "5 SCIM changes" and the verb that goes with them ("is", "are").
pub(crate) fn counted(n: usize) -> (String, &'static str) {
    if n == 1 { ("1 SCIM change".into(), "is") } else { (format!("{n} SCIM changes"), "are") }
}

#[cfg(test)]
mod tests {
    use super::{counted, describe};

    #[test]
    fn one_held_change_is_one_change() {
        assert_eq!(counted(1), ("1 SCIM change".to_string(), "is"));
        assert_eq!(counted(26), ("26 SCIM changes".to_string(), "are"));
    }

    #[test]
    fn a_changes_file_name_says_what_it_does_and_to_whom() {
        let d = |n| Some(describe(n)).map(|d| format!("{} {}", d.change, d.whom(|e| e.to_string())));
        assert_eq!(
            d("scim-deprovision-7-ann-marie@example.com").as_deref(),
            Some("delete ann-marie@example.com (agent 7)")
        );
        assert_eq!(d("scim-provision-new-hire@example.com").as_deref(), Some("create new-hire@example.com"));
        assert_eq!(d("scim-reprovision-7-a@example.com").as_deref(), Some("restore a@example.com (agent 7)"));
        assert_eq!(d("scim-update-9-b@example.com").as_deref(), Some("update b@example.com (agent 9)"));
        assert_eq!(d("leavers.csv").as_deref(), Some("change leavers.csv"));
        let odd = "scim-update-x-b@example.com";
        assert_eq!(d(odd), Some(format!("change {odd}")), "not a name a change gives");
    }
}
