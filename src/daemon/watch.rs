//! One `notify` watcher for every inbox folder. Events are hints only: an event that can make a file
//! ready wakes the intake, which rescans the folder (the listing is the truth). Only those wake
//! it ([`wakes`]): a file created, written and closed, renamed in, or changed in its attributes.
//! Opens, reads and closes without a write never do, and the daemon's own scans open the
//! folder: waking on those would be a loop that never rests. The one thing an event adds is
//! "renamed in": a file moved into the inbox (inotify `IN_MOVED_TO`) was complete before the
//! move, so it need not wait out the settle time. Queue overflows and watcher errors wake a
//! rescan too.

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::UnboundedSender;

/// A reason to look at an inbox again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Wake {
    /// The inbox folder, as configured.
    pub inbox: PathBuf,
    /// Files renamed into it (ready at once).
    pub renamed_in: Vec<PathBuf>,
}

/// The files an event says were renamed into a watched folder.
pub(super) fn renamed_in(event: &Event) -> Vec<PathBuf> {
    match event.kind {
        EventKind::Modify(ModifyKind::Name(RenameMode::To)) => event.paths.clone(),
        // Both ends seen (same cookie): `paths` is [from, to].
        EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
            event.paths.get(1).cloned().into_iter().collect()
        }
        _ => Vec::new(),
    }
}

/// Whether an event can make a file ready, and so is worth a rescan: created, written and
/// closed, renamed in (or an unpaired rename), attributes changed, or a rescan the backend
/// asks for. Opens, reads, closes without a write, writes still under way, renames out and
/// removals wake nothing.
pub(super) fn wakes(event: &Event) -> bool {
    if event.need_rescan() {
        return true;
    }
    match event.kind {
        EventKind::Create(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Name(RenameMode::From)) => false,
        EventKind::Modify(ModifyKind::Name(_)) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => true,
        // A write under way: its close (or the settle rescan) says when it is done.
        EventKind::Modify(ModifyKind::Data(_)) => false,
        EventKind::Modify(ModifyKind::Any | ModifyKind::Other) => true,
        EventKind::Remove(_) => false,
        EventKind::Any | EventKind::Other => false,
    }
}

/// One `notify` watcher (one inotify instance, with one watch per inbox folder): the kernel
/// limits instances per account (`max_user_instances`, often 128, shared by every process of
/// the account), not watches, so many inboxes cost one instance.
pub(super) struct Watchers {
    tx: UnboundedSender<Wake>,
    watcher: Option<RecommendedWatcher>,
    /// The folders watched, shared with the callback that says which inbox an event is for.
    dirs: Arc<Mutex<Vec<PathBuf>>>,
}

impl Watchers {
    pub(super) fn new(tx: UnboundedSender<Wake>) -> Self {
        Self { tx, watcher: None, dirs: Arc::default() }
    }

    /// Watches exactly `dirs`: adds missing folders, drops the ones no longer wanted. Returns
    /// the folders that could not be watched and why (the periodic rescan still covers them).
    pub(super) fn sync(&mut self, dirs: &[PathBuf]) -> Vec<(PathBuf, String)> {
        let watcher = match self.watcher.as_mut() {
            Some(w) => w,
            None => match start(self.tx.clone(), self.dirs.clone()) {
                Ok(w) => self.watcher.insert(w),
                Err(e) => return dirs.iter().map(|d| (d.clone(), e.to_string())).collect(),
            },
        };
        // The callback takes this lock on the watcher's thread, which `watch` waits for: never
        // hold it across a call to the watcher.
        let watched = self.dirs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for gone in watched.iter().filter(|d| !dirs.contains(d)) {
            let _ = watcher.unwatch(gone);
        }
        let mut now: Vec<PathBuf> = watched.iter().filter(|d| dirs.contains(d)).cloned().collect();
        let mut failed = Vec::new();
        for dir in dirs {
            if now.contains(dir) {
                continue;
            }
            match watcher.watch(dir, RecursiveMode::NonRecursive) {
                Ok(()) => now.push(dir.clone()),
                Err(e) => failed.push((dir.clone(), e.to_string())),
            }
        }
        *self.dirs.lock().unwrap_or_else(|p| p.into_inner()) = now;
        failed
    }

    /// Whether `dir` is watched.
    #[cfg(test)]
    pub(super) fn is_watching(&self, dir: &std::path::Path) -> bool {
        self.dirs.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|d| d == dir)
    }
}

