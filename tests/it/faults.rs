//! Changes that land without a usable answer: a 502/504 from a gateway after the change was
//! applied, a change applied late (after the client gave up), and a lost answer whose ticket
//! hides on page 2 of its requester's list. Each must end with every row applied exactly once
//! and reported `created`.

use crate::helpers::*;
use fdsync_sim::SimConfig;
use std::time::Duration;

/// A tickets file with an action column (so it can share an import with other actions).
fn tickets_with_action(n: usize, prefix: &str) -> String {
    let mut s = String::from("action,email,subject,description,priority,status\n");
    for i in 1..=n {
        s.push_str(&format!("create_ticket,req{}@example.com,{prefix} {i:03},d,High,Open\n", i % 3));
    }
    s
}

fn hires(n: usize) -> String {
    let mut s = String::from("action,email,name,ticket_scope\n");
    for i in 1..=n {
        s.push_str(&format!("create_agent,hire{i:02}@example.com,Hire {i},Global\n"));
    }
    s
}

/// Each new hire's e-mail with how many agents carry it.
fn hire_counts(app: &TestApp) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for a in app.sim.state().agents {
        if let Some(e) = a.email.filter(|e| e.starts_with("hire")) {
            *m.entry(e).or_insert(0) += 1;
        }
    }
    m
}

fn all_created(report: &[Vec<String>]) -> bool {
    report.iter().all(|r| r[3] == "created")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_502_or_504_after_the_change_was_applied_never_duplicates_a_ticket_or_an_agent() {
    let sim = SimConfig { fail_after_rate: 0.5, seed: 21, ..fast_sim() };
    let app = spawn_app_with(sim, "[limits]\nmax_attempts = 20\n").await;
    let tickets = app.file("gw-tickets.csv", &tickets_with_action(24, "Gateway"));
    let agents = app.file("gw-agents.csv", &hires(10));
    let out = app.fdsync(&["import", tickets.to_str().unwrap(), agents.to_str().unwrap()]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let c = app.sim.counters();
    let hit = |route: &str| c.route_status(route, 502) + c.route_status(route, 504);
    assert!(hit("POST /api/v2/tickets") > 0 && hit("POST /api/v2/agents") > 0, "faults felt: {c:?}");
    let subjects = subject_counts(&app);
    assert_eq!(subjects.len(), 24, "every ticket row created");
    assert!(subjects.values().all(|n| *n == 1), "no duplicate ticket: {subjects:?}");
    let agents = hire_counts(&app);
    assert_eq!(agents.len(), 10, "every agent row created: {agents:?}");
    assert!(agents.values().all(|n| *n == 1), "{agents:?}");
    let (t, a) = (app.report("gw-tickets"), app.report("gw-agents"));
    assert!(all_created(&t), "a ticket behind a gateway error is `created`: {t:?}");
    assert!(all_created(&a), "an agent behind a gateway error is `created`, not `exists`: {a:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_lands_after_the_client_timed_out_is_found_not_sent_again() {
    // The test config's request timeout is 2 s, and fdsync looks an uncertain change up no sooner
    // than sent_at + timeout + 1 s. Every change here lands 2.2 s after the simulator got it:
    // after the client gave up, before that lookup. A lookup at the timeout would miss it.
    let sim = SimConfig { late_rate: 1.0, late_delay: Duration::from_millis(2200), ..fast_sim() };
    let app = spawn_app_with(sim, "[limits]\nmax_attempts = 20\n").await;
    let tickets = app.file("late-tickets.csv", &tickets_with_action(4, "Late"));
    let agents = app.file("late-agents.csv", &hires(2));
    let out = app.fdsync(&["import", tickets.to_str().unwrap(), agents.to_str().unwrap()]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let subjects = subject_counts(&app);
    assert_eq!(subjects.len(), 4);
    assert!(subjects.values().all(|n| *n == 1), "no duplicate ticket: {subjects:?}");
    assert_eq!(hire_counts(&app).len(), 2);
    let c = app.sim.counters();
    assert_eq!(c.tickets_created, 4, "each ticket POSTed once: {c:?}");
    assert_eq!(c.late_applies, 6, "every change was applied late, none re-sent: {c:?}");
    assert!(all_created(&app.report("late-tickets")), "{:?}", app.report("late-tickets"));
    let agents = app.report("late-agents");
    assert!(all_created(&agents), "a late agent is `created`, not `exists`: {agents:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_ticket_behind_100_newer_ones_of_its_requester_is_found_on_a_later_page() {
    let busy = "busy@example.com";
    // A 502 after commit hits changes only, so the read fdsync makes first goes through.
    let sim = SimConfig { fail_after_rate: 1.0, ..fast_sim() };
    let app = spawn_app_with(sim, "").await;
    let file = app.file(
        "busy.csv",
        &format!("email,subject,description,priority,status\n{busy},The one that matters,d,High,Open\n"),
    );
    // 1. The ticket is created but its answer is lost; the process dies before it can look.
    let mut child =
        app.command(&["import", file.to_str().unwrap(), "--action", "create_ticket"]).spawn().unwrap();
    let applied = wait_until(Duration::from_secs(20), || app.sim.state().tickets.len() == 1).await;
    child.start_kill().expect("kill -9");
    child.wait().await.expect("reap");
    assert!(applied, "the create never reached the simulator");
    // 2. Another integration files 120 newer tickets for the same requester.
    app.sim.update(|c| c.fail_after_rate = 0.0);
    for i in 0..120 {
        app.create_ticket_directly(busy, &format!("Noise {i:03}")).await;
    }
    let page_one = reqwest::Client::new()
        .get(format!("{}/api/v2/tickets", app.sim.base_url()))
        .query(&[("email", busy), ("per_page", "100"), ("order_by", "created_at")])
        .basic_auth(app.sim.api_key(), Some("X"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page_one.contains("The one that matters"), "the scenario needs it beyond page 1");
    // 3. The rerun must find it (page 2) instead of creating it again.
    let out = app.import(&file, &["--action", "create_ticket"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let counts = subject_counts(&app);
    assert_eq!(counts.get("The one that matters"), Some(&1), "exactly once");
    assert_eq!(app.sim.state().tickets.len(), 121);
    let report = app.report("busy");
    assert_eq!(outcomes(&report), [("1".to_string(), "created".to_string())], "{report:?}");
    let id = app.sim.state().tickets.iter().find(|t| t.subject == "The one that matters").unwrap().id;
    assert_eq!(report[0][4], id.to_string(), "the report names the ticket found");
}
