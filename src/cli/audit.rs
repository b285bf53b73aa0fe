//! `fdsync audit [--since D] [--until D] [--email E] [--file ID] [--action A] [--format F]`:
//! every change fdsync made or tried, from the journal (live and pruned files alike): when it
//! was sent and confirmed, the file (name, sha256, inbox), row, action, key, Freshdesk id,
//! outcome, who approved the file, and for deletes the agent as it was before. `table` is for
//! people (one escaped line per change), `csv` (RFC 4180, formula cells neutralised) and `json`
//! (an array of objects) for machines. It only reads. `--verify` recomputes the audit chain
//! (`journal/chain.rs`) and names the first record changed, removed or inserted (exit 1).

use crate::domain::Action;
use crate::exit::Exit;
use crate::journal::{AuditQuery, AuditRow, BeforeImage, Change, Journal};
use crate::text::Shown;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Changes at or after DATE (YYYY-MM-DD, UTC midnight, or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<i64>,
    /// Changes before DATE (YYYY-MM-DD, UTC midnight, or RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub until: Option<i64>,
    /// Only the rows of this e-mail (the agent, or a ticket's requester), case-insensitively.
    #[arg(long, value_name = "E")]
    pub email: Option<String>,
    /// Only this file's changes (see `fdsync status`).
    #[arg(long, value_name = "ID")]
    pub file: Option<i64>,
    /// Only this action's changes.
    #[arg(long, value_name = "A", value_parser = |s: &str| s.parse::<Action>())]
    pub action: Option<Action>,
    /// Output: a table for people, csv or json for machines.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Recompute the audit chain and compare the journal with it: exit 0, or 1 naming the first
    /// record that was changed, removed or inserted.
    #[arg(long, conflicts_with_all = ["since", "until", "email", "file", "action"])]
    pub verify: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// Most changes one answer holds; a larger answer says so and asks for a narrower query.
const MAX_ROWS: usize = 100_000;

/// A DATE argument as ms since the epoch: `YYYY-MM-DD` (UTC midnight) or RFC 3339.
pub(super) fn parse_date(raw: &str) -> Result<i64, String> {
    use time::format_description::well_known::Rfc3339;
    let text = raw.trim();
    let at = match time::OffsetDateTime::parse(text, &Rfc3339) {
        Ok(t) => t,
        Err(_) => time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| format!("'{}' is not a date (YYYY-MM-DD or RFC 3339)", Shown(text)))?
            .midnight()
            .assume_utc(),
    };
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| format!("'{}' is out of range", Shown(text)))
}

pub(super) async fn run(config: Option<&Path>, args: AuditArgs) -> anyhow::Result<Exit> {
    if let Some(a) = args.action.filter(|a| !a.is_mutating()) {
        eprintln!("{a} changes nothing in Freshdesk: the audit lists changes");
        return Ok(Exit::Usage);
    }
    let settings = super::load_settings(config, "warn")?;
    let journal = Journal::open(&settings.state_dir)?;
    if args.verify {
        return verify(&journal, args.format).await;
    }
    let query = AuditQuery {
        since: args.since,
        until: args.until,
        email: args.email.map(|e| e.trim().to_string()),
        file: args.file,
        action: args.action,
        limit: MAX_ROWS,
    };
    let page = journal.audit(query).await?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&page.rows)?),
        Format::Csv => write_csv(std::io::stdout().lock(), &page.rows)?,
        Format::Table => print_table(&page.rows),
    }
    if page.truncated {
        eprintln!(
            "only the first {MAX_ROWS} changes are shown: narrow the query (--since, --until, --file, --email)"
        );
    }
    Ok(Exit::Success)
}

/// Most problems `--verify` lists after the first.
const PROBLEMS_SHOWN: usize = 20;

/// `--verify`: the chain recomputed; the first bad record named first.
async fn verify(journal: &Journal, format: Format) -> anyhow::Result<Exit> {
    let verdict = journal.verify_chain().await?;
    let exit = if verdict.problems.is_empty() { Exit::Success } else { Exit::RowsFailed };
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&verdict)?);
        return Ok(exit);
    }
    let head = match &verdict.head {
        Some(h) => format!("head record {} sha256 {}", h.seq, h.hash),
        None => "empty".into(),
    };
    let Some(first) = verdict.problems.first() else {
        println!("audit chain verified: {} records, {head}", verdict.records);
        return Ok(exit);
    };
    println!("audit chain broken: first bad {first}");
    for p in verdict.problems.iter().skip(1).take(PROBLEMS_SHOWN) {
        println!("  also {p}");
    }
    if verdict.problems.len() > PROBLEMS_SHOWN + 1 {
        println!("  ... and {} more problems", verdict.problems.len() - PROBLEMS_SHOWN - 1);
    }
    println!("{} records, {head}", verdict.records);
    Ok(exit)
}

