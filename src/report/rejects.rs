//! The rejects file: the rows of an input that did not run (invalid, or refused by Freshdesk), as
//! they were in the input, plus why, in a file that can be fixed and dropped back into an inbox.
//!
//! - CSV input gives `<id>-<stem>.rejects.csv`: the input's header as written plus an
//!   `fdsync_error` column (reused in place when the input has one: a rejects file dropped back
//!   in), then each rejected row's cells as written, a short row padded to the header.
//! - JSON and NDJSON input give `<id>-<stem>.rejects.ndjson`: each rejected object on one line,
//!   its keys and values as written and in their order, plus an `fdsync_error` key. A record that
//!   is not an object (or not JSON) is kept as text under `fdsync_record`.
//! - A record over the intake's size cap was never kept: its line has empty cells (`{}` plus the
//!   error), and the error says why.
//!
//! CSV cells are written as written except that a formula lead (`=`, `+`, `-`, `@`, tab, CR) gets
//! a leading `'`, as in the report ([`super::neutralise`]): HR opens this file in a spreadsheet.
//! The intake takes exactly that `'` off again when it reads a CSV with an `fdsync_error` column
//! ([`super::restore`]), so a fixed file dropped back sends the original values; a rejects file of
//! a rejects file is restored first, then neutralised, so the quotes never pile up. The
//! `fdsync_error` cell is fdsync's own text, escaped and neutralised. NDJSON values are written
//! unchanged (no spreadsheet opens them). The intake ignores `fdsync_error` and `fdsync_record`.
//!
//! Streaming: whoever reads the input (the pipeline, through the intake) hands the rejected
//! records over one at a time ([`RejectsWriter::write`], as [`Written`]), so no more than one
//! record is held. This module reads no input. Pure apart from the writer it is given.

use csv::{ByteRecord, StringRecord};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::io::{self, Write};

/// The column (CSV) or key (JSON) holding why a row was rejected.
pub const ERROR_COLUMN: &str = "fdsync_error";
/// The key holding a JSON record that is not an object, as text.
pub const RECORD_KEY: &str = "fdsync_record";

/// The rejects file's format, from the input's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// For JSON arrays and NDJSON alike: one object per line.
    Ndjson,
}

impl Format {
    pub const ALL: [Format; 2] = [Format::Csv, Format::Ndjson];

    /// The format of the rejects of an input with this CSV header (`None`: JSON or NDJSON).
    pub fn of(csv_header: Option<&StringRecord>) -> Format {
        if csv_header.is_some() { Format::Csv } else { Format::Ndjson }
    }

    fn suffix(self) -> &'static str {
        match self {
            Format::Csv => "rejects.csv",
            Format::Ndjson => "rejects.ndjson",
        }
    }
}

/// `<id>-<stem>.rejects.csv` / `.rejects.ndjson`, beside `<id>-<stem>.report.csv`.
pub fn file_name(file_id: i64, name: &str, format: Format) -> String {
    format!("{file_id}-{}.{}", super::safe_stem(name), format.suffix())
}

