use super::*;
use crate::journal::{NewFile, NewOp};

fn new_file(name: &str) -> NewFile {
    NewFile {
        name: name.into(),
        path: format!("/in/{name}"),
        sha256: name.into(),
        inbox: None,
        default_action: None,
    }
}

fn invalid(row: u64) -> NewOp {
    NewOp {
        row,
        action: "create_ticket".into(),
        key: format!("k{row}"),
        payload: None,
        invalid: Some("email: bad".into()),
        code: None,
    }
}

fn routes() -> Vec<Route> {
    vec![
        Route {
            target: "hook".into(),
            events: vec![NotifyEvent::Held, NotifyEvent::Rejected, NotifyEvent::Failed],
        },
        Route { target: "mail".into(), events: vec![NotifyEvent::Done, NotifyEvent::CredentialsRefused] },
    ]
}

async fn pending(j: &Journal) -> Vec<(String, String, Option<i64>)> {
    let due = j.due_notices(i64::MAX, 100).await.unwrap();
    due.into_iter().map(|n| (n.event.as_str().to_string(), n.target, n.file_id)).collect()
}

#[tokio::test]
async fn a_state_change_records_one_notice_per_interested_target_once() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    let quiet = j.insert_file(new_file("before.csv"), FileState::Queued, None).await.unwrap();
    j.set_file_state(quiet, FileState::Held, None).await.unwrap();
    assert!(pending(&j).await.is_empty(), "no routes, nothing recorded");
    j.set_notify_routes(routes());
    let id = j.insert_file(new_file("a.csv"), FileState::Queued, None).await.unwrap();
    j.set_file_state(id, FileState::Held, None).await.unwrap();
    j.set_file_state(id, FileState::Held, Some("again".into())).await.unwrap();
    assert_eq!(pending(&j).await, [("held".to_string(), "hook".to_string(), Some(id))]);
    let clean = j.insert_file(new_file("b.csv"), FileState::Queued, None).await.unwrap();
    j.set_file_state(clean, FileState::Done, None).await.unwrap();
    let bad = j.insert_file(new_file("c.csv"), FileState::Queued, None).await.unwrap();
    j.insert_ops(bad, vec![invalid(1), invalid(2)]).await.unwrap();
    j.set_file_state(bad, FileState::Done, None).await.unwrap();
    let all = pending(&j).await;
    assert!(all.contains(&("done".into(), "mail".into(), Some(clean))), "{all:?}");
    assert!(all.contains(&("rejected".into(), "hook".into(), Some(bad))), "{all:?}");
    assert_eq!(all.len(), 3);
    let facts = j.file_facts(bad, 1).await.unwrap().unwrap();
    assert_eq!(facts.counts.get("failed"), Some(&2));
    assert_eq!(facts.failures, [(1, "email: bad".to_string())]);
}

#[tokio::test]
async fn a_notice_is_retried_later_then_ends() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    j.set_notify_routes(routes());
    assert_eq!(j.record_event(NotifyEvent::CredentialsRefused, "401".into()).await.unwrap(), 1);
    let n = j.due_notices(now_ms(), 10).await.unwrap().remove(0);
    assert_eq!((n.target.as_str(), n.detail.as_deref(), n.file_id), ("mail", Some("401"), None));
    j.notice_retry(n.id, now_ms() + 60_000, "HTTP 500".into()).await.unwrap();
    assert!(j.due_notices(now_ms(), 10).await.unwrap().is_empty(), "not due yet");
    let again = j.due_notices(now_ms() + 61_000, 10).await.unwrap().remove(0);
    assert_eq!(again.attempts, 1);
    j.notice_end(n.id, NoticeEnd::Sent, None).await.unwrap();
    assert_eq!(j.notice_state(n.id).await.unwrap().as_deref(), Some("sent"));
    assert!(j.due_notices(i64::MAX, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_held_cycle_is_the_pending_held_notices_of_one_inbox_and_target() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path()).unwrap();
    j.set_notify_routes(routes());
    let held = |name: &'static str, inbox: Option<&str>| {
        let (j, inbox) = (j.clone(), inbox.map(String::from));
        async move {
            let id =
                j.insert_file(NewFile { inbox, ..new_file(name) }, FileState::Queued, None).await.unwrap();
            j.set_file_state(id, FileState::Held, Some("over the rule".into())).await.unwrap();
            id
        }
    };
    let (a, csv, b) =
        (held("a", Some("scim")).await, held("l.csv", None).await, held("b", Some("scim")).await);
    let notices = j.due_notices(i64::MAX, 10).await.unwrap();
    let of = |file| notices.iter().find(|n| n.file_id == Some(file)).unwrap().id;
    let files = |c: Option<Vec<Notice>>| c.map(|c| c.iter().map(|n| n.file_id.unwrap()).collect::<Vec<_>>());
    assert_eq!(files(j.held_cycle(of(b), "scim").await.unwrap()), Some(vec![a, b]));
    assert_eq!(
        files(j.held_cycle(of(csv), "scim").await.unwrap()),
        None,
        "a dropped file's notice stands alone"
    );
    j.notice_end(of(a), NoticeEnd::Sent, None).await.unwrap();
    assert_eq!(files(j.held_cycle(of(a), "scim").await.unwrap()), Some(vec![b]), "a sent one is not again");
    j.notice_defer(vec![of(b)], 99).await.unwrap();
    assert!(j.due_notices(98, 10).await.unwrap().iter().all(|n| n.id != of(b)));
    assert_eq!(
        j.due_notices(99, 10).await.unwrap().iter().find(|n| n.id == of(b)).map(|n| n.attempts),
        Some(0)
    );
}
