//! A taken file's moves between the state folders, as the journal decides them: admitting a
//! claimed file (`pipeline::take`), finishing files whose rows are all final, bringing approved
//! files back from `held/`, and recovering `processing/` after a crash. It owns the state
//! folders ([`Dirs`]) and the spool owns it. It moves bytes; where a file is now, and every
//! other change to its row, is recorded by the pipeline ([`pipeline::moved`]). File names reach logs and `.error.txt` notes only
//! escaped ([`crate::text`]).

use super::connections::DaemonEngine;
use super::inbox;
use super::inbox::InboxState;
use super::problems::Shared;
use crate::domain::Action;
use crate::intake::Limits;
use crate::journal::{self, ActiveFile, FileRecord, FileState, Journal};
use crate::pipeline::{self, TakeOptions, Taken};
use crate::text::{Escaped, Shown, shown_path};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::Instrument;

/// The folders of the state directory.
#[derive(Debug, Clone)]
pub(super) struct Dirs {
    pub state: PathBuf,
    pub processing: PathBuf,
    pub done: PathBuf,
    pub failed: PathBuf,
    pub held: PathBuf,
}

impl Dirs {
    /// Creates (if needed, 0700) the state folder, `processing/`, `done/`, `failed/`, `held/`
    /// and `reports/`.
    pub(super) fn create(state: &Path) -> std::io::Result<Self> {
        let d = Dirs {
            state: state.to_path_buf(),
            processing: state.join("processing"),
            done: state.join("done"),
            failed: state.join("failed"),
            held: state.join("held"),
        };
        crate::private::create_dir(state)?;
        for dir in [&d.processing, &d.done, &d.failed, &d.held, &state.join("reports")] {
            crate::private::create_dir(dir)?;
        }
        Ok(d)
    }
}

/// A taken file's way through the state folders; the only code that moves a file once the
/// spool has claimed it.
pub(super) struct Lifecycle {
    journal: Journal,
    dirs: Dirs,
    /// Record caps and `limits.max_request_bytes`, for every file taken.
    limits: Limits,
    shared: Arc<Shared>,
    /// The engines, nudged when a file's rows become ready to run.
    engines: Vec<DaemonEngine>,
}

impl Lifecycle {
    pub(super) fn new(
        journal: Journal,
        dirs: Dirs,
        limits: Limits,
        shared: Arc<Shared>,
        engines: Vec<DaemonEngine>,
    ) -> Self {
        Self { journal, dirs, limits, shared, engines }
    }

    /// `processing/`, where the spool claims files into.
    pub(super) fn processing(&self) -> &Path {
        &self.dirs.processing
    }

    /// Tells every engine that rows may be ready to run.
    fn nudge_engines(&self) {
        for engine in &self.engines {
            engine.nudge();
        }
    }

    /// Takes a claimed file (in `processing/`) into the journal, on `connection`, and routes it.
    pub(super) async fn admit(
        &self,
        inboxes: &[InboxState],
        path: &Path,
        name: &str,
        action: Option<Action>,
        inbox: &str,
        connection: &str,
    ) -> journal::Result<()> {
        // Its inbox's powers; one no longer configured keeps only the file's default action.
        let powers = inboxes.iter().find(|i| i.cfg.dir.display().to_string() == inbox);
        let powers =
            powers.map_or_else(|| crate::config::Inbox::new(inbox.into(), action), |i| i.cfg.clone());
        let opts = TakeOptions {
            inbox: Some(inbox),
            limits: self.limits,
            make_private: true,
            powers: Some(&powers),
            formats: None,
        };
        let journal = self.journal.on_connection(connection);
        let taken = match pipeline::take_with(&journal, path, name, action, &opts).await {
            Ok(t) => t,
            Err(pipeline::Error::Journal(e)) => return Err(e),
            Err(e @ (pipeline::Error::Io { .. } | pipeline::Error::Input { .. })) => {
                let why = match &e {
                    pipeline::Error::Input { source, .. } => source.to_string(),
                    _ => format!("cannot be read: {e}"),
                };
                tracing::error!(file = %Shown(name), error = %why, "File cannot be read; moved to failed.");
                self.to_failed(None, path, name, &why);
                return Ok(());
            }
        };
        match taken {
            Taken::New { file_id, rows, state: FileState::Held, .. } => {
                tracing::info!(file_id, file = %Shown(name), rows, "File taken and held.");
                self.hold(file_id, path, name, None).await?;
            }
            Taken::New { file_id, rows, .. } => {
                tracing::info!(file_id, file = %Shown(name), rows, "File taken; its rows are queued.");
                self.nudge_engines();
            }
            Taken::Resume { file_id, state } => self.resume(file_id, state, path, name).await?,
            Taken::Duplicate { file_id, of } => {
                tracing::info!(file_id, duplicate_of = of, file = %Shown(name), "File identical to one already done; nothing sent.");
                self.move_and_record(file_id, path, &self.dirs.done.clone(), name).await?;
            }
            Taken::Rejected { file_id, error } => {
                tracing::warn!(file_id, file = %Shown(name), error = %Escaped(&error), "File rejected; nothing from it is sent.");
                if let Some(dest) = self.to_failed(Some(file_id), path, name, &error) {
                    pipeline::moved(&self.journal, file_id, &dest).await?;
                }
            }
        }
        Ok(())
    }

