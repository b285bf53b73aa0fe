//! The guards that catch the wrong file, not only the big one (issue 11): the share of the
//! account's agents a file deletes, protected roles read from Freshdesk, and what happens when
//! those safety inputs cannot be read. Real processes against the simulator.

use crate::helpers::*;
use fdsync_sim::ROLE_ADMIN;
use fdsync_sim::SimConfig;

fn leavers(range: std::ops::RangeInclusive<u32>) -> String {
    let rows: String = range.map(|n| format!("agent{n:04}@example.com\n")).collect();
    format!("email\n{rows}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_export_dropped_as_an_offboarding_file_is_held_by_both_rules() {
    let app =
        spawn_app_with(SimConfig { agents: 30, ..fast_sim() }, "[safety]\nmax_deletes_percent = 10\n").await;
    let file = app.file("hr-export.csv", &leavers(1..=30));
    let plan = app.fdsync(&["plan", file.to_str().unwrap(), "--action", "delete_agent"]).await;
    assert_eq!(code(&plan), 1, "{}{}", stdout(&plan), stderr(&plan));
    let both = |text: &str| {
        text.contains("30 deletes exceed safety.max_deletes_per_file = 25")
            && text.contains("of the account's 32 agents, over safety.max_deletes_percent = 10")
    };
    assert!(both(&stdout(&plan)), "the preview names both rules: {}", stdout(&plan));

    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(both(&stdout(&out)), "the hold names both rules: {}", stdout(&out));
    assert!(stdout(&out).contains("fdsync approve 1"), "{}", stdout(&out));
    assert_eq!(app.sim.counters().agents_deleted, 0, "nothing of a held file is deleted");
    let error: String =
        app.journal().query_row("SELECT error FROM files WHERE id = 1", [], |r| r.get(0)).expect("file 1");
    assert!(both(&error), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_share_within_the_rule_runs() {
    // 3 of 32 agents is 9.4%: under 10%, deleted.
    let app =
        spawn_app_with(SimConfig { agents: 30, ..fast_sim() }, "[safety]\nmax_deletes_percent = 10\n").await;
    let file = app.file("leavers.csv", &leavers(1..=3));
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(app.sim.counters().agents_deleted, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_in_the_file_is_protected_and_the_others_are_deleted() {
    // The simulator's few agents make any delete over 10% of them: this test is about protected roles, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let off = "[safety]\nmax_deletes_percent = 0\n";
    let app = spawn_app_with(SimConfig { agents: 6, ..fast_sim() }, off).await;
    let admin = serde_json::json!({"email": "it.admin@example.com", "name": "IT Admin", "ticket_scope": 1,
                                   "role_ids": [ROLE_ADMIN]});
    let admin_id = app.create_agent_directly(admin).await;
    let file = app.file("leavers.csv", "email\nagent0001@example.com\nit.admin@example.com\n");
    let plan = app.fdsync(&["plan", file.to_str().unwrap(), "--action", "delete_agent", "--json"]).await;
    let plans: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("json");
    let predicted: Vec<&str> =
        plans[0]["rows"].as_array().unwrap().iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(predicted, ["would_delete", "protected"], "{plans}");
    let detail = plans[0]["rows"][0]["message"].as_str().unwrap();
    assert!(detail.contains("roles: Agent") && detail.contains("open tickets: 0"), "{detail}");

    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "a refused row: {}{}", stdout(&out), stderr(&out));
    let report = app.report("leavers");
    assert_eq!(report[0][3], "deleted");
    assert_eq!((report[1][3].as_str(), report[1][6].as_str()), ("failed", "protected"));
    assert!(report[1][7].contains("'Administrator'"), "{:?}", report[1]);
    let state = app.sim.state();
    assert!(state.agents.iter().any(|a| a.id == admin_id), "the administrator is still an agent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_roles_answer_holds_the_deletes() {
    // The simulator's few agents make any delete over 10% of them: this test is about unreadable roles, not
    // the share-of-agents guard (tested in guards.rs), so that guard is off.
    let off = "[safety]\nmax_deletes_percent = 0\n";
    let app = spawn_app_with(SimConfig { agents: 6, roles_unreadable: true, ..fast_sim() }, off).await;
    let file = app.file("leavers.csv", &leavers(1..=2));
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("cannot read the account's roles"), "{}", stdout(&out));
    assert_eq!(app.sim.counters().agents_deleted, 0, "a role list that cannot be read protects everyone");
    let plan = app.fdsync(&["plan", file.to_str().unwrap(), "--action", "delete_agent"]).await;
    assert!(stdout(&plan).contains("cannot read the account's roles"), "{}", stdout(&plan));
}
