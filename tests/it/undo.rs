//! `fdsync undo` against the simulator, real processes: deleted agents come back with identical
//! roles, groups, scope and occasional (the simulator's state compared before the delete and
//! after the undo); a ticket import's undo soft-deletes exactly the tickets it created; `--rows`
//! restricts; a second undo does nothing; refusals are `not_restorable` with their reason; the
//! guards hold a large ticket undo; a kill -9 mid-undo and a rerun restore each agent once.
//! (The simulator cannot hard-delete a contact, so the `hard_deleted` reason is tested only in
//! the engine's unit tests.)

use crate::helpers::*;
use fdsync_sim::SimConfig;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// An agent's restorable settings as the simulator holds them: occasional, scope, roles, groups.
type Image = (bool, u64, Vec<u64>, Vec<u64>);

/// `POST /api/v2/agents` straight to the simulator; the new agent's id.
async fn seed_agent(app: &TestApp, email: &str, settings: Value) -> u64 {
    let mut body = json!({"email": email, "name": email, "ticket_scope": 1});
    body.as_object_mut().unwrap().extend(settings.as_object().unwrap().clone());
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v2/agents", app.sim.base_url()))
        .basic_auth(app.sim.api_key(), Some("X"))
        .json(&body)
        .send()
        .await
        .expect("simulator answers");
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["id"].as_u64().unwrap()
}

/// `PUT contacts/{id}/make_agent` straight to the simulator (someone restoring by hand).
async fn make_agent_directly(app: &TestApp, id: u64, body: Value) -> u16 {
    let resp = reqwest::Client::new()
        .put(format!("{}/api/v2/contacts/{id}/make_agent", app.sim.base_url()))
        .basic_auth(app.sim.api_key(), Some("X"))
        .json(&body)
        .send()
        .await
        .expect("simulator answers");
    resp.status().as_u16()
}

/// Every agent's image, by id.
fn images(app: &TestApp) -> BTreeMap<u64, Image> {
    let state = app.sim.state();
    let image =
        |a: &fdsync_sim::AgentInfo| (a.occasional, a.ticket_scope, a.role_ids.clone(), a.group_ids.clone());
    state.agents.iter().filter_map(|u| u.agent.as_ref().map(|a| (u.id, image(a)))).collect()
}

/// Seeds `n` leavers with varied settings; their e-mails.
async fn seed_leavers(app: &TestApp, n: u64) -> Vec<String> {
    let mut emails = Vec::new();
    for i in 0..n {
        let email = format!("leaver{i:02}@example.com");
        let settings = json!({
            "occasional": i % 3 == 0,
            "ticket_scope": 1 + i % 3,
            "role_ids": [43_000_078_900 + i % 4, 43_000_078_950 + i],
            "group_ids": (0..i % 3).map(|g| 43_000_100_000 + g + i).collect::<Vec<_>>(),
        });
        seed_agent(app, &email, settings).await;
        emails.push(email);
    }
    emails
}

fn leavers_csv(emails: &[String]) -> String {
    format!("email\n{}\n", emails.join("\n"))
}

