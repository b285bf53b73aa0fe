use super::*;
use crate::domain::{Action, AgentRef, Email, Op, Outcome};

fn get_op(email: &str) -> Op {
    Op::GetAgent { email: Email::parse(email).unwrap() }
}

fn new_op(row: u64, op: Op) -> NewOp {
    NewOp::valid(row, &op, op.key("sha", row))
}

async fn journal_with_file(dir: &std::path::Path) -> (Journal, i64) {
    let j = Journal::open(dir).unwrap();
    let f = NewFile {
        name: "a.csv".into(),
        path: "/x/a.csv".into(),
        sha256: "sha".into(),
        inbox: None,
        default_action: Some(Action::GetAgent),
    };
    let id = j.insert_file(f, FileState::Processing, None).await.unwrap();
    (j, id)
}

#[tokio::test]
async fn ops_sharing_a_key_become_ready_one_at_a_time_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let (j, file) = journal_with_file(dir.path()).await;
    let rows = vec![
        new_op(1, get_op("a@example.com")),
        new_op(2, get_op("A@example.com")),
        new_op(3, get_op("b@example.com")),
    ];
    j.insert_ops(file, rows).await.unwrap();
    let ready = j.ready_ops(now_ms(), 10).await.unwrap();
    assert_eq!(ready.iter().map(|o| o.row).collect::<Vec<_>>(), vec![1, 3]);
    let first = ready[0].id;
    let result = OpResult {
        outcome: Outcome::Found,
        freshdesk_id: Some(7),
        http_status: Some(200),
        error_code: None,
        message: String::new(),
    };
    j.finish_op(first, result).await.unwrap();
    let ready = j.ready_ops(now_ms(), 10).await.unwrap();
    assert_eq!(ready.iter().map(|o| o.row).collect::<Vec<_>>(), vec![2, 3]);
    let counts = j.row_counts(file).await.unwrap();
    assert_eq!((counts.total, counts.done, counts.pending), (3, 1, 2));
}

#[tokio::test]
async fn a_sending_mark_survives_reopening_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let op_id = {
        let (j, file) = journal_with_file(dir.path()).await;
        let del = Op::DeleteAgent { agent: AgentRef::Id(42), successor: None };
        j.insert_ops(file, vec![new_op(1, del)]).await.unwrap();
        let op = j.ready_ops(now_ms(), 10).await.unwrap().remove(0);
        j.begin_attempt(op.id, true).await.unwrap();
        op.id
    };
    let j = Journal::open(dir.path()).unwrap();
    let sending = j.sending_ops().await.unwrap();
    assert_eq!(sending.len(), 1);
    assert_eq!(sending[0].id, op_id);
    assert_eq!(sending[0].attempts, 1);
    assert!(sending[0].sent_at.is_some());
    assert!(j.ready_ops(now_ms(), 10).await.unwrap().is_empty(), "an uncertain op must not be resent");
}

#[tokio::test]
async fn a_retry_later_is_not_ready_before_its_time_and_a_refund_keeps_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let (j, file) = journal_with_file(dir.path()).await;
    j.insert_ops(file, vec![new_op(1, get_op("a@example.com"))]).await.unwrap();
    let op = j.ready_ops(now_ms(), 10).await.unwrap().remove(0);
    j.begin_attempt(op.id, false).await.unwrap();
    j.retry_op(op.id, now_ms() + 60_000, true, Some(429), "rate limited".into()).await.unwrap();
    assert!(j.ready_ops(now_ms(), 10).await.unwrap().is_empty());
    let later = j.ready_ops(now_ms() + 61_000, 10).await.unwrap();
    assert_eq!(later[0].attempts, 0);
}

#[tokio::test]
async fn invalid_rows_are_journaled_failed_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (j, file) = journal_with_file(dir.path()).await;
    let bad = NewOp {
        row: 1,
        action: "create_ticket".into(),
        key: "sha:1".into(),
        payload: None,
        invalid: Some("priority: 'x' is not one of Low (1)".into()),
        code: None,
    };
    j.insert_ops(file, vec![bad, new_op(2, get_op("a@example.com"))]).await.unwrap();
    let counts = j.row_counts(file).await.unwrap();
    assert_eq!((counts.failed, counts.pending), (1, 1));
    let lines = j.report_lines(file).await.unwrap();
    assert_eq!(lines[0].outcome, Some(Outcome::Failed));
    assert!(lines[0].message.as_deref().unwrap().contains("priority"));
    assert_eq!(j.requeue_failed(Some(file)).await.unwrap(), 0, "validation failures cannot be retried");
}

