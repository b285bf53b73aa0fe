//! Least privilege (issue 20): each inbox holds only the powers its producer needs, no file makes
//! a privileged agent unapproved, splitting an offboarding does not dodge the delete rules, and
//! an oversized file waits. Real `fdsync run` / `plan` / `import` / `approve` against the
//! simulator; each test is named after the attack it stops.

use crate::daemon::{Daemon, WAIT, drop_file, in_state, inbox};
use crate::helpers::*;
use fdsync_sim::{ROLE_ACCOUNT_ADMIN, ROLE_AGENT, SimConfig};
use std::path::Path;

/// Requests that changed something, by `"METHOD /route STATUS"`.
fn changes(app: &TestApp) -> Vec<String> {
    app.sim.counters().requests.keys().filter(|k| !k.starts_with("GET ")).cloned().collect()
}

fn inbox_with(dir: &Path, action: &str, extra: &str) -> String {
    format!("[[inbox]]\ndir = \"{}\"\naction = \"{action}\"\nsettle_secs = 0\n{extra}", dir.display())
}

fn leavers(range: std::ops::RangeInclusive<u32>) -> String {
    let rows: String = range.map(|n| format!("agent{n:04}@example.com\n")).collect();
    format!("email\n{rows}")
}

/// The file id a held/ or done/ entry (`<id>-<name>`) names.
fn id_of(entry: &str) -> String {
    entry.split('-').next().expect("id prefix").to_string()
}

