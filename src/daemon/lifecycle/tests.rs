//! The moves the journal decides, and recovery after a crash: what is found in `processing/`
//! is finished moving, taken again, or (a half-made copy) removed.

use super::*;
use crate::daemon::spool::tests::{Fixture, fixture, names, scan};
use crate::journal::FileState;

const TICKETS: &str = "email,subject,description,priority,status\na@example.com,Disk full,d,Low,Open\n";

/// Puts `contents` in `processing/` as the spool would have claimed it from the fixture's inbox.
fn claimed(f: &Fixture, name: &str, contents: &str) -> PathBuf {
    let tag = inbox::inbox_tag(&f.inbox);
    let path =
        f.dirs.processing.join(format!("1700000000000{:04}x{tag}-{name}", names(&f.dirs.processing).len()));
    std::fs::write(&path, contents).expect("write");
    path
}

async fn only_file(f: &Fixture) -> FileRecord {
    let mut files = f.journal.files(vec![]).await.expect("files");
    assert_eq!(files.len(), 1, "{files:?}");
    files.remove(0)
}

#[tokio::test]
async fn recovery_removes_a_half_made_copy_and_the_original_is_taken_from_its_inbox_once() {
    let mut f = fixture();
    std::fs::write(f.inbox.join("a.csv"), TICKETS).expect("write");
    let tag = inbox::inbox_tag(&f.inbox);
    let hidden = f.dirs.processing.join(format!(".claim-17000000000000000x{tag}-a.csv"));
    std::fs::write(&hidden, &TICKETS[..20]).expect("write");
    f.recover().await.expect("recover");
    assert!(names(&f.dirs.processing).is_empty(), "the half-made copy is gone");
    assert_eq!(names(&f.inbox), ["a.csv"], "the original waits in its inbox");
    assert!(f.journal.files(vec![]).await.expect("files").is_empty());
    let renamed = f.inbox.join("a.csv");
    f.note_renamed(&renamed);
    scan(&mut f).await;
    assert_eq!(only_file(&f).await.state, FileState::Processing);
}

#[tokio::test]
async fn recovery_takes_an_unknown_claimed_file_again_with_its_inbox_and_action() {
    let mut f = fixture();
    let path = claimed(&f, "a.csv", TICKETS);
    f.recover().await.expect("recover");
    let rec = only_file(&f).await;
    assert_eq!(rec.name, "a.csv");
    assert_eq!(rec.path, path.display().to_string());
    assert_eq!(rec.state, FileState::Processing);
    assert_eq!(rec.default_action.as_deref(), Some("create_ticket"), "the action of the inbox its tag names");
    assert_eq!(rec.inbox.as_deref(), Some(f.inbox.display().to_string().as_str()));
}

#[tokio::test]
async fn recovery_finishes_moving_a_file_the_journal_says_is_done() {
    let mut f = fixture();
    let path = claimed(&f, "a.csv", TICKETS);
    f.recover().await.expect("take");
    let id = only_file(&f).await.id;
    f.journal.set_file_state(id, FileState::Done, None).await.expect("done");
    f.recover().await.expect("recover");
    assert!(!path.exists());
    assert_eq!(names(&f.dirs.done), [format!("{id}-a.csv")]);
    let rec = only_file(&f).await;
    assert_eq!(rec.path, f.dirs.done.join(format!("{id}-a.csv")).display().to_string());
    assert_eq!(rec.state, FileState::Done, "not taken again");
}

#[tokio::test]
async fn a_held_file_found_in_processing_goes_back_to_held_and_says_how_to_approve_it() {
    let mut f = fixture();
    claimed(&f, "a.csv", TICKETS);
    f.recover().await.expect("take");
    let id = only_file(&f).await.id;
    f.journal.set_file_state(id, FileState::Held, Some("too many deletes".into())).await.expect("held");
    f.recover().await.expect("recover");
    assert!(names(&f.dirs.processing).is_empty());
    assert_eq!(names(&f.dirs.held), [format!("{id}-a.csv")]);
    let problems = f.shared.problems();
    assert_eq!(problems, [format!("file {id} held (too many deletes): run `fdsync approve {id}`")]);

    // Approved (by another process): the next lifecycle pass brings it back and clears the problem.
    let approved = f.journal.approve_file(id, crate::account::Actor::current(), None).await;
    assert!(approved.expect("approve").is_some());
    f.lifecycle().await.expect("lifecycle");
    assert!(names(&f.dirs.held).is_empty());
    assert_eq!(names(&f.dirs.processing), [format!("{id}-a.csv")]);
    assert!(f.shared.problems().is_empty());
}

#[tokio::test]
async fn a_second_copy_of_a_file_in_progress_is_parked_in_done_and_queues_nothing() {
    let mut f = fixture();
    let first = claimed(&f, "a.csv", TICKETS);
    let second = claimed(&f, "again.csv", TICKETS);
    f.recover().await.expect("recover");
    let rec = only_file(&f).await;
    assert_eq!(rec.path, first.display().to_string(), "the first copy stays the journal's");
    assert!(first.exists() && !second.exists());
    assert_eq!(names(&f.dirs.done), [format!("{}-copy-again.csv", rec.id)]);
    assert_eq!(f.journal.row_counts(rec.id).await.expect("counts").total, 1, "one row, once");
}

#[tokio::test]
async fn a_file_whose_rows_are_all_final_gets_its_report_and_moves_to_done() {
    let mut f = fixture();
    claimed(&f, "a.csv", TICKETS);
    f.recover().await.expect("take");
    let id = only_file(&f).await.id;
    f.lifecycle().await.expect("lifecycle");
    assert_eq!(names(&f.dirs.done), Vec::<String>::new(), "a row is still pending");
    // The engine's part, done by hand: the file's one op (id 1 in a fresh journal) is created.
    let created = journal::OpResult {
        outcome: crate::domain::Outcome::Created,
        freshdesk_id: Some(7),
        http_status: Some(201),
        error_code: None,
        message: String::new(),
    };
    f.journal.finish_op(1, created).await.expect("finish");
    f.lifecycle().await.expect("lifecycle");
    assert_eq!(names(&f.dirs.done), [format!("{id}-a.csv")]);
    assert!(!names(&f.dirs.state.join("reports")).is_empty(), "its report is written");
}
