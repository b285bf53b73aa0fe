//! Delete safety: the hold threshold at its exact boundary, protected e-mails however the row
//! names the agent, and the record saved before a delete.

use crate::helpers::*;
use fdsync_sim::SimConfig;

fn deletes_csv(n: usize) -> String {
    let mut s = String::from("email\n");
    for i in 1..=n {
        s.push_str(&format!("agent{i:04}@example.com\n"));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_max_deletes_per_file_runs_and_one_more_is_held() {
    let sim = SimConfig { agents: 6, ..fast_sim() };
    // Exactly at the maximum: not held.
    // The simulator's few agents make any delete over 10% of them: this test is about max_deletes_per_file, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let app = spawn_app_with(sim, "[safety]\nmax_deletes_per_file = 3\nmax_deletes_percent = 0\n").await;
    let at_max = app.file("at-max.csv", &deletes_csv(3));
    let out = app.import(&at_max, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 0, "3 deletes with a maximum of 3 run: {}{}", stdout(&out), stderr(&out));
    assert_eq!(app.sim.counters().agents_deleted, 3);
    let report = app.report("at-max");
    assert!(report.iter().all(|r| r[3] == "deleted"), "{report:?}");

    let over = app.file(
        "over.csv",
        "email\nagent0004@example.com\nagent0005@example.com\nagent0006@example.com\nnobody@example.com\n",
    );
    let out = app.import(&over, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "4 deletes with a maximum of 3 are held: {}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("fdsync approve 2"), "{}", stdout(&out));
    assert_eq!(app.sim.counters().agents_deleted, 3, "nothing of the held file was deleted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_email_is_refused_when_the_row_gives_only_the_agent_id() {
    let sim = SimConfig { agents: 3, ..fast_sim() };
    // The simulator's few agents make any delete over 10% of them: this test is about protected e-mails, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let extra = "[safety]\nprotected_emails = [\"Agent0002@example.com\"]\nmax_deletes_percent = 0\n";
    let app = spawn_app_with(sim, extra).await;
    let id = |email: &str| {
        let state = app.sim.state();
        state.agents.iter().find(|a| a.email.as_deref() == Some(email)).map(|a| a.id).expect("seeded agent")
    };
    let (protected, other) = (id("agent0002@example.com"), id("agent0003@example.com"));
    let file = app.file("by-id.csv", &format!("agent_id\n{protected}\n{other}\n"));
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert!(matches!(code(&out), 0 | 1), "{}{}", stdout(&out), stderr(&out));
    let report = app.report("by-id");
    let refused = &report[0];
    assert!(refused[3] == "protected" || refused[6] == "protected", "refused as protected: {refused:?}");
    assert_ne!(refused[3], "deleted");
    assert_eq!(report[1][3], "deleted", "{report:?}");
    let left: Vec<u64> = app.sim.state().agents.iter().map(|a| a.id).collect();
    assert!(left.contains(&protected), "the protected agent is still there");
    assert!(!left.contains(&other));
    assert_eq!(app.sim.counters().agents_deleted, 1, "no DELETE was sent for the protected agent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agents_record_is_saved_in_the_journal_before_it_is_deleted() {
    // No protected roles: the role check (which reads the record too) must not be what makes
    // fdsync read the agent in full; the before-image alone must. The simulator's few agents make
    // any delete over 10% of them, and this test is not about that guard (guards.rs), so it is off.
    let extra = "[safety]\nprotected_roles = []\nmax_deletes_percent = 0\n";
    let app = spawn_app_with(SimConfig { agents: 2, ..fast_sim() }, extra).await;
    let before = app.sim.state();
    let agent = before.agents.iter().find(|a| a.email.as_deref() == Some("agent0001@example.com")).unwrap();
    let file = app.file("leaver.csv", "email\nagent0001@example.com\n");
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(app.sim.state().agents.iter().all(|a| a.id != agent.id), "deleted");
    let snapshot: Option<String> = app
        .journal()
        .query_row("SELECT snapshot FROM ops WHERE row = 1", [], |r| r.get(0))
        .expect("the op row");
    let snapshot: serde_json::Value = serde_json::from_str(&snapshot.expect("a snapshot was saved")).unwrap();
    assert_eq!(snapshot["id"], agent.id, "{snapshot}");
    assert_eq!(snapshot["contact"]["email"], "agent0001@example.com", "{snapshot}");
    assert_eq!(snapshot["contact"]["name"], agent.name.as_str(), "{snapshot}");
    let info = agent.agent.as_ref().unwrap();
    assert_eq!(snapshot["ticket_scope"], info.ticket_scope, "{snapshot}");
    assert_eq!(snapshot["created_at"], info.created_at.as_str(), "{snapshot}");
    // The full record (GET by id: roles and groups, which a listing lacks) was read before the
    // DELETE left, for every DELETE the simulator received.
    let log = app.sim.request_log();
    let deletes: Vec<usize> = log
        .iter()
        .enumerate()
        .filter(|(_, r)| r.starts_with("DELETE /api/v2/agents/"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(deletes.len(), 1, "{log:?}");
    for i in deletes {
        let read = log[i].replacen("DELETE", "GET", 1);
        assert!(log[..i].contains(&read), "{read} before {}: {log:?}", log[i]);
    }
    assert!(snapshot["role_ids"].is_array(), "the snapshot is the full record: {snapshot}");
}
