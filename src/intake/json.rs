//! JSON and NDJSON input, streamed. For a JSON array a small scanner finds each top-level
//! element's boundary (tracking strings, escapes and nesting depth) and serde_json parses that one
//! slice; only one record is ever held. NDJSON reads one line at a time; blank lines are skipped
//! and not counted, and a line that is not valid JSON is an invalid row (the next line is fine).
//!
//! A record over `max_record` bytes is never held: the scanner stops copying at the cap but keeps
//! tracking strings and nesting (array) or looks for the newline (NDJSON) to find where the record
//! ends, so the record becomes an invalid row and reading resumes with the next one. Resync is
//! therefore possible in both formats; only broken structure rejects a JSON array.

use super::fields::{Cell, Column, Field, RowFields};
use super::{Error, Record, row};
use crate::domain::{Action, FieldError};
use serde_json::{Map, Value};
use std::io::{self, Read};

/// At most this many distinct unknown keys are remembered.
const MAX_IGNORED: usize = 100;

/// A buffered byte reader that tracks line, column and offset.
struct Bytes<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    line: u64,
    column: u64,
    offset: u64,
}

impl<R: Read> Bytes<R> {
    fn new(inner: R) -> Self {
        Self { inner, buf: vec![0; 64 * 1024].into(), pos: 0, len: 0, line: 1, column: 1, offset: 0 }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.pos == self.len {
            self.len = loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            };
            self.pos = 0;
            if self.len == 0 {
                return Ok(None);
            }
        }
        Ok(Some(self.buf[self.pos]))
    }

    fn next(&mut self) -> io::Result<Option<u8>> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.pos += 1;
            self.offset += 1;
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else {
                self.column += 1;
            }
        }
        Ok(b)
    }

    /// Skips whitespace and returns the next byte without consuming it.
    fn skip_ws(&mut self) -> io::Result<Option<u8>> {
        while let Some(b) = self.peek()? {
            if !b.is_ascii_whitespace() {
                return Ok(Some(b));
            }
            self.next()?;
        }
        Ok(None)
    }
}

/// Where a record started, for error positions.
#[derive(Clone, Copy)]
struct Start {
    line: u64,
    column: u64,
    offset: u64,
}

pub(crate) struct JsonSource<R> {
    input: Bytes<R>,
    ndjson: bool,
    /// Array mode: whether the next element is the first (no `,` expected before it).
    first: bool,
    buf: Vec<u8>,
    /// The largest record copied into `buf`.
    max_record: usize,
    /// The record being read went over `max_record`; the rest of it is being skipped.
    overflow: bool,
    row: u64,
    ignored: Vec<String>,
}

impl<R: Read> JsonSource<R> {
    /// For a JSON array, consumes the opening `[` (anything else is [`Error::NotAnArray`]).
    pub(crate) fn new(input: R, ndjson: bool, max_record: usize) -> Result<Self, Error> {
        let mut input = Bytes::new(input);
        if !ndjson {
            match input.skip_ws()? {
                Some(b'[') => {
                    input.next()?;
                }
                Some(b) => return Err(Error::NotAnArray { found: describe(b) }),
                None => return Err(Error::NotAnArray { found: "nothing (the file is empty)".into() }),
            }
        }
        let (buf, ignored) = (Vec::new(), Vec::new());
        Ok(Self { input, ndjson, first: true, buf, max_record, overflow: false, row: 0, ignored })
    }

    pub(crate) fn ignored(&self) -> &[String] {
        &self.ignored
    }

    /// The last record returned, as written; `None` when it was over the cap.
    pub(crate) fn last_raw(&self) -> Option<&[u8]> {
        (!self.overflow).then_some(&self.buf)
    }

