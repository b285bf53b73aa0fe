//! CSV input: reads the header once, maps each column through the alias table, then streams one
//! record at a time (reused buffers) into the row builder. A row with the wrong number of fields
//! is an invalid row, not a file error (the reader runs in flexible mode). Records reach the csv
//! crate through [`Bounded`], so a record over the cap arrives cut and becomes an invalid row,
//! and a header over its cap rejects the file; names echoed in errors go through `text::shown`.
//! A file with an `fdsync_error` column (a rejects file dropped back) has the `'` fdsync put
//! before formula leads taken off each cell ([`crate::report::restore`]).

use super::bound::{Bounded, HeaderTooLarge};
use super::fields::{Cell, Column, Field, RowFields};
use super::{Error, Limits, Record, row};
use crate::domain::{Action, FieldError};
use crate::report::rejects::ERROR_COLUMN;
use crate::text::shown;
use std::io::Read;

/// A header column: its name as written (trimmed) and what it means.
struct HeaderColumn {
    name: String,
    meaning: Column,
}

pub(crate) struct CsvSource<R: Read> {
    reader: csv::Reader<Bounded<R>>,
    /// The header row as written (for the rejects file).
    header: csv::StringRecord,
    columns: Vec<HeaderColumn>,
    ignored: Vec<String>,
    bytes: csv::ByteRecord,
    record: csv::StringRecord,
    max_record: usize,
    /// Data records returned so far (blank records are not counted).
    row: u64,
    /// The last record returned was over the cap (`bytes` holds only its start).
    last_cut: bool,
    /// The header has `fdsync_error`: a rejects file dropped back, whose cells carry the `'`
    /// fdsync added before a formula lead ([`crate::report::restore`] takes it off).
    from_rejects: bool,
}

impl<R: Read> CsvSource<R> {
    /// Reads and checks the header row.
    pub(crate) fn new(input: R, limits: &Limits) -> Result<Self, Error> {
        let bounded = Bounded::new(input, limits.max_header, limits.max_record);
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bounded);
        let mut header = csv::StringRecord::new();
        match reader.read_record(&mut header) {
            Ok(true) => {}
            Ok(false) => return Err(Error::NoHeader),
            Err(e) => return Err(csv_error(e, 0)),
        }
        let columns = header_columns(&header)?;
        if columns.iter().all(|c| matches!(c.meaning, Column::Unknown | Column::Ours)) {
            let names: Vec<String> = columns.iter().take(5).map(|c| shown(&c.name)).collect();
            return Err(Error::NoKnownColumns { found: names.join(", ") });
        }
        let ignored =
            columns.iter().filter(|c| c.meaning == Column::Unknown).map(|c| shown(&c.name)).collect();
        let (bytes, record) = (csv::ByteRecord::new(), csv::StringRecord::new());
        let max_record = limits.max_record;
        let from_rejects =
            columns.iter().any(|c| c.meaning == Column::Ours && c.name.eq_ignore_ascii_case(ERROR_COLUMN));
        Ok(Self {
            reader,
            header,
            columns,
            ignored,
            bytes,
            record,
            max_record,
            row: 0,
            last_cut: false,
            from_rejects,
        })
    }

    pub(crate) fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// The header row's cells as written.
    pub(crate) fn header(&self) -> &csv::StringRecord {
        &self.header
    }

    /// The last record returned, cells as written; `None` when it was over the cap.
    pub(crate) fn last_raw(&self) -> Option<&csv::ByteRecord> {
        (!self.last_cut).then_some(&self.bytes)
    }

    pub(crate) fn next_record(&mut self, default: Option<Action>) -> Option<Result<Record, Error>> {
        loop {
            match self.reader.read_byte_record(&mut self.bytes) {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(csv_error(e, self.row + 1))),
            }
            self.last_cut = self.was_cut();
            if self.last_cut {
                self.row += 1;
                let reason = format!("the record is larger than {} bytes; it is skipped", self.max_record);
                let errors = vec![FieldError::new("record", reason)];
                return Some(Ok(Record::Invalid { row: self.row, action: None, key_hint: None, errors }));
            }
            let start = self.bytes.position().map_or(0, csv::Position::byte);
            match csv::StringRecord::from_byte_record(std::mem::take(&mut self.bytes)) {
                Ok(record) => self.record = record,
                Err(e) => {
                    let byte = start + e.utf8_error().valid_up_to() as u64;
                    return Some(Err(Error::NotUtf8 { row: self.row + 1, byte }));
                }
            }
            if self.record.iter().all(|cell| cell.trim().is_empty()) {
                self.bytes = std::mem::take(&mut self.record).into_byte_record();
                continue;
            }
            self.row += 1;
            let built = build_row(self.row, &self.columns, &self.record, default, self.from_rejects);
            self.bytes = std::mem::take(&mut self.record).into_byte_record();
            return Some(Ok(built));
        }
    }

    /// Whether the record just read was cut by [`Bounded`]: a cut starting before the reader's
    /// position belongs to it (earlier cuts were taken by earlier records).
    fn was_cut(&mut self) -> bool {
        let end = self.reader.position().byte();
        let cuts = &mut self.reader.get_mut().cuts;
        let mut cut = false;
        while cuts.front().is_some_and(|&start| start < end) {
            cuts.pop_front();
            cut = true;
        }
        cut
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
            return Err(Error::DuplicateHeader { name: shown(&name), first: first + 1, second: i + 1 });
        }
        // The name is only ever shown (a `cf_*` column's API name lives in `meaning`).
        columns.push(HeaderColumn { name: shown(&name), meaning });
    }
    Ok(columns)
}

fn build_row(
    row: u64,
    columns: &[HeaderColumn],
    record: &csv::StringRecord,
    default: Option<Action>,
    from_rejects: bool,
) -> Record {
    let mut fields = RowFields::default();
    for (column, cell) in columns.iter().zip(record.iter()) {
        let cell = if from_rejects { crate::report::restore(cell) } else { cell };
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
        csv::ErrorKind::Io(io) => match io.get_ref().and_then(|e| e.downcast_ref::<HeaderTooLarge>()) {
            Some(h) => Error::HeaderTooLarge { limit: h.limit },
            None => Error::Io(io),
        },
        csv::ErrorKind::Utf8 { pos, err } => {
            Error::NotUtf8 { row, byte: pos.map_or(0, |p| p.byte()) + err.valid_up_to() as u64 }
        }
        other => Error::BrokenCsv { line, reason: format!("{other:?}") },
    }
}