/// The watcher: each event that can make a file ready wakes the inbox its paths are in; one
/// that names no inbox (an error, a queue overflow, a folder itself removed) wakes them all.
fn start(tx: UnboundedSender<Wake>, dirs: Arc<Mutex<Vec<PathBuf>>>) -> notify::Result<RecommendedWatcher> {
    notify::recommended_watcher(move |res: notify::Result<Event>| {
        let (paths, renamed) = match &res {
            Ok(event) if !wakes(event) => return,
            Ok(event) => (event.paths.clone(), renamed_in(event)),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let watched = dirs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut inboxes: Vec<&PathBuf> =
            watched.iter().filter(|d| paths.iter().any(|p| p.parent() == Some(d.as_path()))).collect();
        if inboxes.is_empty() {
            inboxes = watched.iter().collect();
        }
        for inbox in inboxes {
            let renamed_in =
                renamed.iter().filter(|p| p.parent() == Some(inbox.as_path())).cloned().collect();
            let _ = tx.send(Wake { inbox: inbox.clone(), renamed_in });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, AccessMode, CreateKind};

    fn event(kind: EventKind, paths: &[&str]) -> Event {
        let mut e = Event::new(kind);
        for p in paths {
            e = e.add_path(PathBuf::from(p));
        }
        e
    }

    #[test]
    fn a_rename_into_the_folder_marks_the_file_ready() {
        let to = event(EventKind::Modify(ModifyKind::Name(RenameMode::To)), &["/in/a.csv"]);
        assert_eq!(renamed_in(&to), [PathBuf::from("/in/a.csv")]);
        let both = event(EventKind::Modify(ModifyKind::Name(RenameMode::Both)), &["/in/a.tmp", "/in/a.csv"]);
        assert_eq!(renamed_in(&both), [PathBuf::from("/in/a.csv")]);
    }

    #[test]
    fn writes_creates_and_renames_out_mark_nothing_ready() {
        for kind in [
            EventKind::Create(CreateKind::File),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            EventKind::Modify(ModifyKind::Any),
        ] {
            assert!(renamed_in(&event(kind, &["/in/a.csv"])).is_empty(), "{kind:?}");
        }
    }

    #[test]
    fn only_events_that_can_make_a_file_ready_wake_the_spool() {
        use notify::event::{CreateKind, DataChange, Flag, MetadataKind, RemoveKind};
        let quiet = [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Close(AccessMode::Execute)),
            EventKind::Access(AccessKind::Any),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            EventKind::Remove(RemoveKind::File),
            EventKind::Other,
        ];
        for kind in quiet {
            assert!(!wakes(&event(kind, &["/in/a.csv"])), "{kind:?} must not wake the spool");
        }
        let loud = [
            EventKind::Create(CreateKind::File),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)),
            EventKind::Modify(ModifyKind::Name(RenameMode::Any)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Permissions)),
        ];
        for kind in loud {
            assert!(wakes(&event(kind, &["/in/a.csv"])), "{kind:?} must wake the spool");
        }
        assert!(wakes(&Event::new(EventKind::Other).set_flag(Flag::Rescan)), "a rescan request wakes");
    }

    #[tokio::test]
    async fn scanning_a_watched_folder_wakes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).expect("mkdir");
        std::fs::write(inbox.join("a.csv"), "x").expect("write");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut w = Watchers::new(tx);
        assert!(w.sync(std::slice::from_ref(&inbox)).is_empty());
        // What a scan and a look at a file do: list the folder, open and read a file.
        for _ in 0..20 {
            let _ = std::fs::read_dir(&inbox).expect("list").count();
            let _ = std::fs::read(inbox.join("a.csv")).expect("read");
        }
        let woke = tokio::time::timeout(std::time::Duration::from_millis(500), rx.recv()).await;
        assert!(woke.is_err(), "listing and reading woke the spool: {woke:?}");
        // A write and close does.
        std::fs::write(inbox.join("b.csv"), "y").expect("write");
        let wake = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await;
        assert!(matches!(wake, Ok(Some(_))), "a new file woke nothing");
    }

    #[tokio::test]
    async fn many_inboxes_share_one_watcher_and_each_event_wakes_its_own_inbox() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inboxes: Vec<PathBuf> = (0..200).map(|i| dir.path().join(format!("in{i}"))).collect();
        for d in &inboxes {
            std::fs::create_dir(d).expect("mkdir");
        }
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut w = Watchers::new(tx);
        // 200 folders: more than the usual 128 inotify instances an account may hold.
        assert!(w.sync(&inboxes).is_empty());
        let last = inboxes.last().expect("inbox").clone();
        std::fs::write(dir.path().join("a.csv"), "x").expect("write");
        std::fs::rename(dir.path().join("a.csv"), last.join("a.csv")).expect("rename");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        let wake = tokio::time::timeout_at(deadline, rx.recv()).await.expect("a wake").expect("open");
        assert_eq!(wake.inbox, last, "only the inbox the file is in wakes");
        assert_eq!(wake.renamed_in, [last.join("a.csv")]);
        w.sync(&inboxes[..1]);
        assert!(w.is_watching(&inboxes[0]) && !w.is_watching(&last));
    }

    #[tokio::test]
    async fn a_watched_folder_reports_a_file_renamed_into_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).expect("mkdir");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut w = Watchers::new(tx);
        assert!(w.sync(std::slice::from_ref(&inbox)).is_empty());
        assert!(w.is_watching(&inbox));
        let staged = dir.path().join("a.csv");
        std::fs::write(&staged, "x").expect("write");
        std::fs::rename(&staged, inbox.join("a.csv")).expect("rename");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let wake = tokio::time::timeout_at(deadline, rx.recv()).await.expect("a wake").expect("open");
            assert_eq!(wake.inbox, inbox);
            if wake.renamed_in.iter().any(|p| p.ends_with("a.csv")) {
                break;
            }
        }
        w.sync(&[]);
        assert!(!w.is_watching(&inbox));
    }
}
