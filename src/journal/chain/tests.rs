use super::*;
use crate::account::Actor;
use crate::domain::{AgentRef, Op, Outcome};
use crate::journal::{FileState, Journal, NewFile, NewOp, OpResult, now_ms};

fn actor() -> Actor {
    Actor { uid: 1000, account: Some("alice".into()), sudo_user: None }
}

fn result(outcome: Outcome) -> OpResult {
    OpResult {
        outcome,
        freshdesk_id: Some(40),
        http_status: Some(200),
        error_code: None,
        message: String::new(),
    }
}

/// A held file of two deletes, approved, row 1 deleted and row 2 failed; the op ids.
async fn journal(dir: &std::path::Path) -> (Journal, i64, [i64; 2]) {
    let j = Journal::open(dir).unwrap();
    let new = NewFile {
        name: "leavers.csv".into(),
        path: "/x".into(),
        sha256: "s".into(),
        inbox: None,
        default_action: None,
    };
    let f = j.insert_file(new, FileState::Held, None).await.unwrap();
    let rows = [1u64, 2].map(|row| {
        let op = Op::DeleteAgent { agent: AgentRef::Id(40 + row), successor: None };
        NewOp::valid(row, &op, op.key("s", row))
    });
    j.insert_ops(f, rows.into()).await.unwrap();
    assert!(j.approve_file(f, actor(), Some("HR 42".into())).await.unwrap().is_some());
    let ids = j.call(move |c| sql_ids(c, f)).await.unwrap();
    for (id, outcome) in ids.iter().zip([Outcome::Deleted, Outcome::Failed]) {
        j.begin_attempt(*id, true).await.unwrap();
        j.finish_op(*id, result(outcome)).await.unwrap();
    }
    (j, f, [ids[0], ids[1]])
}

