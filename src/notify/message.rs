//! What a notification says, built from the journal's facts at delivery time: the JSON a webhook
//! receives (`event`, `file`, `counts`, `report`, `rejects`, `first_failures`, `text`), the one
//! `text` line chat tools show as is, and an e-mail's subject and body. Pure.
//!
//! Strings from outside (file names, row messages, error texts) are escaped and cut
//! ([`crate::text::shown`]) everywhere; in `text` they are also chat-escaped: `&`, `<` and `>`
//! as entities, as Slack asks, so a file name cannot become a link or a mention, and Markdown /
//! mrkdwn characters with a backslash, so it cannot bold, strike, link or break out of fdsync's
//! own `code` spans.

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
    /// The held changes of one provisioning cycle (`held` of SCIM changes; absent otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<HeldChange>,
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

/// One held SCIM change of a cycle: its file, what it does (`change`), to whom (`email`,
/// `agent_id`).
#[derive(Debug, Clone, Serialize)]
pub struct HeldChange {
    pub id: i64,
    pub name: String,
    #[serde(flatten)]
    pub(crate) what: crate::scim::change::Described,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub row: u64,
    pub message: String,
}

/// A file event's message; `rejects` is the file's rejects file, if any.
pub(super) fn for_file(event: NotifyEvent, facts: &FileFacts, rejects: Option<String>) -> Message {
    let f = &facts.file;
    Message {
        event: event.as_str(),
        file: Some(FileRef { id: f.id, name: f.name.clone(), inbox: f.inbox.clone() }),
        counts: facts.counts.clone(),
        report: f.report_path.clone(),
        first_failures: facts
            .failures
            .iter()
            .take(FIRST_FAILURES)
            .map(|(row, m)| Failure { row: *row, message: shown(m) })
            .collect(),
        files: Vec::new(),
        text: file_line(event, facts, rejects.as_deref(), &chat_escaped),
        plain: file_line(event, facts, rejects.as_deref(), &|s| s.to_string()),
        rejects,
    }
}

/// The one line about a file; `outside` writes each string that came from outside (the name,
/// the reason, the rejects path) for where the line goes.
fn file_line(
    event: NotifyEvent,
    facts: &FileFacts,
    rejects: Option<&str>,
    outside: &dyn Fn(&str) -> String,
) -> String {
    let f = &facts.file;
    let name = outside(&shown(&f.name));
    let counts: Vec<String> = facts.counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let counts_text = if counts.is_empty() { "no rows".to_string() } else { counts.join(", ") };
    let why = f.error.as_deref().map(|e| outside(&shown(e)));
    match event {
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
            let rejects = rejects.map(|r| format!("; fix and drop back: {}", outside(r))).unwrap_or_default();
            format!("fdsync: file {} \"{name}\" finished with failed rows: {counts_text}{rejects}", f.id)
        }
        _ => format!("fdsync: file {} \"{name}\" is done: {counts_text}", f.id),
    }
}

/// Held changes a cycle's line names at most (the webhook's `files` has them all).
const NAMED_CHANGES: usize = 10;

/// The one `held` message of a provisioning cycle's held SCIM changes (`held`: their files,
/// oldest first): how many, of which kind, and whom, instead of one message per change.
pub(super) fn for_held_cycle(held: &[FileFacts]) -> Message {
    let files: Vec<HeldChange> = held
        .iter()
        .map(|f| {
            let mut what = crate::scim::change::describe(&f.file.name);
            what.email = shown(&what.email);
            HeldChange { id: f.file.id, name: f.file.name.clone(), what }
        })
        .collect();
    let mut counts = BTreeMap::new();
    for f in &files {
        *counts.entry(f.what.change.to_string()).or_insert(0) += 1;
    }
    let connection = held.first().map_or("", |f| f.file.connection.as_str());
    let line = |outside: &dyn Fn(&str) -> String| {
        let kinds: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let mut whom: Vec<String> = files
            .iter()
            .take(NAMED_CHANGES)
            .map(|f| format!("{} {}", f.what.change, f.what.whom(outside)))
            .collect();
        if files.len() > NAMED_CHANGES {
            whom.push(format!("and {} more", files.len() - NAMED_CHANGES));
        }
        let (changes, are) = crate::scim::change::counted(files.len());
        format!(
            "fdsync: {changes} from the identity provider {are} held on connection {} ({}): {}; \
             check them, then run `fdsync approve --scim` (it lists them and asks)",
            outside(&shown(connection)),
            kinds.join(", "),
            whom.join(", ")
        )
    };
    let (text, plain) = (line(&chat_escaped), line(&|s| s.to_string()));
    Message {
        event: NotifyEvent::Held.as_str(),
        file: None,
        counts,
        report: None,
        rejects: None,
        first_failures: Vec::new(),
        text,
        plain,
        files,
    }
}

