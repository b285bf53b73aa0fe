//! Tests of the intake readers: CSV, JSON and NDJSON end to end, through `parse_reader`.

use super::*;
use crate::domain::{AgentRef, Email, Priority, Status, TicketScope};
use proptest::prelude::*;

fn read(input: &str, format: Format, default: Option<Action>) -> Vec<Record> {
    parse_reader(input.as_bytes(), format, default)
        .expect("header accepted")
        .collect::<Result<Vec<_>, _>>()
        .expect("no file error")
}

fn csv(input: &str) -> Vec<Record> {
    read(input, Format::Csv, None)
}

fn errors_of(rec: &Record) -> Vec<String> {
    match rec {
        Record::Invalid { errors, .. } => errors.iter().map(ToString::to_string).collect(),
        Record::Op { .. } => panic!("expected an invalid row, got {rec:?}"),
    }
}

fn op_of(rec: &Record) -> &Op {
    match rec {
        Record::Op { op, .. } => op,
        Record::Invalid { .. } => panic!("expected an op, got {rec:?}"),
    }
}

const TICKETS: &str = "\u{feff}Action,Email,Subject,Description,Priority,Status,tags,cc_emails,cf_host,group_id,notes\n\
createTicket,jane@example.com,Disk full,/var at 98%,high,open,ops; disk|urgent,a@b.co;Ops <c@d.co>,db-07,43026449322,hi\n";

#[test]
fn a_csv_ticket_row_becomes_a_create_ticket_op() {
    let recs = csv(TICKETS);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].row(), 1);
    let Op::CreateTicket(t) = op_of(&recs[0]) else { panic!("not a ticket") };
    assert_eq!(t.email.as_ref().map(|e| e.as_str()), Some("jane@example.com"));
    assert_eq!((t.priority, t.status), (Priority::High, Status::Open));
    assert_eq!(t.tags, ["ops", "disk", "urgent"]);
    assert_eq!(t.cc_emails, ["a@b.co", "Ops <c@d.co>"]);
    assert_eq!(t.custom_fields.get("cf_host"), Some(&serde_json::json!("db-07")));
    assert_eq!(t.group_id, Some(crate::domain::IdOrName::Id(43026449322)));
}

#[test]
fn unknown_columns_are_ignored_and_listed() {
    let reader = parse_reader(TICKETS.as_bytes(), Format::Csv, None).unwrap();
    assert_eq!(reader.ignored_columns(), ["notes"]);
}

#[test]
fn every_problem_in_a_row_is_reported_with_the_column_as_written() {
    let input = "action,Email,Subject,Priority,Status,Tags,group_id\n\
                 create_ticket,not-an-email,,9,Open,ok;this-tag-is-much-longer-than-thirty-two-chars,-4\n";
    let recs = csv(input);
    let errs = errors_of(&recs[0]);
    for expected in
        ["Email:", "subject: is required", "description: is required", "Priority:", "Tags:", "group_id:"]
    {
        assert!(errs.iter().any(|e| e.starts_with(expected)), "{expected} missing from {errs:?}");
    }
    assert_eq!(errs.len(), 6, "{errs:?}");
    let Record::Invalid { action, key_hint, .. } = &recs[0] else { unreachable!() };
    assert_eq!(*action, Some(Action::CreateTicket));
    assert_eq!(key_hint.as_deref(), Some("not-an-email"));
}

#[test]
fn good_rows_go_on_after_a_bad_one() {
    let input = "action,email\nget_agent,bad\nget_agent,ok@example.com\n";
    let recs = csv(input);
    assert!(matches!(recs[0], Record::Invalid { row: 1, .. }));
    assert!(matches!(&recs[1], Record::Op { row: 2, op: Op::GetAgent { .. } }));
}

#[test]
fn the_default_action_applies_when_there_is_no_action_column_and_its_absence_is_reported() {
    let input = "email\nJane@Example.com\n";
    let recs = read(input, Format::Csv, Some(Action::DeleteAgent));
    let email = Email::parse("Jane@Example.com").unwrap();
    assert_eq!(op_of(&recs[0]), &Op::DeleteAgent { agent: AgentRef::Email(email), successor: None });
    let errs = errors_of(&csv(input)[0]);
    assert!(errs[0].contains("no action"), "{errs:?}");
}

