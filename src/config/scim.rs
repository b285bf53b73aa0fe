//! `[scim]`: the SCIM 2.0 service provider `fdsync run` serves for one connection (Entra ID,
//! Okta). The one place that loads its bearer token (`token_file`,
//! `$CREDENTIALS_DIRECTORY/scim_token` or `FDSYNC_SCIM_TOKEN`, like every other secret), that
//! refuses a `[scim]` without one (no token, no service), that pairs `tls_cert_file` with
//! `tls_key_file`, and that refuses a non-loopback address without TLS unless `allow_remote`
//! (a TLS-terminating proxy in front).

use super::Error;
use super::auth::{EnvLookup, SecretSource};
use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// `[scim]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScim {
    pub listen: String,
    /// Which connection's account the users are agents of (default `default`).
    pub connection: Option<String>,
    pub token_file: Option<PathBuf>,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_key_file: Option<PathBuf>,
    /// A non-loopback `listen` without TLS: only behind a proxy that terminates TLS.
    #[serde(default)]
    pub allow_remote: bool,
    /// `Host` names answered besides the listen address and `localhost:<port>`.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Seconds without a new held change before a cycle's held changes are notified, in one
    /// message (default 30).
    pub notify_quiet_secs: Option<u64>,
}

/// `[scim]`, resolved.
#[derive(Debug, Clone)]
pub struct ScimSettings {
    pub listen: SocketAddr,
    pub connection: String,
    /// The bearer token the identity provider sends (always present: no token, no service).
    pub token: SecretString,
    /// Certificate chain and private key (PEM), when fdsync terminates TLS itself.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Extra `Host` names, lower-cased.
    pub hosts: Vec<String>,
    /// How long the provider holds no new change before its cycle's held changes are notified.
    pub notify_quiet: std::time::Duration,
}

/// `scim.notify_quiet_secs` when not set.
pub const NOTIFY_QUIET: std::time::Duration = std::time::Duration::from_secs(30);

