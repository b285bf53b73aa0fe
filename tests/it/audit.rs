//! `fdsync audit` and `fdsync prune` end to end: an offboarding file held, approved with a
//! note and run against the simulator; the audit finds the deleted agent by e-mail with file,
//! sha256, approver and before-image; a prune keeps that answer word for word.

use crate::helpers::*;
use fdsync_sim::SimConfig;
use serde_json::Value;

fn tomorrow() -> String {
    let d = time::OffsetDateTime::now_utc().date().next_day().expect("a tomorrow");
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

async fn audit_json(app: &TestApp, email: &str) -> (String, Vec<Value>) {
    let out = app.fdsync(&["audit", "--email", email, "--format", "json"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).expect("a JSON array");
    (stdout(&out), rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_finds_a_deleted_agent_by_email_with_file_approver_and_before_image_even_after_prune() {
    let app =
        spawn_app_with(SimConfig { agents: 2, ..fast_sim() }, "[safety]\nmax_deletes_per_file = 1\n").await;
    let hire = app.file(
        "hires.csv",
        "action,email,ticket_scope,name,occasional,role_ids,group_ids\n\
         create_agent,jane@example.com,Group,Jane Doe,false,43000078901,7;9\n",
    );
    assert_eq!(code(&app.import(&hire, &[]).await), 0);
    let jane = app.sim.state().agents.into_iter().find(|a| a.email.as_deref() == Some("jane@example.com"));
    let jane = jane.expect("jane is an agent");
    let info = jane.agent.clone().expect("agent info");
    // By agent id: the engine then reads the whole record (`GET /agents/{id}`) before the
    // delete; a lookup by e-mail gets a list item, which has no role_ids or group_ids.
    let other =
        app.sim.state().agents.into_iter().find(|a| a.email.as_deref() == Some("agent0001@example.com"));
    let leavers = format!("agent_id\n{}\n{}\n", jane.id, other.expect("a seeded agent").id);
    let file = app.file("leavers.csv", &leavers);
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 1, "2 deletes above a maximum of 1 are held: {}", stdout(&out));
    let mut approve = app.command(&["approve", "2", "--yes", "--note", "HR ticket 42"]);
    assert_eq!(code(&approve.env("SUDO_USER", "carol").output().await.expect("approve")), 0);
    let out = app.import(&file, &["--action", "delete_agent"]).await;
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(app.sim.state().agents.iter().all(|a| a.id != jane.id), "jane was deleted");

    let (before_prune, rows) = audit_json(&app, "JANE@example.com").await;
    let actions: Vec<&str> = rows.iter().map(|r| r["action"].as_str().unwrap_or("")).collect();
    assert_eq!(actions, ["create_agent", "delete_agent"], "her hire and her deletion, oldest first");
    let d = &rows[1];
    assert_eq!(
        (d["file_id"].as_i64(), d["file_name"].as_str(), d["row"].as_i64()),
        (Some(2), Some("leavers.csv"), Some(1))
    );
    let sha = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(leavers.as_bytes()));
    assert_eq!(d["sha256"].as_str(), Some(sha.as_str()));
    assert_eq!(
        (d["approved_by"].as_str(), d["approval_note"].as_str()),
        (Some(approver("carol").as_str()), Some("HR ticket 42"))
    );
    assert_eq!((d["freshdesk_id"].as_u64(), d["outcome"].as_str()), (Some(jane.id), Some("deleted")));
    assert!(d["sent_at"].is_string() && d["confirmed_at"].is_string() && d["approved_at"].is_string(), "{d}");
    let b = &d["before"];
    assert_eq!(
        (b["name"].as_str(), b["email"].as_str()),
        (Some("Jane Doe"), Some("jane@example.com")),
        "{b}"
    );
    assert_eq!(b["role_ids"], serde_json::json!(info.role_ids), "{b}");
    assert_eq!(b["group_ids"], serde_json::json!([7, 9]), "{b}");
    assert_eq!(b["group_ids"], serde_json::json!(info.group_ids), "{b}");
    assert_eq!(
        (b["ticket_scope"].as_u64(), b["occasional"].as_bool()),
        (Some(info.ticket_scope), Some(info.occasional))
    );
    assert_eq!(info.ticket_scope, 2);

    let table = stdout(&app.fdsync(&["audit", "--email", "jane@example.com"]).await);
    let line = table.lines().find(|l| l.contains("delete_agent")).unwrap_or_else(|| panic!("{table}"));
    assert!(
        line.contains(&format!("approved by {}", approver("carol"))) && line.contains("groups [7,9]"),
        "{line}"
    );
    let csv = stdout(&app.fdsync(&["audit", "--file", "2", "--format", "csv"]).await);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().expect("a header").clone();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("a record")).collect();
    assert_eq!(records.len(), 2, "{csv}");
    let col =
        |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("no {name}: {csv}"));
    let row1 = records.iter().find(|r| &r[col("row")] == "1").expect("row 1");
    let cell = |name: &str| Some(row1[col(name)].to_string());
    assert_eq!(
        (cell("approved_by"), cell("before_group_ids")),
        (Some(approver("carol")), Some("7;9".into()))
    );

    // Without --yes and without a terminal, prune only says what it would remove.
    let out = app.fdsync(&["prune", "--before", &tomorrow()]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("would prune file 2 (leavers.csv, done): 2 ops"), "{}", stdout(&out));
    let ops = |app: &TestApp| {
        app.journal().query_row("SELECT COUNT(*) FROM ops", [], |r| r.get::<_, i64>(0)).unwrap()
    };
    assert_eq!(ops(&app), 3, "nothing removed yet");
    let out = app.fdsync(&["prune", "--before", &tomorrow(), "--yes"]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("removed: 2 files, 3 ops (3 changes kept"), "{}", stdout(&out));
    assert_eq!(ops(&app), 0, "the ops are gone");
    let (after_prune, _) = audit_json(&app, "jane@example.com").await;
    assert_eq!(after_prune, before_prune, "the same answer from the audit rows");
    let out = app.fdsync(&["audit", "--action", "get_agent"]).await;
    assert_eq!(code(&out), 2, "a lookup is not a change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_at_a_terminal_asks_first_and_no_removes_nothing() {
    let app = spawn_app().await;
    let file = app.file("tickets.csv", &tickets_csv(3));
    assert_eq!(code(&app.import(&file, &["--action", "create_ticket"]).await), 0);
    // A terminal (`script`); "n" answers prune's question.
    let out = app.at_terminal(&format!("prune --before {}", tomorrow()), "n\n").await;
    let text = String::from_utf8_lossy(&out.stdout);
    let listed = text.find("would prune file 1").unwrap_or_else(|| panic!("no list: {text}"));
    let asked = text.find("prune these files' ops? [y/N]").unwrap_or_else(|| panic!("no question: {text}"));
    assert!(listed < asked && text.contains("nothing removed"), "{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    let ops: i64 = app.journal().query_row("SELECT COUNT(*) FROM ops", [], |r| r.get(0)).unwrap();
    assert_eq!(ops, 3);
}