#[test]
fn a_row_action_beats_the_default_and_a_bad_action_is_reported() {
    let input = "action,email\nget_agent,a@b.co\nfly,a@b.co\n";
    let recs = read(input, Format::Csv, Some(Action::DeleteAgent));
    assert!(matches!(op_of(&recs[0]), Op::GetAgent { .. }));
    assert!(errors_of(&recs[1])[0].contains("unknown action 'fly'"));
}

#[test]
fn agents_need_email_scope_and_name_and_parse_their_options() {
    let input = "action,email,ticketScope,name,jobTitle,occasional,role_ids,group_ids\n\
                 createAgent,a@b.co,group,Ann,Engineer,yes,1;2,3\n\
                 createAgent,a@b.co,,,,maybe,x,\n";
    let recs = csv(input);
    let Op::CreateAgent(a) = op_of(&recs[0]) else { panic!() };
    assert_eq!(a.ticket_scope, TicketScope::Group);
    assert_eq!((a.occasional, a.role_ids.clone(), a.group_ids.clone()), (Some(true), vec![1, 2], vec![3]));
    assert_eq!(a.job_title.as_deref(), Some("Engineer"));
    let errs = errors_of(&recs[1]);
    assert_eq!(errs.len(), 4, "{errs:?}");
    assert!(errs.iter().any(|e| e.starts_with("ticket_scope: is required")));
    assert!(errs.iter().any(|e| e.starts_with("occasional:")));
    assert!(errs.iter().any(|e| e.starts_with("role_ids:")));
}

#[test]
fn delete_takes_a_positive_agent_id_or_an_email() {
    let input = "action,agentID,email\ndeleteAgent,43026449322,\ndeleteAgent,0,\ndeleteAgent,,x@y.co\ndeleteAgent,,\n";
    let recs = csv(input);
    assert_eq!(op_of(&recs[0]), &Op::DeleteAgent { agent: AgentRef::Id(43026449322), successor: None });
    assert!(errors_of(&recs[1])[0].contains("positive integer"));
    assert!(matches!(op_of(&recs[2]), Op::DeleteAgent { agent: AgentRef::Email(_), .. }));
    assert!(errors_of(&recs[3])[0].starts_with("agent_id: is required"));
}

#[test]
fn a_row_with_the_wrong_number_of_fields_is_invalid_but_not_fatal() {
    let recs = csv("action,email\nget_agent,a@b.co,extra\nget_agent\nget_agent,c@d.co\n");
    assert!(errors_of(&recs[0])[0].contains("3 fields but the header has 2"));
    assert_eq!(errors_of(&recs[1]).len(), 2);
    assert!(matches!(recs[2], Record::Op { row: 3, .. }));
}