/// Resolves `[scim]` against the configured connections.
pub(super) fn resolve(
    raw: Option<RawScim>,
    connections: &[super::Connection],
    base: Option<&Path>,
    env: EnvLookup,
) -> Result<Option<ScimSettings>, Error> {
    let Some(raw) = raw else { return Ok(None) };
    let listen: SocketAddr = raw.listen.parse().map_err(|_| {
        Error::invalid("scim.listen", format!("'{}' is not an address like 127.0.0.1:9443", raw.listen))
    })?;
    let connection = raw.connection.clone().unwrap_or_else(|| super::connection::DEFAULT.to_string());
    if !connections.iter().any(|c| c.name == connection) {
        return Err(super::connection::unknown("scim.connection", &connection, connections));
    }
    let tls = match (raw.tls_cert_file, raw.tls_key_file) {
        (Some(c), Some(k)) => {
            Some((base.map_or(c.clone(), |b| b.join(&c)), base.map_or(k.clone(), |b| b.join(&k))))
        }
        (None, None) => None,
        _ => {
            return Err(Error::invalid(
                "scim.tls_cert_file",
                "`tls_cert_file` and `tls_key_file` go together: set both, or neither",
            ));
        }
    };
    if !listen.ip().is_loopback() && tls.is_none() && !raw.allow_remote {
        return Err(Error::invalid(
            "scim.listen",
            format!(
                "{listen} is not a loopback address: identity providers need https, so set \
                 `tls_cert_file` and `tls_key_file`, or `allow_remote = true` behind a proxy that \
                 terminates TLS"
            ),
        ));
    }
    let token = SecretSource {
        key: "scim.token",
        inline: None,
        file: raw.token_file,
        credential: "scim_token".into(),
        env_var: "FDSYNC_SCIM_TOKEN".into(),
    }
    .find(base, env)?
    .ok_or_else(|| {
        Error::invalid(
            "scim.token_file",
            "[scim] needs the bearer token the identity provider sends: set `token_file` (mode 600), \
             $CREDENTIALS_DIRECTORY/scim_token or the FDSYNC_SCIM_TOKEN environment variable",
        )
    })?;
    let notify_quiet = match raw.notify_quiet_secs {
        None => NOTIFY_QUIET,
        Some(0) => return Err(Error::invalid("scim.notify_quiet_secs", "must be at least 1")),
        Some(s) => std::time::Duration::from_secs(s),
    };
    let hosts = raw.hosts.iter().map(|h| h.trim().to_ascii_lowercase()).filter(|h| !h.is_empty()).collect();
    Ok(Some(ScimSettings { listen, connection, token, tls, hosts, notify_quiet }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn resolve_with(extra: &str, env: &[(&str, &str)]) -> Result<Option<ScimSettings>, String> {
        let text = format!("[freshdesk]\ndomain = \"acme\"\n[auth]\napi_key = \"k\"\n{extra}");
        let raw: super::super::RawConfig = toml::from_str(&text).map_err(|e| e.to_string())?;
        let env: std::collections::HashMap<String, String> =
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let conns =
            crate::config::Settings::from_toml("[freshdesk]\ndomain = \"acme\"\n[auth]\napi_key = \"k\"\n")
                .unwrap()
                .connections;
        resolve(raw.scim, &conns, None, &move |k| env.get(k).cloned()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_held_cycle_is_notified_after_30_quiet_seconds_unless_set_and_never_0() {
        let scim = |extra: &str| format!("[scim]\nlisten = \"127.0.0.1:9443\"\n{extra}");
        let token = [("FDSYNC_SCIM_TOKEN", "t")];
        let quiet =
            |extra: &str| resolve_with(&scim(extra), &token).map(|s| s.unwrap().notify_quiet.as_secs());
        assert_eq!(quiet(""), Ok(30));
        assert_eq!(quiet("notify_quiet_secs = 5"), Ok(5));
        assert!(quiet("notify_quiet_secs = 0").unwrap_err().contains("scim.notify_quiet_secs"));
    }

    #[test]
    fn no_token_no_service_and_the_token_comes_like_other_secrets() {
        let local = "[scim]\nlisten = \"127.0.0.1:9443\"\n";
        let err = resolve_with(local, &[]).unwrap_err();
        assert!(err.contains("scim.token_file") && err.contains("FDSYNC_SCIM_TOKEN"), "{err}");
        let ok = resolve_with(local, &[("FDSYNC_SCIM_TOKEN", "t0k\n")]).unwrap().unwrap();
        assert_eq!(ok.token.expose_secret(), "t0k");
        assert_eq!(ok.connection, "default");
        assert!(!format!("{ok:?}").contains("t0k"));
        assert!(resolve_with("", &[]).unwrap().is_none());
    }

    #[test]
    fn off_loopback_needs_tls_or_allow_remote_and_the_connection_must_exist() {
        let env = [("FDSYNC_SCIM_TOKEN", "t")];
        let err = resolve_with("[scim]\nlisten = \"0.0.0.0:9443\"\n", &env).unwrap_err();
        assert!(err.contains("tls_cert_file") && err.contains("allow_remote"), "{err}");
        let tls = "[scim]\nlisten = \"0.0.0.0:9443\"\ntls_cert_file = \"c.pem\"\ntls_key_file = \"k.pem\"\n";
        assert!(resolve_with(tls, &env).unwrap().unwrap().tls.is_some());
        let proxy = "[scim]\nlisten = \"0.0.0.0:9443\"\nallow_remote = true\n";
        assert!(resolve_with(proxy, &env).unwrap().is_some());
        let half = "[scim]\nlisten = \"127.0.0.1:9443\"\ntls_cert_file = \"c.pem\"\n";
        assert!(resolve_with(half, &env).unwrap_err().contains("go together"));
        let other = "[scim]\nlisten = \"127.0.0.1:9443\"\nconnection = \"nope\"\n";
        assert!(resolve_with(other, &env).unwrap_err().contains("nope"));
    }
}