/// RFC 4180, a header row, then one record per change; a cell a spreadsheet would run as a
/// formula is neutralised as in the reports.
fn write_csv<W: std::io::Write>(w: W, rows: &[AuditRow]) -> anyhow::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(Change::NAMES.iter().chain(BeforeImage::NAMES))?;
    for r in rows {
        let before = r.before.as_ref().map(BeforeImage::cells).unwrap_or_else(|| vec![String::new(); 6]);
        let cells: Vec<String> = r.change.cells().into_iter().chain(before).collect();
        out.write_record(cells.iter().map(|c| crate::report::neutralise(c).into_owned()))?;
    }
    out.flush()?;
    Ok(())
}

fn print_table(rows: &[AuditRow]) {
    println!(
        "{:<24}  {:<13}  {:<32}  {:<24}  {:>12}  file, row, approval, before",
        "when", "action", "e-mail/key", "outcome", "freshdesk_id"
    );
    for r in rows {
        println!("{}", table_line(r));
    }
    println!("{} changes", rows.len());
}

/// One change on one line; every string from outside escaped.
fn table_line(r: &AuditRow) -> String {
    let c = &r.change;
    let when = c.sent_at.or(c.confirmed_at).map(|w| w.to_string()).unwrap_or_default();
    let who = Shown(c.email.as_deref().unwrap_or(&c.key)).to_string();
    let outcome = match (&c.outcome, &c.error_code) {
        (Some(o), Some(code)) => format!("{o} ({})", Shown(code)),
        (Some(o), None) => o.clone(),
        (None, _) => "in flight".into(),
    };
    let id = c.freshdesk_id.map(|i| i.to_string()).unwrap_or_else(|| "-".into());
    let sha = &c.sha256[..c.sha256.len().min(12)];
    let mut line = format!(
        "{when:<24}  {:<13}  {who:<32}  {outcome:<24}  {id:>12}  file {} {} (sha256 {}) row {}",
        c.action,
        c.file_id,
        Shown(&c.file_name),
        Shown(sha),
        c.row
    );
    if let Some(by) = &c.approved_by {
        let at = c.approved_at.map(|w| format!(" at {w}")).unwrap_or_default();
        line.push_str(&format!("; approved by {}{at}", Shown(by)));
        if let Some(note) = &c.approval_note {
            line.push_str(&format!(" ({})", Shown(note)));
        }
    }
    if let Some(b) = &r.before {
        line.push_str(&format!("; before: {}", before_text(b)));
    }
    if let Some(m) = c.message.as_deref().filter(|m| !m.is_empty()) {
        line.push_str(&format!("; {}", Shown(m)));
    }
    line
}

fn before_text(b: &BeforeImage) -> String {
    if b.unreadable {
        return "(the saved record is unreadable)".into();
    }
    let ids =
        |v: &Option<Vec<u64>>| v.as_ref().map(|v| v.iter().map(u64::to_string).collect::<Vec<_>>().join(","));
    let mut parts = Vec::new();
    if let Some(n) = &b.name {
        parts.push(Shown(n).to_string());
    }
    if let Some(e) = &b.email {
        parts.push(format!("<{}>", Shown(e)));
    }
    if let Some(r) = ids(&b.role_ids) {
        parts.push(format!("roles [{r}]"));
    }
    if let Some(g) = ids(&b.group_ids) {
        parts.push(format!("groups [{g}]"));
    }
    if let Some(s) = b.ticket_scope {
        parts.push(format!("scope {s}"));
    }
    if let Some(o) = b.occasional {
        parts.push(format!("occasional {o}"));
    }
    if parts.is_empty() { "(nothing readable)".into() } else { parts.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_midnight_or_rfc_3339() {
        assert_eq!(parse_date("2026-11-30"), Ok(1_795_996_800_000));
        assert_eq!(parse_date("2026-11-30T01:00:00+01:00"), Ok(1_795_996_800_000));
        assert_eq!(parse_date("1970-01-01T00:00:00.5Z"), Ok(500));
        assert!(parse_date("30/11/2026").unwrap_err().contains("not a date"));
        assert!(parse_date("2026-13-01").is_err());
    }

    #[test]
    fn a_table_line_escapes_what_came_from_outside() {
        let row = AuditRow {
            change: Change {
                file_id: 1,
                file_name: "evil\n\u{1b}[31m.csv".into(),
                sha256: "abc".into(),
                row: 2,
                action: "delete_agent".into(),
                email: Some("jane@example.com".into()),
                outcome: Some("deleted".into()),
                freshdesk_id: Some(43),
                approved_by: Some("bob\r".into()),
                approval_note: Some("ok\n".into()),
                ..Change::default()
            },
            before: Some(BeforeImage::parse(r#"{"contact": {"name": "J\u001b"}, "role_ids": [1, 2]}"#)),
        };
        let line = table_line(&row);
        assert!(!line.chars().any(char::is_control), "{line:?}");
        assert!(line.contains("evil\\n\\u{1b}[31m.csv") && line.contains("roles [1,2]"), "{line}");
        let mut csv = Vec::new();
        write_csv(&mut csv, &[row]).unwrap();
        let text = String::from_utf8(csv).unwrap();
        assert!(
            text.starts_with("file_id,file_name,sha256,inbox,connection,row,action,key,email,sent_at,"),
            "{text}"
        );
        assert!(text.contains(",before_occasional\n") && text.contains(",1;2,"), "{text}");
    }
}
