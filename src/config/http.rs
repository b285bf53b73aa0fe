//! `[http]`: where `fdsync run` serves its status page, `/api/status`, `/metrics` and `/healthz`,
//! and who may ask. The one place that reconciles it with its old name `[metrics] listen` (still
//! accepted; both at once is an error), that refuses a non-loopback address without
//! `allow_remote = true`, and that refuses `allow_remote` without a bearer token (`token_file`,
//! `$CREDENTIALS_DIRECTORY/http_token` or `FDSYNC_HTTP_TOKEN`, loaded like every other secret).

use super::Error;
use super::auth::{EnvLookup, SecretSource};
use super::raw::{RawHttp, RawMetrics};
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::Path;

/// `[http]`, resolved: the listener and its admission rules (enforced by [`crate::http`]).
#[derive(Debug, Clone, Default)]
pub struct HttpSettings {
    /// `[http] listen` (alias `[metrics] listen`); `None` = no listener.
    pub listen: Option<SocketAddr>,
    /// Extra `Host` names, lower-cased, as written (`name` or `name:port`).
    pub hosts: Vec<String>,
    /// The bearer token every route but `/healthz` needs, when one is configured.
    pub token: Option<SecretString>,
}

/// The `[http]` table after the alias, the loopback rule, the hosts and the token.
pub(super) fn resolve(
    http: RawHttp,
    metrics: RawMetrics,
    base: Option<&Path>,
    env: EnvLookup,
) -> Result<HttpSettings, Error> {
    let hosts = resolve_hosts(&http.hosts)?;
    let (allow_remote, token_file) = (http.allow_remote, http.token_file.clone());
    let Some(listen) = resolve_listen(http, metrics)? else {
        return Ok(HttpSettings { listen: None, hosts, token: None });
    };
    let token = SecretSource {
        key: "http.token",
        inline: None,
        file: token_file,
        credential: "http_token".into(),
        env_var: "FDSYNC_HTTP_TOKEN".into(),
    }
    .find(base, env)?;
    if allow_remote && !listen.ip().is_loopback() && token.is_none() {
        return Err(Error::invalid(
            "http.token_file",
            "`allow_remote = true` serves the page to other machines, so it needs a bearer token: \
             set `[http] token_file` (mode 600), $CREDENTIALS_DIRECTORY/http_token or the \
             FDSYNC_HTTP_TOKEN environment variable",
        ));
    }
    Ok(HttpSettings { listen: Some(listen), hosts, token })
}

/// `hosts`: bare names or `name:port`, no scheme, path or spaces.
fn resolve_hosts(hosts: &[String]) -> Result<Vec<String>, Error> {
    hosts
        .iter()
        .map(|h| {
            let h = h.trim().to_ascii_lowercase();
            let bad = h.is_empty() || h.contains(['/', '@', ' ', '\t']) || h.chars().any(char::is_control);
            if bad {
                return Err(Error::invalid(
                    "http.hosts",
                    format!(
                        "'{}' is not a host name like status.example.org or status.example.org:8443",
                        crate::text::shown(&h)
                    ),
                ));
            }
            Ok(h)
        })
        .collect()
}