/// A daemon event's message (`detail`: the problem as the daemon words it).
pub(super) fn for_daemon(event: NotifyEvent, detail: &str) -> Message {
    let what = match event {
        NotifyEvent::CredentialsRefused => "Freshdesk refused the credentials",
        NotifyEvent::RateLimitedLong => "Freshdesk keeps answering 429 (rate limited)",
        _ => "problem",
    };
    Message {
        event: event.as_str(),
        file: None,
        counts: BTreeMap::new(),
        report: None,
        rejects: None,
        first_failures: Vec::new(),
        files: Vec::new(),
        text: format!("fdsync: {what}: {}", chat_escaped(&shown(detail))),
        plain: format!("fdsync: {what}: {}", shown(detail)),
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
        if !self.files.is_empty() {
            body.push_str("\nHeld changes:\n");
            for f in &self.files {
                body.push_str(&format!(
                    "  file {}: {} {}\n",
                    f.id,
                    f.what.change,
                    f.what.whom(|e| e.to_string())
                ));
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

/// Characters that start formatting in Slack mrkdwn or in the Markdown of Teams, Mattermost and
/// Discord (emphasis `*` `_`, strike `~`, code `` ` ``, links `[` `]` `(` `)`, tables `|`, and
/// `\\` itself); each gets a backslash, which Markdown drops and which stops Slack pairing it.
const MARKUP: &[char] = &['\\', '*', '_', '~', '`', '|', '[', ']', '(', ')'];

/// A string from outside as chat text: `&`, `<`, `>` as entities (Slack's escaping, so nothing
/// becomes a link or a `<!channel>` mention) and [`MARKUP`] characters backslash-escaped, so a
/// file name shows as written instead of formatting the line.
fn chat_escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if MARKUP.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
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
            "fdsync: file 7 \"&lt;!channel&gt; a&amp;b\\\\n.csv\" finished with failed rows: 2 created, 1 failed; \
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
    fn markdown_and_slack_markup_in_a_file_name_is_escaped_in_text_only() {
        let name = "*urgent*_x_~gone~`rm -rf`|[click](http://evil.example)\\.csv";
        let m = for_file(NotifyEvent::Held, &facts(name), None);
        assert_eq!(
            m.text,
            "fdsync: file 7 \"\\*urgent\\*\\_x\\_\\~gone\\~\\`rm -rf\\`\\|\\[click\\]\\(http://evil.example\\)\\\\.csv\" \
             is held (it deletes more agents than allowed); check it, then run `fdsync approve 7`"
        );
        assert!(m.plain.contains(name), "the e-mail shows the name as written: {}", m.plain);
        // Every markup character in the name has its backslash; fdsync's own code span stays.
        let quoted = m.text.split('"').nth(1).unwrap();
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                assert!(chars.next().is_some_and(|n| MARKUP.contains(&n)), "{quoted}");
            } else {
                assert!(!MARKUP.contains(&c), "{c} unescaped in {quoted}");
            }
        }
        let m = for_daemon(NotifyEvent::CredentialsRefused, "*bold* <@U1>");
        assert_eq!(m.text, "fdsync: Freshdesk refused the credentials: \\*bold\\* &lt;@U1&gt;");
    }

    #[test]
    fn a_held_cycle_is_one_message_naming_how_many_and_whom() {
        let held: Vec<FileFacts> = (1..=12)
            .map(|i| {
                let mut f = facts(&format!("scim-deprovision-{i}-a_{i}@example.com"));
                f.file.id = 100 + i;
                f
            })
            .chain(std::iter::once(facts("scim-provision-boss@example.com")))
            .collect();
        let m = for_held_cycle(&held);
        assert!(
            m.text.starts_with(
                "fdsync: 13 SCIM changes from the identity provider are held on connection default \
                 (1 create, 12 delete): delete a\\_1@example.com (agent 1), delete a\\_2@example.com (agent 2),"
            ),
            "{}",
            m.text
        );
        assert!(m.text.contains("and 3 more; check them, then run `fdsync approve --scim`"), "{}", m.text);
        assert!(m.plain.contains("delete a_10@example.com (agent 10), and 3 more"), "{}", m.plain);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(
            (json["event"].as_str(), json["files"].as_array().map(Vec::len)),
            (Some("held"), Some(13))
        );
        assert_eq!(json["files"][12]["change"], "create");
        assert_eq!(json["files"][12]["email"], "boss@example.com");
        assert_eq!(json["files"][0]["agent_id"], 1);
        assert_eq!(json["counts"]["delete"], 12);
        assert!(
            m.email_body().contains("file 112: delete a_12@example.com (agent 12)"),
            "{}",
            m.email_body()
        );
        let single = serde_json::to_value(for_file(NotifyEvent::Held, &facts("off.csv"), None)).unwrap();
        assert!(single.get("files").is_none(), "a file's message is as before: {single}");
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
