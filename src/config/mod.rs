//! Configuration: where the file is found, the raw TOML shape (unknown keys rejected), and the
//! validated [`Settings`] the rest of fdsync uses. Raw structs mirror the file; `Settings` is
//! resolved once (URLs normalised, secrets loaded, durations typed). A syntax error names the
//! file, line, column and key, never the text of a line (`syntax.rs`); secret files readable by
//! others are refused unless under `$CREDENTIALS_DIRECTORY` (`auth.rs`).

pub mod auth;
mod syntax;

use crate::domain::Action;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;
use url::Url;

pub use auth::AuthSettings;

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

// ---------------------------------------------------------------------------------------------
// Raw file shape
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub freshdesk: RawFreshdesk,
    #[serde(default)]
    pub auth: auth::RawAuth,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub state: RawState,
    #[serde(default)]
    pub inbox: Vec<RawInbox>,
    #[serde(default)]
    pub safety: RawSafety,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub log: RawLog,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFreshdesk {
    pub domain: Option<String>,
    pub base_url: Option<String>,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    #[serde(default = "default_request_timeout")]
    pub request_timeout_secs: u64,
}

fn default_connect_timeout() -> u64 {
    10
}
fn default_request_timeout() -> u64 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    #[serde(default)]
    pub requests_per_minute: u32,
    #[serde(default = "default_window")]
    pub window_secs: u64,
    #[serde(default = "default_reserve")]
    pub reserve_percent: u8,
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Per-window caps of the endpoint classes; 0 = the plan default derived from the total.
    #[serde(default)]
    pub ticket_create_per_window: u32,
    #[serde(default)]
    pub ticket_update_per_window: u32,
    #[serde(default)]
    pub tickets_list_per_window: u32,
    #[serde(default)]
    pub contacts_list_per_window: u32,
    /// A longer (or unreadable) `Retry-After` is clamped to this many seconds.
    #[serde(default = "default_max_retry_after")]
    pub max_retry_after_secs: u64,
    /// `import` exits 3 after this long answered only by 429s (the daemon keeps waiting).
    #[serde(default = "default_max_rate_limited")]
    pub max_rate_limited_secs: u64,
    /// Answers larger than this are not read (uncertain for a change).
    #[serde(default = "default_max_answer_bytes")]
    pub max_answer_bytes: usize,
    /// A row whose request body would be larger than this is invalid.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
}

