//! Reading input files into operations, one record at a time: a 1 M-row file never sits in memory.
//!
//! [`open`] / [`parse_reader`] give a [`Reader`], an iterator of [`Record`]s: each is either a
//! validated [`Op`] or an `Invalid` row listing every field problem. Whole-file problems (not
//! UTF-8, no header, broken JSON, …) are an [`Error`]; after one, the iterator ends.
//!
//! Row numbers are 1-based record numbers: the first data record is row 1 (a CSV header is not
//! counted), the same for JSON array elements and NDJSON lines. Blank records are skipped and
//! **not** counted: empty NDJSON lines, CSV rows whose every cell is blank. Blank cells and JSON
//! `null` mean "absent". Unknown columns are ignored and listed by [`Reader::ignored_columns`];
//! fdsync's own `fdsync_error` / `fdsync_record` (a rejects file dropped back in) are ignored
//! without being listed. [`Reader::last_raw`] gives the record just read as it was written.
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
//! - Bounds ([`Limits`]): a record over 1 MiB is an invalid row and reading goes on with the
//!   next record (CSV: the next record; NDJSON: the next line; JSON array: the end of the element,
//!   found by the scanner, so a JSON file is never rejected for one big record). A CSV header over
//!   64 KiB rejects the file. A row whose request body would pass `limits.max_request_bytes` is
//!   invalid, naming its largest field. No record is held beyond its cap.
//! - Every cell, header name or key echoed in a message goes through [`crate::text::shown`]
//!   (escaped, cut at 200 characters).
//! - [`open_file`] opens an input once, without following a symlink or blocking on a FIFO, and
//!   accepts only a regular file; the caller hashes and parses from that one handle.
//!
//! This module parses and validates; it does no network, journal or file-moving work.

mod bound;
mod csv;
mod fields;
mod json;
mod row;
pub mod settle;
mod size;

#[cfg(test)]
mod tests;

use crate::domain::{Action, FieldError, Op};
use std::fs::File;
use std::io::{self, Chain, Cursor, Read, Seek};
use std::path::Path;

/// The size bounds of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest record (CSV record, JSON element, NDJSON line) read; larger is an invalid row.
    pub max_record: usize,
    /// The largest CSV header line; larger rejects the file.
    pub max_header: usize,
    /// The largest request body a row may make (`limits.max_request_bytes`).
    pub max_request: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_record: 1 << 20, max_header: 64 << 10, max_request: 16 << 20 }
    }
}