    /// The same content is already in progress (or held): keep one copy of it. The copy just
    /// claimed replaces the journal's only if that one is gone.
    async fn resume(&self, file_id: i64, state: FileState, path: &Path, name: &str) -> journal::Result<()> {
        let known = self.journal.file(file_id).await?.map(|f| PathBuf::from(f.path));
        match known {
            Some(p) if p != path && p.exists() => {
                tracing::info!(file_id, file = %Shown(name), "File identical to one in progress; nothing more sent.");
                let stem = format!("{file_id}-copy-{name}");
                if let Err(e) = inbox::move_into(path, &self.dirs.done, &stem) {
                    tracing::warn!(file = %shown_path(path), error = %e, "Copy cannot be moved to done.");
                }
            }
            _ if state == FileState::Held => self.hold(file_id, path, name, None).await?,
            _ => {
                pipeline::moved(&self.journal, file_id, path).await?;
                self.nudge_engines();
            }
        }
        Ok(())
    }

    /// Held (a volume guard, or a delete that cannot run safely yet): park the file
    /// in `held/` and say, once, why and how to let it run.
    async fn hold(&self, file_id: i64, path: &Path, name: &str, reason: Option<&str>) -> journal::Result<()> {
        if !path.starts_with(&self.dirs.held) && path.exists() {
            self.move_and_record(file_id, path, &self.dirs.held.clone(), name).await?;
        }
        let stored = match reason {
            Some(r) => Some(r.to_string()),
            None => self.journal.file(file_id).await?.and_then(|f| f.error),
        };
        self.announce_held(file_id, name, stored.as_deref());
        Ok(())
    }

    fn announce_held(&self, file_id: i64, name: &str, reason: Option<&str>) {
        let why = Shown(reason.unwrap_or("its deletes wait for approval")).to_string();
        let msg = format!("file {file_id} held ({why}): run `fdsync approve {file_id}`");
        if self.shared.raise(&format!("held:{file_id}"), &msg) {
            tracing::warn!(
                file_id,
                file = %Shown(name),
                reason = %why,
                "File held; check it, then run `fdsync approve {file_id}`."
            );
        }
    }

    /// Moves a file into `dir` as `<id>-<name>` and records where it is now.
    async fn move_and_record(
        &self,
        file_id: i64,
        path: &Path,
        dir: &Path,
        name: &str,
    ) -> journal::Result<()> {
        match inbox::move_into(path, dir, &format!("{file_id}-{name}")) {
            Ok(dest) => pipeline::moved(&self.journal, file_id, &dest).await,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => {
                let msg = format!("file {file_id} cannot be moved to {}: {e}", dir.display());
                if self.shared.raise(&format!("move:{file_id}"), &msg) {
                    tracing::error!(file_id, error = %e, dir = %dir.display(), "File cannot be moved.");
                }
                Ok(())
            }
        }
    }

    /// Moves an unusable file to `failed/` with `<name>.error.txt` beside it saying why. A
    /// file that cannot be moved is logged once; the caller sets an inbox entry aside.
    pub(super) fn to_failed(
        &self,
        file_id: Option<i64>,
        path: &Path,
        name: &str,
        why: &str,
    ) -> Option<PathBuf> {
        let stem = match file_id {
            Some(id) => format!("{id}-{name}"),
            None => path.file_name().map_or(name.into(), |n| n.to_string_lossy().into_owned()),
        };
        let key = format!("failed:{}", path.display());
        let dest = match inbox::move_into(path, &self.dirs.failed, &stem) {
            Ok(d) => d,
            Err(e) => {
                let msg = format!("{} cannot be moved to failed: {e}", shown_path(path));
                if self.shared.raise(&key, &msg) {
                    tracing::error!(file = %shown_path(path), error = %e, "File cannot be moved to failed.");
                }
                return None;
            }
        };
        self.shared.clear(&key);
        let note_name = dest.file_name().map_or(name.into(), |n| n.to_string_lossy().into_owned());
        let note = dest.with_file_name(format!("{note_name}.error.txt"));
        let text = format!("{}: nothing from this file was sent.\n{}\n", Shown(name), Escaped(why));
        if let Err(e) = crate::private::write(&note, text) {
            tracing::error!(file = %shown_path(&note), error = %e, "Error note cannot be written.");
        }
        Some(dest)
    }

