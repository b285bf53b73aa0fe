//! One inbox folder: which of its files are ready, and claiming one.
//!
//! Ready means: a candidate name (not hidden, not a temp name), matching the inbox's pattern, a
//! regular file, and either renamed into the folder (complete by the producer's contract) or
//! unchanged in size and mtime for the settle time. Claiming a file the daemon owns is an atomic
//! `rename` into `processing/`. A file another account owns (a producer's upload), or one on
//! another filesystem (`EXDEV`), is copied instead: read through the producer's group
//! permission into a hidden 0600 file of the daemon's own, fsynced, renamed into place, and only
//! then removed from the inbox, so a crash at any point leaves a whole file somewhere. Taking a
//! file never needs to own it (only its owner could make it private).
//!
//! An entry that cannot be taken or moved (unreadable, or a folder the daemon may not move) is
//! set aside: the spool reports it once, and the scan passes over it until it changes (size,
//! times, owner, mode) or its back-off (1 minute, doubling to an hour) runs out. Nothing in an
//! inbox makes the daemon retry in a loop.
//!
//! An entry with a candidate name that is not a regular file (symlink, FIFO, socket, device,
//! folder) is never opened: the scan lists it as a stray, for the spool to move to `failed/`.
//! A name that is not UTF-8 is taken under its lossy spelling (the spool logs it).

use crate::config::Inbox;
use crate::intake::settle::{Settle, is_candidate_name, matches_pattern};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The first wait before an entry set aside is looked at again, unchanged.
const SET_ASIDE_FIRST: Duration = Duration::from_secs(60);
/// The longest such wait.
const SET_ASIDE_MAX: Duration = Duration::from_secs(3600);

/// What the daemon knows of one configured inbox.
#[derive(Debug)]
pub(super) struct InboxState {
    pub cfg: Inbox,
    /// The connection its files are sent on.
    pub connection: String,
    settle: Settle,
    renamed: HashSet<PathBuf>,
    /// Entries that could not be taken or moved, passed over until they change or their
    /// back-off runs out.
    aside: HashMap<PathBuf, Aside>,
}

/// What an inbox entry looked like when it was set aside: any change (content, times, owner,
/// mode, a new file under the same name) makes it worth another try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Look {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: (i64, i64),
    ctime_ns: (i64, i64),
}