impl Limits {
    /// The default record caps with the configured request limit.
    pub fn with_max_request(max_request: usize) -> Self {
        Self { max_request, ..Self::default() }
    }
}

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
    #[error("the header row is larger than {limit} bytes; the file is not read")]
    HeaderTooLarge { limit: usize },
    /// Not a regular file: a symlink, FIFO, socket, device or folder.
    #[error("not a regular file but {kind}; only regular files are read")]
    NotRegular { kind: &'static str },
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The input with its UTF-8 BOM (if any) already consumed.
type Unbom<R> = Chain<Cursor<Vec<u8>>, R>;

fn strip_bom<R: Read>(mut reader: R) -> io::Result<Unbom<R>> {
    // Every leading mark, not just one: the csv crate strips one more only when its first read
    // happens to hold all three bytes, which would make the result depend on read sizes.
    let mut head = Vec::with_capacity(3);
    loop {
        head.clear();
        (&mut reader).take(3).read_to_end(&mut head)?;
        if head != BOM {
            return Ok(Cursor::new(head).chain(reader));
        }
    }
}

/// One source per reader, so the size gap between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
enum Source<R: Read> {
    Csv(self::csv::CsvSource<Unbom<R>>),
    Json(json::JsonSource<Unbom<R>>),
}

/// Streams the records of one input. See the module docs for row numbering.
pub struct Reader<R: Read> {
    source: Source<R>,
    default_action: Option<Action>,
    max_request: usize,
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

/// The record just read, as it was written in the input (for the rejects file).
#[derive(Debug, Clone, Copy)]
pub enum Raw<'a> {
    /// CSV cells, unquoted; `None` when the record was over the cap and only its start was kept.
    Csv(Option<&'a ::csv::ByteRecord>),
    /// The JSON element or NDJSON line; `None` when it was over the cap.
    Json(Option<&'a [u8]>),
}

impl<R: Read> Reader<R> {
    /// The record the iterator returned last, as written; meaningful after an `Ok` item.
    pub fn last_raw(&self) -> Raw<'_> {
        match &self.source {
            Source::Csv(s) => Raw::Csv(s.last_raw()),
            Source::Json(s) => Raw::Json(s.last_raw()),
        }
    }

    /// The CSV header row as written; `None` for JSON and NDJSON.
    pub fn csv_header(&self) -> Option<&::csv::StringRecord> {
        match &self.source {
            Source::Csv(s) => Some(s.header()),
            Source::Json(_) => None,
        }
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<Record, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let mut item = match &mut self.source {
            Source::Csv(s) => s.next_record(self.default_action),
            Source::Json(s) => s.next_record(self.default_action),
        };
        if let Some(Ok(Record::Op { row, op })) = &item
            && let Some(error) = size::check(op, self.max_request)
        {
            let (row, action) = (*row, Some(op.action()));
            item = Some(Ok(Record::Invalid { row, action, key_hint: None, errors: vec![error] }));
        }
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
    parse_reader_with(reader, format, default_action, &Limits::default())
}

/// [`parse_reader`] with explicit [`Limits`].
pub fn parse_reader_with<R: Read>(
    reader: R,
    format: Format,
    default_action: Option<Action>,
    limits: &Limits,
) -> Result<Reader<R>, Error> {
    let input = strip_bom(reader)?;
    let source = match format {
        Format::Csv => Source::Csv(self::csv::CsvSource::new(input, limits)?),
        Format::Json => Source::Json(json::JsonSource::new(input, false, limits.max_record)?),
        Format::Ndjson => Source::Json(json::JsonSource::new(input, true, limits.max_record)?),
    };
    Ok(Reader { source, default_action, max_request: limits.max_request, finished: false })
}

/// Opens `path` for reading once: no symlink is followed (`O_NOFOLLOW`), a FIFO does not block
/// the open (`O_NONBLOCK`), and the handle is `fstat`ed: anything but a regular file is
/// [`Error::NotRegular`]. Hash and parse from the returned handle, never from `path` again.
pub fn open_file(path: &Path) -> Result<File, Error> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let flags = (OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY).bits();
    let file = match std::fs::OpenOptions::new().read(true).custom_flags(flags as i32).open(path) {
        Ok(f) => f,
        // O_NOFOLLOW on a symlink fails with ELOOP.
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(Error::NotRegular { kind: "a symbolic link" });
        }
        Err(e) => return Err(Error::Io(e)),
    };
    let t = file.metadata()?.file_type();
    if !t.is_file() {
        return Err(Error::NotRegular { kind: kind_of(&t) });
    }
    // Reads block normally from here on; the flag only kept the open from waiting.
    rustix::fs::fcntl_setfl(&file, OFlags::empty()).map_err(io::Error::from)?;
    Ok(file)
}

/// What a directory entry is, in words ("a symbolic link", "a FIFO (named pipe)", …).
pub fn kind_of(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_file() {
        "a regular file"
    } else if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// Starts reading an opened input from its start; `path` (or the name it came under) gives the
/// extension for [`Format::detect`].
pub fn from_file(
    mut file: File,
    path: &Path,
    default_action: Option<Action>,
    limits: &Limits,
) -> Result<Reader<File>, Error> {
    file.rewind()?;
    let mut head = Vec::with_capacity(64);
    (&mut file).take(64).read_to_end(&mut head)?;
    file.rewind()?;
    parse_reader_with(file, Format::detect(path, &head), default_action, limits)
}

/// Opens `path` (see [`open_file`]), detects its format, and starts reading it.
pub fn open(path: &Path, default_action: Option<Action>) -> Result<Reader<File>, Error> {
    from_file(open_file(path)?, path, default_action, &Limits::default())
}