#[tokio::test]
async fn a_failing_job_rolls_back_alone_inside_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let (j, file) = journal_with_file(dir.path()).await;
    let bad = j.call(|c| {
        c.execute("INSERT INTO ops (file_id, row, action, key, state, updated_at) VALUES (999, 1, 'x', 'k', 'pending', 0)", [])?;
        Ok(())
    });
    let good = j.insert_ops(file, vec![new_op(1, get_op("a@example.com"))]);
    let (bad, good) = tokio::join!(bad, good);
    assert!(bad.is_err(), "foreign key must refuse an op of an unknown file");
    good.unwrap();
    assert_eq!(j.row_counts(file).await.unwrap().total, 1);
    let f = j.file(file).await.unwrap().unwrap();
    assert_eq!(f.rows_total, 1);
    assert!(j.find_file_by_sha("sha").await.unwrap().is_some());
}

#[tokio::test]
async fn a_retried_change_whose_answer_was_unreadable_is_looked_up_before_it_is_sent_again() {
    let dir = tempfile::tempdir().unwrap();
    let (j, file) = journal_with_file(dir.path()).await;
    let delete =
        Op::DeleteAgent { agent: AgentRef::Email(Email::parse("x@example.com").unwrap()), successor: None };
    j.insert_ops(file, vec![new_op(1, delete), new_op(2, get_op("a@example.com"))]).await.unwrap();
    let ops = j.ready_ops(now_ms(), 10).await.unwrap();
    for (op, code) in ops.iter().zip(["unverifiable_answer", "transient"]) {
        j.begin_attempt(op.id, true).await.unwrap();
        let result = OpResult {
            outcome: Outcome::Failed,
            freshdesk_id: None,
            http_status: Some(200),
            error_code: Some(code.into()),
            message: "x".into(),
        };
        j.finish_op(op.id, result).await.unwrap();
    }
    assert_eq!(j.requeue_failed(Some(file)).await.unwrap(), 2);
    let sending: Vec<u64> = j.sending_ops().await.unwrap().iter().map(|o| o.row).collect();
    assert_eq!(sending, vec![1], "the unreadable change is reconciled first");
    assert_eq!(j.row_counts(file).await.unwrap().pending, 1);
}

fn result(outcome: Outcome, id: u64) -> OpResult {
    OpResult { outcome, freshdesk_id: Some(id), http_status: None, error_code: None, message: String::new() }
}

#[tokio::test]
async fn an_undo_file_names_what_it_undoes_and_holds_each_row_unless_it_was_not_restorable() {
    use crate::domain::{OpKey, UndoOf};
    let dir = tempfile::tempdir().unwrap();
    let (j, file) = journal_with_file(dir.path()).await;
    let del = |id| Op::DeleteAgent { agent: AgentRef::Id(id), successor: None };
    j.insert_ops(file, vec![new_op(1, del(41)), new_op(2, del(42)), new_op(3, get_op("x@example.com"))])
        .await
        .unwrap();
    for op in j.ready_ops(now_ms(), 10).await.unwrap() {
        let outcome = if op.row == 3 { Outcome::Found } else { Outcome::Deleted };
        j.record_lookup(op.id, 40 + op.row, Some(format!("{{\"id\": {}}}", 40 + op.row))).await.unwrap();
        j.finish_op(op.id, result(outcome, 40 + op.row)).await.unwrap();
    }
    let rows = j.undoable_rows(file).await.unwrap();
    assert_eq!(
        rows.iter().map(|u| (u.row, u.freshdesk_id)).collect::<Vec<_>>(),
        [(1, Some(41)), (2, Some(42))]
    );
    assert_eq!(rows[0].snapshot.as_deref(), Some("{\"id\": 41}"));

    let of = |row| UndoOf { file_id: file, row };
    let ops: Vec<NewOp> = [1, 2]
        .map(|row| {
            let op = Op::RestoreAgent { agent_id: 40 + row, of: of(row), image: None, email: None };
            NewOp::valid(row, &op, OpKey::undo(of(row)).into())
        })
        .into();
    let f = NewFile {
        name: "undo".into(),
        path: String::new(),
        sha256: "u".into(),
        inbox: None,
        default_action: None,
    };
    let undo = j
        .insert_undo_file(file, f, ops, FileState::Processing, crate::account::Actor::current())
        .await
        .unwrap();
    assert_eq!(j.file(undo).await.unwrap().unwrap().undo_of, Some(file));
    assert_eq!(j.undos_of(file).await.unwrap().iter().map(|f| f.id).collect::<Vec<_>>(), [undo]);
    let keys: Vec<String> = [1, 2].map(|row| OpKey::undo(of(row)).into()).into();
    assert_eq!(j.undo_holders(keys.clone()).await.unwrap().len(), 2, "pending undo ops hold their rows");
    let undo_ops = j.undo_ops(undo).await.unwrap();
    assert_eq!(undo_ops.len(), 2);
    j.finish_op(undo_ops[0].id, result(Outcome::Restored, 41)).await.unwrap();
    j.finish_op(undo_ops[1].id, result(Outcome::NotRestorable, 42)).await.unwrap();
    let held = j.undo_holders(keys).await.unwrap();
    assert_eq!(
        held.into_keys().collect::<Vec<_>>(),
        [OpKey::undo(of(1)).to_string()],
        "row 2 may be tried again"
    );
}

