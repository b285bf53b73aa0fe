//! The spool: the one task that moves files. It takes ready files from the inboxes into
//! `processing/` and the journal, and moves each file on as the journal says: `done/` when
//! finished (report in `reports/`) or a duplicate, `failed/` (with `<name>.error.txt`) when
//! unreadable, `held/` until `fdsync approve ID` (another process) flips it back to processing.
//! One task owns every move, so no two moves of one file race: the spool claims, and its
//! [`Lifecycle`] (`lifecycle.rs`) makes every move after the claim.
//!
//! Anything in an inbox that is not a regular file goes to `failed/` unopened, with a note; a
//! name that is not UTF-8 is taken under its lossy spelling and logged. File names reach logs
//! and notes only through [`crate::text`] (escaped, cut), so no name can forge a log line.

use super::inbox::{self, InboxState};
use super::lifecycle::Lifecycle;
use super::problems::Shared;
use super::watch::{Wake, Watchers};
use crate::text::{Shown, shown_path};

use crate::journal;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

/// Full rescan period when nothing is settling; catches events the watcher missed.
const RESCAN: Duration = Duration::from_secs(5);
/// Rescan period while some file is settling.
const SETTLING_RESCAN: Duration = Duration::from_millis(200);
/// How often finished files are looked for while some file's rows are running.
const LIFECYCLE: Duration = Duration::from_millis(500);
/// How often approved files are looked for when no file is running (an approval is written
/// by another process, `fdsync approve`).
const LIFECYCLE_IDLE: Duration = Duration::from_secs(2);

/// What the spool's owner can tell it while it runs.
#[derive(Debug)]
pub(super) enum Control {
    /// A reloaded configuration's inboxes.
    Inboxes(Vec<InboxState>),
}

/// The intake side of the daemon: watches and rescans the inboxes, claims settled files into
/// `processing/` and hands them to [`Lifecycle`], which moves them on from there.
pub(super) struct Spool {
    lifecycle: Lifecycle,
    inboxes: Vec<InboxState>,
    watchers: Watchers,
    shared: Arc<Shared>,
}

impl Spool {
    pub(super) fn new(
        lifecycle: Lifecycle,
        inboxes: Vec<InboxState>,
        watchers: Watchers,
        shared: Arc<Shared>,
    ) -> Self {
        Self { lifecycle, inboxes, watchers, shared }
    }

    /// Runs until `stop`: starts the watchers (then says so on `watching`), recovers
    /// `processing/` after a crash, then takes files and moves them along. A file being read
    /// when `stop` fires is finished reading first.
    pub(super) async fn run(
        mut self,
        mut wakes: UnboundedReceiver<Wake>,
        mut control: tokio::sync::mpsc::UnboundedReceiver<Control>,
        stop: CancellationToken,
        watching: tokio::sync::oneshot::Sender<()>,
    ) -> journal::Result<()> {
        self.ensure_inboxes();
        let _ = watching.send(());
        self.lifecycle.recover(&self.inboxes).await?;
        let mut next_scan = tokio::time::Instant::now();
        let mut next_lifecycle = tokio::time::Instant::now();
        loop {
            tokio::select! {
                biased;
                _ = stop.cancelled() => return Ok(()),
                Some(Control::Inboxes(new)) = control.recv() => self.reconfigure(new),
                Some(wake) = wakes.recv() => {
                    self.note(wake);
                    while let Ok(more) = wakes.try_recv() {
                        self.note(more);
                    }
                }
                _ = tokio::time::sleep_until(next_scan) => {}
                _ = tokio::time::sleep_until(next_lifecycle) => {
                    let running = self.lifecycle.step().await?;
                    next_lifecycle = tokio::time::Instant::now() + if running { LIFECYCLE } else { LIFECYCLE_IDLE };
                    continue;
                }
            }
            if self.scan_all(&stop).await? {
                next_lifecycle = next_lifecycle.min(tokio::time::Instant::now() + LIFECYCLE);
            }
            let settling = self.inboxes.iter().any(InboxState::settling);
            next_scan = tokio::time::Instant::now() + if settling { SETTLING_RESCAN } else { RESCAN };
        }
    }

    fn note(&mut self, wake: Wake) {
        if let Some(ib) = self.inboxes.iter_mut().find(|i| i.cfg.dir == wake.inbox) {
            for p in &wake.renamed_in {
                ib.note_renamed(p);
            }
        }
    }

    /// Creates missing inbox folders and (re)starts their watchers; problems are raised once.
    fn ensure_inboxes(&mut self) {
        let dirs: Vec<PathBuf> = self.inboxes.iter().map(|i| i.cfg.dir.clone()).collect();
        for dir in &dirs {
            if let Err(e) = std::fs::create_dir_all(dir) {
                let msg = format!("inbox {} cannot be created: {e}", dir.display());
                if self.shared.raise(&format!("inbox:{}", dir.display()), &msg) {
                    tracing::error!(inbox = %dir.display(), error = %e, "Inbox folder cannot be created.");
                }
            }
        }
        let failed = self.watchers.sync(&dirs);
        for (dir, why) in failed {
            let msg = format!("inbox {} is not watched ({why}); rescanned every 5 s", dir.display());
            if self.shared.raise(&format!("watch:{}", dir.display()), &msg) {
                tracing::warn!(inbox = %dir.display(), error = %why, "Inbox cannot be watched; relying on rescans.");
            }
        }
    }