impl Look {
    fn of(meta: &std::fs::Metadata) -> Self {
        Look {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: (meta.mtime(), meta.mtime_nsec()),
            ctime_ns: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

/// An entry set aside.
#[derive(Debug, Clone, Copy)]
struct Aside {
    look: Look,
    retry_at: Instant,
    backoff: Duration,
}

impl InboxState {
    pub(super) fn new(cfg: Inbox) -> Self {
        let settle = Settle::new(cfg.settle);
        let connection = crate::config::DEFAULT_CONNECTION.to_string();
        Self { cfg, connection, settle, renamed: HashSet::new(), aside: HashMap::new() }
    }

    /// Every configured inbox, each on its connection.
    pub(super) fn all(settings: &crate::config::Settings) -> Vec<InboxState> {
        let on = |cfg: &Inbox| settings.inbox_connection(cfg).to_string();
        settings
            .inboxes
            .iter()
            .map(|cfg| InboxState { connection: on(cfg), ..Self::new(cfg.clone()) })
            .collect()
    }

    /// A watcher saw `path` renamed into this folder: it is ready without settling.
    pub(super) fn note_renamed(&mut self, path: &Path) {
        if path.parent() == Some(self.cfg.dir.as_path()) {
            self.renamed.insert(path.to_path_buf());
        }
    }

    /// Whether `name` may be taken from this inbox.
    pub(super) fn accepts(&self, name: &str) -> bool {
        is_candidate_name(name) && self.cfg.pattern.as_deref().is_none_or(|p| matches_pattern(name, p))
    }

    /// Lists the folder: the files ready to take, oldest name first, and the strays.
    pub(super) fn scan(&mut self, now: Instant) -> io::Result<Scan> {
        let mut present = HashSet::new();
        let mut scan = Scan::default();
        for entry in std::fs::read_dir(&self.cfg.dir)? {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name();
            if !self.accepts(&name.to_string_lossy()) {
                continue;
            }
            // `DirEntry::metadata` does not follow a symlink: a symlink is a stray, not its target.
            let Ok(meta) = entry.metadata() else { continue };
            let path = entry.path();
            if self.passes_over(&path, &meta, now) {
                present.insert(path);
                continue;
            }
            if !meta.is_file() {
                scan.strays.push((path.clone(), crate::intake::kind_of(&meta.file_type())));
                present.insert(path);
                continue;
            }
            let settled = self.settle.observe(&path, meta.len(), meta.modified().ok(), now);
            if settled || self.renamed.contains(&path) {
                scan.ready.push(path.clone());
            }
            present.insert(path);
        }
        self.settle.retain(|p| present.contains(p));
        self.renamed.retain(|p| present.contains(p));
        let gone: Vec<PathBuf> = self.aside.keys().filter(|p| !present.contains(*p)).cloned().collect();
        for p in gone {
            self.aside.remove(&p);
            scan.gone.push(p);
        }
        scan.ready.sort();
        scan.strays.sort();
        Ok(scan)
    }

    /// Stops tracking `path` (taken, or given up on).
    pub(super) fn forget(&mut self, path: &Path) {
        self.settle.forget(path);
        self.renamed.remove(path);
        self.aside.remove(path);
    }

    /// `path` could not be taken or moved: pass over it until it changes or its back-off (which
    /// doubles at each failed retry) runs out.
    pub(super) fn set_aside(&mut self, path: &Path, now: Instant) {
        self.settle.forget(path);
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            self.aside.remove(path);
            return;
        };
        let look = Look::of(&meta);
        let backoff = match self.aside.get(path) {
            Some(a) if a.look == look => (a.backoff * 2).min(SET_ASIDE_MAX),
            _ => SET_ASIDE_FIRST,
        };
        self.aside.insert(path.to_path_buf(), Aside { look, retry_at: now + backoff, backoff });
    }

    /// Whether the scan passes over `path`: set aside, unchanged, and its back-off not over.
    fn passes_over(&mut self, path: &Path, meta: &std::fs::Metadata, now: Instant) -> bool {
        let Some(a) = self.aside.get(path) else { return false };
        if a.look != Look::of(meta) {
            self.aside.remove(path);
            return false;
        }
        now < a.retry_at
    }

    /// How many entries are set aside (for tests and status).
    #[cfg(test)]
    pub(super) fn set_aside_count(&self) -> usize {
        self.aside.len()
    }

    /// Whether some file is still settling (worth looking again soon).
    pub(super) fn settling(&self) -> bool {
        !self.settle.is_empty()
    }
}

/// One listing of an inbox.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Scan {
    /// Regular files ready to take.
    pub ready: Vec<PathBuf>,
    /// Entries that are not regular files, with what they are; never opened.
    pub strays: Vec<(PathBuf, &'static str)>,
    /// Entries set aside that are no longer there (their problems are over).
    pub gone: Vec<PathBuf>,
}

/// A short tag naming an inbox folder, kept in claimed file names so a file found in
/// `processing/` after a crash can be traced back to its inbox (and its default action).
pub(super) fn inbox_tag(dir: &Path) -> String {
    let digest = Sha256::digest(dir.as_os_str().as_encoded_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// `<unique>x<tag>-<name>`: unique per process and instant, no `-` before the name.
fn claimed_name(tag: &str, name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed) % 10_000;
    format!("{}{n:04}x{tag}-{name}", crate::journal::now_ms())
}

/// Splits a claimed file name back into (inbox tag, original name).
pub(super) fn parse_claimed(file_name: &str) -> Option<(&str, &str)> {
    let (prefix, name) = file_name.split_once('-')?;
    let (_, tag) = prefix.split_once('x')?;
    (!name.is_empty()).then_some((tag, name))
}

/// Moves `src` into `processing/` under a claimed name; returns the new path. A file the
/// daemon owns is renamed (it keeps its mode here; it is made 0600 through the handle it is
/// read from); a file another account owns, or on another filesystem, is copied into a file of
/// the daemon's own (see [`copy_across`]).
pub(super) fn claim(src: &Path, processing: &Path, tag: &str, name: &str) -> io::Result<PathBuf> {
    let dest = processing.join(claimed_name(tag, name));
    let owner = std::fs::symlink_metadata(src)?.uid();
    if owner != rustix::process::geteuid().as_raw() {
        copy_across(src, &dest)?;
    } else {
        match std::fs::rename(src, &dest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::CrossesDevices => copy_across(src, &dest)?,
            Err(e) => return Err(e),
        }
    }
    sync_dir(processing);
    if let Some(parent) = src.parent() {
        sync_dir(parent);
    }
    Ok(dest)
}

/// The copy path (another owner, or EXDEV): copy to a hidden 0600 name of the daemon's own,
/// fsync, rename into place, then remove the source. If the source cannot be removed, the copy
/// is removed too, so the file is taken once or not at all.
fn copy_across(src: &Path, dest: &Path) -> io::Result<()> {
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dest.with_file_name(format!(".claim-{name}"));
    let result = (|| {
        let mut from = crate::intake::open_file(src).map_err(io::Error::other)?;
        let mut to = crate::private::create_file(&tmp, true)?;
        io::copy(&mut from, &mut to)?;
        to.sync_all()?;
        std::fs::rename(&tmp, dest)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    match std::fs::remove_file(src) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            let _ = std::fs::remove_file(dest);
            Err(e)
        }
        _ => Ok(()),
    }
}

/// Moves `src` to `dir/<stem>` (adding `.1`, `.2`, … if taken); returns the new path.
pub(super) fn move_into(src: &Path, dir: &Path, stem: &str) -> io::Result<PathBuf> {
    let mut dest = dir.join(stem);
    let mut n = 0;
    while dest.exists() {
        n += 1;
        dest = dir.join(format!("{stem}.{n}"));
    }
    std::fs::rename(src, &dest)?;
    sync_dir(dir);
    Ok(dest)
}

/// Makes a rename in `dir` durable; best effort (some filesystems refuse to fsync a folder).
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn inbox(dir: &Path, settle_ms: u64, pattern: Option<&str>) -> InboxState {
        InboxState::new(Inbox {
            dir: dir.to_path_buf(),
            action: None,
            settle: Duration::from_millis(settle_ms),
            pattern: pattern.map(String::from),
        })
    }

    #[test]
    fn a_file_is_ready_after_settling_and_temp_names_never_are() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in ["a.csv", "b.csv.tmp", ".c.csv", "d.part", "e.csv~"] {
            std::fs::write(dir.path().join(name), "x").expect("write");
        }
        std::fs::create_dir(dir.path().join("sub.csv")).expect("mkdir");
        let mut s = inbox(dir.path(), 1000, None);
        let t0 = Instant::now();
        let first = s.scan(t0).expect("scan");
        assert!(first.ready.is_empty());
        assert_eq!(first.strays, [(dir.path().join("sub.csv"), "a folder")]);
        assert!(s.settling());
        let ready = s.scan(t0 + Duration::from_millis(1000)).expect("scan").ready;
        assert_eq!(ready, [dir.path().join("a.csv")]);
    }

    #[test]
    fn a_renamed_in_file_is_ready_at_once_and_the_pattern_filters_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.csv"), "x").expect("write");
        std::fs::write(dir.path().join("a.json"), "x").expect("write");
        let mut s = inbox(dir.path(), 60_000, Some("*.csv"));
        s.note_renamed(&dir.path().join("a.csv"));
        s.note_renamed(&dir.path().join("a.json"));
        assert_eq!(s.scan(Instant::now()).expect("scan").ready, [dir.path().join("a.csv")]);
    }

