//! The spool's decisions, on real folders and a real journal: what is taken, what goes to
//! `failed/` unopened, and what a reload keeps.

use super::*;
use crate::config::Inbox;
use crate::daemon::lifecycle::Dirs;
use crate::domain::Action;
use crate::intake::Limits;
use crate::journal::FileState;
use crate::journal::Journal;

const TICKETS: &str = "email,subject,description,priority,status\na@example.com,Disk full,d,Low,Open\n";

/// A spool over a temp state folder and one inbox (`inbox/`, action `create_ticket`), with
/// the journal, folders and problems it shares with its lifecycle.
pub(in crate::daemon) struct Fixture {
    pub dir: tempfile::TempDir,
    pub spool: Spool,
    pub inbox: PathBuf,
    pub journal: Journal,
    pub dirs: Dirs,
    pub shared: Arc<Shared>,
    _wakes: UnboundedReceiver<Wake>,
}

impl Fixture {
    /// The spool's recovery of `processing/` at start.
    pub(in crate::daemon) async fn recover(&mut self) -> journal::Result<()> {
        self.spool.lifecycle.recover(&self.spool.inboxes).await
    }

    /// One pass of the lifecycle: finished files done, approved ones back from `held/`.
    pub(in crate::daemon) async fn lifecycle(&mut self) -> journal::Result<bool> {
        self.spool.lifecycle.step().await
    }

    /// Marks `path` as renamed into the fixture's first inbox (ready without settling).
    pub(in crate::daemon) fn note_renamed(&mut self, path: &Path) {
        self.spool.inboxes[0].note_renamed(path);
    }
}

pub(in crate::daemon) fn inbox_cfg(dir: &Path, settle: Duration) -> Inbox {
    Inbox { settle, ..Inbox::new(dir.to_path_buf(), Some(Action::CreateTicket)) }
}

pub(in crate::daemon) fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).expect("inbox");
    let state = dir.path().join("state");
    let dirs = Dirs::create(&state).expect("state folders");
    let journal = Journal::open(&state).expect("journal");
    let (tx, wakes) = tokio::sync::mpsc::unbounded_channel();
    let shared = Shared::new();
    let lifecycle =
        Lifecycle::new(journal.clone(), dirs.clone(), Limits::default(), shared.clone(), Vec::new());
    let spool = Spool::new(
        lifecycle,
        vec![InboxState::new(inbox_cfg(&inbox, Duration::from_secs(60)))],
        Watchers::new(tx),
        shared.clone(),
    );
    Fixture { dir, spool, inbox, journal, dirs, shared, _wakes: wakes }
}

pub(in crate::daemon) fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    v.sort();
    v
}

/// One pass of the spool over its inboxes.
pub(in crate::daemon) async fn scan(f: &mut Fixture) {
    f.spool.scan_all(&CancellationToken::new()).await.expect("scan");
}

/// Marks `name` as renamed into the fixture's inbox (ready without settling).
fn renamed_in(f: &mut Fixture, name: &str) {
    let path = f.inbox.join(name);
    f.spool.note(Wake { inbox: f.inbox.clone(), renamed_in: vec![path] });
}

#[tokio::test]
async fn a_ready_file_is_claimed_into_processing_and_taken_with_its_inbox_and_action() {
    let mut f = fixture();
    std::fs::write(f.inbox.join("a.csv"), TICKETS).expect("write");
    renamed_in(&mut f, "a.csv");
    scan(&mut f).await;
    assert!(names(&f.inbox).is_empty());
    let claimed = names(&f.dirs.processing);
    assert_eq!(claimed.len(), 1);
    let (tag, name) = inbox::parse_claimed(&claimed[0]).expect("a claimed name");
    assert_eq!((tag, name), (inbox::inbox_tag(&f.inbox).as_str(), "a.csv"));
    let files = f.journal.files(vec![]).await.expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].state, FileState::Processing);
    assert_eq!(files[0].default_action.as_deref(), Some("create_ticket"));
    assert_eq!(files[0].inbox.as_deref(), Some(f.inbox.display().to_string().as_str()));
    assert_eq!(files[0].path, f.dirs.processing.join(&claimed[0]).display().to_string());
}