    /// Applies a reloaded inbox list: new inboxes are watched, removed ones forgotten.
    fn reconfigure(&mut self, new: Vec<InboxState>) {
        let mut old: HashMap<PathBuf, InboxState> =
            self.inboxes.drain(..).map(|i| (i.cfg.dir.clone(), i)).collect();
        for next in new {
            let cfg = &next.cfg;
            let same = old.get(&cfg.dir).is_some_and(|o| {
                o.cfg.action == cfg.action
                    && (&o.cfg.actions, o.cfg.caps) == (&cfg.actions, cfg.caps)
                    && o.cfg.settle == cfg.settle
                    && o.cfg.pattern == cfg.pattern
                    && o.connection == next.connection
            });
            let state = match old.remove(&cfg.dir) {
                Some(o) if same => o,
                _ => next,
            };
            self.inboxes.push(state);
        }
        for dir in old.keys() {
            self.shared.clear(&format!("inbox:{}", dir.display()));
            self.shared.clear(&format!("watch:{}", dir.display()));
        }
        self.ensure_inboxes();
        let dirs: Vec<String> = self.inboxes.iter().map(|i| i.cfg.dir.display().to_string()).collect();
        tracing::info!(inboxes = ?dirs, "Inboxes reconfigured.");
    }

    /// Scans every inbox and takes what is ready, stopping between files when asked. Says
    /// whether it claimed a file.
    async fn scan_all(&mut self, stop: &CancellationToken) -> journal::Result<bool> {
        let now = Instant::now();
        let mut took = false;
        for i in 0..self.inboxes.len() {
            let scan = match self.inboxes[i].scan(now) {
                Ok(r) => r,
                Err(e) => {
                    let dir = self.inboxes[i].cfg.dir.display().to_string();
                    if self.shared.raise(&format!("inbox:{dir}"), &format!("inbox {dir} cannot be read: {e}"))
                    {
                        tracing::error!(inbox = %dir, error = %e, "Inbox cannot be read.");
                    }
                    continue;
                }
            };
            self.shared.clear(&format!("inbox:{}", self.inboxes[i].cfg.dir.display()));
            for path in &scan.gone {
                self.shared.clear(&format!("failed:{}", path.display()));
                self.shared.clear(&format!("claim:{}", path.display()));
            }
            for (path, kind) in scan.strays {
                self.stray(i, &path, kind, now);
            }
            for path in scan.ready {
                if stop.is_cancelled() {
                    return Ok(took);
                }
                took |= self.take_one(i, &path).await?;
            }
        }
        Ok(took)
    }

    /// An inbox entry that is not a regular file: moved to `failed/` unopened, with a note. One
    /// that cannot be moved is reported once and set aside.
    fn stray(&mut self, i: usize, path: &Path, kind: &'static str, now: Instant) {
        let name = crate::pipeline::display_name(path);
        let why = format!("{kind}, not a regular file: it is not read");
        if self.lifecycle.to_failed(None, path, &name, &why).is_some() {
            tracing::warn!(file = %Shown(&name), kind, "Inbox entry is not a regular file; moved to failed.");
            self.inboxes[i].forget(path);
        } else {
            self.inboxes[i].set_aside(path, now);
        }
    }

    /// Claims one ready file into `processing/` and takes it into the journal; says whether
    /// it claimed it.
    async fn take_one(&mut self, i: usize, path: &Path) -> journal::Result<bool> {
        let ib = &mut self.inboxes[i];
        let raw = path.file_name().unwrap_or_default();
        let name = raw.to_string_lossy().into_owned();
        if raw.to_str().is_none() {
            tracing::warn!(file = %Shown(&name), "File name is not valid UTF-8; taken under this spelling.");
        }
        let tag = inbox::inbox_tag(&ib.cfg.dir);
        let key = format!("claim:{}", path.display());
        // A claim across file systems copies the file: off the async threads.
        let (from, into, as_name) =
            (path.to_path_buf(), self.lifecycle.processing().to_path_buf(), name.clone());
        let claim = tokio::task::spawn_blocking(move || inbox::claim(&from, &into, &tag, &as_name)).await;
        let claimed = match claim.unwrap_or_else(|e| Err(std::io::Error::other(e))) {
            Ok(p) => p,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                ib.forget(path);
                return Ok(false);
            }
            Err(e) => {
                let msg = format!(
                    "{} cannot be moved into {}: {e}",
                    shown_path(path),
                    self.lifecycle.processing().display()
                );
                if self.shared.raise(&key, &msg) {
                    tracing::error!(file = %shown_path(path), error = %e, "File cannot be moved into processing; set aside until it changes.");
                }
                ib.set_aside(path, Instant::now());
                return Ok(false);
            }
        };
        ib.forget(path);
        self.shared.clear(&key);
        let (action, dir, on) = (ib.cfg.action, ib.cfg.dir.display().to_string(), ib.connection.clone());
        tracing::info!(file = %Shown(&name), inbox = %dir, connection = %on, "File claimed.");
        self.lifecycle.admit(&self.inboxes, &claimed, &name, action, &dir, &on).await?;
        Ok(true)
    }
}

#[cfg(test)]
pub(super) mod tests;
