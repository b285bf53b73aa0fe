//! The request-size check: a row whose operation would make a request body larger than
//! `limits.max_request_bytes` is invalid before any call. The body is estimated as the op's JSON
//! (what the journal stores and the request is built from), counted without being kept; only a
//! row over the limit is looked at again, to name its largest field.

use crate::domain::{FieldError, Op};
use serde_json::Value;
use std::io;

/// An `io::Write` that only counts.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn json_len<T: serde::Serialize + ?Sized>(value: &T) -> usize {
    let mut c = Counter(0);
    // Serialising plain data into a counter cannot fail; count what was written if it did.
    let _ = serde_json::to_writer(&mut c, value);
    c.0
}

/// `None` when `op`'s body fits in `max` bytes; else the error naming the largest field.
pub(crate) fn check(op: &Op, max: usize) -> Option<FieldError> {
    let size = json_len(op);
    if size <= max {
        return None;
    }
    let column = match serde_json::to_value(op) {
        Ok(Value::Object(map)) => {
            map.iter().max_by_key(|(_, v)| json_len(*v)).map(|(k, _)| k.clone()).unwrap_or_default()
        }
        _ => String::new(),
    };
    let column = if column.is_empty() { "record".to_string() } else { column };
    let reason = format!(
        "makes a request body of about {size} bytes, over limits.max_request_bytes ({max}); the row is not sent"
    );
    Some(FieldError::new(column, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::NewTicket;

    #[test]
    fn a_row_over_the_request_limit_names_its_largest_field() {
        let ticket = NewTicket { description: "d".repeat(1000), ..NewTicket::example("a@b.co") };
        let op = Op::CreateTicket(ticket);
        assert!(check(&op, 2000).is_none());
        let err = check(&op, 500).expect("over the limit");
        assert_eq!(err.column, "description");
        assert!(err.reason.contains("max_request_bytes (500)"), "{}", err.reason);
    }
}
