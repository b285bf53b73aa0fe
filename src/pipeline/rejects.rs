//! The rejects file of a finished file ([`crate::report::rejects`]): which rows (outcome
//! `failed`: invalid, or refused by Freshdesk; never `unverifiable_answer`, whose change may have
//! happened), read from the input where the journal says it is now, written beside the report.
//!
//! The input is opened again and its sha256 checked against the journal's: a missing or changed
//! input gets no rejects file (a warning says why), since its rows would not be the ones that
//! failed. Reading runs on a blocking thread, record by record through the intake (so row
//! numbers are the journal's), hands each rejected record to the report's writer as it is read,
//! and stops after the last rejected row. A file with no rejected row has no rejects file (a
//! stale one is removed).

use super::Error;
use super::input::{open_input, sha256_of};
use crate::domain::Outcome;
use crate::intake::{self, Raw, Reader};
use crate::journal::FileRecord;
use crate::report::rejects::{self, Format, RejectsWriter, Written};
use crate::report::{self, ReportRow};
use crate::text::Shown;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// One rejected row: its number in the input (the journal's) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reject {
    row: u64,
    error: String,
}

/// Writes (or removes) the rejects file of `file`, whose report lines are `rows`; returns its path.
pub(super) async fn write(
    file: &FileRecord,
    state_dir: &Path,
    rows: &[ReportRow],
) -> Result<Option<PathBuf>, Error> {
    let wanted: Vec<Reject> = rows
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .map(|r| Reject { row: r.row, error: reason(r) })
        .collect();
    let reports = state_dir.join("reports");
    let (id, name) = (file.id, file.name.clone());
    if wanted.is_empty() {
        for format in Format::ALL {
            let _ = std::fs::remove_file(reports.join(rejects::file_name(id, &name, format)));
        }
        return Ok(None);
    }
    let (input, sha) = (PathBuf::from(&file.path), file.sha256.clone());
    let task = tokio::task::spawn_blocking(move || write_from(&input, &sha, id, &name, &reports, &wanted));
    task.await.map_err(|e| Error::Io { path: PathBuf::from(&file.path), source: std::io::Error::other(e) })?
}

/// Why a row is in the rejects file: its message, else its error code.
fn reason(r: &ReportRow) -> String {
    match (r.message.is_empty(), &r.error_code) {
        (false, _) => r.message.clone(),
        (true, Some(code)) => code.clone(),
        (true, None) => "failed".into(),
    }
}

fn write_from(
    input: &Path,
    sha: &str,
    id: i64,
    name: &str,
    reports: &Path,
    wanted: &[Reject],
) -> Result<Option<PathBuf>, Error> {
    let file = match open_input(input) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(file_id = id, file = %Shown(name), error = %e, "Input cannot be read again; no rejects file.");
            return Ok(None);
        }
    };
    if sha256_of(&file, input)? != sha {
        tracing::warn!(file_id = id, file = %Shown(name), "Input changed since it was taken; no rejects file.");
        return Ok(None);
    }
    let limits = intake::Limits::default();
    let mut reader = intake::from_file(file, Path::new(name), None, &limits)
        .map_err(|source| Error::Input { path: input.to_path_buf(), source })?;
    let dest = reports.join(rejects::file_name(id, name, Format::of(reader.csv_header())));
    let io = |source| Error::Io { path: dest.clone(), source };
    crate::private::create_dir(reports).map_err(io)?;
    report::write_atomically(&dest, |w| write_rejects(&mut reader, wanted, w)).map_err(io)?;
    Ok(Some(dest))
}

/// Writes the records of `input` named in `wanted` (ascending rows) to `out` as a rejects file,
/// one at a time; returns how many were found. An input that turns out unreadable (it changed
/// since it was taken) is an error.
fn write_rejects<R: Read, W: Write>(input: &mut Reader<R>, wanted: &[Reject], out: W) -> io::Result<u64> {
    let mut writer = RejectsWriter::new(input.csv_header(), out)?;
    let mut want = wanted.iter().peekable();
    let mut found = 0;
    while want.peek().is_some() {
        let Some(item) = input.next() else { break };
        let row = item.map_err(io::Error::other)?.row();
        while want.next_if(|r| r.row < row).is_some() {}
        if let Some(r) = want.next_if(|r| r.row == row) {
            let record = match input.last_raw() {
                Raw::Csv(cells) => Written::Csv(cells),
                Raw::Json(text) => Written::Json(text),
            };
            writer.write(record, &r.error)?;
            found += 1;
        }
    }
    writer.finish()?;
    Ok(found)
}

#[cfg(test)]
mod tests;
