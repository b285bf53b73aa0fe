//! The per-file report CSV: one line per input row, columns
//! `row,action,key,outcome,freshdesk_id,http_status,error_code,message`.
//!
//! Formula neutralisation (OWASP "CSV injection"): a text cell that starts with `=`, `+`, `-`,
//! `@`, a tab or a carriage return gets a leading `'`, so a spreadsheet shows it instead of running
//! it. A cell that is entirely a plain number (`-5`, `+3.25`) is left alone: no spreadsheet runs it
//! as a formula, and quoting it would change the value. Numeric columns never need it.
//!
//! Key and message cells are escaped first ([`crate::text::Escaped`]): a control character from
//! the input shows as `\n`, `\u{1b}`, … and never breaks a line for a reader that is not CSV-aware.
//!
//! Pure except for [`write_report_file`], which writes `<path>.tmp` (0600), fsyncs it and renames it.
//! [`rejects`] writes the rows a file could not run back out in the input's own format.

pub mod rejects;

use crate::domain::Outcome;
use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The header line, in order.
pub const COLUMNS: [&str; 8] =
    ["row", "action", "key", "outcome", "freshdesk_id", "http_status", "error_code", "message"];

/// Error code given to rows the intake refused before any request.
pub const INVALID_ROW: &str = "invalid_row";

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRow {
    pub row: u64,
    pub action: String,
    pub key: String,
    pub outcome: Outcome,
    pub freshdesk_id: Option<u64>,
    pub http_status: Option<u16>,
    pub error_code: Option<String>,
    pub message: String,
}

/// Whether `s` is a plain decimal number: optional sign, digits, optional fraction.
fn is_plain_number(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
    !int.is_empty() && !frac.is_empty() && (int.bytes().chain(frac.bytes())).all(|b| b.is_ascii_digit())
}

/// Whether [`neutralise`] prefixes `cell`: it starts, after any `'`s, with a formula lead and is
/// not a plain number. Counting the `'`s already there keeps [`restore`] exact: a cell that
/// really starts with `'=` is written `''=`, so taking one `'` off gives it back.
fn needs_quote(cell: &str) -> bool {
    let lead = cell.trim_start_matches('\'');
    lead.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_plain_number(lead)
}

/// The cell as written to the report (and to a rejects file): prefixed with `'` when a
/// spreadsheet would run it.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if needs_quote(cell) { Cow::Owned(format!("'{cell}")) } else { Cow::Borrowed(cell) }
}

/// The cell [`neutralise`] was given: exactly the one `'` it added taken off, anything else as
/// it is. For reading back a rejects file (`restore(&neutralise(c)) == c` for every `c`).
pub fn restore(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

/// `s` with control characters made visible; borrowed when there are none.
fn escaped(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(crate::text::Escaped(s).to_string())
    } else {
        Cow::Borrowed(s)
    }
}

fn number<T: ToString>(n: Option<T>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// Writes the header and `rows` as CSV to `w`.
pub fn write_report<W: Write>(w: W, rows: impl IntoIterator<Item = ReportRow>) -> io::Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(COLUMNS)?;
    for r in rows {
        let error_code = r.error_code.as_deref().unwrap_or("");
        out.write_record([
            r.row.to_string().as_str(),
            &neutralise(&r.action),
            &neutralise(&escaped(&r.key)),
            r.outcome.as_str(),
            &number(r.freshdesk_id),
            &number(r.http_status),
            &neutralise(error_code),
            &neutralise(&escaped(&r.message)),
        ])?;
    }
    out.flush()
}

/// `<path>.tmp`: the name the report is written under before the rename.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Writes the report to `path` atomically: `<path>.tmp` first, fsynced, then renamed over `path`,
/// then the directory fsynced, so a crash leaves either the old report or the whole new one.
pub fn write_report_file(path: &Path, rows: impl IntoIterator<Item = ReportRow>) -> io::Result<()> {
    write_atomically(path, |w| write_report(w, rows))
}

