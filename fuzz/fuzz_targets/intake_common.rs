//! Shared driver of the three intake targets.
//!
//! Input layout: byte 0 is a control byte, the rest is the file.
//! - `ctl & 7` picks the default action (`--action`): 1..=4 one of the four actions, else none.
//! - `ctl >> 3` picks a chunk size (1..=32 bytes) for a second pass through a reader that
//!   hands the file over in small pieces; both passes must give the same records and errors.

use fdsync::domain::Action;
use fdsync::intake::{Error, Format, Record, parse_reader};
use std::io::Read;

/// Hands the input out `chunk` bytes at a time (exercises buffer boundaries, the BOM chain).
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// What one pass produced: every record, then the file error (as text) if one ended it.
#[derive(Debug, PartialEq)]
struct Outcome {
    header_error: Option<String>,
    records: Vec<Record>,
    error: Option<String>,
    ignored: Vec<String>,
}

fn pass<R: Read>(input: R, format: Format, default: Option<Action>, data: &[u8]) -> Outcome {
    let mut reader = match parse_reader(input, format, default) {
        Ok(r) => r,
        Err(e) => {
            check_header_error(&e, format);
            return Outcome { header_error: Some(e.to_string()), records: vec![], error: None, ignored: vec![] };
        }
    };
    let mut records = Vec::new();
    let mut error = None;
    for item in reader.by_ref() {
        match item {
            Ok(record) => {
                // Rows are 1-based and consecutive: blank records are skipped and not counted.
                let expected = records.len() as u64 + 1;
                assert_eq!(record.row(), expected, "row numbers must be 1, 2, 3, ... ({record:?})");
                if let Record::Invalid { errors, .. } = &record {
                    assert!(!errors.is_empty(), "an invalid row must list a problem: {record:?}");
                }
                records.push(record);
            }
            Err(e) => {
                check_data_error(&e, records.len() as u64, format);
                error = Some(e.to_string());
                break;
            }
        }
    }
    // After the end (or a file error) the iterator stays finished.
    assert!(reader.next().is_none(), "the reader yielded after its end");
    let n = records.len();
    // A record needs at least one line (NDJSON, CSV) or one element (JSON): the same bound the
    // intake proptests use. CSV's header takes a line too.
    let breaks = data.iter().filter(|b| matches!(b, b'\n' | b'\r')).count();
    match format {
        Format::Csv => assert!(n + 1 <= breaks + 1, "{n} CSV records from {breaks} line breaks"),
        Format::Ndjson => assert!(n <= data.iter().filter(|b| **b == b'\n').count() + 1),
        Format::Json => assert!(n <= data.iter().filter(|b| matches!(b, b',' | b'[')).count()),
    }
    let ignored = reader.ignored_columns().to_vec();
    assert!(ignored.iter().all(|c| !c.is_empty()) || format != Format::Csv, "an ignored CSV column without a name");
    Outcome { header_error: None, records, error, ignored }
}

/// A header (or opening) error: positions are 0 or 1-based as documented.
fn check_header_error(e: &Error, format: Format) {
    match e {
        Error::NotUtf8 { row, .. } => {
            if format == Format::Csv {
                assert_eq!(*row, 0, "a header that is not UTF-8 is row 0: {e:?}");
            }
        }
        Error::EmptyHeader { column } => assert!(*column >= 1, "{e:?}"),
        Error::DuplicateHeader { first, second, .. } => assert!(1 <= *first && first < second, "{e:?}"),
        _ => {}
    }
}

/// A file error after `n` good records: it names record `n` or `n + 1` (never a later one).
fn check_data_error(e: &Error, n: u64, format: Format) {
    match e {
        Error::NotUtf8 { row, .. } => assert_eq!(*row, n + 1, "a bad record is the next one: {e:?}"),
        Error::BrokenJson { row, line, column, .. } => {
            assert_ne!(format, Format::Ndjson, "a broken NDJSON line is an invalid row, not a file error");
            assert!(*row == n || *row == n + 1, "broken JSON names record {row} after {n}: {e:?}");
            assert!(*line >= 1 && *column >= 1, "lines and columns are 1-based: {e:?}");
        }
        Error::BrokenCsv { .. } | Error::Io(_) => assert_eq!(format, Format::Csv, "{e:?}"),
        other => panic!("a header-only error after the header: {other:?}"),
    }
}

pub fn run(data: &[u8], format: Format) {
    let Some((&ctl, file)) = data.split_first() else { return };
    let default = match ctl & 7 {
        1 => Some(Action::CreateTicket),
        2 => Some(Action::CreateAgent),
        3 => Some(Action::GetAgent),
        4 => Some(Action::DeleteAgent),
        _ => None,
    };
    let chunk = usize::from(ctl >> 3) + 1;
    let whole = pass(file, format, default, file);
    let pieces = pass(Chunked { data: file, chunk }, format, default, file);
    assert_eq!(whole, pieces, "reading in {chunk}-byte pieces changed the result");
    // Format sniffing never panics either.
    let _ = Format::detect(std::path::Path::new("drop"), file);
}