fn file_error(app: &TestApp, id: &str) -> String {
    app.journal()
        .query_row("SELECT COALESCE(error, '') FROM files WHERE id = ?1", [id], |r| r.get(0))
        .expect("file row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_inbox_file_cannot_delete_an_agent_or_create_an_administrator() {
    let app = spawn_app_with(SimConfig { agents: 3, ..fast_sim() }, "").await;
    let dir = inbox(&app, "tickets");
    app.write_config(&inbox_with(&dir, "create_ticket", ""));
    let csv = format!(
        "action,email,subject,description,priority,status,name,ticket_scope,role_ids\n\
         create_ticket,user1@example.com,Disk full,98% on /var,High,Open,,,\n\
         delete_agent,agent0001@example.com,,,,,,,\n\
         create_agent,mallory@example.com,,,,,Mallory,Global,{ROLE_ACCOUNT_ADMIN}\n\
         create_ticket,user2@example.com,Disk full,99% on /var,High,Open,,,\n"
    );
    // The preview of a file as this inbox would take it shows the refusals.
    let staged = app.file("alerts.csv", &csv);
    let plan =
        app.fdsync(&["plan", staged.to_str().unwrap(), "--inbox", dir.to_str().unwrap(), "--json"]).await;
    assert_eq!(code(&plan), 1, "{}{}", stdout(&plan), stderr(&plan));
    let plans: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("json");
    let predicted: Vec<&str> =
        plans[0]["rows"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(predicted, ["would_create", "failed", "failed", "would_create"], "{plans}");
    assert!(
        plans[0]["rows"][1]["message"].as_str().unwrap().contains("allows only create_ticket"),
        "{plans}"
    );

    let d = Daemon::ready(&app).await;
    drop_file(&app, &dir, "alerts.csv", &csv);
    assert!(wait_until(WAIT, || in_state(&app, "done").len() == 1).await, "{}", d.log());
    let report = app.report("alerts");
    let rows: Vec<(&str, &str, &str)> =
        report.iter().map(|r| (r[1].as_str(), r[3].as_str(), r[6].as_str())).collect();
    assert_eq!(
        rows,
        [
            ("create_ticket", "created", ""),
            ("delete_agent", "failed", "action_not_allowed"),
            ("create_agent", "failed", "action_not_allowed"),
            ("create_ticket", "created", ""),
        ]
    );
    let message = &report[1][7];
    assert!(
        message.contains(&dir.display().to_string()) && message.contains("allows only create_ticket"),
        "the refusal names the inbox and what it allows: {message}"
    );
    let sent = changes(&app);
    assert!(sent.iter().all(|k| !k.starts_with("DELETE")), "no DELETE: {sent:?}");
    assert!(sent.iter().all(|k| !k.starts_with("POST /api/v2/agents")), "no agent POST: {sent:?}");
    assert_eq!(app.sim.counters().tickets_created, 2);
    assert!(app.sim.state().agents.iter().all(|a| a.email.as_deref() != Some("mallory@example.com")));
    // `fdsync retry` never brings a refused row back.
    assert_eq!(code(&app.fdsync(&["retry"]).await), 0);
    let pending: i64 = app
        .journal()
        .query_row("SELECT COUNT(*) FROM ops WHERE state = 'pending'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pending, 0, "refused rows stay refused");
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_creating_an_administrator_is_held_until_approved() {
    let app = spawn_app_with(SimConfig { agents: 2, ..fast_sim() }, "").await;
    let file = app.file(
        "hires.csv",
        &format!(
            "email,ticket_scope,name,role_ids\n\
             jane@example.com,Group,Jane Doe,{ROLE_AGENT}\n\
             mallory@example.com,Global,Mallory,{ROLE_AGENT};{ROLE_ACCOUNT_ADMIN}\n"
        ),
    );
    let plan = app.fdsync(&["plan", file.to_str().unwrap(), "--action", "create_agent"]).await;
    let said = stdout(&plan);
    assert_eq!(code(&plan), 1, "{said}{}", stderr(&plan));
    assert!(said.contains("with the protected role 'Account Administrator'"), "the row is shown: {said}");
    assert!(said.contains("would be HELD") && said.contains("row 2 creates mallory@example.com"), "{said}");

    let out = app.import(&file, &["--action", "create_agent"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let reason = file_error(&app, "1");
    assert!(
        reason.contains("row 2 creates mallory@example.com with the role 'Account Administrator'")
            && reason.contains("fdsync approve 1"),
        "{reason}"
    );
    assert_eq!(app.sim.counters().agents_created, 0, "no agent of a held file is created");

    assert_eq!(code(&app.fdsync(&["approve", "1", "--yes"]).await), 0);
    let out = app.import(&file, &["--action", "create_agent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(app.sim.counters().agents_created, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_split_offboarding_files_cannot_dodge_the_share_rule_even_across_a_restart() {
    // 38 seeded agents + the key's owner and one more: 40. 10 % of 40 is 4 deletes a day.
    let app = spawn_app_with(SimConfig { agents: 38, ..fast_sim() }, "").await;
    let dir = inbox(&app, "offboarding");
    app.write_config(&format!(
        "{}[safety]\nmax_deletes_percent = 10\n",
        inbox_with(&dir, "delete_agent", "")
    ));
    let d = Daemon::ready(&app).await;
    drop_file(&app, &dir, "leavers-1.csv", &leavers(1..=3));
    assert!(wait_until(WAIT, || in_state(&app, "done").len() == 1).await, "{}", d.log());
    assert_eq!(app.sim.counters().agents_deleted, 3, "3 of 40 is within the rule");
    assert_eq!(d.stop().await, 0);

    // A new daemon reads the window from the journal.
    let d = Daemon::ready(&app).await;
    drop_file(&app, &dir, "leavers-2.csv", &leavers(4..=6));
    assert!(wait_until(WAIT, || in_state(&app, "held").len() == 1).await, "{}", d.log());
    let second = id_of(&in_state(&app, "held")[0]);
    let reason = file_error(&app, &second);
    assert!(
        reason.contains("6 deletes are 16% of the account's 37 agents")
            && reason.contains("over safety.max_deletes_percent = 10")
            && reason.contains("safety.window_hours = 24")
            && reason.contains("file 1: 3"),
        "the reason names the window and the earlier file: {reason}"
    );
    drop_file(&app, &dir, "leavers-3.csv", &leavers(7..=9));
    assert!(wait_until(WAIT, || in_state(&app, "held").len() == 2).await, "{}", d.log());
    assert_eq!(app.sim.counters().agents_deleted, 3, "nothing more deleted");

    // Approved, the second runs (the third stays held).
    assert_eq!(code(&app.fdsync(&["approve", &second, "--yes"]).await), 0);
    assert!(wait_until(WAIT, || in_state(&app, "done").len() == 2).await, "{}", d.log());
    assert_eq!(app.sim.counters().agents_deleted, 6);
    assert_eq!(d.stop().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_above_its_inbox_caps_is_held_before_any_call() {
    let app = spawn_app().await;
    let rows_dir = inbox(&app, "rows");
    let bytes_dir = inbox(&app, "bytes");
    app.write_config(&format!(
        "{}{}",
        inbox_with(&rows_dir, "create_ticket", "max_rows = 2\n"),
        inbox_with(&bytes_dir, "create_ticket", "max_file_bytes = 100\n")
    ));
    let d = Daemon::ready(&app).await;
    drop_file(&app, &rows_dir, "many.csv", &tickets_csv(3));
    drop_file(&app, &bytes_dir, "big.csv", &tickets_csv(2));
    assert!(wait_until(WAIT, || in_state(&app, "held").len() == 2).await, "{}", d.log());
    let held = in_state(&app, "held");
    let reasons: Vec<String> = held.iter().map(|h| file_error(&app, &id_of(h))).collect();
    assert!(reasons.iter().any(|r| r.contains("3 rows, over the max_rows = 2")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.contains("over the max_file_bytes = 100")), "{reasons:?}");
    assert!(changes(&app).is_empty(), "no change sent for a held file: {:?}", changes(&app));

    for h in &held {
        assert_eq!(code(&app.fdsync(&["approve", &id_of(h), "--yes"]).await), 0);
    }
    assert!(wait_until(WAIT, || in_state(&app, "done").len() == 2).await, "{}", d.log());
    assert_eq!(app.sim.counters().tickets_created, 5);
    assert_eq!(d.stop().await, 0);
}
