//! The config file's shape as written: serde structs with `deny_unknown_fields` and a named
//! default fn per defaulted key. It only mirrors the TOML; it must not validate, normalise or
//! load secrets (that is [`Settings::resolve`](super::Settings) and its step modules).

use super::auth::RawAuth;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// The top-level `[freshdesk]`, `[auth]` and `[limits]` are the connection `default`.
    pub freshdesk: Option<RawFreshdesk>,
    pub auth: Option<RawAuth>,
    pub limits: Option<RawLimits>,
    /// `[[connection]]`: more accounts or credentials, each named.
    #[serde(default)]
    pub connection: Vec<RawConnection>,
    #[serde(default)]
    pub state: RawState,
    #[serde(default)]
    pub inbox: Vec<RawInbox>,
    #[serde(default)]
    pub safety: RawSafety,
    #[serde(default)]
    pub http: RawHttp,
    /// The old name of `[http]` (only `listen`); both at once is an error.
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default)]
    pub notify: Vec<super::notify::RawNotify>,
    /// `[scim]`: the SCIM 2.0 service provider (src/config/scim.rs).
    pub scim: Option<super::scim::RawScim>,
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

/// `[[connection]]`: a named connection with the same sub-tables as the top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConnection {
    pub name: String,
    pub description: Option<String>,
    pub freshdesk: RawFreshdesk,
    #[serde(default)]
    pub auth: RawAuth,
    #[serde(default)]
    pub limits: RawLimits,
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
    /// The `[[connection]]` its files go to; default `default`.
    pub connection: Option<String>,
    /// The actions its rows may ask for; default: `action` only.
    pub actions: Option<Vec<String>>,
    /// Offboarding: the group (name or id) that takes over a leaver's open tickets by default.
    pub successor_group: Option<String>,
    /// A larger file is held for approval before any call.
    #[serde(default = "default_max_file_bytes")]
    pub max_file_bytes: u64,
    /// A file with more rows is held for approval before any call.
    #[serde(default = "default_max_rows")]
    pub max_rows: u64,
    /// How its files write dates other than `YYYY-MM-DD` (`DD/MM/YYYY`, …).
    pub date_format: Option<String>,
    /// Where the file names of an `attachments` column are found.
    pub attachments_dir: Option<PathBuf>,
}

fn default_settle() -> f64 {
    2.0
}
fn default_max_file_bytes() -> u64 {
    1 << 30
}
fn default_max_rows() -> u64 {
    1_000_000
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSafety {
    #[serde(default = "default_max_deletes")]
    pub max_deletes_per_file: u32,
    #[serde(default = "default_max_deletes_percent")]
    pub max_deletes_percent: f64,
    #[serde(default)]
    pub protected_emails: Vec<String>,
    #[serde(default = "default_protected_roles")]
    pub protected_roles: Vec<String>,
    /// The delete rules count this many hours of the account's sent deletes.
    #[serde(default = "default_window_hours")]
    pub window_hours: f64,
}

impl Default for RawSafety {
    fn default() -> Self {
        Self {
            max_deletes_per_file: default_max_deletes(),
            max_deletes_percent: default_max_deletes_percent(),
            protected_emails: vec![],
            protected_roles: default_protected_roles(),
            window_hours: default_window_hours(),
        }
    }
}

fn default_window_hours() -> f64 {
    24.0
}

fn default_max_deletes_percent() -> f64 {
    10.0
}

fn default_protected_roles() -> Vec<String> {
    vec!["Account Administrator".into(), "Administrator".into()]
}

fn default_max_deletes() -> u32 {
    25
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttp {
    pub listen: Option<String>,
    /// A non-loopback `listen` needs this, and then a bearer token (`token_file`).
    #[serde(default)]
    pub allow_remote: bool,
    /// `Host` names (with or without `:port`) the page answers besides its own address and
    /// `localhost:<port>`; any other `Host` gets 421 (DNS rebinding).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The bearer token every route but `/healthz` then needs (also
    /// `$CREDENTIALS_DIRECTORY/http_token` or `FDSYNC_HTTP_TOKEN`).
    pub token_file: Option<PathBuf>,
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
