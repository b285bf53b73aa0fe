//! Documented promises that had no test (README, now `docs/offboarding.md`, `docs/connections.md`,
//! `docs/trust.md`), each tested as worded: the sentence is quoted above each test.

use crate::connections::{connection_toml, two_accounts};
use crate::daemon::{Daemon, WAIT, drop_file, in_state, inbox, inbox_toml};
use crate::helpers::*;
use crate::misbehave::{Step, Target};
use fdsync_sim::SimConfig;
use std::time::Duration;

fn leavers(range: std::ops::RangeInclusive<u32>) -> String {
    let rows: String = range.map(|n| format!("agent{n:04}@example.com\n")).collect();
    format!("email\n{rows}")
}

/// "Approval lifts the volume rules for that file only; the per-row protections still apply."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_file_still_refuses_a_protected_agent_and_approval_covers_only_that_file() {
    let sim = SimConfig { agents: 10, ..fast_sim() };
    let extra = "[safety]\nmax_deletes_per_file = 2\nprotected_emails = [\"agent0002@example.com\"]\n";
    let app = spawn_app_with(sim, extra).await;
    let first = app.file("first.csv", &leavers(1..=3));
    let out = app.import(&first, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "3 deletes over a maximum of 2 are held: {}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("fdsync approve 1"), "{}", stdout(&out));
    let out = app.fdsync(&["approve", "1", "--yes", "--note", "test"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = app.import(&first, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "a protected row fails: {}{}", stdout(&out), stderr(&out));
    // "the row fails with `protected`": outcome failed, error_code protected.
    let report: Vec<(String, String)> =
        app.report("first").iter().map(|r| (r[3].clone(), r[6].clone())).collect();
    let want = [("deleted", ""), ("failed", "protected"), ("deleted", "")];
    assert_eq!(report, want.map(|(o, e)| (o.into(), e.into())));
    let left: Vec<String> = app.sim.state().agents.into_iter().filter_map(|a| a.email).collect();
    assert!(left.contains(&"agent0002@example.com".to_string()), "{left:?}");
    assert_eq!(app.sim.counters().agents_deleted, 2);

    // Another file over the same rule: held again, nothing of it deleted.
    let second = app.file("second.csv", &leavers(4..=6));
    let out = app.import(&second, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("fdsync approve 2"), "{}", stdout(&out));
    assert_eq!(app.sim.counters().agents_deleted, 2, "approving file 1 let nothing of file 2 run");
}

/// "An undo cannot itself be undone."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undo_cannot_itself_be_undone_and_trying_sends_nothing() {
    let app = spawn_app().await;
    let file = app.file("alerts.csv", &tickets_csv(3));
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = app.fdsync(&["undo", "1", "--yes"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(app.sim.state().tickets.iter().all(|t| t.deleted));
    let before = app.sim.counters().api_requests;
    let out = app.fdsync(&["undo", "2", "--yes"]).await;
    assert_ne!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("is an undo of file 1: undoing an undo is not supported"),
        "{}",
        stderr(&out)
    );
    assert_eq!(app.sim.counters().api_requests, before, "nothing was sent");
    assert!(app.sim.state().tickets.iter().all(|t| t.deleted), "the tickets stay deleted");
    let files: i64 = app.journal().query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0)).expect("count");
    assert_eq!(files, 2, "no undo of the undo was recorded");
}

