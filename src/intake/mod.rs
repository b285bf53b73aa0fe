//! Reading input files into operations, one record at a time: a 1 M-row file never sits in memory.
//!
//! [`open`] / [`parse_reader`] give a [`Reader`], an iterator of [`Record`]s: each is either a
//! validated [`Op`] or an `Invalid` row listing every field problem. Whole-file problems (not
//! UTF-8, no header, broken JSON, …) are an [`Error`]; after one, the iterator ends.
//!
//! Row numbers are 1-based record numbers: the first data record is row 1 (a CSV header is not
//! counted), the same for JSON array elements and NDJSON lines. Blank records are skipped and
//! **not** counted: empty NDJSON lines, CSV rows whose every cell is blank. Blank cells and JSON
//! `null` mean "absent". Unknown columns are ignored and listed by [`Reader::ignored_columns`].
//!
//! Decisions, in one place:
//! - Header names and JSON keys share one alias table (`fields.rs`): case-insensitive, trimmed,
//!   `_`/`-`/spaces ignored (`ticketScope` = `ticket_scope`); `requester_email` = `email`;
//!   `agentID`/`id` = `agent_id`; `cf_*` columns become `custom_fields` (CSV values stay strings;
//!   JSON values keep their type; a JSON `custom_fields` object is merged in).
//! - A CSV header naming no known column at all is refused ([`Error::NoKnownColumns`]): the file
//!   most likely has no header. Two columns meaning the same field are [`Error::DuplicateHeader`].
//! - Required per action: create_ticket email, subject, description, priority, status (no
//!   defaults); create_agent email, ticket_scope, name; get_agent email; delete_agent agent_id
//!   (a positive integer; wins when both are given) or email. Fields of other actions are ignored.
//! - Lists (`tags`, `cc_emails`, `role_ids`, `group_ids`) are JSON arrays or text split on `;`,
//!   `|` and `,`, trimmed, blanks dropped. `occasional` takes true/false/yes/no/y/n/1/0.
//! - A CSV row with the wrong number of fields is an invalid row. A JSON array that is not valid
//!   JSON is a file error (its structure is lost); an NDJSON line that is not valid JSON is an
//!   invalid row (the next line is still fine). A JSON element that is not an object is an
//!   invalid row.
//!
//! This module parses and validates; it does no network, journal or file-moving work.

mod csv;
mod fields;
mod json;
mod row;
pub mod settle;

#[cfg(test)]
mod tests;

use crate::domain::{Action, FieldError, Op};
use std::io::{self, Chain, Cursor, Read, Seek};
use std::path::Path;

/// The input format of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// A top-level JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

impl Format {
    /// `.csv`, `.json`, `.ndjson`/`.jsonl` by extension (case-insensitive); otherwise sniffs the
    /// first non-blank byte after an optional BOM: `[` JSON array, `{` NDJSON, else CSV.
    pub fn detect(path: &Path, first_bytes: &[u8]) -> Format {
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("csv") => return Format::Csv,
            Some("json") => return Format::Json,
            Some("ndjson" | "jsonl") => return Format::Ndjson,
            _ => {}
        }
        let body = first_bytes.strip_prefix(BOM).unwrap_or(first_bytes);
        match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => Format::Json,
            Some(b'{') => Format::Ndjson,
            _ => Format::Csv,
        }
    }
}

/// One input record. Records are handled one at a time, so the size gap between the variants
/// costs nothing, while boxing the op would cost an allocation per row.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Record {
    Op {
        row: u64,
        op: Op,
    },
    /// A row that cannot run. `action` is known when the row named one validly; `key_hint` is the
    /// raw email / agent_id / external_id so the report can name the row.
    Invalid {
        row: u64,
        action: Option<Action>,
        key_hint: Option<String>,
        errors: Vec<FieldError>,
    },
}

impl Record {
    pub fn row(&self) -> u64 {
        match self {
            Record::Op { row, .. } | Record::Invalid { row, .. } => *row,
        }
    }
}

