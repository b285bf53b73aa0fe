//! The journal: fdsync's durable memory and audit trail, in SQLite. The only code that speaks
//! SQL. One dedicated writer thread owns the connection; callers send it closures and await the
//! answer. Closures queued together run in one transaction (group commit), each inside its own
//! savepoint, and nobody hears back before the commit is durable (`synchronous=FULL`).
//!
//! The state folder is created 0700 and `journal.db` 0600 before SQLite opens it; SQLite gives
//! `-wal` and `-shm` the database file's mode, so they are 0600 too whatever the umask.

mod audit;
mod chain;
mod files;
mod migrate;
mod moves;
mod ops;
mod outbox;
mod queries;
mod scim;
mod stats;
mod undo;
mod views;
mod window;

pub use audit::{AuditPage, AuditQuery, AuditRow, BeforeImage, Change, PrunedFile, When};
pub use chain::{Head, Problem, Verdict};
pub use files::{FileRecord, FileState, NewFile};
pub use moves::{BackState, Found, Move, MoveState};
pub use ops::{NewOp, OpRecord, OpResult, OpState};
pub use outbox::{FileFacts, Notice, NoticeEnd, Route};
pub use queries::{ReportLine, RowCounts};
pub use scim::ScimUser;
pub use stats::{ActiveFile, FileProgress, JournalStats};
pub use undo::Undoable;
pub use views::{FileDetail, FileView};
pub use window::{Grant, OtherDeletes};

use rusqlite::Connection;
use std::path::Path;
use std::sync::mpsc as std_mpsc;
use thiserror::Error;
use tokio::sync::oneshot;

#[derive(Debug, Error)]
pub enum Error {
    #[error("journal database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("journal data error: {0}")]
    Data(String),
    #[error("the journal writer has stopped")]
    Closed,
    #[error("cannot create journal directory {path}: {source}")]
    Dir { path: String, source: std::io::Error },
    #[error("another fdsync (import or run) is sending from {path}; wait for it to finish or stop it")]
    Busy { path: String },
}

/// Held by the one process that sends ops from a state folder (`import` or `run`): two senders
/// on one journal could both send the same pending row. Released when dropped or on exit.
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    pub fn acquire(dir: &Path) -> Result<Self> {
        let dir_err = |source| Error::Dir { path: dir.display().to_string(), source };
        crate::private::create_dir(dir).map_err(dir_err)?;
        let file = crate::private::create_file(&dir.join("run.lock"), false).map_err(dir_err)?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy { path: dir.display().to_string() }),
            Err(std::fs::TryLockError::Error(source)) => Err(dir_err(source)),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A unit of work for the writer: runs against the connection, says whether it succeeded, and
/// hands back the reply to send once the transaction's fate is known.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;
type Reply = Box<dyn FnOnce(bool) + Send>;

/// A cheap handle to the journal; clone it freely.
///
/// A handle is on one connection ([`Journal::on_connection`]; `default` unless chosen): the
/// files it inserts record it, and the engine's queries (ready and sending ops, content seen
/// before, earlier creates with a key) see only that connection's files. Other reads (status,
/// reports, stats) see every file.
#[derive(Clone)]
pub struct Journal {
    tx: std_mpsc::Sender<Job>,
    /// Which notification target wants which event (`outbox.rs`); empty unless the daemon set it.
    routes: outbox::Routes,
    connection: Option<std::sync::Arc<str>>,
}

/// Most closures one transaction takes; bounds the latency of the first caller in a batch.
const MAX_GROUP: usize = 512;

