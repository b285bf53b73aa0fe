use super::*;
use crate::domain::{AgentRef, Email, NewAgent, NewTicket, Op, Outcome, TicketScope};
use crate::journal::{FileState, NewFile, NewOp, OpResult, now_ms};

const JANE_RECORD: &str = r#"{"id": 43, "occasional": false, "ticket_scope": 2, "group_ids": [7, 9],
    "role_ids": [43000078901], "contact": {"name": "Jane Doe", "email": "Jane@Example.com"}}"#;

fn email(s: &str) -> Email {
    Email::parse(s).unwrap()
}

fn delete(e: &str) -> Op {
    Op::DeleteAgent { agent: AgentRef::Email(email(e)), successor: None }
}

fn create_agent(e: &str) -> Op {
    Op::CreateAgent(NewAgent {
        email: email(e),
        ticket_scope: TicketScope::Global,
        name: "New".into(),
        job_title: None,
        occasional: None,
        role_ids: vec![],
        group_ids: vec![],
        language: None,
        time_zone: None,
    })
}

fn result(outcome: Outcome, id: Option<u64>, code: Option<&str>) -> OpResult {
    OpResult {
        outcome,
        freshdesk_id: id,
        http_status: id.map(|_| 200),
        error_code: code.map(String::from),
        message: String::new(),
    }
}

async fn add_file(j: &Journal, name: &str, ops: Vec<Op>, state: FileState) -> i64 {
    let new = NewFile {
        name: name.into(),
        path: format!("/x/{name}"),
        sha256: format!("sha-{name}"),
        inbox: Some("/in".into()),
        default_action: None,
    };
    let id = j.insert_file(new, FileState::Processing, None).await.unwrap();
    let rows =
        ops.iter().enumerate().map(|(i, op)| NewOp::valid(i as u64 + 1, op, op.key("sha", i as u64 + 1)));
    j.insert_ops(id, rows.collect()).await.unwrap();
    j.set_file_state(id, state, None).await.unwrap();
    id
}

/// The op id of row `row` of `file`.
async fn op_id(j: &Journal, file: i64, row: i64) -> i64 {
    j.call(move |c| {
        Ok(c.query_row("SELECT id FROM ops WHERE file_id = ?1 AND row = ?2", [file, row], |r| r.get(0))?)
    })
    .await
    .unwrap()
}

/// Sends row `row` (with `record` saved first, for deletes) and finishes it with `r`.
async fn run(j: &Journal, file: i64, row: i64, record: Option<&str>, r: Option<OpResult>) {
    let id = op_id(j, file, row).await;
    if let Some(rec) = record {
        j.record_lookup(id, 43, Some(rec.into())).await.unwrap();
    }
    j.begin_attempt(id, true).await.unwrap();
    if let Some(r) = r {
        j.finish_op(id, r).await.unwrap();
    }
}

async fn set_times(j: &Journal, file: i64, row: i64, sent_at: Option<i64>, updated_at: i64) {
    j.call(move |c| {
        c.execute(
            "UPDATE ops SET sent_at = ?3, updated_at = ?4 WHERE file_id = ?1 AND row = ?2",
            params![file, row, sent_at, updated_at],
        )?;
        Ok(())
    })
    .await
    .unwrap();
}

async fn rows_of(j: &Journal, q: AuditQuery) -> Vec<(i64, i64)> {
    let page = j.audit(q).await.unwrap();
    page.rows.iter().map(|r| (r.change.file_id, r.change.row)).collect()
}

/// File 1 (done): a ticket created, jane deleted, a protected delete refused unsent, a lookup,
/// an invalid row. File 2 (processing): a sent create in flight and an unsent delete. File 3
/// (held): an unsent delete.
async fn journal(dir: &std::path::Path) -> (Journal, [i64; 3]) {
    let j = Journal::open(dir).unwrap();
    let ticket = Op::CreateTicket(NewTicket::example("Requester@Example.com"));
    let get = Op::GetAgent { email: email("x@example.com") };
    let done = vec![ticket, delete("jane@example.com"), delete("boss@example.com"), get];
    let f1 = add_file(&j, "leavers.csv", done, FileState::Processing).await;
    let invalid = NewOp {
        row: 5,
        action: "delete_agent".into(),
        key: "sha:5".into(),
        payload: None,
        invalid: Some("bad".into()),
        code: None,
    };
    j.insert_ops(f1, vec![invalid]).await.unwrap();
    run(&j, f1, 1, None, Some(result(Outcome::Created, Some(100), None))).await;
    run(&j, f1, 2, Some(JANE_RECORD), Some(result(Outcome::Deleted, Some(43), None))).await;
    let protected = op_id(&j, f1, 3).await;
    j.finish_op(protected, result(Outcome::Failed, None, Some("protected"))).await.unwrap();
    j.finish_op(op_id(&j, f1, 4).await, result(Outcome::Found, Some(5), None)).await.unwrap();
    j.call(move |c| {
        c.execute("UPDATE files SET report_path = '/r', approved_by = 'alice', approved_at = 5, approval_note = 'HR 42' WHERE id = ?1", [f1])?;
        Ok(())
    })
    .await
    .unwrap();
    j.set_file_state(f1, FileState::Done, None).await.unwrap();
    let f2 = add_file(
        &j,
        "more.csv",
        vec![create_agent("new@example.com"), delete("b@example.com")],
        FileState::Processing,
    )
    .await;
    run(&j, f2, 1, None, None).await;
    let f3 = add_file(&j, "held.csv", vec![delete("c@example.com")], FileState::Held).await;
    (j, [f1, f2, f3])
}

