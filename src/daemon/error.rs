//! Why `fdsync run` could not start or had to stop: one variant per step that can fail, each
//! naming what it was doing, with the cause as its source. Only the CLI turns it into a message
//! and an exit code.

use crate::{config, freshdesk, journal};
use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("installing the {signal} handler")]
    Signal {
        signal: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("creating the state folders in {path}")]
    StateDirs {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The state folder's lock (another fdsync sends from it), as the journal reports it.
    #[error(transparent)]
    Journal(#[from] journal::Error),
    #[error("opening the journal{}", if *.read_only { " to read" } else { "" })]
    OpenJournal {
        read_only: bool,
        #[source]
        source: journal::Error,
    },
    /// A connection's settings, as the config reports them.
    #[error(transparent)]
    Config(#[from] config::Error),
    #[error("setting up the Freshdesk client of connection {connection}")]
    Client {
        connection: String,
        #[source]
        source: freshdesk::Error,
    },
    /// A `[[notify]]` target that cannot be set up.
    #[error("{0}")]
    Notify(String),
    #[error("binding {what} {addr}")]
    Bind {
        /// The key that names the address (`http.listen`, `scim.listen`).
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// `[scim]`'s certificate and key.
    #[error(transparent)]
    ScimTls(#[from] crate::scim::TlsError),
    /// A part the daemon cannot go on without ended (the engine or the spool).
    #[error("{0}")]
    Stopped(String),
}