/// A whole-file problem: the file cannot be read as a whole, so no further records follow.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the input: {0}")]
    Io(#[from] io::Error),
    /// `row` 0 is the CSV header; `byte` is the offset in the file (after a BOM).
    #[error("row {row} is not valid UTF-8 (near byte {byte})")]
    NotUtf8 { row: u64, byte: u64 },
    #[error("the file has no header row (CSV needs one naming the columns)")]
    NoHeader,
    /// The first row names no column fdsync knows: most likely the header row is missing.
    #[error("the header row names no known column (found: {found}); is the header row missing?")]
    NoKnownColumns { found: String },
    #[error("header column {column} has an empty name")]
    EmptyHeader { column: usize },
    #[error("header '{name}' is given twice (columns {first} and {second})")]
    DuplicateHeader { name: String, first: usize, second: usize },
    #[error("broken CSV at line {line}: {reason}")]
    BrokenCsv { line: u64, reason: String },
    #[error("broken JSON at line {line}, column {column} (record {row}): {reason}")]
    BrokenJson { row: u64, line: u64, column: u64, reason: String },
    #[error("a JSON file must be an array of objects, but it starts with {found}")]
    NotAnArray { found: String },
    #[error("record {row} is larger than {limit} bytes")]
    RecordTooLarge { row: u64, limit: usize },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The input with its UTF-8 BOM (if any) already consumed.
type Unbom<R> = Chain<Cursor<Vec<u8>>, R>;

fn strip_bom<R: Read>(mut reader: R) -> io::Result<Unbom<R>> {
    let mut head = Vec::with_capacity(3);
    (&mut reader).take(3).read_to_end(&mut head)?;
    if head == BOM {
        head.clear();
    }
    Ok(Cursor::new(head).chain(reader))
}

enum Source<R: Read> {
    Csv(self::csv::CsvSource<Unbom<R>>),
    Json(json::JsonSource<Unbom<R>>),
}

/// Streams the records of one input. See the module docs for row numbering.
pub struct Reader<R: Read> {
    source: Source<R>,
    default_action: Option<Action>,
    finished: bool,
}

impl<R: Read> Reader<R> {
    /// Columns (CSV headers or JSON keys, as written) that fdsync does not use. For JSON the list
    /// grows as records are read; it is complete once the iterator has ended.
    pub fn ignored_columns(&self) -> &[String] {
        match &self.source {
            Source::Csv(s) => s.ignored(),
            Source::Json(s) => s.ignored(),
        }
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let item = match &mut self.source {
            Source::Csv(s) => s.next_record(self.default_action),
            Source::Json(s) => s.next_record(self.default_action),
        };
        if !matches!(item, Some(Ok(_))) {
            self.finished = true;
        }
        item
    }
}

/// Starts reading `reader` as `format`. Reads the CSV header (or the JSON array's `[`) at once,
/// so header problems are returned here. `default_action` applies to rows without an `action`.
pub fn parse_reader<R: Read>(
    reader: R,
    format: Format,
    default_action: Option<Action>,
) -> Result<Reader<R>, Error> {
    let input = strip_bom(reader)?;
    let source = match format {
        Format::Csv => Source::Csv(self::csv::CsvSource::new(input)?),
        Format::Json => Source::Json(json::JsonSource::new(input, false)?),
        Format::Ndjson => Source::Json(json::JsonSource::new(input, true)?),
    };
    Ok(Reader { source, default_action, finished: false })
}

/// Opens `path`, detects its format, and starts reading it.
pub fn open(path: &Path, default_action: Option<Action>) -> Result<Reader<std::fs::File>, Error> {
    let mut file = std::fs::File::open(path)?;
    let mut head = Vec::with_capacity(64);
    (&mut file).take(64).read_to_end(&mut head)?;
    file.rewind()?;
    parse_reader(file, Format::detect(path, &head), default_action)
}