#[tokio::test]
async fn audit_lists_the_changes_tried_with_file_approval_and_before_image() {
    let dir = tempfile::tempdir().unwrap();
    let (j, [f1, f2, _]) = journal(dir.path()).await;
    let page = j.audit(AuditQuery::default()).await.unwrap();
    assert!(!page.truncated);
    let mut got: Vec<(i64, i64)> = page.rows.iter().map(|r| (r.change.file_id, r.change.row)).collect();
    got.sort();
    assert_eq!(got, [(f1, 1), (f1, 2), (f1, 3), (f2, 1)], "no lookup, invalid, unsent or held row");
    let jane = page.rows.iter().find(|r| r.change.row == 2 && r.change.file_id == f1).unwrap();
    let c = &jane.change;
    assert_eq!(
        (c.file_name.as_str(), c.sha256.as_str(), c.inbox.as_deref()),
        ("leavers.csv", "sha-leavers.csv", Some("/in"))
    );
    assert_eq!(
        (c.action.as_str(), c.email.as_deref(), c.outcome.as_deref()),
        ("delete_agent", Some("jane@example.com"), Some("deleted"))
    );
    assert_eq!(
        (c.freshdesk_id, c.approved_by.as_deref(), c.approval_note.as_deref()),
        (Some(43), Some("alice"), Some("HR 42"))
    );
    assert_eq!(c.approved_at, Some(When(5)));
    assert!(c.sent_at.is_some() && c.confirmed_at.is_some());
    let before = jane.before.clone().unwrap();
    assert_eq!(
        (before.name.as_deref(), before.email.as_deref()),
        (Some("Jane Doe"), Some("Jane@Example.com"))
    );
    assert_eq!((before.role_ids, before.group_ids), (Some(vec![43000078901]), Some(vec![7, 9])));
    assert_eq!((before.ticket_scope, before.occasional), (Some(2), Some(false)));
    let refused = page.rows.iter().find(|r| r.change.row == 3 && r.change.file_id == f1).unwrap();
    assert_eq!((refused.change.sent_at, refused.change.error_code.as_deref()), (None, Some("protected")));
    let in_flight = page.rows.iter().find(|r| r.change.file_id == f2).unwrap();
    assert_eq!((in_flight.change.confirmed_at, in_flight.change.outcome.as_deref()), (None, None));
}

#[tokio::test]
async fn audit_filters_by_time_email_file_and_action() {
    let dir = tempfile::tempdir().unwrap();
    let (j, [f1, f2, _]) = journal(dir.path()).await;
    set_times(&j, f1, 1, Some(1_000), 1_500).await;
    set_times(&j, f1, 2, Some(2_000), 2_500).await;
    set_times(&j, f1, 3, None, 3_000).await;
    set_times(&j, f2, 1, Some(4_000), 4_000).await;
    let q = |f: &dyn Fn(&mut AuditQuery)| {
        let mut q = AuditQuery::default();
        f(&mut q);
        q
    };
    assert_eq!(rows_of(&j, q(&|_| {})).await, [(f1, 1), (f1, 2), (f1, 3), (f2, 1)], "oldest first");
    assert_eq!(rows_of(&j, q(&|q| q.since = Some(2_000))).await, [(f1, 2), (f1, 3), (f2, 1)]);
    assert_eq!(rows_of(&j, q(&|q| q.until = Some(3_000))).await, [(f1, 1), (f1, 2)], "until is exclusive");
    assert_eq!(rows_of(&j, q(&|q| q.email = Some("JANE@example.COM".into()))).await, [(f1, 2)]);
    assert_eq!(
        rows_of(&j, q(&|q| q.email = Some("requester@example.com".into()))).await,
        [(f1, 1)],
        "a ticket's requester"
    );
    assert_eq!(rows_of(&j, q(&|q| q.file = Some(f2))).await, [(f2, 1)]);
    assert_eq!(rows_of(&j, q(&|q| q.action = Some(Action::DeleteAgent))).await, [(f1, 2), (f1, 3)]);
    let page = j.audit(q(&|q| q.limit = 2)).await.unwrap();
    assert_eq!((page.rows.len(), page.truncated), (2, true));
}