impl Journal {
    /// Opens (creating if needed) `dir/journal.db`, applies migrations, and starts the writer.
    pub fn open(dir: &Path) -> Result<Self> {
        let dir_err = |source| Error::Dir { path: dir.display().to_string(), source };
        crate::private::create_dir(dir).map_err(dir_err)?;
        let db = dir.join("journal.db");
        // Created (or tightened) 0600 first: SQLite's -wal and -shm copy this file's mode.
        crate::private::create_file(&db, false).map_err(dir_err)?;
        let conn = Connection::open(&db)?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Data(format!("journal_mode is {mode}, not wal")));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        migrate::apply(&conn)?;
        conn.execute_batch(chain::TRIGGERS)?;
        let (tx, rx) = std_mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("fdsync-journal".into())
            .spawn(move || writer(conn, rx))
            .map_err(|e| Error::Data(format!("cannot start journal writer: {e}")))?;
        Ok(Self { tx, routes: outbox::no_routes(), connection: None })
    }

    /// A second, read-only connection to the journal in `dir` (opened by [`Journal::open`]
    /// first), with its own thread: readers that must never queue behind the engine's writes
    /// (the status page) use it. `query_only` refuses any write; each call runs in one deferred
    /// (read) transaction, a consistent snapshot that never takes the write lock.
    pub fn open_read_only(dir: &Path) -> Result<Self> {
        use rusqlite::OpenFlags;
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(dir.join("journal.db"), flags)?;
        conn.pragma_update(None, "query_only", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let (tx, rx) = std_mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("fdsync-journal-read".into())
            .spawn(move || reader(conn, rx))
            .map_err(|e| Error::Data(format!("cannot start journal reader: {e}")))?;
        Ok(Self { tx, routes: outbox::no_routes(), connection: None })
    }

    /// The same journal, on connection `name`.
    pub fn on_connection(&self, name: &str) -> Journal {
        Journal { tx: self.tx.clone(), routes: self.routes.clone(), connection: Some(name.into()) }
    }

    /// The connection this handle is on.
    pub fn connection(&self) -> &str {
        self.connection.as_deref().unwrap_or(crate::domain::DEFAULT_CONNECTION)
    }

    /// The connection as an owned value, for a query closure.
    fn conn_name(&self) -> String {
        self.connection().to_string()
    }

    /// Runs `f` on the writer thread inside a transaction; returns once it is committed.
    pub async fn call<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |committed: bool| {
                let answer = match result {
                    Ok(_) if !committed => Err(Error::Data("the journal transaction was rolled back".into())),
                    other => other,
                };
                let _ = reply_tx.send(answer);
            });
            (ok, reply)
        });
        self.tx.send(job).map_err(|_| Error::Closed)?;
        reply_rx.await.map_err(|_| Error::Closed)?
    }
}

fn writer(conn: Connection, rx: std_mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (committed, replies) = run_batch(&conn, batch);
        for reply in replies {
            reply(committed);
        }
    }
}

/// The read-only connection's loop: one read transaction per call.
fn reader(conn: Connection, rx: std_mpsc::Receiver<Job>) {
    while let Ok(job) = rx.recv() {
        let began = conn.execute_batch("BEGIN DEFERRED").is_ok();
        let (ok, reply) = job(&conn);
        let ended = began && conn.execute_batch(if ok { "COMMIT" } else { "ROLLBACK" }).is_ok();
        reply(ok && ended);
    }
}

/// One transaction for the batch; each job in a savepoint so a failing job undoes only itself.
fn run_batch(conn: &Connection, batch: Vec<Job>) -> (bool, Vec<Reply>) {
    let mut replies = Vec::with_capacity(batch.len());
    let began = conn.execute_batch("BEGIN IMMEDIATE");
    if let Err(e) = &began {
        tracing::error!(error = %e, "Journal could not begin a transaction.");
    }
    for job in batch {
        if began.is_err() {
            // Still run nothing, but answer everyone.
            replies.push(Box::new(|_| {}) as Reply);
            continue;
        }
        let savepoint = conn.execute_batch("SAVEPOINT job").is_ok();
        let (ok, reply) = job(conn);
        replies.push(reply);
        if savepoint {
            let end = if ok { "RELEASE job" } else { "ROLLBACK TO job; RELEASE job" };
            if let Err(e) = conn.execute_batch(end) {
                tracing::error!(error = %e, "Journal savepoint failed.");
            }
        }
    }
    if began.is_err() {
        return (false, replies);
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => (true, replies),
        Err(e) => {
            tracing::error!(error = %e, "Journal commit failed.");
            let _ = conn.execute_batch("ROLLBACK");
            (false, replies)
        }
    }
}

/// Milliseconds since the Unix epoch: the journal's clock.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