    #[test]
    fn an_entry_set_aside_is_passed_over_until_it_changes_or_its_back_off_ends() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("stuck.csv")).expect("mkdir");
        std::fs::write(dir.path().join("bad.csv"), "x").expect("write");
        let mut s = inbox(dir.path(), 0, None);
        let t0 = Instant::now();
        let first = s.scan(t0).expect("scan");
        assert_eq!(first.ready, [dir.path().join("bad.csv")]);
        assert_eq!(first.strays.len(), 1);
        s.set_aside(&dir.path().join("bad.csv"), t0);
        s.set_aside(&dir.path().join("stuck.csv"), t0);
        // Unchanged and within the back-off: neither is offered again, and nothing settles.
        for secs in [0, 5, 59] {
            let again = s.scan(t0 + Duration::from_secs(secs)).expect("scan");
            assert_eq!(again, Scan::default(), "at {secs} s");
            assert!(!s.settling());
        }
        // After the back-off: offered once more; failing again doubles the wait.
        let later = t0 + SET_ASIDE_FIRST;
        assert_eq!(s.scan(later).expect("scan").ready, [dir.path().join("bad.csv")]);
        s.set_aside(&dir.path().join("bad.csv"), later);
        let doubled = s.scan(later + SET_ASIDE_FIRST).expect("scan");
        assert!(doubled.ready.is_empty(), "the second back-off is twice the first");
        // A change (new content) ends the wait at once.
        std::fs::write(dir.path().join("bad.csv"), "changed").expect("write");
        assert_eq!(s.scan(later + Duration::from_secs(1)).expect("scan").ready, [dir.path().join("bad.csv")]);
        // An entry that went away is reported gone, once.
        std::fs::remove_dir(dir.path().join("stuck.csv")).expect("rmdir");
        let gone = s.scan(later + Duration::from_secs(2)).expect("scan").gone;
        assert_eq!(gone, [dir.path().join("stuck.csv")]);
        assert_eq!(s.set_aside_count(), 0);
    }

    #[test]
    fn a_claimed_name_gives_back_its_inbox_tag_and_original_name() {
        let tag = inbox_tag(Path::new("/var/spool/fdsync/tickets"));
        assert_eq!(tag.len(), 8);
        let claimed = claimed_name(&tag, "my-file x.csv");
        assert_eq!(parse_claimed(&claimed), Some((tag.as_str(), "my-file x.csv")));
        assert_eq!(parse_claimed("nodash.csv"), None);
    }

    #[test]
    fn claiming_moves_the_file_and_a_second_move_gets_a_fresh_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (inb, proc_, done) = (dir.path().join("in"), dir.path().join("p"), dir.path().join("d"));
        for d in [&inb, &proc_, &done] {
            std::fs::create_dir(d).expect("mkdir");
        }
        std::fs::write(inb.join("a.csv"), "x").expect("write");
        let claimed = claim(&inb.join("a.csv"), &proc_, "t", "a.csv").expect("claim");
        assert!(!inb.join("a.csv").exists());
        assert_eq!(std::fs::read_to_string(&claimed).expect("read"), "x");
        let first = move_into(&claimed, &done, "1-a.csv").expect("move");
        std::fs::write(&claimed, "y").expect("write");
        let second = move_into(&claimed, &done, "1-a.csv").expect("move");
        assert_ne!(first, second);
        assert!(copy_across(&second, &proc_.join("z.csv")).is_ok());
        assert!(!second.exists() && proc_.join("z.csv").exists());
    }
}