#[tokio::test]
async fn a_file_still_settling_is_left_where_it_is() {
    let mut f = fixture();
    std::fs::write(f.inbox.join("a.csv"), TICKETS).expect("write");
    scan(&mut f).await;
    assert_eq!(names(&f.inbox), ["a.csv"]);
    assert!(f.journal.files(vec![]).await.expect("files").is_empty());
}

#[tokio::test]
async fn a_fifo_in_the_inbox_goes_to_failed_unopened_with_a_note() {
    let mut f = fixture();
    let fifo = f.inbox.join("pipe.csv");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    // Opening a FIFO with no writer blocks: a spool that opened it would never return.
    tokio::time::timeout(Duration::from_secs(5), scan(&mut f)).await.expect("the FIFO is not opened");
    assert!(names(&f.inbox).is_empty());
    assert_eq!(names(&f.dirs.failed), ["pipe.csv", "pipe.csv.error.txt"]);
    let note = std::fs::read_to_string(f.dirs.failed.join("pipe.csv.error.txt")).expect("note");
    assert!(note.contains("a FIFO (named pipe), not a regular file"), "{note}");
    assert!(f.journal.files(vec![]).await.expect("files").is_empty());
}

#[tokio::test]
async fn a_file_without_a_usable_header_is_rejected_into_failed_with_why() {
    let mut f = fixture();
    std::fs::write(f.inbox.join("bad.csv"), "nothing,useful\n1,2\n").expect("write");
    renamed_in(&mut f, "bad.csv");
    scan(&mut f).await;
    let files = f.journal.files(vec![]).await.expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].state, FileState::Failed);
    let stem = format!("{}-bad.csv", files[0].id);
    assert_eq!(names(&f.dirs.failed), [stem.clone(), format!("{stem}.error.txt")]);
    assert_eq!(files[0].path, f.dirs.failed.join(&stem).display().to_string());
}

#[tokio::test]
async fn a_reload_keeps_an_unchanged_inbox_renews_a_changed_one_and_forgets_a_removed_one() {
    let mut f = fixture();
    let other = f.dir.path().join("other");
    std::fs::create_dir(&other).expect("mkdir");
    f.spool.inboxes.push(InboxState::new(inbox_cfg(&other, Duration::from_secs(60))));
    std::fs::write(f.inbox.join("a.csv"), TICKETS).expect("write");
    renamed_in(&mut f, "a.csv");
    f.shared.raise(&format!("inbox:{}", other.display()), "other cannot be read");

    // The same inbox again: its "renamed in" mark is kept, so the file is still ready at once.
    f.spool.reconfigure(vec![InboxState::new(inbox_cfg(&f.inbox, Duration::from_secs(60)))]);
    assert_eq!(f.spool.inboxes.len(), 1);
    assert!(f.shared.problems().is_empty(), "a removed inbox's problem is cleared");
    assert_eq!(f.spool.inboxes[0].scan(Instant::now()).expect("scan").ready, [f.inbox.join("a.csv")]);

    // A changed settle time: a fresh state, the file must settle again.
    f.spool.reconfigure(vec![InboxState::new(inbox_cfg(&f.inbox, Duration::from_secs(30)))]);
    assert!(f.spool.inboxes[0].scan(Instant::now()).expect("scan").ready.is_empty());
}

#[tokio::test]
async fn a_claim_across_filesystems_copies_then_removes_the_original() {
    let mut f = fixture();
    let shm = tempfile::tempdir_in("/dev/shm").expect("a folder in /dev/shm");
    use std::os::unix::fs::MetadataExt;
    let dev = |p: &Path| std::fs::metadata(p).expect("metadata").dev();
    assert_ne!(dev(shm.path()), dev(&f.dirs.processing), "/dev/shm must be another filesystem");
    f.spool.inboxes = vec![InboxState::new(inbox_cfg(shm.path(), Duration::from_secs(60)))];
    std::fs::write(shm.path().join("a.csv"), TICKETS).expect("write");
    f.spool.note(Wake { inbox: shm.path().to_path_buf(), renamed_in: vec![shm.path().join("a.csv")] });
    scan(&mut f).await;
    assert!(names(shm.path()).is_empty(), "the original is removed once the copy is in place");
    let claimed = names(&f.dirs.processing);
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert!(!claimed[0].starts_with('.'), "no hidden copy is left: {claimed:?}");
    let copied = std::fs::read_to_string(f.dirs.processing.join(&claimed[0])).expect("read");
    assert_eq!(copied, TICKETS);
}