    pub(crate) fn next_record(&mut self, default: Option<Action>) -> Option<Result<Record, Error>> {
        let read = if self.ndjson { self.next_line() } else { self.next_element() };
        match read {
            Ok(Some(start)) => Some(self.parse(start, default)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }

    fn broken(&self, reason: impl Into<String>) -> Error {
        Error::BrokenJson {
            row: self.row,
            line: self.input.line,
            column: self.input.column,
            reason: reason.into(),
        }
    }

    /// Reads the next array element into `buf`; `None` after the closing `]`.
    fn next_element(&mut self) -> Result<Option<Start>, Error> {
        let mut b = self.input.skip_ws()?;
        if !self.first {
            match b {
                Some(b',') => {
                    self.input.next()?;
                    b = self.input.skip_ws()?;
                }
                Some(b']') => return self.finish_array(),
                Some(other) => {
                    return Err(self.broken(format!("expected ',' or ']', found {}", describe(other))));
                }
                None => return Err(self.broken("unexpected end of input: the array is not closed")),
            }
        } else if b == Some(b']') {
            return self.finish_array();
        }
        if b.is_none() {
            return Err(self.broken("unexpected end of input: the array is not closed"));
        }
        self.first = false;
        self.row += 1;
        let start = self.start();
        self.buf.clear();
        self.overflow = false;
        self.scan_value()?;
        Ok(Some(start))
    }

    fn start(&self) -> Start {
        Start { line: self.input.line, column: self.input.column, offset: self.input.offset }
    }

    /// Consumes `]` and checks only whitespace follows.
    fn finish_array(&mut self) -> Result<Option<Start>, Error> {
        self.input.next()?;
        match self.input.skip_ws()? {
            None => Ok(None),
            Some(b) => Err(self.broken(format!("unexpected {} after the closing ']'", describe(b)))),
        }
    }

    /// Copies one JSON value (object, array, string or scalar) into `buf`.
    fn scan_value(&mut self) -> Result<(), Error> {
        let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
        loop {
            let Some(b) = self.input.peek()? else {
                if depth == 0 && !in_str {
                    return Ok(());
                }
                return Err(self.broken("unexpected end of input inside a record"));
            };
            // A scalar ends at whitespace or at the punctuation that follows it.
            let at_top = !in_str && depth == 0 && (self.overflow || !self.buf.is_empty());
            if at_top && (b.is_ascii_whitespace() || matches!(b, b',' | b']' | b'}')) {
                return Ok(());
            }
            self.input.next()?;
            self.push(b);
            if in_str {
                match (escaped, b) {
                    (true, _) => escaped = false,
                    (false, b'\\') => escaped = true,
                    (false, b'"') => in_str = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_str = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => depth = depth.saturating_sub(1),
                    _ => {}
                }
            }
            if depth == 0 && !in_str && matches!(b, b'}' | b']' | b'"') {
                return Ok(());
            }
        }
    }

    /// Copies one byte of the record, or notes that the record is over the cap.
    fn push(&mut self, b: u8) {
        if self.overflow || self.buf.len() >= self.max_record {
            self.overflow = true;
        } else {
            self.buf.push(b);
        }
    }

    /// Reads the next non-blank NDJSON line into `buf`; `None` at the end. Blank lines are
    /// whitespace, which `skip_ws` passes over, so they are never counted.
    fn next_line(&mut self) -> Result<Option<Start>, Error> {
        if self.input.skip_ws()?.is_none() {
            return Ok(None);
        }
        let start = self.start();
        self.buf.clear();
        self.overflow = false;
        self.row += 1;
        while let Some(b) = self.input.next()? {
            if b == b'\n' {
                break;
            }
            self.push(b);
        }
        Ok(Some(start))
    }

    /// Parses `buf` (the record at `start`) and builds its record.
    fn parse(&mut self, start: Start, default: Option<Action>) -> Result<Record, Error> {
        if self.overflow {
            let reason = format!("the record is larger than {} bytes; it is skipped", self.max_record);
            return Ok(invalid(self.row, FieldError::new("record", reason)));
        }
        if let Err(e) = std::str::from_utf8(&self.buf) {
            return Err(Error::NotUtf8 { row: self.row, byte: start.offset + e.valid_up_to() as u64 });
        }
        let value: Value = match serde_json::from_slice(&self.buf) {
            Ok(v) => v,
            Err(e) => {
                let line = start.line + e.line().saturating_sub(1) as u64;
                // serde_json says column 0 right after a line break; columns here are 1-based.
                let column = if e.line() <= 1 {
                    start.column + e.column().saturating_sub(1) as u64
                } else {
                    e.column().max(1) as u64
                };
                if self.ndjson {
                    let reason = format!("line {line}, column {column}: not valid JSON ({e})");
                    return Ok(invalid(self.row, FieldError::new("json", reason)));
                }
                return Err(Error::BrokenJson { row: self.row, line, column, reason: e.to_string() });
            }
        };
        match &value {
            Value::Object(map) => Ok(self.build(map, default)),
            other => Ok(invalid(
                self.row,
                FieldError::new("json", format!("record is {}, not an object", kind(other))),
            )),
        }
    }

    fn build(&mut self, map: &Map<String, Value>, default: Option<Action>) -> Record {
        let mut fields = RowFields::default();
        for (key, value) in map {
            match Field::from_name(key) {
                Column::Known(field) => fields.set(field, key, Cell::Json(value)),
                Column::Custom(_) if !Cell::Json(value).is_blank() => {
                    fields.custom.push((key, key.trim(), Cell::Json(value)))
                }
                Column::Custom(_) | Column::Ours => {}
                Column::Unknown => {
                    let key = crate::text::shown(key);
                    if self.ignored.len() < MAX_IGNORED && !self.ignored.contains(&key) {
                        self.ignored.push(key);
                    }
                }
            }
        }
        row::build(self.row, &fields, default, Vec::new())
    }
}

fn invalid(row: u64, error: FieldError) -> Record {
    Record::Invalid { row, action: None, key_hint: None, errors: vec![error] }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn describe(b: u8) -> String {
    if b.is_ascii_graphic() { format!("'{}'", b as char) } else { format!("byte 0x{b:02X}") }
}