impl Default for RawLimits {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

fn default_window() -> u64 {
    60
}
fn default_reserve() -> u8 {
    10
}
fn default_concurrency() -> usize {
    8
}
fn default_max_attempts() -> u32 {
    8
}
fn default_max_retry_after() -> u64 {
    3600
}
fn default_max_rate_limited() -> u64 {
    1800
}
fn default_max_answer_bytes() -> usize {
    8 * 1024 * 1024
}
fn default_max_request_bytes() -> usize {
    16 * 1024 * 1024
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawState {
    #[serde(default = "default_state_dir")]
    pub dir: PathBuf,
}

impl Default for RawState {
    fn default() -> Self {
        Self { dir: default_state_dir() }
    }
}

fn default_state_dir() -> PathBuf {
    PathBuf::from("/var/lib/fdsync")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInbox {
    pub dir: PathBuf,
    pub action: Option<String>,
    #[serde(default = "default_settle")]
    pub settle_secs: f64,
    /// Optional glob on the file name (`*` and `?`), e.g. `offboarding-*.csv`.
    pub pattern: Option<String>,
}

fn default_settle() -> f64 {
    2.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSafety {
    #[serde(default = "default_max_deletes")]
    pub max_deletes_per_file: u32,
    #[serde(default)]
    pub protected_emails: Vec<String>,
}

impl Default for RawSafety {
    fn default() -> Self {
        Self { max_deletes_per_file: default_max_deletes(), protected_emails: vec![] }
    }
}

fn default_max_deletes() -> u32 {
    25
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    pub listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLog {
    /// `plain` (default) or `json`.
    pub format: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Resolved settings
// ---------------------------------------------------------------------------------------------

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
    pub metrics_listen: Option<SocketAddr>,
    pub log_json: bool,
}

#[derive(Debug, Clone)]
pub struct FreshdeskSettings {
    /// Always ends in `/`; API paths (`api/v2/...`) are joined onto it.
    pub base_url: Url,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Limits {
    /// 0: learn the budget from `X-RateLimit-Total`.
    pub requests_per_window: u32,
    pub window: Duration,
    pub reserve_percent: u8,
    pub concurrency: usize,
    pub max_attempts: u32,
    pub ticket_create_per_window: u32,
    pub ticket_update_per_window: u32,
    pub tickets_list_per_window: u32,
    pub contacts_list_per_window: u32,
    /// Longest wait a `Retry-After` may impose (absurd values are clamped into 1 s ..= this).
    pub max_retry_after: Duration,
    /// A one-shot import answered only by 429s for this long exits 3.
    pub max_rate_limited: Duration,
    /// Most bytes of an answer read; a larger answer is not parsed.
    pub max_answer_bytes: usize,
    /// Most bytes of one request body; a row that would need more is invalid.
    pub max_request_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct Inbox {
    pub dir: PathBuf,
    pub action: Option<Action>,
    pub settle: Duration,
    pub pattern: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Safety {
    pub max_deletes_per_file: u32,
    /// Lower-cased.
    pub protected_emails: Vec<String>,
}

impl Settings {
    /// Finds the config file (`--config`, `$FDSYNC_CONFIG`, `./fdsync.toml`,
    /// `/etc/fdsync/fdsync.toml`) and loads it.
    pub fn load(explicit: Option<&Path>) -> Result<Self, Error> {
        let path = locate(explicit)?;
        let text =
            std::fs::read_to_string(&path).map_err(|source| Error::Read { path: path.clone(), source })?;
        let raw: RawConfig = toml::from_str(&text)
            .map_err(|e| Error::Parse { path: path.clone(), message: syntax::describe(&text, &e) })?;
        auth::check_file_permissions(&path, &raw.auth)?;
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

    fn resolve(raw: RawConfig, source: Option<PathBuf>) -> Result<Self, Error> {
        let base_url = resolve_base_url(&raw.freshdesk)?;
        let auth = AuthSettings::resolve(raw.auth, source.as_deref())?;
        let l = raw.limits;
        if l.window_secs == 0 {
            return Err(Error::invalid("limits.window_secs", "must be at least 1"));
        }
        if l.reserve_percent >= 100 {
            return Err(Error::invalid("limits.reserve_percent", "must be below 100"));
        }
        if l.concurrency == 0 || l.concurrency > 256 {
            return Err(Error::invalid("limits.concurrency", "must be between 1 and 256"));
        }
        if l.max_attempts == 0 {
            return Err(Error::invalid("limits.max_attempts", "must be at least 1"));
        }
        if l.max_retry_after_secs == 0 {
            return Err(Error::invalid("limits.max_retry_after_secs", "must be at least 1"));
        }
        if l.max_answer_bytes < 1024 || l.max_request_bytes < 1024 {
            return Err(Error::invalid("limits.max_answer_bytes", "limits of bytes must be at least 1024"));
        }
        // `requests_per_minute` is per window: on a 60 s window it is per minute.
        let limits = Limits {
            requests_per_window: l.requests_per_minute,
            window: Duration::from_secs(l.window_secs),
            reserve_percent: l.reserve_percent,
            concurrency: l.concurrency,
            max_attempts: l.max_attempts,
            ticket_create_per_window: l.ticket_create_per_window,
            ticket_update_per_window: l.ticket_update_per_window,
            tickets_list_per_window: l.tickets_list_per_window,
            contacts_list_per_window: l.contacts_list_per_window,
            max_retry_after: Duration::from_secs(l.max_retry_after_secs),
            max_rate_limited: Duration::from_secs(l.max_rate_limited_secs.max(1)),
            max_answer_bytes: l.max_answer_bytes,
            max_request_bytes: l.max_request_bytes,
        };
        let mut inboxes = Vec::new();
        for (i, ib) in raw.inbox.into_iter().enumerate() {
            let action = match ib.action.as_deref() {
                Some(a) => {
                    Some(a.parse::<Action>().map_err(|m| Error::invalid(&format!("inbox[{i}].action"), m))?)
                }
                None => None,
            };
            if !(0.0..=3600.0).contains(&ib.settle_secs) {
                return Err(Error::invalid(&format!("inbox[{i}].settle_secs"), "must be between 0 and 3600"));
            }
            inboxes.push(Inbox {
                dir: ib.dir,
                action,
                settle: Duration::from_secs_f64(ib.settle_secs),
                pattern: ib.pattern,
            });
        }
        let metrics_listen = match raw.metrics.listen {
            Some(s) => Some(s.parse().map_err(|_| {
                Error::invalid("metrics.listen", format!("'{s}' is not an address like 127.0.0.1:9184"))
            })?),
            None => None,
        };
        let log_json = match raw.log.format.as_deref() {
            None | Some("plain") => false,
            Some("json") => true,
            Some(other) => {
                return Err(Error::invalid("log.format", format!("'{other}' is not plain or json")));
            }
        };
        Ok(Settings {
            source,
            freshdesk: FreshdeskSettings {
                base_url,
                connect_timeout: Duration::from_secs(raw.freshdesk.connect_timeout_secs.max(1)),
                request_timeout: Duration::from_secs(raw.freshdesk.request_timeout_secs.max(1)),
            },
            auth,
            limits,
            state_dir: raw.state.dir,
            inboxes,
            safety: Safety {
                max_deletes_per_file: raw.safety.max_deletes_per_file,
                protected_emails: raw
                    .safety
                    .protected_emails
                    .iter()
                    .map(|e| e.trim().to_lowercase())
                    .collect(),
            },
            metrics_listen,
            log_json,
        })
    }
}

fn locate(explicit: Option<&Path>) -> Result<PathBuf, Error> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("FDSYNC_CONFIG").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    for candidate in ["fdsync.toml", "/etc/fdsync/fdsync.toml"] {
        let p = PathBuf::from(candidate);
        if p.exists() {
            return Ok(p);
        }
    }
    Err(Error::NotFound)
}

/// `acme` | `acme.freshdesk.com` | `https://acme.freshdesk.com/` → `https://acme.freshdesk.com/`;
/// `base_url` replaces the domain (simulator, proxy). Plain HTTP only for loopback hosts.
fn resolve_base_url(raw: &RawFreshdesk) -> Result<Url, Error> {
    let (key, text) = match (&raw.base_url, &raw.domain) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid("freshdesk.base_url", "give either domain or base_url, not both"));
        }
        (Some(u), None) => ("freshdesk.base_url", u.trim().to_string()),
        (None, Some(d)) => {
            let d = d.trim().trim_end_matches('/');
            let text = if d.contains("://") {
                d.to_string()
            } else if d.contains('.') {
                format!("https://{d}")
            } else {
                if d.is_empty() || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(Error::invalid(
                        "freshdesk.domain",
                        format!("'{d}' is not an account name like acme"),
                    ));
                }
                format!("https://{d}.freshdesk.com")
            };
            ("freshdesk.domain", text)
        }
        (None, None) => return Err(Error::invalid("freshdesk", "set domain (e.g. \"acme\") or base_url")),
    };
    let mut url =
        Url::parse(&text).map_err(|e| Error::invalid(key, format!("'{text}' is not a URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(key, "must not contain credentials; use [auth]"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(Error::invalid(key, "plain http is only allowed for loopback addresses; use https"));
        }
        other => return Err(Error::invalid(key, format!("scheme '{other}' is not https"))),
    }
    if key == "freshdesk.domain" {
        let host = url.host_str().unwrap_or_default().to_string();
        if !host.ends_with(".freshdesk.com") {
            return Err(Error::invalid(
                key,
                format!(
                    "'{host}' is not a *.freshdesk.com domain; the v2 API answers only there (use base_url for a proxy)"
                ),
            ));
        }
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').trim_end_matches("/api/v2").to_string();
    url.set_path(&format!("{path}/"));
    Ok(url)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

#[cfg(test)]
mod tests;
