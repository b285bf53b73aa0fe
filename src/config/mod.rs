//! Configuration: where the file is found, the raw TOML shape (unknown keys rejected), and the
//! validated [`Settings`] the rest of fdsync uses. Raw structs mirror the file; `Settings` is
//! resolved once (URLs normalised, secrets loaded, durations typed). A syntax error names the
//! file, line, column and key, never the text of a line (`syntax.rs`); secret files readable by
//! others are refused unless under `$CREDENTIALS_DIRECTORY` (`auth.rs`). This module only reads
//! and checks configuration; it must not act on it (no connections, no state-folder writes).
//!
//! Layout: `locate` (which file), `raw` (the file's shape), then one resolution step per table:
//! `endpoint` (`[freshdesk]`), `auth`, `limits`, `inbox`, `notify` (`[[notify]]`), `http` (`[http]`,
//! alias `[metrics]`); `simulator` builds a config for a loopback simulator (tests, benches,
//! `fdsync demo`).

pub mod auth;
mod endpoint;
mod http;
mod inbox;
mod limits;
mod locate;
pub mod notify;
mod raw;
mod simulator;
mod syntax;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use thiserror::Error;

pub use auth::AuthSettings;
pub use endpoint::FreshdeskSettings;
pub(crate) use endpoint::is_loopback;
pub use inbox::Inbox;
pub use limits::Limits;
pub use notify::{NotifyEvent, NotifyTarget};
pub use raw::{
    RawConfig, RawFreshdesk, RawHttp, RawInbox, RawLimits, RawLog, RawMetrics, RawSafety, RawState,
};
pub use simulator::simulator_toml;

/// The commented example configuration; `fdsync config example` prints it and a test parses it.
pub const EXAMPLE: &str = include_str!("../../config.example.toml");

#[derive(Debug, Error)]
pub enum Error {
    #[error(
        "no config file: give --config FILE, set FDSYNC_CONFIG, or create ./fdsync.toml or /etc/fdsync/fdsync.toml"
    )]
    NotFound,
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl Error {
    pub(crate) fn invalid(key: &str, message: impl Into<String>) -> Self {
        Error::Invalid { key: key.to_string(), message: message.into() }
    }
}

/// Validated configuration. Built once by [`Settings::load`] / [`Settings::from_toml`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file it came from (for messages, and relative `*_file` paths).
    pub source: Option<PathBuf>,
    pub freshdesk: FreshdeskSettings,
    pub auth: AuthSettings,
    pub limits: Limits,
    pub state_dir: PathBuf,
    pub inboxes: Vec<Inbox>,
    pub safety: Safety,
    /// `[http] listen` (alias `[metrics] listen`): the status page, `/metrics` and `/healthz`.
    pub http_listen: Option<SocketAddr>,
    pub log_json: bool,
    /// `[[notify]]`: who the daemon tells about held, failed and finished files.
    pub notify: Vec<NotifyTarget>,
}

#[derive(Debug, Clone)]
pub struct Safety {
    pub max_deletes_per_file: u32,
    /// A file deleting more than this share of the account's agents is held; 0 = no such rule.
    pub max_deletes_percent: f64,
    /// Lower-cased.
    pub protected_emails: Vec<String>,
    /// Role names whose agents are never deleted (matched case-insensitively).
    pub protected_roles: Vec<String>,
}

impl Settings {
    /// Finds the config file (`--config`, `$FDSYNC_CONFIG`, `./fdsync.toml`,
    /// `/etc/fdsync/fdsync.toml`) and loads it.
    pub fn load(explicit: Option<&Path>) -> Result<Self, Error> {
        let path = locate::locate(explicit)?;
        let text =
            std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
        let raw: RawConfig = toml::from_str(&text)
            .map_err(|e| Error::Parse { path: path.clone(), message: syntax::describe(&text, &e) })?;
        auth::check_file_permissions(&path, &raw.auth)?;
        if notify::has_inline_secret(&raw.notify) {
            auth::refuse_if_readable(&path)?;
        }
        Self::resolve(raw, Some(path))
    }

    /// Parses config text (tests, the demo).
    pub fn from_toml(text: &str) -> Result<Self, Error> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| Error::Parse {
            path: PathBuf::from("<inline>"),
            message: syntax::describe(text, &e),
        })?;
        Self::resolve(raw, None)
    }

    /// One step per table, in file order; the first invalid key is the error.
    fn resolve(raw: RawConfig, source: Option<PathBuf>) -> Result<Self, Error> {
        Ok(Settings {
            freshdesk: FreshdeskSettings::resolve(&raw.freshdesk)?,
            auth: AuthSettings::resolve(raw.auth, source.as_deref())?,
            limits: Limits::resolve(raw.limits)?,
            state_dir: raw.state.dir,
            inboxes: inbox::resolve_all(raw.inbox)?,
            safety: Safety::resolve(raw.safety)?,
            http_listen: http::resolve_listen(raw.http, raw.metrics)?,
            log_json: resolve_log_json(raw.log)?,
            notify: notify::resolve_all(raw.notify, source.as_deref().and_then(Path::parent))?,
            source,
        })
    }
}

impl Safety {
    fn resolve(raw: RawSafety) -> Result<Self, Error> {
        let pct = raw.max_deletes_percent;
        if !(0.0..=100.0).contains(&pct) {
            let why = format!("{pct} is not a share between 0 (no such rule) and 100");
            return Err(Error::invalid("safety.max_deletes_percent", why));
        }
        Ok(Safety {
            max_deletes_per_file: raw.max_deletes_per_file,
            max_deletes_percent: pct,
            protected_emails: raw.protected_emails.iter().map(|e| e.trim().to_lowercase()).collect(),
            protected_roles: raw
                .protected_roles
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
        })
    }
}

/// `[log] format`: `plain` (default) or `json`; true for JSON.
fn resolve_log_json(raw: RawLog) -> Result<bool, Error> {
    match raw.format.as_deref() {
        None | Some("plain") => Ok(false),
        Some("json") => Ok(true),
        Some(other) => Err(Error::invalid("log.format", format!("'{other}' is not plain or json"))),
    }
}

#[cfg(test)]
mod tests;