#[test]
fn blank_rows_are_skipped_and_not_counted() {
    let recs = csv("action,email\n,\nget_agent,a@b.co\n\n , \nget_agent,c@d.co\n");
    assert_eq!(recs.iter().map(Record::row).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn limits_on_subject_tags_and_cc_emails_are_enforced() {
    let long = "x".repeat(256);
    let ccs: Vec<String> = (0..50).map(|i| format!("u{i}@x.co")).collect();
    let input = format!(
        "action,email,subject,description,priority,status,cc_emails\ncreate_ticket,a@b.co,{long},d,1,2,{}\n",
        ccs.join(";")
    );
    let errs = errors_of(&csv(&input)[0]);
    assert!(errs.iter().any(|e| e.starts_with("subject: is longer than 255")), "{errs:?}");
    let bad_cc = "action,email,subject,description,priority,status,cc_emails\ncreate_ticket,a@b.co,s,d,1,2,Ops <nope>\n";
    assert!(errors_of(&csv(bad_cc)[0])[0].starts_with("cc_emails:"));
    assert!(errs.iter().any(|e| e.contains("at most 49")), "{errs:?}");
}

#[test]
fn header_problems_are_file_errors() {
    let err = |s: &str| parse_reader(s.as_bytes(), Format::Csv, None).err();
    assert!(matches!(err(""), Some(Error::NoHeader)));
    assert!(matches!(err("email,,name\n"), Some(Error::EmptyHeader { column: 2 })));
    assert!(matches!(
        err("email,requester_email\n"),
        Some(Error::DuplicateHeader { first: 1, second: 2, .. })
    ));
    assert!(matches!(err("cf_a,CF_A\n"), Some(Error::DuplicateHeader { .. })));
    assert!(matches!(err("create_ticket,a@b.co\n"), Some(Error::NoKnownColumns { .. })));
}

#[test]
fn invalid_utf8_names_the_row_and_ends_the_file() {
    let mut bytes = b"action,email\nget_agent,a@b.co\nget_agent,\xff@b.co\nget_agent,c@d.co\n".to_vec();
    let items: Vec<_> = parse_reader(&bytes[..], Format::Csv, None).unwrap().collect();
    assert_eq!(items.len(), 2);
    assert!(matches!(items[1], Err(Error::NotUtf8 { row: 2, .. })), "{:?}", items[1]);
    bytes[0] = 0xfe;
    assert!(matches!(parse_reader(&bytes[..], Format::Csv, None).err(), Some(Error::NotUtf8 { row: 0, .. })));
}

#[test]
fn formats_are_detected_by_extension_then_by_content() {
    let p = |s: &str| Path::new(s).to_path_buf();
    assert_eq!(Format::detect(&p("a.CSV"), b"["), Format::Csv);
    assert_eq!(Format::detect(&p("a.jsonl"), b""), Format::Ndjson);
    assert_eq!(Format::detect(&p("a.json"), b""), Format::Json);
    assert_eq!(Format::detect(&p("drop"), b"\xEF\xBB\xBF \n[{}]"), Format::Json);
    assert_eq!(Format::detect(&p("drop"), b"  {\"a\":1}"), Format::Ndjson);
    assert_eq!(Format::detect(&p("drop"), b"email\n"), Format::Csv);
}

const JSON: &str = r#"[
  {"action": "create_ticket", "requester_email": "jane@example.com", "subject": "Disk", "description": "d",
   "priority": 3, "status": "open", "tags": ["a", "b"], "custom_fields": {"cf_n": 5}, "cf_host": "db", "x": 1},
  {"action": "createAgent", "email": "a@b.co", "ticketScope": 1, "name": "Ann", "occasional": false,
   "role_ids": [7, 8]},
  "not an object",
  {"action": "deleteAgent", "agent_id": 12}
]"#;

#[test]
fn json_arrays_stream_objects_with_native_values() {
    let mut reader = parse_reader(JSON.as_bytes(), Format::Json, None).unwrap();
    let recs: Vec<Record> = reader.by_ref().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 4);
    let Op::CreateTicket(t) = op_of(&recs[0]) else { panic!() };
    assert_eq!((t.priority, &t.tags[..]), (Priority::High, &["a".to_string(), "b".to_string()][..]));
    assert_eq!(t.custom_fields.get("cf_n"), Some(&serde_json::json!(5)));
    assert_eq!(t.custom_fields.get("cf_host"), Some(&serde_json::json!("db")));
    let Op::CreateAgent(a) = op_of(&recs[1]) else { panic!() };
    assert_eq!((a.occasional, &a.role_ids[..]), (Some(false), &[7, 8][..]));
    assert!(errors_of(&recs[2])[0].contains("a string, not an object"));
    assert_eq!(recs[3].row(), 4);
    assert_eq!(op_of(&recs[3]), &Op::DeleteAgent { agent: AgentRef::Id(12), successor: None });
    assert_eq!(reader.ignored_columns(), ["x"]);
}

#[test]
fn strings_containing_brackets_and_escapes_do_not_confuse_the_scanner() {
    let input = r#"[{"action":"get_agent","email":"a@b.co","note":"}]\"{["}, {"action":"get_agent","email":"c@d.co"}]"#;
    assert_eq!(read(input, Format::Json, None).len(), 2);
    assert!(read("[]", Format::Json, None).is_empty());
    assert!(read(" \n[ ]\n", Format::Json, None).is_empty());
}

#[test]
fn broken_json_names_the_record_line_and_column() {
    let input = "[\n{\"action\":\"get_agent\",\"email\":\"a@b.co\"},\n{\"email\": tru}\n]";
    let items: Vec<_> = parse_reader(input.as_bytes(), Format::Json, None).unwrap().collect();
    assert_eq!(items.len(), 2);
    match &items[1] {
        Err(Error::BrokenJson { row: 2, line: 3, column, .. }) => assert!(*column >= 10, "{column}"),
        other => panic!("{other:?}"),
    }
    let unclosed: Vec<_> = parse_reader(&b"[{\"a\":1}"[..], Format::Json, None).unwrap().collect();
    assert!(matches!(unclosed.last(), Some(Err(Error::BrokenJson { .. }))));
    let trailing: Vec<_> = parse_reader(&b"[] x"[..], Format::Json, None).unwrap().collect();
    assert!(matches!(trailing.last(), Some(Err(Error::BrokenJson { .. }))));
}

