//! `fdsync import` end to end against the simulator: every outcome of every action, bad rows,
//! duplicates, quota trouble and faults.

use crate::helpers::*;
use fdsync_sim::SimConfig;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_are_created_once_each_and_bad_rows_are_reported_with_their_row_numbers() {
    let app = spawn_app().await;
    let file = app.file(
        "tickets.csv",
        "email,subject,description,priority,status,tags,cf_host\n\
         a@example.com,Disk full,Disk 98%,High,Open,monitoring,db-07\n\
         not-an-email,Bad row,x,High,Open,,\n\
         b@example.com,CPU hot,Load 12,urgent,2,ops;night,web-01\n\
         c@example.com,Missing priority,x,,Open,,\n",
    );
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1, "some rows failed: {}{}", stdout(&out), stderr(&out));
    let report = app.report("tickets");
    assert_eq!(
        outcomes(&report),
        [("1", "created"), ("2", "failed"), ("3", "created"), ("4", "failed")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(report[1][7].contains("email"), "row 2 names its column: {:?}", report[1]);
    assert!(report[3][7].contains("priority"), "row 4 names its column: {:?}", report[3]);
    let tickets = app.sim.state().tickets;
    assert_eq!(tickets.len(), 2);
    let disk = tickets.iter().find(|t| t.subject == "Disk full").expect("ticket created");
    assert_eq!(disk.priority, 3);
    assert_eq!(disk.custom_fields.get("cf_host").and_then(|v| v.as_str()), Some("db-07"));
    assert!(disk.tags.iter().any(|t| t.starts_with("fds-")), "idempotency tag: {:?}", disk.tags);
    assert_eq!(report[0][4], disk.id.to_string(), "the report gives the ticket id");
    assert!(stdout(&out).contains("2 created"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_file_dropped_twice_costs_no_calls_the_second_time() {
    let app = spawn_app().await;
    let file = app.file("t.csv", &tickets_csv(5));
    assert_eq!(code(&app.import(&file, &["--action", "create_ticket"]).await), 0);
    let calls = app.sim.counters().api_requests;
    let copy = app.file("t-copy.csv", &tickets_csv(5));
    let out = app.import(&copy, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("already imported"), "{}", stdout(&out));
    assert_eq!(app.sim.counters().api_requests, calls, "a duplicate file must cost zero calls");
    assert_eq!(app.sim.state().tickets.len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_agent_action_reports_its_own_outcome() {
    let sim = SimConfig { agents: 3, ..fast_sim() };
    // The simulator's few agents make any delete over 10% of them: this test is about each action's outcome, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let extra = "[safety]\nprotected_emails = [\"agent0003@example.com\"]\nmax_deletes_percent = 0\n";
    let app = spawn_app_with(sim, extra).await;
    let file = app.file(
        "agents.csv",
        "action,email,name,ticket_scope,job_title,agent_id\n\
         createAgent,new.hire@example.com,New Hire,Global,Engineer,\n\
         create_agent,agent0001@example.com,Agent One,1,,\n\
         getAgentbyEmail,agent0002@example.com,,,,\n\
         get_agent,nobody@example.com,,,,\n\
         deleteAgent,agent0002@example.com,,,,\n\
         delete_agent,ghost@example.com,,,,\n\
         delete_agent,,,,,99\n\
         delete_agent,agent0003@example.com,,,,\n\
         delete_agent,admin@example.com,,,,\n",
    );
    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("agents");
    let got: Vec<&str> = report.iter().map(|r| r[3].as_str()).collect();
    assert_eq!(
        got,
        [
            "created",
            "exists",
            "found",
            "not_found",
            "deleted",
            "already_deleted",
            "already_deleted",
            "failed",
            "failed"
        ]
    );
    assert!(report[7][7].contains("protected"), "{:?}", report[7]);
    assert!(report[8][7].contains("owns the API key"), "{:?}", report[8]);
    let state = app.sim.state();
    let emails: Vec<String> = state.agents.iter().filter_map(|a| a.email.clone()).collect();
    assert!(emails.contains(&"new.hire@example.com".to_string()));
    assert!(!emails.contains(&"agent0002@example.com".to_string()), "deleted agent is gone");
    assert!(emails.contains(&"agent0003@example.com".to_string()), "protected agent kept");
    assert!(emails.contains(&"admin@example.com".to_string()), "own agent kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_with_too_many_deletes_is_held_until_approved() {
    let sim = SimConfig { agents: 4, ..fast_sim() };
    let app = spawn_app_with(sim, "[safety]\nmax_deletes_per_file = 2\n").await;
    let file = app.file(
        "offboarding.csv",
        "email\nagent0001@example.com\nagent0002@example.com\nagent0003@example.com\n",
    );
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("fdsync approve 1"), "{}", stdout(&out));
    assert_eq!(app.sim.counters().agents_deleted, 0, "no delete may be sent while held");
    // Not from a terminal and without --yes: approve refuses, and nothing changes.
    let out = app.fdsync(&["approve", "1"]).await;
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    let out = app
        .command(&["approve", "1", "--yes", "--note", "checked with HR, ticket 4711"])
        .env("SUDO_USER", "alice")
        .output()
        .await
        .expect("approve");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("approved by {}", approver("alice"))), "{}", stdout(&out));
    let db = rusqlite::Connection::open(app.state_dir().join("journal.db")).expect("journal");
    let (by, at, note): (String, i64, String) = db
        .query_row("SELECT approved_by, approved_at, approval_note FROM files WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("approval recorded");
    assert_eq!((by, note.as_str()), (approver("alice"), "checked with HR, ticket 4711"));
    assert!(at > 0);
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(app.sim.counters().agents_deleted, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_delays_the_import_without_failing_a_row() {
    let sim = SimConfig { rate: Some(60), window: Duration::from_secs(2), ..fast_sim() };
    // One attempt per row: a 429 that spent an attempt would fail its row.
    let limits = "[limits]\nwindow_secs = 2\nreserve_percent = 0\nmax_attempts = 1\n";
    let app = spawn_app_with(sim, limits).await;
    let file = app.file("t.csv", &tickets_csv(30));
    // The storm starts mid-run, once ops are flowing (not at `agents/me`, which would absorb it).
    let storm = async {
        assert!(wait_until(Duration::from_secs(20), || app.sim.counters().tickets_created >= 5).await);
        app.sim.update(|c| c.storm_until = Some(std::time::Instant::now() + Duration::from_millis(1500)));
    };
    let (out, ()) = tokio::join!(app.import(&file, &["--action", "create_ticket"]), storm);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(app.sim.state().tickets.len(), 30);
    assert!(app.sim.counters().rate_limited > 0, "the storm must have been felt by ops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_lost_answers_never_duplicate_or_lose_a_ticket() {
    let sim = SimConfig { fail_rate: 0.15, drop_rate: 0.15, reset_rate: 0.05, seed: 7, ..fast_sim() };
    let app = spawn_app_with(sim, "[limits]\nmax_attempts = 20\n").await;
    let file = app.file("t.csv", &tickets_csv(40));
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let counts = subject_counts(&app);
    assert_eq!(counts.len(), 40, "every row created");
    assert!(counts.values().all(|n| *n == 1), "no duplicates: {counts:?}");
    let c = app.sim.counters();
    assert!(c.drops > 0 && c.faults_5xx > 0, "faults must have happened: {c:?}");
    let report = app.report("t");
    assert!(report.iter().all(|r| r[3] == "created"), "a recovered ticket is reported created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_to_agent_creates_and_deletes_are_reconciled() {
    let sim = SimConfig { agents: 10, drop_rate: 0.25, seed: 3, ..fast_sim() };
    // The simulator's few agents make any delete over 10% of them: this test is about lost answers, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let app = spawn_app_with(sim, "[limits]\nmax_attempts = 20\n[safety]\nmax_deletes_percent = 0\n").await;
    let mut csv = String::from("action,email,name,ticket_scope\n");
    for i in 1..=8 {
        csv.push_str(&format!("create_agent,hire{i}@example.com,Hire {i},Group\n"));
    }
    for i in 1..=8 {
        csv.push_str(&format!("delete_agent,agent{i:04}@example.com,,\n"));
    }
    let file = app.file("mixed.csv", &csv);
    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("mixed");
    let created = report.iter().filter(|r| r[3] == "created").count();
    let deleted = report.iter().filter(|r| r[3] == "deleted").count();
    assert_eq!((created, deleted), (8, 8), "{report:?}");
    assert!(app.sim.counters().drops > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_api_key_exits_3_and_marks_no_row_failed() {
    let app = spawn_app().await;
    let text = std::fs::read_to_string(&app.config).unwrap().replace(&app.sim.api_key(), "wrong-key");
    std::fs::write(&app.config, text).unwrap();
    let file = app.file("t.csv", &tickets_csv(3));
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 3, "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("credentials"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("wrong-key"), "the key must not be printed");
    let status = app.fdsync(&["status", "--json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status json");
    assert_eq!(json["totals"]["failed"], 0);
    assert_eq!(json["totals"]["pending"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_freshdesk_exits_3_with_the_journal_intact_and_a_rerun_finishes() {
    let app = spawn_app().await;
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let good = std::fs::read_to_string(&app.config).unwrap();
    std::fs::write(&app.config, good.replace(&app.sim.base_url(), &dead_url)).unwrap();
    let file = app.file("t.csv", &tickets_csv(4));
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 3, "{}{}", stdout(&out), stderr(&out));
    std::fs::write(&app.config, good).unwrap();
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(app.sim.state().tickets.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_and_ndjson_files_import_like_csv_and_an_unreadable_file_sends_nothing() {
    let app = spawn_app().await;
    let json = app.file(
        "t.json",
        r#"[{"email":"a@example.com","subject":"From JSON","description":"d","priority":2,"status":"open","tags":["x"]}]"#,
    );
    assert_eq!(code(&app.import(&json, &["--action", "create_ticket"]).await), 0);
    let nd = app.file(
        "t.ndjson",
        "{\"action\":\"createTicket\",\"email\":\"b@example.com\",\"subject\":\"From NDJSON\",\"description\":\"d\",\"priority\":\"low\",\"status\":\"open\"}\n",
    );
    assert_eq!(code(&app.import(&nd, &[]).await), 0);
    let before = app.sim.counters().api_requests;
    let broken = app.file("broken.json", r#"[{"email":"c@example.com","subject":"x"},{"#);
    let out = app.import(&broken, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 1);
    assert!(stdout(&out).contains("rejected"), "{}", stdout(&out));
    assert_eq!(app.sim.counters().api_requests, before, "nothing from a broken file is sent");
    let subjects: Vec<String> = app.sim.state().tickets.into_iter().map(|t| t.subject).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reports_what_would_happen_and_sends_nothing() {
    let app = spawn_app().await;
    let file = app.file("dry.csv", &tickets_csv(3));
    let out = app.import(&file, &["--action", "create_ticket", "--dry-run"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let c = app.sim.counters();
    assert!(c.requests.keys().all(|k| k.starts_with("GET ")), "only reads: {:?}", c.requests);
    assert_eq!(c.tickets_created, 0);
    let report = app.report("dry");
    assert_eq!(report.len(), 3);
    assert!(report.iter().all(|r| r[3] == "would_create"), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_wrong_config_is_a_usage_error_naming_the_key() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_fdsync"))
        .args(["--config", "/nonexistent/fdsync.toml", "status"])
        .output()
        .await
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let app = spawn_app_with(fast_sim(), "[limits]\nconcurency = 4\n").await;
    let out = app.fdsync(&["status"]).await;
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("concurency"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_id_seen_in_an_earlier_file_is_reported_exists_without_a_call() {
    let app = spawn_app().await;
    let first = app.file(
        "legacy-1.json",
        r#"[{"external_id":"LEG-1","email":"a@example.com","subject":"Legacy one","description":"d","priority":1,"status":2}]"#,
    );
    assert_eq!(code(&app.import(&first, &["--action", "create_ticket"]).await), 0);
    let posts = app.sim.counters().tickets_created;
    let second = app.file(
        "legacy-2.csv",
        "external_id,email,subject,description,priority,status\n\
         LEG-1,a@example.com,Legacy one (re-exported),d,low,open\n\
         LEG-2,b@example.com,Legacy two,d,low,open\n",
    );
    let out = app.import(&second, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("legacy-2");
    assert_eq!(report[0][3], "exists", "{report:?}");
    assert_eq!(report[1][3], "created");
    assert_eq!(app.sim.counters().tickets_created, posts + 1, "LEG-1 is not sent again");
    assert_eq!(app.sim.state().tickets.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_offboarding_file_lists_agents_once_instead_of_looking_each_up() {
    let sim = SimConfig { agents: 250, ..fast_sim() };
    // The simulator's 250 agents make 200 deletes over 10% of them: this test is about the agent listing, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let app = spawn_app_with(sim, "[safety]\nmax_deletes_per_file = 1000\nmax_deletes_percent = 0\n").await;
    let mut csv = String::from("email\n");
    for n in 1..=200 {
        csv.push_str(&format!("agent{n:04}@example.com\n"));
    }
    csv.push_str("never.existed@example.com\n");
    let file = app.file("offboarding.csv", &csv);
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let c = app.sim.counters();
    assert_eq!(c.agents_deleted, 200);
    // Per delete: the agent's record by id (roles, before-image) and the delete; the listing
    // (3 pages) and the one miss replace 201 lookups by e-mail.
    let per_row = c.api_requests as f64 / 201.0;
    assert!(per_row <= 2.05, "{} calls for 201 rows ({per_row:.3} per row)", c.api_requests);
    let listed =
        c.requests.iter().filter(|(k, _)| k.starts_with("GET /api/v2/agents 2")).map(|(_, n)| n).sum::<u64>();
    assert!(listed <= 5, "{listed} listings or lookups by e-mail: {:?}", c.requests);
    let report = app.report("offboarding");
    assert_eq!(report.iter().filter(|r| r[3] == "deleted").count(), 200);
    assert_eq!(
        report[200][3], "already_deleted",
        "a miss in the listing is still looked up: {:?}",
        report[200]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_of_an_op_carries_its_connection_file_row_and_key_from_its_span() {
    let app = spawn_app().await;
    let file = app.file("spans.csv", &tickets_csv(2));
    let out = app
        .command(&["import", file.to_str().expect("utf-8"), "--action", "create_ticket"])
        .env("RUST_LOG", "fdsync=debug")
        .output()
        .await
        .expect("run");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let log = stderr(&out);
    assert!(!log.contains('\u{1b}'), "a log on a pipe has no colours: {log}");
    let finished: Vec<&str> = log.lines().filter(|l| l.contains("Op finished.")).collect();
    assert_eq!(finished.len(), 2, "{log}");
    for row in 1..=2 {
        let line = finished
            .iter()
            .find(|l| l.contains(&format!("row={row} ")))
            .unwrap_or_else(|| panic!("row {row}: {log}"));
        for field in ["op{", "connection=default", "file_id=1", "key="] {
            assert!(line.contains(field), "{field} missing from {line}");
        }
    }
}
