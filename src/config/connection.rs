//! Connections: the top-level `[freshdesk]` / `[auth]` / `[limits]` (the connection `default`)
//! and each `[[connection]]` → [`Connection`]s, with their names checked (`[a-z0-9_-]+`,
//! unique), their secrets loaded under their own names ([`SecretNames`]), and connections that
//! share a Freshdesk account checked to agree on that account's quota. It only resolves tables;
//! it must not open a connection or decide pacing (the account key is what the engine shares a
//! pacer by).

use super::Error;
use super::auth::{AuthSettings, EnvLookup, RawAuth, SecretNames};
use super::endpoint::FreshdeskSettings;
use super::limits::Limits;
use super::raw::{RawConnection, RawFreshdesk, RawLimits};
use crate::text::Shown;
use std::path::Path;

/// The connection of the top-level tables, and of inboxes and commands that name none.
pub const DEFAULT: &str = crate::domain::DEFAULT_CONNECTION;

/// Longest connection name (it becomes part of file and variable names).
const MAX_NAME: usize = 64;

/// One Freshdesk account and the credentials fdsync uses on it.
#[derive(Debug, Clone)]
pub struct Connection {
    pub name: String,
    pub description: Option<String>,
    pub freshdesk: FreshdeskSettings,
    pub auth: AuthSettings,
    pub limits: Limits,
}

impl Connection {
    /// The Freshdesk account: the base URL's host and port. The quota belongs to the account,
    /// so connections with the same account share one pacer.
    pub fn account(&self) -> String {
        account_of(&self.freshdesk.base_url)
    }
}

/// The account key of a base URL (`host:port`, lower-case).
pub fn account_of(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    format!("{host}:{}", url.port_or_known_default().unwrap_or(0))
}

/// The top-level tables as written (all optional once `[[connection]]`s exist).
pub(super) struct TopLevel {
    pub(super) freshdesk: Option<RawFreshdesk>,
    pub(super) auth: Option<RawAuth>,
    pub(super) limits: Option<RawLimits>,
}

/// Every connection: `default` (from the top level) first when written, then `[[connection]]`s
/// in file order.
pub(super) fn resolve_all(
    top: TopLevel,
    named: Vec<RawConnection>,
    config_path: Option<&Path>,
    env: EnvLookup,
) -> Result<Vec<Connection>, Error> {
    let mut out = Vec::with_capacity(named.len() + 1);
    match top.freshdesk {
        Some(freshdesk) => out.push(Connection {
            name: DEFAULT.into(),
            description: None,
            freshdesk: FreshdeskSettings::resolve(&freshdesk)?,
            auth: AuthSettings::resolve_with(top.auth.unwrap_or_default(), config_path, env)?,
            limits: Limits::resolve(top.limits.unwrap_or_default())?,
        }),
        None if named.is_empty() => {
            return Err(Error::invalid(
                "freshdesk",
                "set [freshdesk] (domain or base_url) or add a [[connection]]",
            ));
        }
        None if top.auth.is_some() || top.limits.is_some() => {
            return Err(Error::invalid(
                if top.auth.is_some() { "auth" } else { "limits" },
                "the top-level [auth] and [limits] belong to the connection `default`, which needs [freshdesk]; \
                 put them in their [[connection]]",
            ));
        }
        None => {}
    }
    for (i, raw) in named.into_iter().enumerate() {
        check_name(i, &raw.name, &out)?;
        out.push(resolve_named(raw, config_path, env)?);
    }
    check_shared_accounts(&out)?;
    Ok(out)
}

/// One `[[connection]]`; its errors are named `connection.<name>.<key>`.
fn resolve_named(
    raw: RawConnection,
    config_path: Option<&Path>,
    env: EnvLookup,
) -> Result<Connection, Error> {
    let within = |e: Error| match e {
        Error::Invalid { key, message } => {
            Error::Invalid { key: format!("connection.{}.{key}", raw.name), message }
        }
        other => other,
    };
    // The connection `default` keeps today's secret names however it is written.
    let names = SecretNames { connection: Some(raw.name.as_str()).filter(|n| *n != DEFAULT) };
    Ok(Connection {
        freshdesk: FreshdeskSettings::resolve(&raw.freshdesk).map_err(within)?,
        auth: AuthSettings::resolve_named(raw.auth, config_path, env, names).map_err(within)?,
        limits: Limits::resolve(raw.limits).map_err(within)?,
        description: raw.description,
        name: raw.name,
    })
}

/// `[a-z0-9_-]+`, at most 64 characters, and not taken yet (`default` is taken by the top level).
fn check_name(i: usize, name: &str, before: &[Connection]) -> Result<(), Error> {
    let key = format!("connection[{i}].name");
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        return Err(Error::invalid(
            &key,
            format!("'{}' is not a name of 1 to {MAX_NAME} characters a-z, 0-9, _ and -", Shown(name)),
        ));
    }
    if before.iter().any(|c| c.name == name) {
        let why = if name == DEFAULT {
            "is the top-level [freshdesk]/[auth]/[limits]; give either those or a [[connection]] named default, not both"
        } else {
            "is used by an earlier [[connection]]; names must be unique"
        };
        return Err(Error::invalid(&key, format!("'{name}' {why}")));
    }
    Ok(())
}

/// Connections on one account share its quota, so they must agree on it.
fn check_shared_accounts(all: &[Connection]) -> Result<(), Error> {
    for (i, c) in all.iter().enumerate() {
        let Some(first) = all[..i].iter().find(|o| o.account() == c.account()) else { continue };
        let (a, b) = (&first.limits, &c.limits);
        let same = a.requests_per_window == b.requests_per_window
            && a.window == b.window
            && a.reserve_percent == b.reserve_percent
            && a.ticket_create_per_window == b.ticket_create_per_window
            && a.ticket_update_per_window == b.ticket_update_per_window
            && a.tickets_list_per_window == b.tickets_list_per_window
            && a.contacts_list_per_window == b.contacts_list_per_window;
        if !same {
            return Err(Error::invalid(
                &format!("connection.{}.limits", c.name),
                format!(
                    "it shares the account {} with `{}`, so the account's quota keys (requests_per_minute, \
                     window_secs, reserve_percent, *_per_window) must be the same in both",
                    c.account(),
                    first.name
                ),
            ));
        }
    }
    Ok(())
}

/// The error for a connection name that is not configured: it lists the known ones.
pub(super) fn unknown(key: &str, name: &str, all: &[Connection]) -> Error {
    let known: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
    let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    Error::invalid(key, format!("no connection named '{}'; configured: {known}", Shown(name)))
}