/// A rejected record as the input wrote it.
#[derive(Debug, Clone, Copy)]
pub enum Written<'a> {
    /// CSV cells, unquoted; `None` when the record was over the intake's cap and was not kept.
    Csv(Option<&'a ByteRecord>),
    /// The JSON element or NDJSON line; `None` when it was over the cap.
    Json(Option<&'a [u8]>),
}

/// A rejects file being written: the header (CSV) when made, then one record per
/// [`RejectsWriter::write`], in the format of [`Format::of`] the input's header.
pub struct RejectsWriter<W: Write> {
    out: Out<W>,
}

enum Out<W: Write> {
    /// `existing`: the input's own `fdsync_error` column; `at`: where the error goes.
    Csv {
        w: Box<csv::Writer<W>>,
        existing: Option<usize>,
        at: usize,
    },
    Ndjson(W),
}

impl<W: Write> RejectsWriter<W> {
    /// Starts the rejects file of an input with this CSV header (`None`: JSON or NDJSON).
    pub fn new(csv_header: Option<&StringRecord>, out: W) -> io::Result<Self> {
        let Some(header) = csv_header else { return Ok(Self { out: Out::Ndjson(out) }) };
        let mut w = csv::WriterBuilder::new().flexible(true).from_writer(out);
        let existing = header.iter().position(|h| h.trim().eq_ignore_ascii_case(ERROR_COLUMN));
        let mut head: Vec<&str> = header.iter().collect();
        if existing.is_none() {
            head.push(ERROR_COLUMN);
        }
        w.write_record(&head)?;
        // The error's column: the input's own, else one past the header.
        let at = existing.unwrap_or(header.len());
        Ok(Self { out: Out::Csv { w: Box::new(w), existing, at } })
    }

    /// Writes one rejected record and why.
    pub fn write(&mut self, record: Written<'_>, error: &str) -> io::Result<()> {
        match &mut self.out {
            Out::Csv { w, existing, at } => write_csv(w, *existing, *at, record, error),
            Out::Ndjson(out) => {
                let text = match record {
                    Written::Json(text) => text,
                    Written::Csv(_) => None,
                };
                out.write_all(json_line(text, error).as_bytes())
            }
        }
    }

    /// Flushes what was written.
    pub fn finish(self) -> io::Result<()> {
        match self.out {
            Out::Csv { mut w, .. } => w.flush(),
            Out::Ndjson(mut out) => out.flush(),
        }
    }
}

/// The `fdsync_error` cell: control characters shown, formula leads neutralised.
fn error_cell(error: &str) -> String {
    super::neutralise(&super::escaped(error)).into_owned()
}

fn write_csv<W: Write>(
    w: &mut csv::Writer<W>,
    existing: Option<usize>,
    at: usize,
    record: Written<'_>,
    error: &str,
) -> io::Result<()> {
    let error = error_cell(error);
    let mut cells: Vec<Cow<'_, [u8]>> = match record {
        Written::Csv(Some(record)) => record.iter().map(|c| safe_cell(c, existing.is_some())).collect(),
        _ => Vec::new(),
    };
    if cells.len() < at {
        cells.resize(at, Cow::Borrowed(b""));
    }
    match existing {
        Some(i) if i < cells.len() => cells[i] = Cow::Borrowed(error.as_bytes()),
        _ => cells.push(Cow::Borrowed(error.as_bytes())),
    }
    w.write_record(&cells).map_err(io::Error::from)
}

/// An input cell as the rejects file holds it: neutralised; a cell of a rejects file dropped
/// back (`from_rejects`) is restored first. A cell that is not UTF-8 is kept as it is.
fn safe_cell(cell: &[u8], from_rejects: bool) -> Cow<'_, [u8]> {
    let Ok(text) = std::str::from_utf8(cell) else { return Cow::Borrowed(cell) };
    let value = if from_rejects { super::restore(text) } else { text };
    match super::neutralise(value) {
        Cow::Borrowed(v) if v.len() == cell.len() => Cow::Borrowed(cell),
        other => Cow::Owned(other.into_owned().into_bytes()),
    }
}

/// One NDJSON line (with its `\n`): the object as written plus `fdsync_error`.
fn json_line(raw: Option<&[u8]>, error: &str) -> String {
    let error = serde_json::Value::from(error).to_string();
    let Some(raw) = raw else { return format!("{{\"{ERROR_COLUMN}\":{error}}}\n") };
    let Ok(Entries(entries)) = serde_json::from_slice::<Entries>(raw) else {
        let record = serde_json::Value::from(String::from_utf8_lossy(raw).trim()).to_string();
        return format!("{{\"{RECORD_KEY}\":{record},\"{ERROR_COLUMN}\":{error}}}\n");
    };
    let mut line = String::from("{");
    for (key, value) in entries.iter().filter(|(k, _)| !k.trim().eq_ignore_ascii_case(ERROR_COLUMN)) {
        line.push_str(&serde_json::Value::from(key.as_str()).to_string());
        line.push(':');
        // Valid JSON has no raw line break inside a string: any is whitespace between tokens.
        line.push_str(&value.get().replace(['\n', '\r'], " "));
        line.push(',');
    }
    line.push_str(&format!("\"{ERROR_COLUMN}\":{error}}}\n"));
    line
}

/// A JSON object's entries in the order written, values untouched.
struct Entries(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(InOrder)
    }
}

#[cfg(test)]
mod tests;
