//! `[[notify]]` → [`NotifyTarget`]: who is told what. Each section names the events it wants
//! (`on`; default everything but `done`) and one target: a webhook (https, or http on a loopback
//! address) or e-mail over SMTP (`smtps://` implicit TLS; `smtp://` STARTTLS required, plain
//! only on loopback).
//!
//! Secrets: a webhook URL carries its token, and the SMTP password is one. Both load like the
//! API key: the config value, `webhook_url_file` / `smtp_password_file`, then
//! `$CREDENTIALS_DIRECTORY/<name>_webhook_url` / `<name>_smtp_password`, then
//! `FDSYNC_<NAME>_WEBHOOK_URL` / `FDSYNC_<NAME>_SMTP_PASSWORD`. An `smtp_url` must not carry a
//! password. No error message quotes a webhook URL.
//!
//! Each target gets a [`NotifyTarget::label`] for logs that names only its host
//! (`webhook https://hooks.example.com/…`, `smtp mail.example.com`) and a [`NotifyTarget::key`]
//! (a hash of where it sends) by which the journal's outbox rows name it: a row is only ever
//! sent to the target it was recorded for. It only resolves; it must not connect.

use super::Error;
use super::auth::{EnvLookup, SecretSource, process_env};
use lettre::message::Mailbox;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use url::Url;

/// `[[notify]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNotify {
    /// Names the section in logs and in its credential names; default `notify1`, `notify2`, …
    pub name: Option<String>,
    pub on: Option<Vec<String>>,
    pub webhook_url: Option<SecretString>,
    pub webhook_url_file: Option<PathBuf>,
    pub email: Option<RawEmail>,
}

/// `email = { … }` of a `[[notify]]` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    /// `smtps://[user@]host[:port]` or `smtp://[user@]host[:port]`.
    pub smtp_url: String,
    pub from: String,
    pub to: Vec<String>,
    pub smtp_password: Option<SecretString>,
    pub smtp_password_file: Option<PathBuf>,
}

pub use crate::domain::NotifyEvent;

/// One resolved `[[notify]]` section.
#[derive(Debug, Clone)]
pub struct NotifyTarget {
    pub name: String,
    pub on: Vec<NotifyEvent>,
    pub target: Target,
    /// For logs: the kind and the host, never a path, query or secret.
    pub label: String,
    /// Names the target in the outbox: a hash of where it sends (webhook URL; SMTP server,
    /// sender and recipients), so a changed target never receives an older target's rows.
    pub key: String,
}

#[derive(Debug, Clone)]
pub enum Target {
    Webhook { url: SecretString },
    Email(EmailTarget),
}

#[derive(Debug, Clone)]
pub struct EmailTarget {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtps://`: TLS from the first byte.
    Implicit,
    /// `smtp://` to a remote host: STARTTLS, required.
    StartTls,
    /// `smtp://` to a loopback address (a local relay, tests): no TLS.
    None,
}

/// Every section, in file order; `base` anchors relative `*_file` paths.
pub(super) fn resolve_all(raw: Vec<RawNotify>, base: Option<&Path>) -> Result<Vec<NotifyTarget>, Error> {
    resolve_all_with(raw, base, &process_env)
}

/// [`resolve_all`] with the environment given.
pub(super) fn resolve_all_with(
    raw: Vec<RawNotify>,
    base: Option<&Path>,
    env: EnvLookup,
) -> Result<Vec<NotifyTarget>, Error> {
    let mut out: Vec<NotifyTarget> = Vec::with_capacity(raw.len());
    for (i, n) in raw.into_iter().enumerate() {
        let t = resolve(i, n, base, env)?;
        if out.iter().any(|o| o.name == t.name) {
            return Err(Error::invalid(&format!("notify[{i}].name"), format!("'{}' is given twice", t.name)));
        }
        out.push(t);
    }
    Ok(out)
}

fn resolve(i: usize, raw: RawNotify, base: Option<&Path>, env: EnvLookup) -> Result<NotifyTarget, Error> {
    let at = |k: &str| format!("notify[{i}].{k}");
    let name = raw.name.unwrap_or_else(|| format!("notify{}", i + 1));
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::invalid(&at("name"), "use letters, digits, '_' and '-'"));
    }
    let on = match raw.on {
        None => NotifyEvent::ALL.into_iter().filter(|e| *e != NotifyEvent::Done).collect(),
        Some(list) => list
            .iter()
            .map(|s| s.parse())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| Error::invalid(&at("on"), m))?,
    };
    let env_name = name.to_ascii_uppercase().replace('-', "_");
    let (target, label, key) = match raw.email {
        Some(_) if raw.webhook_url.is_some() || raw.webhook_url_file.is_some() => {
            return Err(Error::invalid(
                &at("email"),
                "one target per section: webhook_url or email, not both",
            ));
        }
        Some(email) => email_target(&at("email"), email, &name, &env_name, base, env)?,
        None => {
            let src = SecretSource {
                key: &at("webhook_url"),
                inline: raw.webhook_url,
                file: raw.webhook_url_file,
                credential: format!("{name}_webhook_url"),
                env_var: format!("FDSYNC_{env_name}_WEBHOOK_URL"),
            };
            let url = src.find(base, env)?.ok_or_else(|| {
                Error::invalid(
                    &at("webhook_url"),
                    "a section needs webhook_url (or webhook_url_file) or email",
                )
            })?;
            webhook_target(&at("webhook_url"), url)?
        }
    };
    Ok(NotifyTarget { name, on, target, label, key })
}