#[tokio::test]
async fn each_connection_sees_only_its_files_ops_and_content_seen_before() {
    let dir = tempfile::tempdir().unwrap();
    let (j, file) = journal_with_file(dir.path()).await;
    let b = j.on_connection("b");
    let new = NewFile {
        name: "a.csv".into(),
        path: "/x/b/a.csv".into(),
        sha256: "sha".into(),
        inbox: None,
        default_action: Some(Action::GetAgent),
    };
    // The same content on another connection is another file, not a resume of the first.
    assert!(b.find_file_by_sha("sha").await.unwrap().is_none());
    let file_b = b.insert_file(new, FileState::Processing, None).await.unwrap();
    j.insert_ops(file, vec![new_op(1, get_op("a@example.com"))]).await.unwrap();
    b.insert_ops(file_b, vec![new_op(1, get_op("a@example.com"))]).await.unwrap();
    let files = |ops: Vec<OpRecord>| ops.iter().map(|o| o.file_id).collect::<Vec<_>>();
    // The same key on two accounts is two agents: neither waits for the other.
    assert_eq!(files(j.ready_ops(now_ms(), 10).await.unwrap()), [file]);
    assert_eq!(files(b.ready_ops(now_ms(), 10).await.unwrap()), [file_b]);
    assert_eq!(files(j.on_connection("c").ready_ops(now_ms(), 10).await.unwrap()), Vec::<i64>::new());
    assert_eq!(j.file(file_b).await.unwrap().unwrap().connection, "b");
    assert_eq!(j.file(file).await.unwrap().unwrap().connection, "default");
    let waiting = j.stats().await.unwrap().pending_by_connection;
    assert_eq!(waiting.into_iter().collect::<Vec<_>>(), [("b".to_string(), 1), ("default".to_string(), 1)]);
    let op_b = b.ready_ops(now_ms(), 10).await.unwrap().remove(0);
    b.begin_attempt(op_b.id, true).await.unwrap();
    assert!(j.sending_ops().await.unwrap().is_empty(), "another connection's uncertain op is not ours");
    assert_eq!(b.sending_ops().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_read_only_connection_reads_what_the_writer_committed_and_refuses_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let (j, file) = journal_with_file(dir.path()).await;
    let reader = Journal::open_read_only(dir.path()).unwrap();
    assert_eq!(reader.file(file).await.unwrap().map(|f| f.name), Some("a.csv".to_string()));
    let write = reader.call(|c| Ok(c.execute("DELETE FROM files", [])?)).await;
    assert!(write.is_err(), "a write through the page's connection must fail: {write:?}");
    assert!(j.file(file).await.unwrap().is_some(), "the file is still there");
    // Reads there never take the writer's lock: a write goes on while a read is open.
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let r = reader.clone();
    let held = async move {
        r.call(move |c| {
            let n: i64 = c.query_row("SELECT count(*) FROM files", [], |r| r.get(0))?;
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            Ok(n)
        })
        .await
    };
    let held = tokio::spawn(held);
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap()).await.unwrap();
    let f = NewFile {
        name: "b.csv".into(),
        path: "/x/b.csv".into(),
        sha256: "sha2".into(),
        inbox: None,
        default_action: None,
    };
    let written =
        tokio::time::timeout(std::time::Duration::from_secs(5), j.insert_file(f, FileState::Queued, None));
    assert!(written.await.is_ok(), "the writer was kept waiting by a page read");
    release_tx.send(()).unwrap();
    assert_eq!(held.await.unwrap().unwrap(), 1, "the read saw its own snapshot");
}
