//! `[http]`: where `fdsync run` serves its status page, `/api/status`, `/metrics` and `/healthz`.
//! The one place that reconciles it with its old name `[metrics] listen` (still accepted; both
//! at once is an error) and that refuses a non-loopback address without `allow_remote = true`:
//! the page has no login, so it belongs behind a reverse proxy's auth.

use super::Error;
use super::raw::{RawHttp, RawMetrics};
use std::net::SocketAddr;

/// The listen address, if any, after the alias and the loopback rule.
pub(super) fn resolve_listen(http: RawHttp, metrics: RawMetrics) -> Result<Option<SocketAddr>, Error> {
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
                "{addr} is not a loopback address and the status page has no login: listen on \
                 127.0.0.1 and put the page behind your reverse proxy's auth, or set \
                 `[http] allow_remote = true` if that proxy is already in front of it"
            ),
        ));
    }
    Ok(Some(addr))
}

#[cfg(test)]
mod tests {
    use crate::config::Settings;

    fn listen(extra: &str) -> Result<Option<std::net::SocketAddr>, String> {
        let text = format!("[freshdesk]\ndomain = \"acme\"\n[auth]\napi_key = \"k\"\n{extra}");
        Settings::from_toml(&text).map(|s| s.http_listen).map_err(|e| e.to_string())
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
        let ok = listen("[http]\nlisten = \"0.0.0.0:9184\"\nallow_remote = true\n").unwrap();
        assert_eq!(ok, Some("0.0.0.0:9184".parse().unwrap()));
        assert!(listen("[http]\nlisten = \"[::1]:9184\"\n").unwrap().is_some());
    }
}
