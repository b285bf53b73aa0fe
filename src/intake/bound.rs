//! Bounds CSV records before the csv crate sees them: a `Read` adapter that follows just enough
//! of the CSV grammar (quoted fields, `""`, CR/LF terminators outside quotes) to know where each
//! record ends. A record longer than its cap is cut: its first `max_record` bytes pass, the rest
//! is read and dropped up to the record's end, and a terminator (closing the quote if one is
//! open) is put in its place; the cut record's start offset is queued for the CSV source, which
//! turns that record into an invalid row. The first record (the header) has its own, smaller
//! cap, and going over it is an error: a file whose columns are unknown cannot be read at all.
//! Memory stays at one read buffer whatever the input.

use std::collections::VecDeque;
use std::io::{self, Read};

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    StartField,
    InField,
    InQuoted,
    /// A `"` inside a quoted field: either the closing quote or the first of `""`.
    QuoteInQuoted,
}

/// The header went over its cap (the io error's payload, recognised by the CSV source).
#[derive(Debug, thiserror::Error)]
#[error("the header row is larger than {limit} bytes")]
pub(crate) struct HeaderTooLarge {
    pub(crate) limit: usize,
}

pub(crate) struct Bounded<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
    state: State,
    /// Bytes of the current record passed on so far.
    record_len: usize,
    /// Output offset where the current record started.
    record_start: u64,
    /// Bytes passed on in total (the csv reader's byte positions).
    out: u64,
    header_done: bool,
    max_header: usize,
    max_record: usize,
    /// Dropping the rest of a cut record; holds the state at the cut.
    skipping: Option<State>,
    /// Bytes to pass on before anything else (the terminator of a cut record).
    pending: VecDeque<u8>,
    /// Start offsets of cut records, oldest first.
    pub(crate) cuts: VecDeque<u64>,
}

impl<R: Read> Bounded<R> {
    pub(crate) fn new(inner: R, max_header: usize, max_record: usize) -> Self {
        Self {
            inner,
            buf: vec![0; 64 * 1024].into(),
            pos: 0,
            len: 0,
            state: State::StartField,
            record_len: 0,
            record_start: 0,
            out: 0,
            header_done: false,
            max_header,
            max_record,
            skipping: None,
            pending: VecDeque::new(),
            cuts: VecDeque::new(),
        }
    }

    /// The next input byte, refilling the buffer; `None` at the end.
    fn next_byte(&mut self) -> io::Result<Option<u8>> {
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
        self.pos += 1;
        Ok(Some(self.buf[self.pos - 1]))
    }

    /// Advances the grammar by one byte; true when the byte ends a record.
    fn step(state: &mut State, b: u8) -> bool {
        let ends = matches!(b, b'\n' | b'\r');
        *state = match (*state, b) {
            (State::InQuoted, b'"') => State::QuoteInQuoted,
            (State::InQuoted, _) => State::InQuoted,
            (State::QuoteInQuoted, b'"') | (State::StartField, b'"') => State::InQuoted,
            (_, b',') => State::StartField,
            (_, _) if ends => return true,
            _ => State::InField,
        };
        false
    }

    /// Ends a cut record: a closing quote if the csv reader is inside one, then a newline.
    fn close_cut(&mut self, at_cut: State) {
        if at_cut == State::InQuoted {
            self.pending.push_back(b'"');
        }
        self.pending.push_back(b'\n');
        self.skipping = None;
        self.state = State::StartField;
        self.record_len = 0;
    }

    /// Handles one input byte; returns the byte to pass on, if any.
    fn accept(&mut self, b: u8) -> io::Result<Option<u8>> {
        if let Some(at_cut) = self.skipping {
            if Self::step(&mut self.state, b) {
                self.close_cut(at_cut);
            }
            return Ok(None);
        }
        let before = self.state;
        if Self::step(&mut self.state, b) {
            if self.record_len > 0 {
                self.header_done = true;
            }
            self.record_len = 0;
            self.state = State::StartField;
            return Ok(Some(b));
        }
        let cap = if self.header_done { self.max_record } else { self.max_header };
        if self.record_len >= cap {
            if !self.header_done {
                let limit = self.max_header;
                return Err(io::Error::new(io::ErrorKind::InvalidData, HeaderTooLarge { limit }));
            }
            self.cuts.push_back(self.record_start);
            self.skipping = Some(before);
            return Ok(None);
        }
        if self.record_len == 0 {
            self.record_start = self.out;
        }
        self.record_len += 1;
        Ok(Some(b))
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < out.len() {
            if let Some(b) = self.pending.pop_front() {
                out[n] = b;
                n += 1;
                self.out += 1;
                continue;
            }
            let Some(b) = self.next_byte()? else {
                if let Some(at_cut) = self.skipping {
                    self.close_cut(at_cut);
                    continue;
                }
                break;
            };
            if let Some(b) = self.accept(b)? {
                out[n] = b;
                n += 1;
                self.out += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], max_header: usize, max_record: usize) -> io::Result<(String, Vec<u64>)> {
        let mut b = Bounded::new(input, max_header, max_record);
        let mut out = Vec::new();
        let mut chunk = [0u8; 3];
        loop {
            let n = b.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Ok((String::from_utf8_lossy(&out).into_owned(), b.cuts.into()))
    }

    #[test]
    fn records_under_the_cap_pass_unchanged() {
        let input = b"a,b\r\n\"x,\ny\",\"q\"\"\"\nz,w";
        assert_eq!(run(input, 20, 20).unwrap(), (String::from_utf8_lossy(input).into_owned(), vec![]));
    }

    #[test]
    fn a_long_record_is_cut_and_the_next_one_passes() {
        let (out, cuts) = run(b"h\nabcdefghij,k\nok\n", 5, 4).unwrap();
        assert_eq!(out, "h\nabcd\nok\n");
        assert_eq!(cuts, [2]);
    }

    #[test]
    fn a_cut_inside_quotes_closes_the_quote_and_skips_quoted_newlines() {
        let (out, cuts) = run(b"h\n\"ab\ncdef\ngh\",x\nok", 5, 4).unwrap();
        assert_eq!(out, "h\n\"ab\n\"\nok");
        assert_eq!(cuts, [2]);
        let (out, _) = run(b"h\n\"abcdefg", 5, 4).unwrap();
        assert_eq!(out, "h\n\"abc\"\n", "a cut record at the end of the input is closed too");
    }

    #[test]
    fn a_header_over_its_cap_is_an_error_before_the_rest_is_read() {
        let err = run(b"\n\nabcdefgh\nx\n", 4, 100).unwrap_err();
        assert!(err.get_ref().is_some_and(|e| e.is::<HeaderTooLarge>()), "{err}");
        assert!(run(b"abcd\nxxxxxxxxx\n", 4, 100).is_ok());
    }
}
