//! What a notification says, built from the journal's facts at delivery time: the JSON a webhook
//! receives (`event`, `file`, `counts`, `report`, `rejects`, `first_failures`, `text`), the one
//! `text` line chat tools show as is, and an e-mail's subject and body. Pure.
//!
//! Strings from outside (file names, row messages, error texts) are escaped and cut
//! ([`crate::text::shown`]) everywhere; in `text`, `&`, `<` and `>` are also written as entities,
//! as Slack asks, so a file name cannot become a link or a mention.

use crate::config::NotifyEvent;
use crate::journal::FileFacts;
use crate::text::shown;
use serde::Serialize;
use std::collections::BTreeMap;

/// Failed rows a notification names at most.
pub(super) const FIRST_FAILURES: usize = 10;

/// The webhook body.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub event: &'static str,
    /// `None` for daemon events.
    pub file: Option<FileRef>,
    /// Rows by outcome.
    pub counts: BTreeMap<String, u64>,
    /// The report's path on the fdsync host.
    pub report: Option<String>,
    /// The rejects file's path on the fdsync host (failed and invalid rows, ready to fix).
    pub rejects: Option<String>,
    pub first_failures: Vec<Failure>,
    /// One human line (Slack / Teams incoming webhooks show it as is).
    pub text: String,
    /// The same line without chat escaping (e-mail subject and body).
    #[serde(skip)]
    pub plain: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileRef {
    pub id: i64,
    pub name: String,
    pub inbox: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub row: u64,
    pub message: String,
}

/// A file event's message; `rejects` is the file's rejects file, if any.
pub(super) fn for_file(event: NotifyEvent, facts: &FileFacts, rejects: Option<String>) -> Message {
    let f = &facts.file;
    let name = shown(&f.name);
    let counts: Vec<String> = facts.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let counts_text = if counts.is_empty() { "no rows".to_string() } else { counts.join(", ") };
    let why = f.error.as_deref().map(shown);
    let plain = match event {
        NotifyEvent::Held => format!(
            "fdsync: file {} \"{name}\" is held ({}); check it, then run `fdsync approve {}`",
            f.id,
            why.unwrap_or_else(|| "it deletes more agents than allowed".into()),
            f.id
        ),
        NotifyEvent::Failed => format!(
            "fdsync: file {} \"{name}\" cannot be read, nothing from it was sent: {}",
            f.id,
            why.unwrap_or_else(|| "unreadable".into())
        ),
        NotifyEvent::Rejected => {
            let rejects = rejects.as_deref().map(|r| format!("; fix and drop back: {r}")).unwrap_or_default();
            format!("fdsync: file {} \"{name}\" finished with failed rows: {counts_text}{rejects}", f.id)
        }
        _ => format!("fdsync: file {} \"{name}\" is done: {counts_text}", f.id),
    };
    Message {
        event: event.as_str(),
        file: Some(FileRef { id: f.id, name: f.name.clone(), inbox: f.inbox.clone() }),
        counts: facts.counts.clone(),
        report: f.report_path.clone(),
        rejects,
        first_failures: facts
            .failures
            .iter()
            .take(FIRST_FAILURES)
            .map(|(row, m)| Failure { row: *row, message: shown(m) })
            .collect(),
        text: chat_escaped(&plain),
        plain,
    }
}

/// A daemon event's message (`detail`: the problem as the daemon words it).
pub(super) fn for_daemon(event: NotifyEvent, detail: &str) -> Message {
    let what = match event {
        NotifyEvent::CredentialsRefused => "Freshdesk refused the credentials",
        NotifyEvent::RateLimitedLong => "Freshdesk keeps answering 429 (rate limited)",
        _ => "problem",
    };
    let plain = format!("fdsync: {what}: {}", shown(detail));
    Message {
        event: event.as_str(),
        file: None,
        counts: BTreeMap::new(),
        report: None,
        rejects: None,
        first_failures: Vec::new(),
        text: chat_escaped(&plain),
        plain,
    }
}

impl Message {
    /// The e-mail body: the line, the counts, the first failed rows, where the files are.
    pub(super) fn email_body(&self) -> String {
        let mut body = format!("{}\n", self.plain);
        if !self.counts.is_empty() {
            body.push_str("\nRows:\n");
            for (k, v) in &self.counts {
                body.push_str(&format!("  {k}: {v}\n"));
            }
        }
        if !self.first_failures.is_empty() {
            body.push_str("\nFirst failed rows:\n");
            for f in &self.first_failures {
                body.push_str(&format!("  row {}: {}\n", f.row, f.message));
            }
        }
        for (what, path) in [("Report", &self.report), ("Rejects file", &self.rejects)] {
            if let Some(p) = path {
                body.push_str(&format!("\n{what}: {}\n", shown(p)));
            }
        }
        body
    }
}

/// `&`, `<`, `>` as entities: Slack's escaping for text that must show as written.
fn chat_escaped(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{FileRecord, FileState};

    fn facts(name: &str) -> FileFacts {
        let file = FileRecord {
            id: 7,
            name: name.into(),
            path: "/state/processing/x".into(),
            sha256: "00".into(),
            inbox: Some("/in".into()),
            default_action: None,
            state: FileState::Done,
            rows_total: 3,
            error: None,
            duplicate_of: None,
            report_path: Some("/state/reports/7-x.report.csv".into()),
            created_at: 0,
            updated_at: 0,
            approved_by: None,
            approved_at: None,
            approval_note: None,
            undo_of: None,
            connection: "default".into(),
        };
        let counts = BTreeMap::from([("created".to_string(), 2), ("failed".to_string(), 1)]);
        FileFacts { file, counts, failures: vec![(2, "email: 'x\ny' is not an email".into())] }
    }

    #[test]
    fn a_rejected_file_names_its_counts_failures_and_files_and_escapes_its_name() {
        let m = for_file(
            NotifyEvent::Rejected,
            &facts("<!channel> a&b\n.csv"),
            Some("/r/7-x.rejects.csv".into()),
        );
        assert_eq!(
            m.text,
            "fdsync: file 7 \"&lt;!channel&gt; a&amp;b\\n.csv\" finished with failed rows: 2 created, 1 failed; \
             fix and drop back: /r/7-x.rejects.csv"
        );
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["event"], "rejected");
        assert_eq!(json["file"]["id"], 7);
        assert_eq!(json["counts"]["failed"], 1);
        assert_eq!(json["first_failures"][0]["row"], 2);
        assert_eq!(json["first_failures"][0]["message"], "email: 'x\\ny' is not an email");
        assert!(json.get("plain").is_none());
        let body = m.email_body();
        assert!(
            body.contains("row 2: email") && body.contains("Report: /state/reports/7-x.report.csv"),
            "{body}"
        );
    }

    #[test]
    fn held_and_daemon_events_say_what_to_do() {
        let m = for_file(NotifyEvent::Held, &facts("off.csv"), None);
        assert!(m.text.contains("is held") && m.text.contains("fdsync approve 7"), "{}", m.text);
        let m = for_daemon(NotifyEvent::CredentialsRefused, "Freshdesk answered 401");
        assert_eq!(m.text, "fdsync: Freshdesk refused the credentials: Freshdesk answered 401");
        assert!(m.file.is_none());
    }
}
