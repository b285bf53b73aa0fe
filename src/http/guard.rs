//! Who may ask: the two checks every request passes before any route runs.
//!
//! - **Host** (DNS rebinding): a browser tricked into sending a page's requests to this address
//!   still sends the attacker's name as `Host`. Only the address the connection reached (the
//!   listen address; for a wildcard listener, the address it was reached at), `localhost:<port>`
//!   and `[http] hosts` are answered; anything else, or no `Host`, is 421 Misdirected Request.
//! - **Bearer token** (`[http] token_file`): when configured, every route but `/healthz` needs
//!   `Authorization: Bearer <token>`, compared in constant time; otherwise 401.
//!
//! Pure decisions ([`Access::host_allowed`], [`Access::token_ok`]) plus one axum middleware.

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;

/// The route any monitor may ask without the token.
pub(super) const HEALTHZ: &str = "/healthz";

/// The admission rules of `[http]`.
#[derive(Clone)]
pub struct Access {
    /// `[http] hosts`, lower-cased (`name` matches any port, `name:port` only that one).
    pub hosts: Vec<String>,
    /// The token's SHA-256: what a request's token is compared against.
    token: Option<[u8; 32]>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = if self.token.is_some() { "[REDACTED]" } else { "none" };
        f.debug_struct("Access").field("hosts", &self.hosts).field("token", &token).finish()
    }
}

/// The local address a connection reached; set by the accept loop.
#[derive(Debug, Clone, Copy)]
pub(super) struct Reached(pub(super) SocketAddr);

impl Access {
    pub fn new(hosts: Vec<String>, token: Option<&SecretString>) -> Self {
        Self { hosts, token: token.map(|t| digest(t.expose_secret().as_bytes())) }
    }

    /// Whether `host` (the request's `Host`) names this server reached at `local`.
    pub(super) fn host_allowed(&self, host: &str, local: SocketAddr) -> bool {
        let host = host.trim().to_ascii_lowercase();
        if host == local.to_string() || host == format!("localhost:{}", local.port()) {
            return true;
        }
        let (name, port) = split_port(&host);
        self.hosts.iter().any(|allowed| match split_port(allowed) {
            (n, None) => n == name,
            (n, Some(p)) => n == name && port == Some(p),
        })
    }

    /// Whether the request may pass the token rule: no token configured, `/healthz`, or an
    /// `Authorization: Bearer` value equal to the token.
    pub(super) fn token_ok(&self, path: &str, authorization: Option<&[u8]>) -> bool {
        let Some(want) = &self.token else { return true };
        if path == HEALTHZ {
            return true;
        }
        let given = authorization.and_then(|v| {
            let (scheme, rest) = v.split_at_checked(7)?;
            scheme.eq_ignore_ascii_case(b"bearer ").then_some(rest)
        });
        given.is_some_and(|g| constant_time_eq(&digest(trim(g)), want))
    }
}

/// `name:port` → (`name`, `port`); a bracketed IPv6 literal keeps its brackets.
fn split_port(host: &str) -> (&str, Option<&str>) {
    match host.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) && !name.ends_with(':') =>
        {
            (name, Some(port))
        }
        _ => (host, None),
    }
}

fn trim(v: &[u8]) -> &[u8] {
    v.trim_ascii()
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Equal without an early exit: both sides are fixed-length digests, so neither the time taken
/// nor the length compared depends on where a guess first differs, or on the token's length.
fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The middleware: 421 for a foreign `Host`, 401 without the token.
pub(super) async fn admit(State(access): State<Arc<Access>>, req: Request, next: Next) -> Response {
    let local = req
        .extensions()
        .get::<Reached>()
        .map(|r| r.0)
        .or_else(|| req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0));
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    let host_ok = match (host, local) {
        (Some(h), Some(local)) => access.host_allowed(h, local),
        _ => false,
    };
    if !host_ok {
        return (StatusCode::MISDIRECTED_REQUEST, "this server does not answer for that host name\n")
            .into_response();
    }
    let auth = req.headers().get(header::AUTHORIZATION).map(HeaderValue::as_bytes);
    if !access.token_ok(req.uri().path(), auth) {
        let mut resp = (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"fdsync\""));
        return resp;
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(addr: &str) -> SocketAddr {
        addr.parse().unwrap()
    }

    #[test]
    fn only_the_address_reached_localhost_and_the_configured_hosts_are_answered() {
        let a = Access::new(vec!["status.example.org".into(), "page.example:8443".into()], None);
        let local = at("127.0.0.1:9184");
        for ok in [
            "127.0.0.1:9184",
            "localhost:9184",
            "LOCALHOST:9184",
            "status.example.org",
            "status.example.org:443",
            "page.example:8443",
        ] {
            assert!(a.host_allowed(ok, local), "{ok}");
        }
        for bad in [
            "attacker.example:9184",
            "attacker.example",
            "localhost",
            "localhost:80",
            "127.0.0.1",
            "127.0.0.1:80",
            "page.example",
            "page.example:80",
            "status.example.org.attacker.example",
            "",
        ] {
            assert!(!a.host_allowed(bad, local), "{bad}");
        }
        let v6 = at("[::1]:9184");
        assert!(a.host_allowed("[::1]:9184", v6) && a.host_allowed("localhost:9184", v6));
        assert!(!a.host_allowed("[::1]:1", v6));
    }

    #[test]
    fn with_a_token_every_route_but_healthz_needs_it_and_only_it() {
        let token = SecretString::from("s3cret-token");
        let a = Access::new(vec![], Some(&token));
        assert!(a.token_ok("/", Some(b"Bearer s3cret-token")));
        assert!(a.token_ok("/api/status", Some(b"bearer  s3cret-token ")));
        assert!(!a.token_ok("/", Some(b"Bearer s3cret-tokeN")));
        assert!(!a.token_ok("/", Some(b"Bearer s3cret-token-and-more")));
        assert!(!a.token_ok("/", Some(b"Basic s3cret-token")));
        assert!(!a.token_ok("/", Some(b"s3cret-token")));
        assert!(!a.token_ok("/files/1/report.csv", None));
        assert!(a.token_ok(HEALTHZ, None));
        assert!(!a.token_ok("/healthz/", None));
        let open = Access::new(vec![], None);
        assert!(open.token_ok("/", None));
        assert!(!format!("{a:?}").contains("s3cret"));
    }
}
