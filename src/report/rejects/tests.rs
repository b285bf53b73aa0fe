//! The writer on records handed to it directly; the same bytes from a real input, read through
//! the intake, are tested where the pipeline reads it (`pipeline/rejects/tests.rs`).

use super::*;

/// The rejects file of an input with `header` (`None`: JSON) made of `records`, as text.
fn written(header: Option<&[&str]>, records: &[(Written<'_>, &str)]) -> String {
    let header = header.map(|h| StringRecord::from(h.to_vec()));
    let mut out = Vec::new();
    let mut w = RejectsWriter::new(header.as_ref(), &mut out).unwrap();
    for (record, error) in records {
        w.write(*record, error).unwrap();
    }
    w.finish().unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn a_csv_record_keeps_its_cells_as_written_neutralised_and_padded_with_the_error_last() {
    let full = ByteRecord::from(vec!["not-an-email", "Disk, \"full\"", "=SUM(A1)", "-5"]);
    let short = ByteRecord::from(vec!["d@example.com"]);
    let records = [(Written::Csv(Some(&full)), "email: not an email"), (Written::Csv(Some(&short)), "=bad")];
    let text = written(Some(&["email", "subject", "description", "priority"]), &records);
    assert_eq!(
        text,
        "email,subject,description,priority,fdsync_error\n\
         not-an-email,\"Disk, \"\"full\"\"\",'=SUM(A1),-5,email: not an email\n\
         d@example.com,,,,'=bad\n"
    );
}

#[test]
fn an_existing_error_column_takes_the_new_error_and_a_record_over_the_cap_leaves_only_it() {
    let back = ByteRecord::from(vec!["a@example.com", "old reason", "''=x"]);
    let records = [(Written::Csv(Some(&back)), "new\nreason"), (Written::Csv(None), "record: too large")];
    let text = written(Some(&["email", "fdsync_error", "subject"]), &records);
    // A cell of a rejects file dropped back is restored first, so its quotes never pile up.
    assert_eq!(text, "email,fdsync_error,subject\na@example.com,new\\nreason,''=x\n,record: too large\n");
    assert_eq!(written(Some(&["email"]), &[]), "email,fdsync_error\n", "header only");
}

#[test]
fn a_json_record_is_one_line_with_its_keys_in_order_and_one_error() {
    // A line break between tokens is whitespace: it becomes a space, so the object stays one line.
    let object = b"{\"subject\": \"s\", \"custom_fields\": {\"cf_host\": \"db-1\",\r\n\"cf_note\": \"x\"}, \"fdsync_error\": \"stale\"}";
    let records = [
        (Written::Json(Some(object)), "email: not an email"),
        (Written::Json(Some(b"42")), "not an object"),
        (Written::Json(Some(b"{broken")), "json: not valid JSON"),
        (Written::Json(None), "record: too large"),
    ];
    assert_eq!(
        written(None, &records),
        "{\"subject\":\"s\",\"custom_fields\":{\"cf_host\": \"db-1\",  \"cf_note\": \"x\"},\"fdsync_error\":\"email: not an email\"}\n\
         {\"fdsync_record\":\"42\",\"fdsync_error\":\"not an object\"}\n\
         {\"fdsync_record\":\"{broken\",\"fdsync_error\":\"json: not valid JSON\"}\n\
         {\"fdsync_error\":\"record: too large\"}\n"
    );
}

#[test]
fn names_sit_beside_the_report() {
    assert_eq!(file_name(7, "HR export.csv", Format::Csv), "7-HR_export.rejects.csv");
    assert_eq!(file_name(8, "t.json", Format::Ndjson), "8-t.rejects.ndjson");
    assert_eq!(Format::of(Some(&StringRecord::from(vec!["email"]))), Format::Csv);
    assert_eq!(Format::of(None), Format::Ndjson);
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(crate::report::rejects_path(dir.path(), 8, "t.json"), None);
    std::fs::create_dir(dir.path().join("reports")).unwrap();
    std::fs::write(dir.path().join("reports/8-t.rejects.ndjson"), "{}\n").unwrap();
    assert_eq!(
        crate::report::rejects_path(dir.path(), 8, "t.json"),
        Some(dir.path().join("reports/8-t.rejects.ndjson"))
    );
}
