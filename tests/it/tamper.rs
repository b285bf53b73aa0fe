//! The journal edited with plain SQL, as someone with the file would (triggers dropped first):
//! `fdsync audit --verify` names the first record changed, removed or inserted (issue 20,
//! item 5); a prune keeps the chain whole.

use crate::helpers::*;
use fdsync_sim::SimConfig;

async fn verify(app: &TestApp) -> (i32, String) {
    let out = app.fdsync(&["audit", "--verify"]).await;
    (code(&out), format!("{}{}", stdout(&out), stderr(&out)))
}

/// Runs `sql` on the journal as an attacker with the file: the chain's triggers dropped first.
fn edit(app: &TestApp, sql: &str) {
    let db = rusqlite::Connection::open(app.state_dir().join("journal.db")).expect("journal");
    db.execute_batch(
        "DROP TRIGGER IF EXISTS chain_append_only_update; DROP TRIGGER IF EXISTS chain_append_only_delete;
         DROP TRIGGER IF EXISTS audit_append_only_update; DROP TRIGGER IF EXISTS audit_append_only_delete;",
    )
    .expect("drop triggers");
    db.execute_batch(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_rewritten_a_row_deleted_or_inserted_with_plain_sql_fails_verify() {
    let app =
        spawn_app_with(SimConfig { agents: 4, ..fast_sim() }, "[safety]\nmax_deletes_per_file = 1\n").await;
    let leavers = app.file("leavers.csv", "email\nagent0001@example.com\nagent0002@example.com\n");
    assert_eq!(code(&app.import(&leavers, &["--action", "delete_agent"]).await), 1, "held");
    assert_eq!(code(&app.fdsync(&["approve", "1", "--yes"]).await), 0);
    assert_eq!(code(&app.import(&leavers, &["--action", "delete_agent"]).await), 0);
    let tickets = app.file("tickets.csv", &tickets_csv(3));
    assert_eq!(code(&app.import(&tickets, &["--action", "create_ticket"]).await), 0);
    let (status, text) = verify(&app).await;
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("audit chain verified: 6 records"), "approval, 2 deletes, 3 creates: {text}");

    // The approver rewritten.
    let by: String =
        app.journal().query_row("SELECT approved_by FROM files WHERE id = 1", [], |r| r.get(0)).unwrap();
    edit(&app, "UPDATE files SET approved_by = 'hr-director' WHERE id = 1");
    let (status, text) = verify(&app).await;
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("first bad record 1: approval of file 1 was changed (approved_by)"), "{text}");
    edit(&app, &format!("UPDATE files SET approved_by = '{}' WHERE id = 1", by.replace('\'', "''")));
    assert_eq!(verify(&app).await.0, 0);

    // A change deleted: the first delete's row 2 (op 2), whichever record it is.
    let seq: i64 = app
        .journal()
        .query_row("SELECT seq FROM chain WHERE kind = 'change' AND subject = 2", [], |r| r.get(0))
        .expect("op 2 is chained");
    edit(&app, "CREATE TABLE kept AS SELECT * FROM ops WHERE id = 2; DELETE FROM ops WHERE id = 2");
    let (status, text) = verify(&app).await;
    assert_eq!(status, 1, "{text}");
    let removed = format!("first bad record {seq}: change file 1 row 2 (op 2) was removed from the journal");
    assert!(text.contains(&removed), "{text}");
    edit(&app, "INSERT INTO ops SELECT * FROM kept; DROP TABLE kept");
    assert_eq!(verify(&app).await.0, 0);

    // A change inserted.
    edit(
        &app,
        "INSERT INTO ops (file_id, row, action, key, payload, state, outcome, freshdesk_id, sent_at, updated_at)
         VALUES (2, 4, 'create_ticket', 'forged', '{}', 'done', 'created', 999, 1, 1)",
    );
    let (status, text) = verify(&app).await;
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("first bad not in the chain: change file 2 row 4 (op"), "{text}");
    assert!(text.contains("(inserted)"), "{text}");
    edit(&app, "DELETE FROM ops WHERE key = 'forged'");

    // A chained record itself edited.
    edit(&app, "UPDATE chain SET content = replace(content, '\"deleted\"', '\"failed\"') WHERE seq = 2");
    let (status, text) = verify(&app).await;
    assert_eq!(status, 1, "{text}");
    assert!(text.contains("first bad record 2: change record was changed"), "{text}");
    // The next open put the triggers back: the chain refuses the repair.
    let db = rusqlite::Connection::open(app.state_dir().join("journal.db")).expect("journal");
    let refused = db.execute(
        "UPDATE chain SET content = replace(content, '\"failed\"', '\"deleted\"') WHERE seq = 2",
        [],
    );
    assert!(refused.is_err_and(|e| e.to_string().contains("append-only")));
    edit(&app, "UPDATE chain SET content = replace(content, '\"failed\"', '\"deleted\"') WHERE seq = 2");
    assert_eq!(verify(&app).await.0, 0);

    // Prune moves the changes into `audit` unchanged and chains what it did.
    let tomorrow = time::OffsetDateTime::now_utc().date().next_day().expect("a tomorrow");
    let out = app.fdsync(&["prune", "--yes", "--before", &tomorrow.to_string()]).await;
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (status, text) = verify(&app).await;
    assert_eq!(status, 0, "{text}");
    assert!(text.contains("audit chain verified: 7 records"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_logs_the_chain_head_after_each_file_so_a_rewritten_chain_disagrees() {
    use crate::daemon::{Daemon, drop_file, inbox, inbox_toml};
    let app = spawn_app().await;
    let dir = inbox(&app, "tickets");
    app.write_config(&inbox_toml(&dir, "create_ticket", 0.0));
    let d = Daemon::ready(&app).await;
    drop_file(&app, &dir, "t.csv", &tickets_csv(3));
    let logged =
        wait_until(std::time::Duration::from_secs(20), || d.log().contains("Audit chain head.")).await;
    assert!(logged, "no chain head logged:\n{}", d.log());
    let (seq, hash): (i64, String) = app
        .journal()
        .query_row("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("chain head");
    let log = d.log();
    let line = log.lines().find(|l| l.contains("Audit chain head.")).expect("the line");
    let plain = line;
    let want = format!("chain_seq={seq} chain_hash={hash}");
    assert!(plain.contains(&want) && seq == 3, "3 creates chained: {plain}");
    d.stop().await;
}