#[test]
fn a_json_file_that_is_not_an_array_is_refused() {
    assert!(matches!(
        parse_reader(&b"{\"a\":1}"[..], Format::Json, None).err(),
        Some(Error::NotAnArray { .. })
    ));
    assert!(matches!(parse_reader(&b"  "[..], Format::Json, None).err(), Some(Error::NotAnArray { .. })));
}

#[test]
fn ndjson_skips_blank_lines_and_reports_a_broken_line_as_an_invalid_row() {
    let input = "{\"action\":\"get_agent\",\"email\":\"a@b.co\"}\n\n  \n{\"email\": }\r\n{\"action\":\"get_agent\",\"email\":\"c@d.co\"}";
    let recs = read(input, Format::Ndjson, None);
    assert_eq!(recs.iter().map(Record::row).collect::<Vec<_>>(), [1, 2, 3]);
    assert!(errors_of(&recs[1])[0].contains("line 4"), "{:?}", errors_of(&recs[1]));
    assert!(matches!(recs[2], Record::Op { .. }));
}

#[test]
fn json_aliases_given_twice_conflict() {
    let input = r#"{"action":"get_agent","email":"a@b.co","requester_email":"c@d.co"}"#;
    let errs = errors_of(&read(input, Format::Ndjson, None)[0]);
    assert!(errs[0].contains("given twice"), "{errs:?}");
}

#[test]
fn a_reader_opened_here_is_read_on_another_thread_and_its_error_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drop.csv");
    std::fs::write(&path, "action,email\nget_agent,a@b.co\nget_agent,c@d.co\n").unwrap();
    let reader: Reader<std::fs::File> = open(&path, None).unwrap();
    let rows = std::thread::spawn(move || reader.map(|r| r.unwrap().row()).collect::<Vec<_>>());
    assert_eq!(rows.join().unwrap(), [1, 2]);
    let err = std::thread::spawn(|| parse_reader(&b""[..], Format::Csv, None).err()).join().unwrap();
    assert!(matches!(err, Some(Error::NoHeader)), "{err:?}");
}

#[test]
fn open_detects_the_format_of_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("drop");
    std::fs::write(&path, "[{\"action\":\"get_agent\",\"email\":\"a@b.co\"}]").unwrap();
    let recs: Vec<_> = open(&path, None).unwrap().collect();
    assert!(matches!(recs[..], [Ok(Record::Op { row: 1, .. })]));
}

/// An endless input: `head` once, then `row` forever. A parser that buffered the whole input
/// would never return from this.
struct Endless {
    head: Vec<u8>,
    row: Vec<u8>,
    pos: usize,
}

impl Read for Endless {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        while n < buf.len() {
            let src = if self.pos < self.head.len() {
                &self.head[self.pos..]
            } else {
                let at = (self.pos - self.head.len()) % self.row.len();
                &self.row[at..]
            };
            let take = src.len().min(buf.len() - n);
            buf[n..n + take].copy_from_slice(&src[..take]);
            n += take;
            self.pos += take;
        }
        Ok(n)
    }
}

#[test]
fn records_stream_from_an_endless_input_in_every_format() {
    let cases: [(Format, &str, &str); 3] = [
        (Format::Csv, "action,email\n", "get_agent,a@b.co\n"),
        (Format::Json, "[", "{\"action\":\"get_agent\",\"email\":\"a@b.co\"},\n"),
        (Format::Ndjson, "", "{\"action\":\"get_agent\",\"email\":\"a@b.co\"}\n"),
    ];
    for (format, head, row) in cases {
        let input = Endless { head: head.into(), row: row.into(), pos: 0 };
        let rows: Vec<u64> =
            parse_reader(input, format, None).unwrap().take(1000).map(|r| r.unwrap().row()).collect();
        assert_eq!(rows.len(), 1000, "{format:?}");
        assert_eq!(rows[999], 1000);
    }
}