/// The listen address, if any, after the alias and the loopback rule.
fn resolve_listen(http: RawHttp, metrics: RawMetrics) -> Result<Option<SocketAddr>, Error> {
    let (key, text) = match (http.listen, metrics.listen) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid(
                "http.listen",
                "`[http] listen` and `[metrics] listen` are both set; keep only `[http] listen` \
                 (`[metrics]` is its old name)",
            ));
        }
        (Some(s), None) => ("http.listen", s),
        (None, Some(s)) => ("metrics.listen", s),
        (None, None) => return Ok(None),
    };
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| Error::invalid(key, format!("'{text}' is not an address like 127.0.0.1:9184")))?;
    if !addr.ip().is_loopback() && !http.allow_remote {
        return Err(Error::invalid(
            key,
            format!(
                "{addr} is not a loopback address: listen on 127.0.0.1 and put the page behind \
                 your reverse proxy's auth, or set `[http] allow_remote = true` and a bearer \
                 token (`[http] token_file`)"
            ),
        ));
    }
    Ok(Some(addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use secrecy::ExposeSecret;

    fn listen(extra: &str) -> Result<Option<std::net::SocketAddr>, String> {
        let text = format!("[freshdesk]\ndomain = \"acme\"\n[auth]\napi_key = \"k\"\n{extra}");
        Settings::from_toml(&text).map(|s| s.http.listen).map_err(|e| e.to_string())
    }

    #[test]
    fn http_listen_and_its_old_name_metrics_listen_both_work_but_not_together() {
        assert_eq!(listen("").unwrap(), None);
        let http = listen("[http]\nlisten = \"127.0.0.1:9184\"\n").unwrap();
        assert_eq!(http, Some("127.0.0.1:9184".parse().unwrap()));
        assert_eq!(listen("[metrics]\nlisten = \"127.0.0.1:9184\"\n").unwrap(), http);
        let err =
            listen("[http]\nlisten = \"127.0.0.1:1\"\n[metrics]\nlisten = \"127.0.0.1:2\"\n").unwrap_err();
        assert!(err.contains("[http] listen") && err.contains("[metrics] listen"), "{err}");
        let err = listen("[metrics]\nlisten = \"nonsense\"\n").unwrap_err();
        assert!(err.contains("metrics.listen"), "{err}");
    }

    #[test]
    fn a_non_loopback_address_needs_allow_remote_and_says_to_use_a_proxys_auth() {
        let err = listen("[http]\nlisten = \"0.0.0.0:9184\"\n").unwrap_err();
        assert!(err.contains("reverse proxy's auth") && err.contains("allow_remote"), "{err}");
        let err = listen("[metrics]\nlisten = \"10.0.0.5:9184\"\n").unwrap_err();
        assert!(err.contains("reverse proxy's auth"), "{err}");
        assert!(listen("[http]\nlisten = \"[::1]:9184\"\n").unwrap().is_some());
    }

    fn resolve_with(text: &str, env: &[(&str, &str)]) -> Result<HttpSettings, String> {
        let raw: super::super::RawConfig = toml::from_str(text).unwrap();
        let env: std::collections::HashMap<String, String> =
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        resolve(raw.http, raw.metrics, None, &move |k| env.get(k).cloned()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_remote_page_without_a_token_is_a_config_error_and_a_token_comes_like_other_secrets() {
        let remote = "[http]\nlisten = \"0.0.0.0:9184\"\nallow_remote = true\n";
        let err = resolve_with(remote, &[]).unwrap_err();
        assert!(err.contains("http.token_file") && err.contains("FDSYNC_HTTP_TOKEN"), "{err}");
        let ok = resolve_with(remote, &[("FDSYNC_HTTP_TOKEN", "s3cret\n")]).unwrap();
        assert_eq!(ok.listen, Some("0.0.0.0:9184".parse().unwrap()));
        assert_eq!(ok.token.as_ref().map(|t| t.expose_secret().to_string()).as_deref(), Some("s3cret"));
        assert!(!format!("{ok:?}").contains("s3cret"), "the token never shows in Debug: {ok:?}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("http_token"), "from-creds").unwrap();
        let creds = dir.path().to_str().unwrap();
        let ok = resolve_with(remote, &[("CREDENTIALS_DIRECTORY", creds)]).unwrap();
        assert_eq!(ok.token.map(|t| t.expose_secret().to_string()).as_deref(), Some("from-creds"));
        // A token file others can read is refused, as for the API key.
        let file = dir.path().join("open");
        std::fs::write(&file, "t").unwrap();
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        let text = format!("{remote}token_file = \"{}\"\n", file.display());
        assert!(resolve_with(&text, &[]).unwrap_err().contains("chmod 600"));
        // A loopback page may have a token too; without a listener none is loaded.
        let local = "[http]\nlisten = \"127.0.0.1:9184\"\n";
        assert!(resolve_with(local, &[]).unwrap().token.is_none());
        assert!(resolve_with(local, &[("FDSYNC_HTTP_TOKEN", "t")]).unwrap().token.is_some());
        assert!(resolve_with("", &[("FDSYNC_HTTP_TOKEN", "t")]).unwrap().token.is_none());
    }

    #[test]
    fn hosts_are_lower_cased_names_with_an_optional_port() {
        let ok = resolve_with("[http]\nhosts = [\"Status.Example.org\", \"a.example:8443\"]\n", &[]).unwrap();
        assert_eq!(ok.hosts, ["status.example.org", "a.example:8443"]);
        for bad in ["https://x.example", "", "a b"] {
            let err = resolve_with(&format!("[http]\nhosts = [\"{bad}\"]\n"), &[]).unwrap_err();
            assert!(err.contains("http.hosts"), "{err}");
        }
    }
}
