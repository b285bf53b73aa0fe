//! `[freshdesk]` → [`FreshdeskSettings`]: the account's base URL (from `domain` or `base_url`),
//! normalised to end in `/` and refused unless https (plain http only on loopback), plus the
//! typed timeouts. It only resolves the address; it must not open a connection.

use super::Error;
use super::raw::RawFreshdesk;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone)]
pub struct FreshdeskSettings {
    /// Always ends in `/`; API paths (`api/v2/...`) are joined onto it.
    pub base_url: Url,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}

impl FreshdeskSettings {
    pub(super) fn resolve(raw: &RawFreshdesk) -> Result<Self, Error> {
        Ok(Self {
            base_url: resolve_base_url(raw)?,
            connect_timeout: Duration::from_secs(raw.connect_timeout_secs.max(1)),
            request_timeout: Duration::from_secs(raw.request_timeout_secs.max(1)),
        })
    }
}

/// `acme` | `acme.freshdesk.com` | `https://acme.freshdesk.com/` → `https://acme.freshdesk.com/`;
/// `base_url` replaces the domain (simulator, proxy). Plain HTTP only for loopback hosts.
fn resolve_base_url(raw: &RawFreshdesk) -> Result<Url, Error> {
    let (key, text) = base_url_text(raw)?;
    let url = Url::parse(&text).map_err(|e| Error::invalid(key, format!("'{text}' is not a URL: {e}")))?;
    check_url(key, &url)?;
    Ok(normalise(url))
}

/// The config key the URL came from, and its text before parsing.
fn base_url_text(raw: &RawFreshdesk) -> Result<(&'static str, String), Error> {
    match (&raw.base_url, &raw.domain) {
        (Some(_), Some(_)) => {
            Err(Error::invalid("freshdesk.base_url", "give either domain or base_url, not both"))
        }
        (Some(u), None) => Ok(("freshdesk.base_url", u.trim().to_string())),
        (None, Some(d)) => Ok(("freshdesk.domain", domain_url(d)?)),
        (None, None) => Err(Error::invalid("freshdesk", "set domain (e.g. \"acme\") or base_url")),
    }
}

/// `acme` → `https://acme.freshdesk.com`; a host or URL is taken as written.
fn domain_url(d: &str) -> Result<String, Error> {
    let d = d.trim().trim_end_matches('/');
    if d.contains("://") {
        return Ok(d.to_string());
    }
    if d.contains('.') {
        return Ok(format!("https://{d}"));
    }
    if d.is_empty() || !d.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Error::invalid("freshdesk.domain", format!("'{d}' is not an account name like acme")));
    }
    Ok(format!("https://{d}.freshdesk.com"))
}

/// No credentials in the URL, https (or http on loopback), and a `domain` under freshdesk.com.
fn check_url(key: &str, url: &Url) -> Result<(), Error> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(key, "must not contain credentials; use [auth]"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(url) => {}
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
    Ok(())
}

/// Drops query and fragment, a trailing `/api/v2`, and ends the path in `/`.
fn normalise(mut url: Url) -> Url {
    url.set_query(None);
    url.set_fragment(None);
    let path = url.path().trim_end_matches('/').trim_end_matches("/api/v2").to_string();
    url.set_path(&format!("{path}/"));
    url
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}