    /// Finishes files whose rows are all final and brings approved files back from `held/`.
    /// Says whether some file's rows are running (worth looking again soon).
    pub(super) async fn step(&self) -> journal::Result<bool> {
        let mut running = false;
        for f in self.journal.active_files().await? {
            if f.held {
                let path = PathBuf::from(&f.path);
                self.hold(f.id, &path, &f.name, f.reason.as_deref()).await?;
            } else {
                running = true;
                let span = tracing::info_span!("file", file_id = f.id, file = %Shown(&f.name));
                self.advance(f).instrument(span).await?;
            }
        }
        Ok(running)
    }

    async fn advance(&self, f: ActiveFile) -> journal::Result<()> {
        let path = PathBuf::from(&f.path);
        let in_held = path.starts_with(&self.dirs.held);
        if self.shared.clear(&format!("held:{}", f.id)) || in_held {
            tracing::info!("File approved; its rows run now.");
            self.nudge_engines();
        }
        if in_held {
            self.move_and_record(f.id, &path, &self.dirs.processing.clone(), &f.name).await?;
        }
        if pipeline::progress(&self.journal, f.id).await? != pipeline::Progress::Final {
            return Ok(());
        }
        let summary = match pipeline::finish(&self.journal, &self.dirs.state, f.id).await {
            Ok(s) => s,
            Err(pipeline::Error::Journal(e)) => return Err(e),
            Err(e @ (pipeline::Error::Io { .. } | pipeline::Error::Input { .. })) => {
                let msg = format!("report cannot be written: {e}");
                let source = e;
                if self.shared.raise(&format!("report:{}", f.id), &msg) {
                    tracing::error!(error = %source, "Report cannot be written; will retry.");
                }
                return Ok(());
            }
        };
        self.shared.clear(&format!("report:{}", f.id));
        let current = self.journal.file(f.id).await?.map_or(path, |r| PathBuf::from(r.path));
        self.move_and_record(f.id, &current, &self.dirs.done.clone(), &f.name).await?;
        tracing::info!(failed = summary.failed, summary = %summary, "File done.");
        // The audit chain's head, outside the journal: a chain rewritten later disagrees with it.
        if let Some(head) = self.journal.chain_head().await? {
            tracing::info!(chain_seq = head.seq, chain_hash = %head.hash, "Audit chain head.");
        }
        Ok(())
    }

    /// After a crash: every file left in `processing/` is finished moving, or taken again (the
    /// journal recognises its content, so no row is sent twice).
    pub(super) async fn recover(&self, inboxes: &[InboxState]) -> journal::Result<()> {
        let Ok(entries) = std::fs::read_dir(&self.dirs.processing) else { return Ok(()) };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        if paths.is_empty() {
            return Ok(());
        }
        let known: HashMap<String, FileRecord> =
            self.journal.files(vec![]).await?.into_iter().map(|f| (f.path.clone(), f)).collect();
        for path in paths {
            let Some(file_name) = path.file_name().and_then(|n| n.to_str()).map(String::from) else {
                continue;
            };
            if file_name.starts_with('.') {
                // A copy interrupted mid-way (EXDEV claim): the original is still in its inbox.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            let rec = known.get(&path.display().to_string());
            match rec.map(|r| r.state) {
                Some(FileState::Processing) => {}
                Some(FileState::Done | FileState::Duplicate) => {
                    let r = rec.map(|r| (r.id, r.name.clone())).unwrap_or_default();
                    self.move_and_record(r.0, &path, &self.dirs.done.clone(), &r.1).await?;
                }
                Some(FileState::Held) => {
                    let r = rec.map(|r| (r.id, r.name.clone())).unwrap_or_default();
                    self.hold(r.0, &path, &r.1, None).await?;
                }
                _ => self.readmit(inboxes, &path, &file_name, rec).await?,
            }
        }
        Ok(())
    }

    /// Takes a file found in `processing/` again, with the inbox it came from.
    async fn readmit(
        &self,
        inboxes: &[InboxState],
        path: &Path,
        file_name: &str,
        rec: Option<&FileRecord>,
    ) -> journal::Result<()> {
        let (tag, name) = inbox::parse_claimed(file_name).unwrap_or(("", file_name));
        let from = inboxes.iter().find(|i| inbox::inbox_tag(&i.cfg.dir) == tag);
        let action = match rec.and_then(|r| r.default_action.as_deref()) {
            Some(a) => a.parse().ok(),
            None => from.and_then(|i| i.cfg.action),
        };
        let dir = rec
            .and_then(|r| r.inbox.clone())
            .or_else(|| from.map(|i| i.cfg.dir.display().to_string()))
            .unwrap_or_default();
        // A file the journal knows stays on the connection it was taken on.
        let on = rec
            .map(|r| r.connection.clone())
            .or_else(|| from.map(|i| i.connection.clone()))
            .unwrap_or_else(|| crate::config::DEFAULT_CONNECTION.into());
        tracing::info!(file = %Shown(name), "File left in processing by an earlier run; taking it again.");
        let name = name.to_string();
        self.admit(inboxes, path, &name, action, &dir, &on).await
    }
}

#[cfg(test)]
mod tests;