/// Writes `path` through `body` atomically (0600, see [`write_report_file`]); returns `body`'s value.
pub fn write_atomically<T>(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<File>) -> io::Result<T>,
) -> io::Result<T> {
    let tmp = temp_path(path);
    let result = (|| -> io::Result<T> {
        let mut file = BufWriter::new(crate::private::create_file(&tmp, true)?);
        let value = body(&mut file)?;
        file.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    let value = result?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    File::open(dir)?.sync_all()?;
    Ok(value)
}

/// A file's name reduced to a safe stem: its stem, anything but `[A-Za-z0-9._-]` replaced by `_`.
pub fn safe_stem(name: &str) -> String {
    let stem = Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or("file");
    stem.chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' })
        .collect()
}

/// Where file `file_id` (named `name`) has its rejects file in `state_dir`'s `reports/`, if it has
/// one: `<id>-<stem>.rejects.csv`, or `.rejects.ndjson` for JSON input.
pub fn rejects_path(state_dir: &Path, file_id: i64, name: &str) -> Option<PathBuf> {
    let reports = state_dir.join("reports");
    rejects::Format::ALL
        .iter()
        .map(|f| reports.join(rejects::file_name(file_id, name, *f)))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key: &str, message: &str) -> ReportRow {
        ReportRow {
            row: 3,
            action: "create_ticket".into(),
            key: key.into(),
            outcome: Outcome::Created,
            freshdesk_id: Some(43026449322),
            http_status: Some(201),
            error_code: None,
            message: message.into(),
        }
    }

    #[test]
    fn each_formula_lead_character_is_neutralised() {
        for lead in ["=", "+", "-", "@", "\t", "\r"] {
            let cell = format!("{lead}HYPERLINK(\"http://x\")");
            assert_eq!(neutralise(&cell), format!("'{cell}"), "lead {lead:?}");
        }
    }

    #[test]
    fn plain_text_and_plain_numbers_are_left_alone() {
        for cell in ["jane@example.com", "", "created", "-5", "+3.25", "42", "a=b"] {
            assert_eq!(neutralise(cell), cell);
        }
        for cell in ["-", "-1+1", "+.5", "-5.", "--5", "-1e3"] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell}");
        }
    }

    #[test]
    fn restore_takes_off_exactly_the_quote_neutralise_added() {
        for cell in ["=x", "-5 degrees", "'=x", "''@a", "'", "'plain", "-5", "'-5", "", "\tx", "\r=1", "a'b"]
        {
            assert_eq!(restore(&neutralise(cell)), cell, "{cell:?}");
        }
        assert_eq!(neutralise("'=x"), "''=x", "a quote already there is kept");
        assert_eq!(restore("'=HYPERLINK(1)"), "=HYPERLINK(1)");
        assert_eq!(restore("'plain"), "'plain", "a quote before plain text is the cell's own");
        assert_eq!(restore("'-5"), "'-5", "neutralise never quotes a number");
    }

    proptest::proptest! {
        #[test]
        fn restore_undoes_neutralise_for_any_cell(cell in "['=+@\t\r-]{0,3}[a-z0-9 .=']{0,6}") {
            let written = neutralise(&cell);
            proptest::prop_assert_eq!(restore(&written), cell.as_str());
        }
    }

    #[test]
    fn the_report_has_the_exact_header_and_round_trips_through_the_csv_crate() {
        let mut bad = row("=cmd|' /C calc'!A0", "line one,\n\"quoted\"");
        bad.outcome = Outcome::Failed;
        bad.freshdesk_id = None;
        bad.http_status = Some(400);
        bad.error_code = Some("invalid_value".into());
        let mut buf = Vec::new();
        write_report(&mut buf, [row("jane@example.com", "ok"), bad]).unwrap();
        let text = String::from_utf8(buf.clone()).unwrap();
        assert!(text.starts_with("row,action,key,outcome,freshdesk_id,http_status,error_code,message\n"));
        let mut reader = csv::Reader::from_reader(&buf[..]);
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(
            &rows[0],
            vec!["3", "create_ticket", "jane@example.com", "created", "43026449322", "201", "", "ok"]
        );
        assert_eq!(&rows[1][2], "'=cmd|' /C calc'!A0");
        assert_eq!((&rows[1][3], &rows[1][4], &rows[1][5]), ("failed", "", "400"));
        assert_eq!(&rows[1][6], "invalid_value");
        // A line break from the input is shown, not kept: a reader that is not CSV-aware sees one line.
        assert_eq!(&rows[1][7], "line one,\\n\"quoted\"");
    }

    #[test]
    fn the_report_file_is_written_whole_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tickets.csv.report.csv");
        std::fs::write(&path, "old").unwrap();
        write_report_file(&path, [row("k", "m")]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(!temp_path(&path).exists());
        assert_eq!(temp_path(&path).file_name().unwrap(), "tickets.csv.report.csv.tmp");
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("r.csv");
        assert!(write_report_file(&path, [row("k", "m")]).is_err());
        assert!(!temp_path(&path).exists());
    }
}
