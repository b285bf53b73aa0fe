//! A file's life in the journal, from the bytes on disk to the report: taken in ([`take()`]:
//! opened once, hashed, deduplicated, parsed row by row, journaled in batches; its deletes are
//! counted for the engine's volume guards), finished once every row is final ([`finish()`]:
//! report, rejects file, summary, state `done`; whether every row is final is the journal's
//! one answer, [`crate::journal::Progress`], which the engine below this module asks too); an undo
//! taken in as a file of its own ([`plan_undo()`], [`take_undo()`]: its rows, its content hash,
//! held over the delete limit); held files approved ([`approve_held()`], several at once, each
//! with its own audit record). Previews (`plan`, `import --dry-run`) take a
//! file into a scratch journal the same way.
//!
//! Moving files between folders is the daemon's business and sending rows the engine's; this
//! module only reads inputs and writes reports. An input is opened once
//! ([`crate::intake::open_file`]: no symlink, no FIFO, regular files only) and hashed and parsed
//! from that one handle, so what is hashed is what is parsed. File names and input strings in
//! messages go through [`crate::text`].

mod approve;
pub mod attach;
mod finish;
mod input;
mod rejects;
mod take;
mod undo;

pub use approve::approve_held;
pub use finish::{Summary, finish, report_name, report_rows};
pub use input::{display_name, open_input, sha256_file};
pub use take::{TakeOptions, Taken, take, take_with};
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
