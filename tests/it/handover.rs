//! Offboarding's handover (issue 24) against the simulator, real processes: a leaver's open
//! tickets go to their successor (an agent, or a group) before the delete, each moved once and
//! paged through the search's limits; a ticket Freshdesk refuses blocks only its leaver's delete
//! until `fdsync retry`; a kill -9 mid-moves and a rerun update no ticket twice and delete no one
//! early; undo gives back exactly the tickets the successor still holds.

use crate::helpers::*;
use fdsync_sim::{CustomField, SimConfig};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// Tier 1, one of the simulator's groups.
const TIER_1: u64 = 43_000_090_001;

async fn api(app: &TestApp, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .request(method, format!("{}{path}", app.sim.base_url()))
        .basic_auth(app.sim.api_key(), Some("X"))
        .json(&body)
        .send()
        .await
        .expect("simulator answers");
    let status = resp.status().as_u16();
    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
}

async fn agent(app: &TestApp, email: &str) -> u64 {
    app.create_agent_directly(json!({"email": email, "name": email, "ticket_scope": 1})).await
}

/// `n` tickets assigned to `responder` with `status`; `cf_region` set unless `without_region`.
async fn tickets(app: &TestApp, responder: u64, n: usize, status: u64, without_region: bool) -> Vec<u64> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut body = json!({
            "email": "customer@example.com", "subject": format!("t{responder}-{i}"), "description": "d",
            "priority": 1, "status": status, "responder_id": responder, "group_id": 43_000_090_002u64,
        });
        if !without_region {
            body["custom_fields"] = json!({"cf_region": "EMEA"});
        }
        let (code, t) = api(app, reqwest::Method::POST, "/api/v2/tickets", body).await;
        assert_eq!(code, 201, "{t}");
        ids.push(t["id"].as_u64().unwrap());
    }
    ids
}

/// Who holds each ticket now: (responder, group).
fn holders(app: &TestApp) -> BTreeMap<u64, (Option<u64>, Option<u64>)> {
    app.sim.state().tickets.iter().map(|t| (t.id, (t.responder_id, t.group_id))).collect()
}

fn is_agent(app: &TestApp, id: u64) -> bool {
    app.sim.state().agents.iter().any(|a| a.id == id)
}

/// The position of the first and last request-log entry matching `pred`.
fn positions(log: &[String], pred: impl Fn(&str) -> bool) -> Vec<usize> {
    log.iter().enumerate().filter(|(_, r)| pred(r)).map(|(i, _)| i).collect()
}

fn sim_with_region() -> SimConfig {
    let custom_fields = vec![CustomField::dropdown("cf_region", &["EMEA", "AMER", "APAC"])];
    SimConfig { custom_fields, search_lag: Duration::ZERO, ..fast_sim() }
}