#[test]
fn a_record_over_the_cap_is_an_invalid_row_and_the_next_record_is_read() {
    let limits = Limits { max_record: 64, max_header: 32, max_request: 1 << 20 };
    let big = "x".repeat(500);
    let cases = [
        (Format::Csv, format!("action,email,name\nget_agent,a@b.co,\"{big}\n{big}\"\nget_agent,c@d.co,n\n")),
        (
            Format::Json,
            format!(
                "[{{\"action\":\"get_agent\",\"x\":[\"{big}]\\\"\"]}},\n{{\"action\":\"get_agent\",\"email\":\"c@d.co\"}}]"
            ),
        ),
        (Format::Ndjson, format!("{{\"x\":\"{big}\n{{\"action\":\"get_agent\",\"email\":\"c@d.co\"}}\n")),
    ];
    for (format, input) in cases {
        let recs: Vec<Record> = parse_reader_with(input.as_bytes(), format, None, &limits)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{format:?}: {e}"));
        assert_eq!(recs.len(), 2, "{format:?}: {recs:?}");
        assert_eq!(errors_of(&recs[0]), ["record: the record is larger than 64 bytes; it is skipped"]);
        assert!(matches!(&recs[1], Record::Op { row: 2, .. }), "{format:?}: {:?}", recs[1]);
    }
}

#[test]
fn a_csv_header_over_its_cap_rejects_the_file() {
    let limits = Limits { max_record: 64, max_header: 32, max_request: 1 << 20 };
    let input = format!("email,{}\na@b.co,x\n", "n".repeat(100));
    let err = parse_reader_with(input.as_bytes(), Format::Csv, None, &limits).err();
    assert!(matches!(err, Some(Error::HeaderTooLarge { limit: 32 })), "{err:?}");
}

#[test]
fn a_row_over_the_request_limit_is_invalid_before_any_call() {
    let limits = Limits { max_record: 1 << 20, max_header: 1 << 10, max_request: 300 };
    let input = format!("email,subject,description,priority,status\na@b.co,s,{},low,open\n", "d".repeat(400));
    let recs: Vec<Record> =
        parse_reader_with(input.as_bytes(), Format::Csv, Some(Action::CreateTicket), &limits)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let errs = errors_of(&recs[0]);
    assert!(errs[0].starts_with("description: makes a request body of about"), "{errs:?}");
}

#[test]
fn echoed_input_is_escaped_and_cut_at_200_characters() {
    let long = "p".repeat(5000);
    let input = format!("action,email,priority,{long}\nget_agent,\"x\ny@z\",{long},1\n");
    let reader = parse_reader(input.as_bytes(), Format::Csv, None).unwrap();
    assert_eq!(reader.ignored_columns()[0].chars().count(), 201);
    let recs: Vec<Record> = reader.collect::<Result<_, _>>().unwrap();
    let errs = errors_of(&recs[0]).join("; ");
    assert!(errs.contains("'x\\ny@z' is not a valid email"), "{errs}");
    let bad = format!("email,subject,description,priority,status\na@b.co,s,d,{long},open\n");
    let errs = errors_of(&read(&bad, Format::Csv, Some(Action::CreateTicket))[0]).join("; ");
    assert!(errs.len() < 400 && errs.contains("pp…'"), "{errs}");
    let head = format!("{long}x,{long}y\n");
    let Some(Error::NoKnownColumns { found }) = parse_reader(head.as_bytes(), Format::Csv, None).err() else {
        panic!("no known columns")
    };
    assert!(found.len() < 500, "{found}");
}

/// Counts "rows" generously: every newline or comma could start a record.
fn upper_bound(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| matches!(b, b'\n' | b'\r' | b',' | b'[' | b'{')).count() + 1
}

