//! CSV input: reads the header once, maps each column through the alias table, then streams one
//! `csv::StringRecord` at a time (reused) into the row builder. A row with the wrong number of
//! fields is an invalid row, not a file error (the reader runs in flexible mode).

use super::fields::{Cell, Column, Field, RowFields};
use super::{Error, Record, row};
use crate::domain::{Action, FieldError};
use std::io::Read;

/// A header column: its name as written (trimmed) and what it means.
struct HeaderColumn {
    name: String,
    meaning: Column,
}

pub(crate) struct CsvSource<R: Read> {
    reader: csv::Reader<R>,
    columns: Vec<HeaderColumn>,
    ignored: Vec<String>,
    record: csv::StringRecord,
    /// Data records returned so far (blank records are not counted).
    row: u64,
}

impl<R: Read> CsvSource<R> {
    /// Reads and checks the header row.
    pub(crate) fn new(input: R) -> Result<Self, Error> {
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
        let mut header = csv::StringRecord::new();
        match reader.read_record(&mut header) {
            Ok(true) => {}
            Ok(false) => return Err(Error::NoHeader),
            Err(e) => return Err(csv_error(e, 0)),
        }
        let columns = header_columns(&header)?;
        if columns.iter().all(|c| c.meaning == Column::Unknown) {
            let names: Vec<&str> = columns.iter().take(5).map(|c| c.name.as_str()).collect();
            return Err(Error::NoKnownColumns { found: names.join(", ") });
        }
        let ignored =
            columns.iter().filter(|c| c.meaning == Column::Unknown).map(|c| c.name.clone()).collect();
        Ok(Self { reader, columns, ignored, record: csv::StringRecord::new(), row: 0 })
    }

    pub(crate) fn ignored(&self) -> &[String] {
        &self.ignored
    }

    pub(crate) fn next_record(&mut self, default: Option<Action>) -> Option<Result<Record, Error>> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(csv_error(e, self.row + 1))),
            }
            if self.record.iter().all(|cell| cell.trim().is_empty()) {
                continue;
            }
            self.row += 1;
            return Some(Ok(build_row(self.row, &self.columns, &self.record, default)));
        }
    }
}

/// Names and meanings of the header columns; empty names and fields given twice are errors.
fn header_columns(header: &csv::StringRecord) -> Result<Vec<HeaderColumn>, Error> {
    let mut columns: Vec<HeaderColumn> = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let name = raw.trim().trim_start_matches('\u{feff}').trim().to_string();
        if name.is_empty() {
            return Err(Error::EmptyHeader { column: i + 1 });
        }
        let meaning = Field::from_name(&name);
        let clash = |c: &HeaderColumn| match (&c.meaning, &meaning) {
            (Column::Known(a), Column::Known(b)) => a == b,
            (Column::Custom(a), Column::Custom(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        if let Some(first) = columns.iter().position(clash) {
            return Err(Error::DuplicateHeader { name, first: first + 1, second: i + 1 });
        }
        columns.push(HeaderColumn { name, meaning });
    }
    Ok(columns)
}

fn build_row(
    row: u64,
    columns: &[HeaderColumn],
    record: &csv::StringRecord,
    default: Option<Action>,
) -> Record {
    let mut fields = RowFields::default();
    for (column, cell) in columns.iter().zip(record.iter()) {
        match &column.meaning {
            Column::Known(field) => fields.set(*field, &column.name, Cell::Text(cell)),
            Column::Custom(api_name) if !cell.trim().is_empty() => {
                fields.custom.push((&column.name, api_name, Cell::Text(cell)))
            }
            _ => {}
        }
    }
    let mut extra = Vec::new();
    if record.len() != columns.len() {
        extra.push(FieldError::new(
            "fields",
            format!("the row has {} fields but the header has {}", record.len(), columns.len()),
        ));
    }
    row::build(row, &fields, default, extra)
}

/// Maps a csv error; `row` is the record being read (0 for the header).
fn csv_error(e: csv::Error, row: u64) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::Io(io),
        csv::ErrorKind::Utf8 { pos, err } => {
            Error::NotUtf8 { row, byte: pos.map_or(0, |p| p.byte()) + err.valid_up_to() as u64 }
        }
        other => Error::BrokenCsv { line, reason: format!("{other:?}") },
    }
}