/// Checks a webhook URL without quoting it: https, or http on a loopback address.
fn webhook_target(key: &str, url: SecretString) -> Result<(Target, String, String), Error> {
    let parsed = Url::parse(url.expose_secret().trim()).map_err(|_| Error::invalid(key, "is not a URL"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if super::is_loopback(&parsed) => {}
        "http" => {
            return Err(Error::invalid(key, "plain http is only allowed for loopback addresses; use https"));
        }
        _ => return Err(Error::invalid(key, "is not an https URL")),
    }
    let host = parsed.host_str().unwrap_or_default();
    let label = format!("webhook {}://{host}/…", parsed.scheme());
    let key = fingerprint("webhook", &[parsed.as_str()]);
    Ok((Target::Webhook { url: SecretString::from(parsed.to_string()) }, label, key))
}

fn email_target(
    key: &str,
    raw: RawEmail,
    name: &str,
    env_name: &str,
    base: Option<&Path>,
    env: EnvLookup,
) -> Result<(Target, String, String), Error> {
    let url_key = format!("{key}.smtp_url");
    let url = Url::parse(raw.smtp_url.trim())
        .map_err(|e| Error::invalid(&url_key, format!("'{}' is not a URL: {e}", raw.smtp_url)))?;
    if url.password().is_some() {
        return Err(Error::invalid(&url_key, "must not contain a password; use smtp_password_file"));
    }
    let host =
        url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| Error::invalid(&url_key, "names no host"))?;
    let (tls, default_port) = match url.scheme() {
        "smtps" => (SmtpTls::Implicit, 465),
        "smtp" if is_loopback_host(host) => (SmtpTls::None, 25),
        "smtp" => (SmtpTls::StartTls, 587),
        other => return Err(Error::invalid(&url_key, format!("scheme '{other}' is not smtps or smtp"))),
    };
    let mailbox = |k: &str, s: &str| {
        s.parse::<Mailbox>()
            .map_err(|e| Error::invalid(&format!("{key}.{k}"), format!("'{s}' is not an address: {e}")))
    };
    let from = mailbox("from", &raw.from)?;
    let to = raw.to.iter().map(|t| mailbox("to", t)).collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(Error::invalid(&format!("{key}.to"), "names no recipient"));
    }
    let src = SecretSource {
        key: &format!("{key}.smtp_password"),
        inline: raw.smtp_password,
        file: raw.smtp_password_file,
        credential: format!("{name}_smtp_password"),
        env_var: format!("FDSYNC_{env_name}_SMTP_PASSWORD"),
    };
    let password = src.find(base, env)?;
    let username = Some(url.username()).filter(|u| !u.is_empty()).map(percent_decode);
    if password.is_some() && username.is_none() {
        return Err(Error::invalid(&url_key, "a password needs a user name: smtps://user@host"));
    }
    let port = url.port().unwrap_or(default_port);
    let label = format!("smtp {host}");
    let recipients: Vec<String> = to.iter().map(ToString::to_string).collect();
    let fp = fingerprint("email", &[host, &port.to_string(), &from.to_string(), &recipients.join(",")]);
    let target = EmailTarget { host: host.to_string(), port, tls, username, password, from, to };
    Ok((Target::Email(target), label, fp))
}

/// `localhost` or a loopback IP (an `smtp://` URL's host is not parsed as an IP by `url`).
fn is_loopback_host(host: &str) -> bool {
    let ip = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>();
    host.eq_ignore_ascii_case("localhost") || ip.is_ok_and(|ip| ip.is_loopback())
}

/// `%40` → `@` in a URL's user name.
fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("u={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| s.to_string(), |(_, v)| v.into_owned())
}

/// `<kind>-<16 hex digits of sha256 over the parts>`.
fn fingerprint(kind: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let hex: String = h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{kind}-{hex}")
}

/// Whether any section holds a secret inline (the config file must then be private).
pub(super) fn has_inline_secret(raw: &[RawNotify]) -> bool {
    raw.iter().any(|n| n.webhook_url.is_some() || n.email.as_ref().is_some_and(|e| e.smtp_password.is_some()))
}

#[cfg(test)]
mod tests;