proptest! {
    #[test]
    fn parser_never_panics_and_never_returns_more_records_than_rows(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        fmt in 0..3u8,
    ) {
        let format = [Format::Csv, Format::Json, Format::Ndjson][fmt as usize];
        if let Ok(reader) = parse_reader(&bytes[..], format, Some(Action::GetAgent)) {
            let n = reader.count();
            prop_assert!(n <= upper_bound(&bytes));
        }
    }

    #[test]
    fn random_bytes_after_a_valid_header_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = b"action,email,subject,tags,cf_x,agent_id,priority\n".to_vec();
        bytes.extend_from_slice(&body);
        let reader = parse_reader(&bytes[..], Format::Csv, Some(Action::CreateTicket));
        prop_assert!(reader.is_ok());
        let mut n = 0;
        for item in reader.unwrap() {
            n += 1;
            if let Ok(rec) = item {
                prop_assert_eq!(rec.row(), n as u64);
            }
        }
        prop_assert!(n <= upper_bound(&body));
        let mut json = b"[{\"email\":".to_vec();
        json.extend_from_slice(&body);
        if let Ok(reader) = parse_reader(&json[..], Format::Json, None) {
            prop_assert!(reader.count() <= upper_bound(&json));
        }
    }

    #[test]
    fn csv_like_text_never_panics_and_records_stay_within_lines(
        text in "(action|email|subject|cf_x|tags|\"|,|;|\n|\r|a@b\\.co|get_agent|create_ticket| |x){0,60}",
    ) {
        if let Ok(reader) = parse_reader(text.as_bytes(), Format::Csv, None) {
            // CSV ends a record at LF, CR or CRLF: a lone CR is a line break too.
            let lines = text.matches(['\n', '\r']).count() + 1;
            prop_assert!(reader.count() <= lines);
        }
    }

    #[test]
    fn json_like_text_never_panics(
        text in "(\\[|\\]|\\{|\\}|\"|:|,|\\\\|email|action|get_agent|a@b.co|1| |\n){0,60}",
    ) {
        for format in [Format::Json, Format::Ndjson] {
            if let Ok(reader) = parse_reader(text.as_bytes(), format, None) {
                prop_assert!(reader.count() <= upper_bound(text.as_bytes()));
            }
        }
    }
}

/// Reads `r` one byte per `read` call.
struct OneByte<'a>(&'a [u8]);

impl std::io::Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((b, rest)), Some(slot)) => {
                *slot = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

fn outcome_of<R: std::io::Read>(r: R, format: Format) -> String {
    match parse_reader(r, format, Some(Action::GetAgent)) {
        Ok(records) => format!("{:?}", records.collect::<Vec<_>>()),
        Err(e) => format!("{e:?}"),
    }
}

/// Fuzzer finding F1 (`fuzz/artifacts/intake_csv/`): two byte-order marks were read differently
/// depending on read sizes.
#[test]
fn leading_byte_order_marks_are_all_stripped_whatever_the_read_size() {
    let text = b"\xEF\xBB\xBF\xEF\xBB\xBFemail\njo@example.com\n";
    let whole = outcome_of(&text[..], Format::Csv);
    assert_eq!(whole, outcome_of(OneByte(&text[..]), Format::Csv));
    assert!(whole.contains("jo@example.com"), "{whole}");
}

/// Fuzzer finding F2 (`fuzz/artifacts/intake_json/`): a broken JSON file named column 0.
#[test]
fn broken_json_right_after_a_line_break_names_column_one() {
    let err = outcome_of(&b"[\"\n\"]"[..], Format::Json);
    assert!(err.contains("BrokenJson") && !err.contains("column: 0"), "{err}");
}

/// Reads `r` at most `n` bytes per `read` call.
struct Chunks<'a>(&'a [u8], usize);

impl std::io::Read for Chunks<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(self.1).min(buf.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Every reproducer the intake fuzzers left (`fuzz/artifacts/intake_*/`), replayed as the fuzz
/// driver reads it (byte 0: the read size in its high 5 bits; the rest: the file): the same
/// outcome read whole and in pieces, and no JSON error at column 0. The corpora are only seeds
/// (TESTING.md, "Fuzzing"); these files are what must never come back.
#[test]
fn every_intake_fuzz_reproducer_reads_the_same_whole_and_in_pieces() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/artifacts");
    let mut seen = 0;
    for (dir, format) in
        [("intake_csv", Format::Csv), ("intake_json", Format::Json), ("intake_ndjson", Format::Ndjson)]
    {
        // git keeps no empty folder: a target without reproducers has none.
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for entry in entries {
            let data = std::fs::read(entry.expect("entry").path()).expect("reproducer");
            let Some((control, file)) = data.split_first() else { continue };
            let chunk = usize::from(control >> 3) + 1;
            let whole = outcome_of(file, format);
            assert_eq!(whole, outcome_of(Chunks(file, chunk), format), "{dir}: {data:?}");
            assert!(!whole.contains("column: 0"), "{dir}: {whole}");
            seen += 1;
        }
    }
    assert!(seen >= 5, "only {seen} reproducers found");
}
