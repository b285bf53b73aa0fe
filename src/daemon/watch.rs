//! One `notify` watcher per inbox folder. Events are hints only: an event that can make a file
//! ready wakes the intake, which rescans the folder (the listing is the truth). Only those wake
//! it ([`wakes`]): a file created, written and closed, renamed in, or changed in its attributes.
//! Opens, reads and closes without a write never do, and the daemon's own scans open the
//! folder: waking on those would be a loop that never rests. The one thing an event adds is
//! "renamed in": a file moved into the inbox (inotify `IN_MOVED_TO`) was complete before the
//! move, so it need not wait out the settle time. Queue overflows and watcher errors wake a
//! rescan too.

use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
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

/// The live watchers, one per inbox folder.
pub(super) struct Watchers {
    tx: UnboundedSender<Wake>,
    by_dir: HashMap<PathBuf, RecommendedWatcher>,
}

impl Watchers {
    pub(super) fn new(tx: UnboundedSender<Wake>) -> Self {
        Self { tx, by_dir: HashMap::new() }
    }

    /// Watches exactly `dirs`: starts missing watchers, drops the ones no longer wanted. Returns
    /// the folders that could not be watched and why (the periodic rescan still covers them).
    pub(super) fn sync(&mut self, dirs: &[PathBuf]) -> Vec<(PathBuf, String)> {
        self.by_dir.retain(|d, _| dirs.contains(d));
        let mut failed = Vec::new();
        for dir in dirs {
            if self.by_dir.contains_key(dir) {
                continue;
            }
            match self.start(dir) {
                Ok(w) => {
                    self.by_dir.insert(dir.clone(), w);
                }
                Err(e) => failed.push((dir.clone(), e.to_string())),
            }
        }
        failed
    }

    /// Whether `dir` has a live watcher.
    #[cfg(test)]
    pub(super) fn is_watching(&self, dir: &Path) -> bool {
        self.by_dir.contains_key(dir)
    }

    fn start(&self, dir: &Path) -> notify::Result<RecommendedWatcher> {
        let tx = self.tx.clone();
        let inbox = dir.to_path_buf();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<Event>| {
            let renamed = match &res {
                Ok(event) if !wakes(event) => return,
                Ok(event) => renamed_in(event),
                // An error (e.g. the queue overflowed): rescan, which needs nothing more.
                Err(_) => Vec::new(),
            };
            let _ = tx.send(Wake { inbox: inbox.clone(), renamed_in: renamed });
        })?;
        watcher.watch(dir, RecursiveMode::NonRecursive)?;
        Ok(watcher)
    }
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