/// "`retry --connection NAME` requeues only that connection's rows."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_with_a_connection_requeues_only_that_connections_failed_rows() {
    // No seat left on either account: every full-time agent is refused (a retryable failure).
    let (a, b) =
        two_accounts(SimConfig { seats: 0, ..fast_sim() }, SimConfig { seats: 0, ..fast_sim() }).await;
    a.write_config(&connection_toml("b", &b.sim, ""));
    let hires = "email,name,ticket_scope,occasional\nann@example.com,Ann,Global,false\n";
    let on_a = a.file("a.csv", hires);
    let on_b = a.file("b.csv", &hires.replace("ann", "bob"));
    let out = a.import(&on_a, &["--action", "create_agent"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let out = a.import(&on_b, &["--action", "create_agent", "--connection", "b"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));

    let out = a.fdsync(&["retry", "--connection", "b"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with("1 "), "one row queued: {}", stdout(&out));
    let states: Vec<(String, String)> = {
        let db = a.journal();
        let mut stmt = db
            .prepare("SELECT f.connection, o.state FROM ops o JOIN files f ON f.id = o.file_id ORDER BY f.id")
            .expect("query");
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).expect("rows").map(Result::unwrap).collect()
    };
    assert_eq!(states, [("default".into(), "failed".into()), ("b".into(), "pending".into())]);
}

/// "at most 100,000 changes per answer (stderr says when there were more)"
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_answers_at_most_100000_changes_and_says_when_there_were_more() {
    let app = spawn_app().await;
    let file = app.file("one.csv", &tickets_csv(1));
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    // 99,999 pruned changes beside the one live change: exactly 100,000.
    let db = rusqlite::Connection::open(app.state_dir().join("journal.db")).expect("journal");
    db.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 99999)
         INSERT INTO audit (op_id, file_id, file_name, sha256, row, action, key, email, sent_at,
                            confirmed_at, outcome, pruned_at)
         SELECT 1000000 + i, 1, 'old.csv', 'x', i, 'create_ticket', 'k' || i, 'old@example.com',
                1000 + i, 1000 + i, 'created', 5000 FROM n;",
    )
    .expect("insert pruned changes");
    let rows = |out: &std::process::Output| csv::Reader::from_reader(&out.stdout[..]).records().count();
    let out = app.fdsync(&["audit", "--format", "csv"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(rows(&out), 100_000);
    assert!(!stderr(&out).contains("only the first"), "{}", stderr(&out));

    db.execute(
        "INSERT INTO audit (op_id, file_id, file_name, sha256, row, action, key, sent_at, outcome, pruned_at)
                VALUES (2000000, 1, 'old.csv', 'x', 0, 'create_ticket', 'k0', 1, 'created', 5000)",
        [],
    )
    .expect("one more");
    let out = app.fdsync(&["audit", "--format", "csv"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(rows(&out), 100_000, "at most 100,000");
    assert!(stderr(&out).contains("only the first 100000 changes are shown"), "{}", stderr(&out));
}

/// "`GET /agents/me` that does not parse as an agent with id and e-mail | deletes wait (file
/// held), creates and lookups go on; asked again at most once a minute"
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_agents_me_is_asked_at_most_once_a_minute() {
    let dir = tempfile::tempdir().expect("inbox");
    let inbox = dir.path().join("offboarding");
    std::fs::create_dir_all(&inbox).expect("inbox");
    let extra =
        format!("[[inbox]]\ndir = \"{}\"\naction = \"delete_agent\"\nsettle_secs = 0\n", inbox.display());
    let t = Target::new(&extra).await;
    t.server.on("GET", "/api/v2/agents/me", vec![Step::html(200)]);
    let owner = r#"[{"id": 1, "contact": {"email": "owner@example.com", "name": "Owner"}}]"#;
    t.server.on("GET", "/api/v2/agents", vec![Step::json(200, owner)]);
    let mut daemon = t.daemon();
    let state = t.dir.path().join("state");
    let held = |n: usize| std::fs::read_dir(state.join("held")).map(|d| d.count()).unwrap_or(0) == n;
    let started = std::time::Instant::now();
    let mut asked = Vec::new();
    for (i, name) in ["a.csv", "b.csv", "c.csv"].into_iter().enumerate() {
        let staged = t.file(name, &format!("email\nleaver{i}@example.com\n"));
        std::fs::rename(&staged, inbox.join(name)).expect("drop");
        assert!(wait_until(Duration::from_secs(30), || held(i + 1)).await, "file {name} not held");
        asked.push(t.server.count("GET", "/api/v2/agents/me"));
    }
    // Some more seconds of the held files being looked at.
    tokio::time::sleep(Duration::from_secs(5)).await;
    asked.push(t.server.count("GET", "/api/v2/agents/me"));
    assert!(started.elapsed() < Duration::from_secs(60), "the test must stay within one minute");
    // One ask is up to 3 tries (`identity::ATTEMPTS`); the later files reuse its answer.
    assert!((1..=3).contains(&asked[0]), "{asked:?}");
    assert!(asked.iter().all(|n| *n == asked[0]), "/agents/me asked again within a minute: {asked:?}");
    let pid = daemon.id().expect("pid").to_string();
    std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    let status =
        tokio::time::timeout(Duration::from_secs(20), daemon.wait()).await.expect("exits").expect("wait");
    assert_eq!(status.code(), Some(0));
}

const HOOK_TOKEN: &str = "T000/B000/hook-s3cr3t-in-the-path";
const SMTP_PASSWORD: &str = "smtp-pa55word-s3cr3t";

/// "Logs name a target only as `webhook https://hooks.example.com/…`", "Secrets … never reach
/// logs": the daemon at `RUST_LOG=trace`, with an API key, an OAuth client secret, an SMTP
/// password and a webhook token all in use, and its whole log searched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemons_trace_log_holds_no_secret() {
    let (app, b) = two_accounts(fast_sim(), fast_sim()).await;
    let (hook, hook_port) = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = l.local_addr().expect("addr").port();
        (crate::notify::receiver(l, vec![]).await, port)
    };
    // An SMTP port with nobody listening: the password is loaded and the send is tried.
    let smtp_port =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().unwrap().port();
    let pw_file = app.dir.path().join("smtp_password");
    crate::notify::private_file(&pw_file, SMTP_PASSWORD);
    let oauth = connection_toml("b", &b.sim, "").replace(
        &format!("api_key = \"{}\"", b.sim.api_key()),
        &format!(
            "method = \"oauth2\"\n[connection.auth.oauth2]\ngrant_type = \"client_credentials\"\n\
             client_id = \"sim-client\"\nclient_secret = \"sim-secret\"\ntoken_url = \"{}/oauth/token\"\n",
            b.sim.base_url()
        ),
    );
    let (ia, ib) = (inbox(&app, "a"), inbox(&app, "b"));
    app.write_config(&format!(
        "{}{}connection = \"b\"\n{oauth}\
         [[notify]]\nwebhook_url = \"http://127.0.0.1:{hook_port}/services/{HOOK_TOKEN}\"\n\
         [[notify]]\non = [\"done\"]\nemail = {{ smtp_url = \"smtp://fdsync@127.0.0.1:{smtp_port}\", \
         from = \"fdsync@example.com\", to = [\"hr@example.com\"], smtp_password_file = \"{}\" }}\n",
        inbox_toml(&ia, "create_ticket", 0.0),
        inbox_toml(&ib, "create_ticket", 0.0),
        pw_file.display(),
    ));
    let d = Daemon::start_with(&app, &[("RUST_LOG", "trace")]);
    assert!(wait_until(WAIT, || d.log().contains("fdsync run is ready")).await, "{}", d.log());
    drop_file(&app, &ia, "a.csv", &tickets_csv(2));
    drop_file(&app, &ib, "b.csv", &tickets_csv(2));
    drop_file(&app, &ia, "broken.json", "{ not json");
    let done =
        wait_until(WAIT, || in_state(&app, "done").len() == 2 && crate::notify::count(&hook) >= 1).await;
    assert!(done, "{:?} {:?}", in_state(&app, "processing"), in_state(&app, "done"));
    let tried_smtp = wait_until(WAIT, || d.log().contains("smtp 127.0.0.1")).await;
    assert!(tried_smtp, "the e-mail was tried");
    let log_path = d.log.clone();
    assert_eq!(d.stop().await, 0);
    assert_eq!(b.sim.state().tickets.len(), 2, "connection b ran on an OAuth token");
    let log = std::fs::read_to_string(log_path).expect("log");
    assert!(log.contains("TRACE"), "trace logging was on");
    let cache = std::fs::read_to_string(app.state_dir().join("oauth-token-b.json")).expect("token cache");
    let token: serde_json::Value = serde_json::from_str(&cache).expect("token json");
    let access = token["access_token"].as_str().expect("access token").to_string();
    let key = app.sim.api_key();
    let b64 = |s: String| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let secrets = [
        key.clone(),
        b64(format!("{key}:X")),
        "sim-secret".to_string(),
        b64("sim-client:sim-secret".into()),
        access,
        HOOK_TOKEN.to_string(),
        "hook-s3cr3t".to_string(),
        SMTP_PASSWORD.to_string(),
        b64(format!("\0fdsync\0{SMTP_PASSWORD}")),
    ];
    for s in &secrets {
        assert!(!log.contains(s.as_str()), "secret {s:?} is in the trace log");
    }
    assert!(!log.to_lowercase().contains("authorization:"), "an Authorization header was logged");
}