#[tokio::test]
async fn a_delete_by_id_is_found_by_the_email_of_its_saved_record_and_a_bad_record_never_fails() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    let by_id = |id| Op::DeleteAgent { agent: AgentRef::Id(id), successor: None };
    let f = add_file(&j, "ids.csv", vec![by_id(43), by_id(44), by_id(45)], FileState::Processing).await;
    run(&j, f, 1, Some(JANE_RECORD), Some(result(Outcome::Deleted, Some(43), None))).await;
    run(&j, f, 2, Some("not json {"), Some(result(Outcome::Deleted, Some(44), None))).await;
    run(&j, f, 3, Some(r#"{"id": 45, "role_ids": "x", "contact": null}"#), None).await;
    let q = AuditQuery { email: Some("jane@example.com".into()), ..AuditQuery::default() };
    assert_eq!(rows_of(&j, q).await, [(f, 1)]);
    let page = j.audit(AuditQuery::default()).await.unwrap();
    assert_eq!(page.rows.len(), 3);
    assert_eq!(page.rows[1].before, Some(BeforeImage { unreadable: true, ..BeforeImage::default() }));
    assert_eq!(page.rows[2].before, Some(BeforeImage::default()), "what is there: nothing usable");
}

#[test]
fn a_before_image_reads_what_is_there() {
    let partial = BeforeImage::parse(r#"{"name": "Top", "group_ids": [1, "x"], "occasional": true}"#);
    assert_eq!(
        partial,
        BeforeImage { name: Some("Top".into()), occasional: Some(true), ..BeforeImage::default() }
    );
    assert!(BeforeImage::parse("[1]").unreadable);
    let cells = BeforeImage::parse(JANE_RECORD).cells();
    assert_eq!(cells, ["Jane Doe", "Jane@Example.com", "43000078901", "7;9", "2", "false"]);
    assert_eq!(cells.len(), BeforeImage::NAMES.len());
}

#[tokio::test]
async fn prune_keeps_the_audit_of_finished_files_and_leaves_running_and_held_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (j, [f1, f2, f3]) = journal(dir.path()).await;
    let ext = Op::CreateTicket(NewTicket {
        external_id: Some("INC-1".into()),
        ..NewTicket::example("a@example.com")
    });
    let f4 = add_file(&j, "ext.csv", vec![ext], FileState::Processing).await;
    run(&j, f4, 1, None, Some(result(Outcome::Created, Some(200), None))).await;
    j.call(move |c| Ok(c.execute("UPDATE files SET report_path = '/r4' WHERE id = ?1", [f4])?))
        .await
        .unwrap();
    j.set_file_state(f4, FileState::Done, None).await.unwrap();
    let before = j.audit(AuditQuery::default()).await.unwrap();
    let later = now_ms() + 1_000;
    let plan = j.prune_plan(later, 100).await.unwrap();
    assert_eq!(plan.iter().map(|p| (p.id, p.ops, p.kept)).collect::<Vec<_>>(), [(f1, 5, 3), (f4, 1, 1)]);
    assert_eq!(
        j.prune(now_ms() - 60_000, crate::account::Actor::current()).await.unwrap(),
        [],
        "nothing finished before a minute ago"
    );
    let pruned = j.prune(later, crate::account::Actor::current()).await.unwrap();
    assert_eq!(pruned, plan);
    let j2 = j.clone();
    let ops = |f: i64| {
        let j = j2.clone();
        async move { j.row_counts(f).await.unwrap().total }
    };
    assert_eq!((ops(f1).await, ops(f4).await), (0, 0), "the finished files' ops are gone");
    assert_eq!((ops(f2).await, ops(f3).await), (2, 1), "a running and a held file are untouched");
    assert_eq!(j.audit(AuditQuery::default()).await.unwrap(), before, "the same answer from the audit rows");
    let q = AuditQuery {
        email: Some("jane@example.com".into()),
        action: Some(Action::DeleteAgent),
        ..AuditQuery::default()
    };
    assert_eq!(rows_of(&j, q).await, [(f1, 2)]);
    let key = crate::domain::OpKey::external("INC-1").to_string();
    assert_eq!(
        j.created_with_key(key, -1).await.unwrap(),
        Some((f4, 1, 200)),
        "a pruned external_id still dedupes"
    );
    assert_eq!(
        j.prune(later, crate::account::Actor::current()).await.unwrap(),
        [],
        "a second prune finds nothing"
    );
    assert!(j.file(f1).await.unwrap().is_some(), "the file row stays (sha256 dedupe)");
}
