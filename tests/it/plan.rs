//! `fdsync plan`: a preview with real, read-only lookups against the simulator. It must send no
//! change (checked on the simulator's own request counters) and predict, row by row, what the
//! real import then does.

use crate::helpers::*;
use fdsync_sim::SimConfig;

const MIXED: &str = r#"{"action":"create_ticket","email":"jane@example.com","subject":"Disk full","description":"98%","priority":"High","status":"Open"}
{"action":"create_agent","email":"newhire@example.com","name":"New Hire","ticket_scope":"Global"}
{"action":"create_agent","email":"agent0001@example.com","name":"Already Here","ticket_scope":"Global"}
{"action":"get_agent","email":"agent0002@example.com"}
{"action":"get_agent","email":"nobody@example.com"}
{"action":"delete_agent","email":"agent0003@example.com"}
{"action":"delete_agent","email":"gone@example.com"}
{"action":"delete_agent","email":"admin@example.com"}
{"action":"delete_agent","email":"agent0004@example.com"}
{"action":"create_ticket","email":"sam@example.com","subject":"Move","description":"to Mars","priority":"Low","status":"Open","custom_fields":{"cf_region":"Mars"}}
"#;

/// Requests the simulator saw that could change something.
fn changes(app: &TestApp) -> Vec<String> {
    let c = app.sim.counters();
    c.requests.keys().filter(|k| !k.starts_with("GET ")).cloned().collect()
}

/// What a real run reports for each predicted outcome.
fn real_outcome(predicted: &str) -> (&'static str, &'static str) {
    match predicted {
        "would_create" => ("created", ""),
        "would_delete" => ("deleted", ""),
        "exists" => ("exists", ""),
        "found" => ("found", ""),
        "not_found" => ("not_found", ""),
        "already_deleted" => ("already_deleted", ""),
        "protected" | "self" => ("failed", "protected"),
        // fdsync refuses the create before sending it: a dropdown value outside its choices.
        "would_fail" => ("failed", "bad_value"),
        other => panic!("unexpected prediction {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_sends_no_change_and_predicts_every_outcome_of_the_real_run() {
    let app = spawn_app_with(
        SimConfig { agents: 6, ..fast_sim() },
        // The simulator's few agents make any delete over 10% of them: this test is about the
        // preview matching the run, not the share-of-agents guard (guards.rs), so that guard is off.
        "[safety]\nprotected_emails = [\"agent0004@example.com\"]\nmax_deletes_percent = 0\n",
    )
    .await;
    let file = app.file("mixed.ndjson", MIXED);
    let out = app.fdsync(&["plan", file.to_str().unwrap(), "--json"]).await;
    assert_eq!(code(&out), 1, "one row would fail: {}{}", stdout(&out), stderr(&out));
    assert_eq!(changes(&app), Vec::<String>::new(), "a preview sends only reads");
    let plans: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let rows = plans[0]["rows"].as_array().expect("rows").clone();
    let predicted: Vec<String> = rows.iter().map(|r| r["outcome"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        predicted,
        [
            "would_create",
            "would_create",
            "exists",
            "found",
            "not_found",
            "would_delete",
            "already_deleted",
            "self",
            "protected",
            "would_fail"
        ],
        "{plans}"
    );
    assert_eq!(plans[0]["held"], serde_json::json!([]), "the run would not be held");
    assert!(rows[5]["message"].as_str().unwrap().contains("agent0003@example.com"), "{plans}");
    assert!(rows[9]["message"].as_str().unwrap().contains("EMEA"), "the allowed values are named: {plans}");

    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 1, "two rows are refused by design: {}{}", stdout(&out), stderr(&out));
    let report = app.report("mixed");
    assert_eq!(report.len(), predicted.len(), "a report line per predicted row: {report:?}");
    for (row, want) in report.iter().zip(&predicted) {
        let (outcome, code) = real_outcome(want);
        assert_eq!((row[3].as_str(), row[6].as_str()), (outcome, code), "row {}: predicted {want}", row[0]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_says_the_run_would_be_held_and_why() {
    let app =
        spawn_app_with(SimConfig { agents: 6, ..fast_sim() }, "[safety]\nmax_deletes_per_file = 2\n").await;
    let rows: String = (1..=3).map(|i| format!("agent000{i}@example.com\n")).collect();
    let file = app.file("leavers.csv", &format!("email\n{rows}"));
    let out = app.fdsync(&["plan", file.to_str().unwrap(), "--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("would be HELD: 3 deletes exceed safety.max_deletes_per_file = 2"), "{text}");
    assert!(text.contains("3 rows: 3 would_delete"), "{text}");
    assert_eq!(changes(&app), Vec::<String>::new());
    assert_eq!(app.sim.counters().agents_deleted, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_from_a_terminal_shows_the_preview_then_asks() {
    let app =
        spawn_app_with(SimConfig { agents: 6, ..fast_sim() }, "[safety]\nmax_deletes_per_file = 1\n").await;
    let file = app.file("leavers.csv", "email\nagent0001@example.com\nagent0002@example.com\n");
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "held: {}", stdout(&out));
    // `script` gives approve a terminal; "y" answers its question.
    let command = format!(
        "{} --config {} approve 1 --note 'leavers list checked'",
        env!("CARGO_BIN_EXE_fdsync"),
        app.config.display()
    );
    let mut child = tokio::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("SUDO_USER", "bob")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("script");
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"y\n").await.expect("answer");
    let out = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("approve answered")
        .expect("output");
    let text = String::from_utf8_lossy(&out.stdout);
    let preview = text.find("2 rows: 2 would_delete").unwrap_or_else(|| panic!("no preview: {text}"));
    let question = text.find("approve file 1").unwrap_or_else(|| panic!("no question: {text}"));
    assert!(preview < question, "the preview comes first: {text}");
    assert!(text.contains(&format!("approved by {}", approver("bob"))), "{text}");
    assert_eq!(app.sim.counters().agents_deleted, 0, "approving sends nothing by itself");
    assert_eq!(changes(&app), Vec::<String>::new());
}