const ROUTE: &str = "PUT /api/v2/contacts/{id}/make_agent";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_restores_every_deleted_agent_identically_and_a_second_undo_does_nothing() {
    // The simulator's few agents make any delete over 10% of them: this test is about undo, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let app =
        spawn_app_with(fast_sim(), "[safety]\nmax_deletes_per_file = 100\nmax_deletes_percent = 0\n").await;
    let emails = seed_leavers(&app, 9).await;
    let before = images(&app);
    let file = app.file("leavers.csv", &leavers_csv(&emails));
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(app.sim.counters().agents_deleted, 9);
    assert_eq!(images(&app).len(), before.len() - 9, "the leavers are contacts now");

    let out = app.fdsync(&["undo", "1", "--yes"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(images(&app), before, "every agent back with identical roles, groups, scope and occasional");
    let report = app.report("undo-of-1");
    assert_eq!(report.len(), 9);
    assert!(report.iter().all(|r| r[1] == "restore_agent" && r[3] == "restored"), "{report:?}");
    assert_eq!(app.sim.counters().route(ROUTE), 9);

    let status: Value = serde_json::from_slice(&app.fdsync(&["status", "--json"]).await.stdout).unwrap();
    let file_of =
        |id: i64| status["files"].as_array().unwrap().iter().find(|f| f["id"] == id).unwrap().clone();
    assert_eq!(file_of(1)["undone_by"], json!([2]), "{status}");
    assert_eq!(file_of(2)["undo_of"], json!(1));
    let table = stdout(&app.fdsync(&["status"]).await);
    assert!(table.contains("leavers.csv (undone by file 2)"), "{table}");
    let audit = app.fdsync(&["audit", "--file", "1", "--format", "json"]).await;
    let audit: Value = serde_json::from_slice(&audit.stdout).expect("audit json");
    let changes = audit.as_array().expect("array");
    assert_eq!(changes.len(), 9);
    assert!(changes.iter().all(|c| c["undone_by"] == json!(2)), "the audit marks the undone file: {audit}");

    let out = app.fdsync(&["undo", "1", "--yes"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("nothing to undo"), "{}", stdout(&out));
    assert!(stdout(&out).contains("already undone by file 2"), "{}", stdout(&out));
    assert_eq!(app.sim.counters().route(ROUTE), 9, "the second undo sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_of_a_ticket_import_deletes_exactly_its_tickets_and_rows_restricts() {
    let app = spawn_app().await;
    app.create_ticket_directly("other@example.com", "not ours 1").await;
    app.create_ticket_directly("user1@example.com", "not ours 2").await;
    let file = app.file("alerts.csv", &tickets_csv(6));
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let deleted = |app: &TestApp| -> Vec<String> {
        let mut d: Vec<String> =
            app.sim.state().tickets.into_iter().filter(|t| t.deleted).map(|t| t.subject).collect();
        d.sort();
        d
    };

    let out = app.fdsync(&["undo", "1", "--rows", "2,4-5", "--yes"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(deleted(&app), ["Disk full on db-002", "Disk full on db-004", "Disk full on db-005"]);
    let out = app.fdsync(&["undo", "1", "--yes"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("row 2: already undone by file 2"), "{}", stdout(&out));
    let all: Vec<String> = (1..=6).map(|i| format!("Disk full on db-{i:03}")).collect();
    assert_eq!(deleted(&app), all, "exactly the imported tickets, not the others");
    assert_eq!(app.sim.counters().route_status("DELETE /api/v2/tickets/{id}", 204), 6, "each once");
    let report = app.report("undo-of-1");
    assert_eq!(
        outcomes(&report),
        [("1", "deleted"), ("3", "deleted"), ("6", "deleted")].map(|(r, o)| (r.into(), o.into()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_that_cannot_be_restored_say_why_and_the_others_are_restored() {
    // Seats: the admin, the agent, and two full-time leavers.
    let sim = SimConfig { seats: 4, ..fast_sim() };
    // The simulator's few agents make any delete over 10% of them: this test is about undo, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let app = spawn_app_with(sim, "[safety]\nmax_deletes_percent = 0\n").await;
    let full_time = seed_agent(&app, "a@example.com", json!({"occasional": false, "role_ids": [5]})).await;
    let day_pass = seed_agent(&app, "b@example.com", json!({"occasional": true, "group_ids": [9]})).await;
    let back = seed_agent(&app, "c@example.com", json!({"occasional": false})).await;
    let file = app.file("leavers.csv", "email\na@example.com\nb@example.com\nc@example.com\n");
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    // Someone made c an agent again by hand, and a new hire took the free seat.
    assert_eq!(make_agent_directly(&app, back, json!({"occasional": false})).await, 200);
    seed_agent(&app, "newhire@example.com", json!({"occasional": false})).await;

    let out = app.fdsync(&["undo", "1", "--yes"]).await;
    assert_eq!(code(&out), 1, "not every row was restored: {}{}", stdout(&out), stderr(&out));
    let report = app.report("undo-of-1");
    let line = |id: u64| report.iter().find(|r| r[4] == id.to_string()).unwrap().clone();
    assert_eq!((line(full_time)[3].as_str(), line(full_time)[6].as_str()), ("not_restorable", "seat_limit"));
    assert_eq!(line(day_pass)[3], "restored");
    assert_eq!((line(back)[3].as_str(), line(back)[6].as_str()), ("not_restorable", "already_agent"));
    assert!(stdout(&out).contains("not_restorable"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_undo_above_the_delete_limit_is_held_unless_yes_and_asks_only_at_a_terminal() {
    let app = spawn_app_with(fast_sim(), "[safety]\nmax_deletes_per_file = 2\n").await;
    let file = app.file("alerts.csv", &tickets_csv(3));
    assert_eq!(code(&app.import(&file, &["--action", "create_ticket"]).await), 0);
    let out = app.fdsync(&["undo", "1"]).await;
    assert_eq!(code(&out), 2, "no terminal, no --yes: {}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    let undos: i64 =
        app.journal().query_row("SELECT COUNT(*) FROM files WHERE undo_of = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(undos, 0, "nothing journaled");

    // At a terminal: shown, asked, answered y; still held above the limit.
    let out = stdout(&app.at_terminal("undo 1", "y\n").await);
    assert!(out.contains("3 tickets to delete") && out.contains("row 1: delete ticket"), "{out}");
    assert!(out.contains("held: 3 ticket deletes exceed safety.max_deletes_per_file = 2"), "{out}");
    assert_eq!(app.sim.counters().route("DELETE /api/v2/tickets/{id}"), 0);

    let mut cmd = app.command(&["undo", "1", "--yes"]);
    let out = cmd.env("SUDO_USER", "carol").output().await.unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(app.sim.counters().route_status("DELETE /api/v2/tickets/{id}", 204), 3);
    let by: String =
        app.journal().query_row("SELECT approved_by FROM files WHERE undo_of = 1", [], |r| r.get(0)).unwrap();
    assert_eq!(by, approver("carol"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undo_at_a_terminal_shows_each_agent_to_restore_then_asks() {
    // The simulator's few agents make any delete over 10% of them: this test is about undo at a terminal, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let app = spawn_app_with(fast_sim(), "[safety]\nmax_deletes_percent = 0\n").await;
    let emails = seed_leavers(&app, 2).await;
    let file = app.file("leavers.csv", &leavers_csv(&emails));
    assert_eq!(code(&app.import(&file, &["--action", "delete_agent"]).await), 0);
    let out = stdout(&app.at_terminal("undo 1", "n\n").await);
    assert!(out.contains("2 agents to restore"), "{out}");
    assert!(out.contains("<leaver01@example.com>: roles [43000078901 43000078951]"), "{out}");
    assert!(out.contains("nothing undone"), "{out}");
    assert_eq!(app.sim.counters().route(ROUTE), 0);
    let out = stdout(&app.at_terminal("undo 1", "y\n").await);
    assert!(out.contains("2 restored"), "{out}");
    assert_eq!(app.sim.counters().route_status(ROUTE, 200), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_an_undo_then_a_rerun_restores_every_agent_once() {
    // The simulator's few agents make any delete over 10% of them: this test is about a kill during an undo, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let extra = "[safety]\nmax_deletes_per_file = 100\nmax_deletes_percent = 0\n[limits]\nconcurrency = 2\n";
    let app = spawn_app_with(fast_sim(), extra).await;
    let emails = seed_leavers(&app, 24).await;
    let before = images(&app);
    let file = app.file("leavers.csv", &leavers_csv(&emails));
    assert_eq!(code(&app.import(&file, &["--action", "delete_agent"]).await), 0);
    let restored_before = app.sim.counters().agents_created;
    // Slow answers; a fifth of the restores land 2.2 s late, after the client (2 s) gave up.
    app.sim.update(|c| {
        c.latency_ms = Some((100, 300));
        c.drop_rate = 0.1;
        c.late_rate = 0.2;
        c.late_delay = Duration::from_millis(2200);
    });
    // Each kill lands a while after this run's first restore left, and counts only if the
    // journal then held a restore `sending` that this run marked.
    let (mut kills, mut mid_send) = (0, 0);
    for at in [100, 400, 250] {
        let spawned = now_ms();
        let restores = || app.sim.request_log().iter().filter(|r| r.starts_with("PUT ")).count();
        let seen = restores();
        let mut child = app.command(&["undo", "1", "--yes"]).spawn().expect("spawn undo");
        let restoring = async {
            while restores() == seen {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(at)).await;
        };
        tokio::select! {
            status = child.wait() => { status.expect("wait"); break; }
            _ = restoring => {
                child.start_kill().expect("kill -9");
                child.wait().await.expect("reap");
                kills += 1;
                mid_send += u32::from(app.sending_since(spawned) > 0);
            }
        }
    }
    eprintln!("{mid_send} of {kills} kills found a restore `sending`");
    assert!(kills >= 2, "only {kills} kills landed before the undo finished");
    assert!(2 * mid_send >= kills, "only {mid_send} of {kills} kills found a restore `sending`");
    app.sim.update(|c| {
        c.drop_rate = 0.0;
        c.late_rate = 0.0;
    });
    let out = app.fdsync(&["undo", "1", "--yes"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("carrying on with its undo, file 2"), "{}", stdout(&out));
    assert_eq!(images(&app), before, "every agent restored");
    assert_eq!(app.sim.counters().agents_created - restored_before, 24, "each restored exactly once");
    let c = app.sim.counters();
    assert_eq!(c.route_status(ROUTE, 409), 0, "never sent again after it landed");
    assert!(c.late_applies + c.drops > 0, "some answers were lost: {c:?}");
    let report = app.report("undo-of-1");
    assert_eq!(report.len(), 24);
    assert!(report.iter().all(|r| r[3] == "restored"), "{report:?}");
}
