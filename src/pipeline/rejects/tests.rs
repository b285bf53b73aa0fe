//! The rejects file of an input as the intake reads it: the bytes the report's writer makes of
//! the records handed to it one at a time.

use super::*;
use crate::intake::{Format as Input, Record};

fn rejects(rows: &[(u64, &str)]) -> Vec<Reject> {
    rows.iter().map(|(row, error)| Reject { row: *row, error: error.to_string() }).collect()
}

/// The rejects of `input` (read as `format`) as text.
fn written(input: &str, format: Input, rows: &[(u64, &str)]) -> (String, u64) {
    let mut reader = intake::parse_reader(input.as_bytes(), format, None).unwrap();
    let mut out = Vec::new();
    let found = write_rejects(&mut reader, &rejects(rows), &mut out).unwrap();
    (String::from_utf8(out).unwrap(), found)
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    r.records().map(|r| r.unwrap().iter().map(String::from).collect()).collect()
}

const CSV: &str = "email,Subject,description,priority,status,notes\n\
    a@example.com,ok,d,low,open,n1\n\
    not-an-email,\"Disk, \"\"full\"\"\",d,low,open,n2\n\
    \n\
    c@example.com,\"two\nlines\",\"line one\r\nline two\",high,open,n3\n\
    d@example.com,short\n\
    e@example.com,fine,d,low,open,n5\n";

#[test]
fn csv_rejects_keep_the_header_and_the_cells_as_written_plus_the_error() {
    let (text, found) =
        written(CSV, Input::Csv, &[(2, "email: not an email"), (3, "=bad"), (4, "fields: too few")]);
    assert_eq!(found, 3);
    let rows = csv_rows(&text);
    assert_eq!(rows[0], ["email", "Subject", "description", "priority", "status", "notes", "fdsync_error"]);
    assert_eq!(rows[1], ["not-an-email", "Disk, \"full\"", "d", "low", "open", "n2", "email: not an email"]);
    // Embedded line breaks survive (quoted); the error cell is neutralised.
    assert_eq!(
        rows[2],
        ["c@example.com", "two\nlines", "line one\r\nline two", "high", "open", "n3", "'=bad"]
    );
    // A short row is padded so the error stays in its column.
    assert_eq!(rows[3], ["d@example.com", "short", "", "", "", "", "fields: too few"]);
    assert_eq!(rows.len(), 4);
}

#[test]
fn an_existing_error_column_is_reused_and_the_file_reads_back_as_the_same_rows() {
    let input = "email,fdsync_error,subject,description,priority,status\n\
                 a@example.com,old reason,s,d,low,open\n";
    let (text, found) = written(input, Input::Csv, &[(1, "new reason\nsecond line")]);
    assert_eq!(found, 1);
    let rows = csv_rows(&text);
    assert_eq!(rows[0], ["email", "fdsync_error", "subject", "description", "priority", "status"]);
    assert_eq!(rows[1], ["a@example.com", "new reason\\nsecond line", "s", "d", "low", "open"]);
    // Read back: the same op, and fdsync_error is neither a field nor an ignored column.
    let action = Some(crate::domain::Action::CreateTicket);
    let mut reader = intake::parse_reader(text.as_bytes(), Input::Csv, action).unwrap();
    let mut original = intake::parse_reader(input.as_bytes(), Input::Csv, action).unwrap();
    let (a, b) = (reader.next().unwrap().unwrap(), original.next().unwrap().unwrap());
    assert_eq!(a, b);
    assert!(matches!(a, Record::Op { .. }), "{a:?}");
    assert!(reader.ignored_columns().is_empty());
}

#[test]
fn rows_not_in_the_input_are_skipped_and_reading_stops_after_the_last_reject() {
    let (text, found) = written(CSV, Input::Csv, &[(1, "x"), (99, "gone")]);
    assert_eq!(found, 1);
    assert_eq!(csv_rows(&text).len(), 2);
    let (text, found) = written(CSV, Input::Csv, &[]);
    assert_eq!((found, csv_rows(&text).len()), (0, 1), "header only");
}

#[test]
fn json_rejects_are_one_object_a_line_with_keys_in_their_order() {
    let input = r#"[
      {"subject": "first", "email": "a@example.com"},
      {
        "subject": "second",
        "email": "bad",
        "custom_fields": {"cf_host": "db-1",
                          "cf_note": "x"},
        "fdsync_error": "stale"
      },
      42
    ]"#;
    let (text, found) = written(input, Input::Json, &[(2, "email: not an email"), (3, "not an object")]);
    assert_eq!(found, 2);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with(r#"{"subject":"second","email":"bad","custom_fields":{"cf_host": "db-1","#),
        "{}",
        lines[0]
    );
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(first["custom_fields"]["cf_note"], "x");
    assert_eq!(first["fdsync_error"], "email: not an email");
    assert_eq!(lines[0].matches("fdsync_error").count(), 1, "the stale error is replaced");
    let second: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(second, serde_json::json!({"fdsync_record": "42", "fdsync_error": "not an object"}));
}

#[test]
fn an_ndjson_line_that_is_not_json_is_kept_as_text() {
    let input = "{\"email\":\"a@example.com\"}\n{broken\n";
    let (text, found) = written(input, Input::Ndjson, &[(2, "json: not valid JSON")]);
    assert_eq!(found, 1);
    let v: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(v["fdsync_record"], "{broken");
}

#[test]
fn a_record_over_the_cap_leaves_only_its_error() {
    let limits = intake::Limits { max_record: 64, ..intake::Limits::default() };
    let input = format!("email,subject\na@example.com,{}\n", "x".repeat(100));
    let mut reader = intake::parse_reader_with(input.as_bytes(), Input::Csv, None, &limits).unwrap();
    let mut out = Vec::new();
    write_rejects(&mut reader, &rejects(&[(1, "record: too large")]), &mut out).unwrap();
    assert_eq!(csv_rows(&String::from_utf8(out).unwrap())[1], ["", "", "record: too large"]);
}

#[test]
fn formula_cells_are_quoted_and_read_back_as_written_however_often_they_come_back() {
    let input = "email,subject,description,priority,status\n\
                 bad,=x,-5 degrees,low,open\n\
                 bad,'=mine,-5,low,open\n";
    let original: Vec<Record> =
        intake::parse_reader(input.as_bytes(), Input::Csv, None).unwrap().map(Result::unwrap).collect();
    let (first, _) = written(input, Input::Csv, &[(1, "e"), (2, "e")]);
    let rows = csv_rows(&first);
    assert_eq!(rows[1][..3], ["bad", "'=x", "'-5 degrees"]);
    assert_eq!(rows[2][..3], ["bad", "''=mine", "-5"], "a number is left alone, an own quote kept");
    // Read back: the original rows; written again: the same file (no quote piles up).
    let back: Vec<Record> =
        intake::parse_reader(first.as_bytes(), Input::Csv, None).unwrap().map(Result::unwrap).collect();
    assert_eq!(back, original);
    let (second, _) = written(&first, Input::Csv, &[(1, "e"), (2, "e")]);
    assert_eq!(second, first);
    // Without the fdsync_error column, a file is nobody's rejects: a leading quote is data.
    let plain = "email,subject,description,priority,status\nbad,'=x,d,low,open\n";
    let (text, _) = written(plain, Input::Csv, &[(1, "e")]);
    assert_eq!(csv_rows(&text)[1][1], "''=x");
}
