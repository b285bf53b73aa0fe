//! A file's life in the journal, from the bytes on disk to the report, and the only writer of a
//! file's row: taken in ([`take()`]: opened once, hashed, deduplicated, parsed row by row,
//! journaled in batches; its deletes are counted for the engine's volume guards; a SCIM change
//! as a file of one row, [`take_change`]), held, started,
//! approved (one, or [`approve_held`] several at once), moved, retried ([`hold`], [`start`],
//! [`approve`], [`moved`], [`retry`]: whoever
//! decides asks here to record it), finished once every row is final ([`finish()`]: report,
//! rejects file, summary, state `done`; whether every row is final is one answer,
//! [`progress`], which the engine, the daemon and `fdsync import` ask); an undo taken in as a
//! file of its own ([`plan_undo()`], [`take_undo()`]: its rows, its content hash, held over the
//! delete limit). Previews (`plan`, `import --dry-run`) take a file into a scratch journal the
//! same way.
//!
//! Moving files between folders is the daemon's business and sending rows the engine's; this
//! module only reads inputs, records what they decided and writes reports. An input is opened
//! once ([`crate::intake::open_file`]: no symlink, no FIFO, regular files only) and hashed and
//! parsed from that one handle, so what is hashed is what is parsed; the rows of its rejects
//! file are read from it again here and handed to [`crate::report::rejects`]. File names and
//! input strings in messages go through [`crate::text`].

pub mod attach;
mod finish;
mod input;
mod rejects;
mod state;
mod take;
mod undo;

pub use finish::{Summary, finish, report_name, report_rows};
pub use input::{display_name, open_input, sha256_file};
pub use state::{Progress, approve, approve_held, hold, moved, progress, retry, start};
pub use take::{TakeOptions, Taken, take, take_change, take_with};
pub use undo::{UndoPlan, plan_undo, take_undo};

use crate::intake;
use crate::journal;
use crate::text::shown_path;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot read {}: {source}", shown_path(path))]
    Io { path: PathBuf, source: std::io::Error },
    /// The input cannot be opened as a regular file (symlink, FIFO, folder, …) or read.
    #[error("{}: {source}", shown_path(path))]
    Input { path: PathBuf, source: intake::Error },
    #[error(transparent)]
    Journal(#[from] journal::Error),
}

#[cfg(test)]
mod tests;
