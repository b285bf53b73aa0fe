//! Configuration: where the file is found, the raw TOML shape (unknown keys rejected), and the
//! validated [`Settings`] the rest of fdsync uses. Raw structs mirror the file; `Settings` is
//! resolved once (URLs normalised, secrets loaded, durations typed). A syntax error names the
//! file, line, column and key, never the text of a line (`syntax.rs`); secret files readable by
//! others are refused unless under `$CREDENTIALS_DIRECTORY` (`auth.rs`). This module only reads
//! and checks configuration; it must not act on it (no connections, no state-folder writes).
//!
//! Layout: `locate` (which file), `raw` (the file's shape), then one resolution step per table:
//! `endpoint` (`[freshdesk]`), `auth`, `limits`, `inbox`, `notify` (`[[notify]]`), `http` (`[http]`,
//! alias `[metrics]`); `connection` gathers the first three into named connections (the top
//! level is `default`); `simulator` builds a config for a loopback simulator (tests, benches,
//! `fdsync demo`).

pub mod auth;
mod connection;
mod endpoint;
mod http;
mod inbox;
mod limits;
mod locate;
pub mod notify;
mod raw;
mod scim;
mod simulator;
mod syntax;

use std::path::{Path, PathBuf};
use thiserror::Error;

pub use auth::AuthSettings;
pub use connection::{Connection, DEFAULT as DEFAULT_CONNECTION, account_of};
pub use endpoint::FreshdeskSettings;
pub(crate) use endpoint::is_loopback;
pub use http::HttpSettings;
pub use inbox::{Caps, Inbox};
pub use limits::Limits;
pub use notify::{NotifyEvent, NotifyTarget};
pub use raw::{
    RawConfig, RawConnection, RawFreshdesk, RawHttp, RawInbox, RawLimits, RawLog, RawMetrics, RawSafety,
    RawState,
};
pub use scim::{NOTIFY_QUIET as SCIM_NOTIFY_QUIET, ScimSettings};
pub use simulator::simulator_toml;

/// The commented example configuration; `fdsync config example` prints it and a test parses it.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

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
///
/// `freshdesk`, `auth` and `limits` are those of the connection named by `connection`: the
/// connection `default` when configured (else the first one); [`Settings::on_connection`]
/// gives the same settings for another one. Every configured connection is in `connections`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The file it came from (for messages, and relative `*_file` paths).
    pub source: Option<PathBuf>,
    /// The connection whose `freshdesk`, `auth` and `limits` these are.
    pub connection: String,
    pub freshdesk: FreshdeskSettings,
    pub auth: AuthSettings,
    pub limits: Limits,
    /// Every configured connection: `default` (the top-level tables) first, then
    /// `[[connection]]`s in file order.
    pub connections: Vec<Connection>,
    pub state_dir: PathBuf,
    pub inboxes: Vec<Inbox>,
    /// The connection of each inbox, by folder (an inbox not listed uses `default`).
    pub inbox_connections: Vec<(PathBuf, String)>,
    pub safety: Safety,
    /// `[http]`: the status page, `/metrics` and `/healthz`, and who may ask.
    pub http: HttpSettings,
    pub log_json: bool,
    /// `[[notify]]`: who the daemon tells about held, failed and finished files.
    pub notify: Vec<NotifyTarget>,
    /// `[scim]`: the SCIM 2.0 service provider for one connection, when configured.
    pub scim: Option<ScimSettings>,
}

#[derive(Debug, Clone)]
pub struct Safety {
    pub max_deletes_per_file: u32,
    /// A file deleting more than this share of the account's agents is held; 0 = no such rule.
    pub max_deletes_percent: f64,
    /// Lower-cased.
    pub protected_emails: Vec<String>,
    /// Role names whose agents are never deleted, and whose grant by a file's `create_agent`
    /// row holds that file (matched case-insensitively).
    pub protected_roles: Vec<String>,
    /// The delete rules count the account's deletes sent this long ago or less.
    pub window: std::time::Duration,
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
        for auth in raw.auth.iter().chain(raw.connection.iter().map(|c| &c.auth)) {
            auth::check_file_permissions(&path, auth)?;
        }
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
        let top = connection::TopLevel { freshdesk: raw.freshdesk, auth: raw.auth, limits: raw.limits };
        let connections =
            connection::resolve_all(top, raw.connection, source.as_deref(), &auth::process_env)?;
        let first = connections.first().expect("resolve_all gives at least one connection").clone();
        let (inboxes, inbox_connections) = inbox::resolve_all(raw.inbox, &connections)?;
        let base = source.as_deref().and_then(Path::parent);
        let scim = scim::resolve(raw.scim, &connections, base, &auth::process_env)?;
        Ok(Settings {
            connection: first.name,
            freshdesk: first.freshdesk,
            auth: first.auth,
            limits: first.limits,
            connections,
            state_dir: raw.state.dir,
            inboxes,
            inbox_connections,
            safety: Safety::resolve(raw.safety)?,
            http: http::resolve(
                raw.http,
                raw.metrics,
                source.as_deref().and_then(Path::parent),
                &auth::process_env,
            )?,
            log_json: resolve_log_json(raw.log)?,
            notify: notify::resolve_all(raw.notify, source.as_deref().and_then(Path::parent))?,
            scim,
            source,
        })
    }
}

impl Settings {
    /// These settings on connection `name`: its `freshdesk`, `auth` and `limits` in the fields.
    /// An unknown name is an error that lists the configured ones.
    pub fn on_connection(&self, name: &str) -> Result<Settings, Error> {
        if name == self.connection {
            return Ok(self.clone());
        }
        let c = self
            .connections
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| connection::unknown("connection", name, &self.connections))?;
        let mut s = self.clone();
        s.connection = c.name.clone();
        s.freshdesk = c.freshdesk.clone();
        s.auth = c.auth.clone();
        s.limits = c.limits.clone();
        Ok(s)
    }

    /// The connection `inbox`'s files go to.
    pub fn inbox_connection(&self, inbox: &Inbox) -> &str {
        self.inbox_connections
            .iter()
            .find(|(dir, _)| *dir == inbox.dir)
            .map_or(connection::DEFAULT, |(_, c)| c.as_str())
    }
}

impl Safety {
    fn resolve(raw: RawSafety) -> Result<Self, Error> {
        let pct = raw.max_deletes_percent;
        if !(0.0..=100.0).contains(&pct) {
            let why = format!("{pct} is not a share between 0 (no such rule) and 100");
            return Err(Error::invalid("safety.max_deletes_percent", why));
        }
        if !(0.0..=24.0 * 366.0).contains(&raw.window_hours) {
            let why = format!("{} is not a number of hours between 0 and 8784", raw.window_hours);
            return Err(Error::invalid("safety.window_hours", why));
        }
        Ok(Safety {
            window: std::time::Duration::from_secs_f64(raw.window_hours * 3600.0),
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