fn sql_ids(c: &Connection, f: i64) -> Result<Vec<i64>> {
    let mut stmt = c.prepare("SELECT id FROM ops WHERE file_id = ?1 ORDER BY row")?;
    let ids = stmt.query_map([f], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    Ok(ids)
}

async fn problems(j: &Journal) -> Vec<String> {
    j.verify_chain().await.unwrap().problems.iter().map(ToString::to_string).collect()
}

/// Runs `sql` as someone with the file would: triggers dropped first.
async fn tamper(j: &Journal, sql: &'static str) {
    j.call(move |c| {
        for t in ["chain_append_only_update", "chain_append_only_delete"] {
            c.execute_batch(&format!("DROP TRIGGER IF EXISTS {t}"))?;
        }
        c.execute_batch(sql)?;
        Ok(())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn approvals_changes_retries_and_prunes_chain_and_verify_clean() {
    let dir = tempfile::tempdir().unwrap();
    let (j, f, [_, failed]) = journal(dir.path()).await;
    let head = j.chain_head().await.unwrap().unwrap();
    assert_eq!(head.seq, 3, "an approval and two final changes");
    assert_eq!(problems(&j).await, Vec::<String>::new());
    // A retry chains the ops it requeued; their next result is chained again.
    assert_eq!(j.requeue_failed_on(Some(f), None, actor()).await.unwrap(), 1);
    assert_eq!(problems(&j).await, Vec::<String>::new(), "a requeued change is not a removed one");
    j.begin_attempt(failed, true).await.unwrap();
    j.finish_op(failed, result(Outcome::Deleted)).await.unwrap();
    j.call(move |c| Ok(c.execute("UPDATE files SET report_path = '/r' WHERE id = ?1", [f])?)).await.unwrap();
    j.set_file_state(f, FileState::Done, None).await.unwrap();
    assert_eq!(j.prune(now_ms() + 1_000, actor()).await.unwrap().len(), 1);
    let v = j.verify_chain().await.unwrap();
    assert_eq!((v.records, v.problems), (6, vec![]), "approve, 2 changes, retry, change, prune");
    // Reopening keeps the chain; the history is sealed only once.
    drop(j);
    let j = Journal::open(dir.path()).unwrap();
    assert_eq!(j.verify_chain().await.unwrap().records, 6);
}

#[tokio::test]
async fn chained_records_and_audit_rows_refuse_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let (j, _, _) = journal(dir.path()).await;
    j.call(|c| {
        let sql = "INSERT INTO audit (op_id, file_id, file_name, sha256, row, action, key, pruned_at)
                   VALUES (1, 1, 'a', 's', 1, 'delete_agent', 'k', 1)";
        Ok(c.execute(sql, [])?)
    })
    .await
    .unwrap();
    for sql in [
        "UPDATE chain SET content = '{}' WHERE seq = 1",
        "DELETE FROM chain WHERE seq = 1",
        "DELETE FROM audit",
        "UPDATE audit SET key = 'x'",
    ] {
        let err = j.call(move |c| Ok(c.execute_batch(sql)?)).await.unwrap_err();
        assert!(
            err.to_string().contains("never rewritten") || err.to_string().contains("append-only"),
            "{sql}: {err}"
        );
    }
    // Dropped by someone with the file, they are back at the next open.
    tamper(&j, "SELECT 1").await;
    drop(j);
    let j = Journal::open(dir.path()).unwrap();
    assert!(j.call(|c| Ok(c.execute_batch("DELETE FROM chain")?)).await.is_err());
}

#[tokio::test]
async fn an_edited_or_removed_chain_record_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (j, _, _) = journal(dir.path()).await;
    tamper(&j, "UPDATE chain SET content = replace(content, 'deleted', 'failed') WHERE seq = 2").await;
    let found = problems(&j).await;
    assert!(found[0].starts_with("record 2: change record was changed"), "{found:?}");
    let dir = tempfile::tempdir().unwrap();
    let (j, _, _) = journal(dir.path()).await;
    tamper(&j, "DELETE FROM chain WHERE seq = 2").await;
    let found = problems(&j).await;
    assert!(found[0].starts_with("record 3: records 2 to 2 were removed"), "{found:?}");
}

#[tokio::test]
async fn what_the_journal_shows_is_compared_with_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (j, f, [deleted, _]) = journal(dir.path()).await;
    j.call(move |c| Ok(c.execute("UPDATE files SET approved_by = 'hr-director' WHERE id = ?1", [f])?))
        .await
        .unwrap();
    assert_eq!(problems(&j).await, [format!("record 1: approval of file {f} was changed (approved_by)")]);
    j.call(move |c| Ok(c.execute("UPDATE files SET approved_by = 'alice (uid 1000)' WHERE id = ?1", [f])?))
        .await
        .unwrap();
    assert_eq!(problems(&j).await, Vec::<String>::new());
    j.call(move |c| Ok(c.execute("UPDATE ops SET freshdesk_id = 99 WHERE id = ?1", [deleted])?))
        .await
        .unwrap();
    assert_eq!(
        problems(&j).await,
        [format!("record 2: change file {f} row 1 (op {deleted}) was changed (freshdesk_id)")]
    );
    j.call(move |c| Ok(c.execute("DELETE FROM ops WHERE id = ?1", [deleted])?)).await.unwrap();
    assert_eq!(
        problems(&j).await,
        [format!("record 2: change file {f} row 1 (op {deleted}) was removed from the journal")]
    );
}

#[tokio::test]
async fn a_journal_from_before_the_chain_is_sealed_once_on_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let (j, _, _) = journal(dir.path()).await;
    // As migration 6 left it: no chain.
    tamper(&j, "DROP TABLE chain; PRAGMA user_version = 6;").await;
    drop(j);
    let j = Journal::open(dir.path()).unwrap();
    let v = j.verify_chain().await.unwrap();
    assert_eq!((v.records, v.problems), (4, vec![]), "2 changes, 1 approval, sealed");
}