const SAFETY: &str = "[safety]\nmax_deletes_percent = 0\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_leavers_hand_every_open_ticket_over_once_before_their_deletes() {
    let app = spawn_app_with(sim_with_region(), SAFETY).await;
    let boss = agent(&app, "boss@example.com").await;
    let lead = agent(&app, "lead@example.com").await;
    let counts = [0usize, 1, 30, 31, 350];
    let mut leavers = Vec::new();
    let mut open: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for (i, n) in counts.iter().enumerate() {
        let id = agent(&app, &format!("leaver{i}@example.com")).await;
        let mut ids = tickets(&app, id, n / 2, 2, false).await;
        ids.extend(tickets(&app, id, n - n / 2, 3, false).await);
        open.insert(id, ids);
        leavers.push(id);
    }
    // Resolved and closed tickets stay where they are.
    let resolved = tickets(&app, leavers[4], 3, 4, false).await;
    let closed = tickets(&app, leavers[4], 2, 5, false).await;
    let before = holders(&app);
    let csv = format!(
        "action,email,successor,successor_group\n\
         delete_agent,leaver0@example.com,boss@example.com,\n\
         delete_agent,leaver1@example.com,,Tier 1\n\
         delete_agent,leaver2@example.com,{lead},\n\
         delete_agent,leaver3@example.com,boss@example.com,Tier 1\n\
         delete_agent,leaver4@example.com,,{TIER_1}\n"
    );
    let file = app.file("leavers.csv", &csv);
    let plan = app.fdsync(&["plan", file.to_str().unwrap()]).await;
    let shown = stdout(&plan);
    assert!(shown.contains("350 open tickets would move to group 43000090001"), "{shown}");
    assert!(shown.contains("31 open tickets would move to boss@example.com in group 'Tier 1'"), "{shown}");
    assert!(app.sim.counters().ticket_updates.is_empty(), "a preview moves nothing");

    let planned = app.sim.request_log().len();
    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));

    let after = holders(&app);
    let want = |leaver: usize| match leaver {
        0 => (Some(boss), Some(43_000_090_002)),
        1 | 4 => (None, Some(TIER_1)),
        2 => (Some(lead), Some(43_000_090_002)),
        _ => (Some(boss), Some(TIER_1)),
    };
    for (i, id) in leavers.iter().enumerate() {
        for t in &open[id] {
            assert_eq!(after[t], want(i), "leaver {i}'s ticket {t}");
        }
        assert!(!is_agent(&app, *id), "leaver {i} deleted");
    }
    for t in resolved.iter().chain(&closed) {
        assert_eq!(after[t], before[t], "a resolved or closed ticket stays");
    }
    let updates = app.sim.counters().ticket_updates;
    let moved: usize = counts.iter().sum();
    assert_eq!(updates.len(), moved, "every open ticket updated");
    assert!(updates.values().all(|n| *n == 1), "each exactly once: {updates:?}");

    // Each delete after its leaver's last move.
    let log = app.sim.request_log().split_off(planned);
    for (i, id) in leavers.iter().enumerate() {
        let delete = positions(&log, |r| r == format!("DELETE /api/v2/agents/{id}"));
        assert_eq!(delete.len(), 1, "leaver {i}");
        let puts = positions(&log, |r| open[id].iter().any(|t| r == format!("PUT /api/v2/tickets/{t}")));
        assert!(puts.iter().all(|p| *p < delete[0]), "leaver {i}'s moves come before the delete");
    }
    // Searches: one page each for 0, 1 and 30, two for 31; 350 lists 10 pages, moves those 300,
    // then lists the other 50 (2 pages).
    let searches = log.iter().filter(|r| r.starts_with("GET /api/v2/search/tickets")).count();
    assert_eq!(searches, 1 + 1 + 1 + 2 + 12, "{searches} search pages");
    let puts = log.iter().filter(|r| r.starts_with("PUT /api/v2/tickets/")).count();
    assert_eq!(puts, moved, "no move sent twice");

    let report = app.report("leavers");
    assert!(report.iter().all(|r| r[3] == "deleted"), "{report:?}");
    assert!(report[4][7].contains("350 open tickets handed over to group"), "{:?}", report[4]);
    assert!(report[0][7].contains("0 open tickets handed over"), "{:?}", report[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_missing_a_required_field_blocks_only_its_leavers_delete_until_retry() {
    let app = spawn_app_with(sim_with_region(), SAFETY).await;
    agent(&app, "boss@example.com").await;
    let jane = agent(&app, "jane@example.com").await;
    let joe = agent(&app, "joe@example.com").await;
    let janes = tickets(&app, jane, 2, 2, false).await;
    let bare = tickets(&app, jane, 1, 2, true).await[0];
    let joes = tickets(&app, joe, 2, 3, false).await;
    // The field becomes required after the tickets were created.
    app.sim.update(|c| {
        c.custom_fields = vec![CustomField::dropdown("cf_region", &["EMEA", "AMER", "APAC"]).required()]
    });
    let csv = "action,email,successor\ndelete_agent,jane@example.com,boss@example.com\n\
               delete_agent,joe@example.com,boss@example.com\n";
    let file = app.file("leavers.csv", csv);
    let plan = stdout(&app.fdsync(&["plan", file.to_str().unwrap()]).await);
    let could_not = format!(
        "3 open tickets would move to boss@example.com; 1 could not (a field required for agents is empty: ticket {bare} (cf_region empty))"
    );
    assert!(plan.contains(&could_not), "{plan}");
    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("leavers");
    assert_eq!(
        (report[0][3].as_str(), report[0][6].as_str()),
        ("failed", "handover_incomplete"),
        "{report:?}"
    );
    assert!(report[0][7].contains(&format!("ticket {bare} (missing_field")), "{:?}", report[0]);
    assert!(report[0][7].contains("1 of 3 open tickets"), "{:?}", report[0]);
    assert_eq!(report[1][3], "deleted", "joe's delete is not blocked");
    assert!(is_agent(&app, jane), "jane's delete was not sent");
    assert!(!is_agent(&app, joe));
    let log = app.sim.request_log();
    assert!(!log.iter().any(|r| *r == format!("DELETE /api/v2/agents/{jane}")));

    // Someone fills the field; `fdsync retry` finishes jane.
    let (code_put, t) = api(
        &app,
        reqwest::Method::PUT,
        &format!("/api/v2/tickets/{bare}"),
        json!({"custom_fields": {"cf_region": "AMER"}}),
    )
    .await;
    assert_eq!(code_put, 200, "{t}");
    let out = app.fdsync(&["retry"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(!is_agent(&app, jane), "jane deleted after the retry");
    let boss_holds: Vec<u64> = janes.iter().chain(&joes).copied().chain([bare]).collect();
    let after = holders(&app);
    assert!(boss_holds.iter().all(|t| after[t].0.is_some()), "{after:?}");
    let log = app.sim.request_log();
    let puts = |t: u64| log.iter().filter(|r| **r == format!("PUT /api/v2/tickets/{t}")).count();
    assert!(janes.iter().chain(&joes).all(|t| puts(*t) == 1), "the moved tickets were not sent again");
    assert_eq!(puts(bare), 3, "refused once, filled by hand, moved on the retry");
    let verify = app.fdsync(&["audit", "--verify"]).await;
    assert_eq!(
        code(&verify),
        0,
        "a move refused, then moved on a retry, is chained twice: {}",
        stdout(&verify)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_successor_fails_the_row_before_any_change() {
    let app = spawn_app_with(sim_with_region(), SAFETY).await;
    let a = agent(&app, "a@example.com").await;
    let b = agent(&app, "b@example.com").await;
    let c = agent(&app, "c@example.com").await;
    tickets(&app, a, 2, 2, false).await;
    let csv = "action,email,successor,successor_group\n\
               delete_agent,a@example.com,customer@example.com,\n\
               delete_agent,b@example.com,c@example.com,\n\
               delete_agent,c@example.com,,Nobody's group\n";
    let file = app.file("bad.csv", csv);
    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = app.report("bad");
    let codes: Vec<&str> = report.iter().map(|r| r[6].as_str()).collect();
    assert_eq!(codes, ["invalid_successor"; 3], "{report:?}");
    assert!(report[0][7].contains("is not an agent"), "{:?}", report[0]);
    assert!(report[1][7].contains("deleted by row 3"), "{:?}", report[1]);
    assert!(report[2][7].contains("no group"), "{:?}", report[2]);
    assert!([a, b, c].iter().all(|id| is_agent(&app, *id)));
    assert!(app.sim.counters().ticket_updates.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_without_a_successor_is_todays_delete() {
    let app = spawn_app_with(sim_with_region(), SAFETY).await;
    let a = agent(&app, "a@example.com").await;
    tickets(&app, a, 2, 2, false).await;
    let file = app.file("plain.csv", "email\na@example.com\n");
    let out = app.import(&file, &["--action", "deleteAgent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(!is_agent(&app, a));
    let log = app.sim.request_log();
    assert!(!log.iter().any(|r| r.starts_with("GET /api/v2/search") || r.starts_with("PUT ")), "{log:?}");
}

/// Moves the journal holds `sending` (a kill landed while a move was in flight).
fn moves_sending(app: &TestApp) -> i64 {
    let db = app.journal();
    db.query_row("SELECT COUNT(*) FROM moves WHERE state = 'sending'", [], |r| r.get(0)).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_moves_then_a_rerun_moves_each_ticket_once_and_deletes_after() {
    let sim = SimConfig { latency_ms: Some((20, 80)), seed: 7, ..sim_with_region() };
    let app = spawn_app_with(sim, SAFETY).await;
    agent(&app, "boss@example.com").await;
    let jane = agent(&app, "jane@example.com").await;
    let joe = agent(&app, "joe@example.com").await;
    let mut open = tickets(&app, jane, 60, 2, false).await;
    open.extend(tickets(&app, joe, 40, 3, false).await);
    // Some answers lost after the change was applied: those moves are read back, not re-sent.
    app.sim.update(|c| c.drop_rate = 0.05);
    let csv = "action,email,successor\ndelete_agent,jane@example.com,boss@example.com\n\
               delete_agent,joe@example.com,boss@example.com\n";
    let file = app.file("leavers.csv", csv);
    let mut rng = fastrand::Rng::with_seed(24);
    let (mut kills, mut mid_move) = (0, 0);
    for _ in 0..4 {
        let moved = || app.sim.counters().ticket_updates.len();
        let seen = moved();
        let mut child = app.command(&["import", file.to_str().unwrap()]).spawn().expect("spawn import");
        let started = async {
            while moved() == seen {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(Duration::from_millis(rng.u64(20..400))).await;
        };
        tokio::select! {
            status = child.wait() => {
                status.expect("wait");
                break;
            }
            _ = started => {
                child.start_kill().expect("kill -9");
                child.wait().await.expect("reap");
                kills += 1;
                mid_move += u32::from(moves_sending(&app) > 0);
                // Nobody deleted while one of their tickets is still theirs.
                let held = holders(&app);
                for who in [jane, joe] {
                    if held.values().any(|(r, _)| *r == Some(who)) {
                        assert!(is_agent(&app, who), "agent {who} deleted before their tickets moved");
                    }
                }
            }
        }
    }
    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    eprintln!("{mid_move} of {kills} kills found a move `sending`");
    assert!(kills >= 2, "only {kills} kills landed before the import finished");
    assert!(mid_move >= 1, "no kill found a move in flight");
    let updates = app.sim.counters().ticket_updates;
    assert_eq!(updates.len(), open.len(), "every ticket moved");
    assert!(updates.values().all(|n| *n == 1), "a ticket updated twice: {updates:?}");
    assert!(!is_agent(&app, jane) && !is_agent(&app, joe));
    let report = app.report("leavers");
    assert!(report.iter().all(|r| r[3] == "deleted"), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_lists_each_move_and_undo_gives_back_only_what_the_successor_still_holds() {
    let app = spawn_app_with(sim_with_region(), SAFETY).await;
    let boss = agent(&app, "boss@example.com").await;
    let other = agent(&app, "other@example.com").await;
    let jane = agent(&app, "jane@example.com").await;
    let ids = tickets(&app, jane, 5, 2, false).await;
    let file =
        app.file("leavers.csv", "action,email,successor\ndelete_agent,jane@example.com,boss@example.com\n");
    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));

    let audit = stdout(&app.fdsync(&["audit", "--email", "jane@example.com"]).await);
    let moves: Vec<&str> = audit.lines().filter(|l| l.contains("reassign_ticket")).collect();
    assert_eq!(moves.len(), 5, "{audit}");
    let before = format!("before: agent {jane}, group 43000090002; after: agent {boss}, no group");
    assert!(moves.iter().all(|l| l.contains("reassigned") && l.contains(&before)), "{audit}");

    // Someone takes one ticket over after the offboarding.
    let path = format!("/api/v2/tickets/{}", ids[1]);
    assert_eq!(api(&app, reqwest::Method::PUT, &path, json!({"responder_id": other})).await.0, 200);
    let file_id: i64 =
        app.journal().query_row("SELECT id FROM files WHERE name = 'leavers.csv'", [], |r| r.get(0)).unwrap();
    let asked = app.at_terminal(&format!("undo {file_id}"), "n\n").await;
    let shown = String::from_utf8_lossy(&asked.stdout).to_string();
    assert!(shown.contains("then gives back 5 tickets their deletes handed over"), "{shown}");
    let out = app.fdsync(&["undo", &file_id.to_string(), "--yes"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(is_agent(&app, jane), "jane restored");
    let after = holders(&app);
    for (i, t) in ids.iter().enumerate() {
        let want =
            if i == 1 { (Some(other), Some(43_000_090_002)) } else { (Some(jane), Some(43_000_090_002)) };
        assert_eq!(after[t], want, "ticket {t}");
    }
    let report = app.report("undo-of");
    assert_eq!(report[0][3], "restored", "{report:?}");
    assert!(report[0][7].contains("4 handed-over tickets given back"), "{:?}", report[0]);
    assert!(report[0][7].contains(&format!("ticket {} (changed_since", ids[1])), "{:?}", report[0]);
    // Each ticket updated twice: moved, then given back (or, for the one kept, changed by hand).
    let updates = app.sim.counters().ticket_updates;
    assert!(ids.iter().all(|t| updates[t] == 2), "{updates:?}");

    // Each move and each give-back is in the audit chain: rewriting one is found.
    let verify = app.fdsync(&["audit", "--verify"]).await;
    assert_eq!(code(&verify), 0, "{}", stdout(&verify));
    let db = rusqlite::Connection::open(app.state_dir().join("journal.db")).unwrap();
    db.execute("UPDATE moves SET to_responder = 1 WHERE ticket_id = ?1", [ids[0] as i64]).unwrap();
    drop(db);
    let verify = app.fdsync(&["audit", "--verify"]).await;
    assert_eq!(code(&verify), 1, "{}", stdout(&verify));
    let said = stdout(&verify);
    assert!(
        said.contains(&format!("move of ticket {}", ids[0])) && said.contains("was changed (to)"),
        "{said}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inboxs_successor_group_takes_over_when_the_row_names_nobody() {
    use crate::daemon::{Daemon, WAIT, drop_file, in_state, inbox, inbox_toml};
    let app = spawn_app_with(sim_with_region(), "").await;
    let boss = agent(&app, "boss@example.com").await;
    let jane = agent(&app, "jane@example.com").await;
    let joe = agent(&app, "joe@example.com").await;
    let janes = tickets(&app, jane, 3, 2, false).await;
    let joes = tickets(&app, joe, 2, 3, false).await;
    let dir = inbox(&app, "offboarding");
    let toml = inbox_toml(&dir, "delete_agent", 0.2);
    app.write_config(&format!("{SAFETY}{toml}successor_group = \"Tier 1\"\n"));
    let d = Daemon::ready(&app).await;
    drop_file(
        &app,
        &dir,
        "leavers.csv",
        "email,successor\njane@example.com,\njoe@example.com,boss@example.com\n",
    );
    assert!(wait_until(WAIT, || in_state(&app, "done").len() == 1).await, "{}", d.log());
    d.stop().await;
    let after = holders(&app);
    assert!(janes.iter().all(|t| after[t] == (None, Some(TIER_1))), "the inbox's group: {after:?}");
    assert!(
        joes.iter().all(|t| after[t] == (Some(boss), Some(43_000_090_002))),
        "the row's successor: {after:?}"
    );
    assert!(!is_agent(&app, jane) && !is_agent(&app, joe));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_in_a_custom_status_moves_and_a_resolved_one_stays() {
    let sim = SimConfig { custom_statuses: vec![6, 7], ..sim_with_region() };
    let app = spawn_app_with(sim, SAFETY).await;
    let boss = agent(&app, "boss@example.com").await;
    let jane = agent(&app, "jane@example.com").await;
    let ids = tickets(&app, jane, 4, 2, false).await;
    // Waiting on a third party (7), on the customer (6), resolved (4); the first stays open.
    for (t, status) in [(ids[1], 7), (ids[2], 6), (ids[3], 4)] {
        let (code_put, body) =
            api(&app, reqwest::Method::PUT, &format!("/api/v2/tickets/{t}"), json!({"status": status})).await;
        assert_eq!(code_put, 200, "{body}");
    }
    let file =
        app.file("leavers.csv", "action,email,successor\ndelete_agent,jane@example.com,boss@example.com\n");
    let out = app.import(&file, &[]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let after = holders(&app);
    assert!(ids[..3].iter().all(|t| after[t].0 == Some(boss)), "open and custom statuses move: {after:?}");
    assert_eq!(after[&ids[3]].0, Some(jane), "a resolved ticket stays");
}
