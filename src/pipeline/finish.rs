//! Finishing a file whose rows are all final: its report written (every row, rejected ones
//! included, 0600, atomically) and its rejects file ([`super::rejects`]), the journal told where
//! the report is and that the file is `done`, and a one-line [`Summary`] for the caller to print
//! or log. It sends nothing and moves no file.

use super::Error;
use crate::domain::Outcome;
use crate::journal::{self, FileState, Journal};
use crate::report::{self, ReportRow};
use crate::text::Shown;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Rows of a finished file by outcome, for the one-line summary.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub file_id: i64,
    pub name: String,
    /// The connection its rows were sent on (named in the summary unless `default`).
    pub connection: String,
    pub by_outcome: BTreeMap<&'static str, u64>,
    /// Rows that did not reach their goal: `failed`, and an undo's `not_restorable`.
    pub failed: u64,
    /// The first few of those rows, as `row N: reason` (`row N: not_restorable: reason`).
    pub failures: Vec<String>,
    pub report: PathBuf,
    /// The rejects file (failed and invalid rows as they were in the input), if any row failed.
    pub rejects: Option<PathBuf>,
}

/// Failed rows named in a summary; the report has them all.
const FAILURES_SHOWN: usize = 5;

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total: u64 = self.by_outcome.values().sum();
        let parts: Vec<String> = self.by_outcome.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let report = self.report.display();
        let on = match self.connection.as_str() {
            "" | crate::config::DEFAULT_CONNECTION => String::new(),
            name => format!(", connection {name}"),
        };
        write!(
            f,
            "{} (file {}{on}): {total} rows: {}; report: {report}",
            Shown(&self.name),
            self.file_id,
            parts.join(", ")
        )?;
        if let Some(rejects) = &self.rejects {
            write!(f, "; rejects: {}", rejects.display())?;
        }
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
    let rows = report_rows(journal, file_id).await?;
    let mut summary = Summary {
        file_id,
        name: file.name.clone(),
        connection: file.connection.clone(),
        ..Default::default()
    };
    for r in &rows {
        *summary.by_outcome.entry(r.outcome.as_str()).or_default() += 1;
        if !r.outcome.is_success() {
            summary.failed += 1;
            if summary.failures.len() < FAILURES_SHOWN {
                let why = if r.message.is_empty() { r.outcome.as_str() } else { &r.message };
                let line = match r.outcome {
                    Outcome::Failed => format!("row {}: {why}", r.row),
                    other => format!("row {}: {other}: {why}", r.row),
                };
                summary.failures.push(line);
            }
        }
    }
    let reports = state_dir.join("reports");
    let report_path = reports.join(report_name(file_id, &file.name));
    let io = |source| Error::Io { path: report_path.clone(), source };
    crate::private::create_dir(&reports).map_err(io)?;
    summary.rejects = super::rejects::write(&file, state_dir, &rows).await?;
    report::write_report_file(&report_path, rows).map_err(io)?;
    journal.set_report_path(file_id, report_path.display().to_string()).await?;
    journal.set_file_state(file_id, FileState::Done, None).await?;
    summary.report = report_path;
    Ok(summary)
}

/// A file's report lines as the report writes them (a row not yet final reads `skipped`).
pub async fn report_rows(journal: &Journal, file_id: i64) -> Result<Vec<ReportRow>, journal::Error> {
    let lines = journal.report_lines(file_id).await?;
    Ok(lines
        .into_iter()
        .map(|l| ReportRow {
            row: l.row,
            action: l.action,
            key: l.key,
            outcome: l.outcome.unwrap_or(Outcome::Skipped),
            freshdesk_id: l.freshdesk_id,
            http_status: l.http_status,
            error_code: l.error_code,
            message: l.message.unwrap_or_default(),
        })
        .collect())
}

/// `<id>-<stem>.report.csv`, with anything but `[A-Za-z0-9._-]` replaced.
pub fn report_name(file_id: i64, name: &str) -> String {
    format!("{file_id}-{}.report.csv", report::safe_stem(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_names_are_safe_file_names() {
        assert_eq!(report_name(7, "HR export (final).csv"), "7-HR_export__final_.report.csv");
        assert_eq!(report_name(8, "../../etc/passwd"), "8-passwd.report.csv");
    }
}
