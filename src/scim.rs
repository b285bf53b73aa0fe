//! The SCIM 2.0 service provider (RFC 7643, RFC 7644) `fdsync run` serves when `[scim]` is
//! configured: Entra ID or Okta provision and deprovision Freshdesk agents of one connection
//! through fdsync's journal, guards and undo.
//!
//! - [`discovery`]: `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`;
//! - [`users`]: `/Users` over [`store`] (what the provider sees; deprovision, re-provision),
//!   reading from the [`directory`] and the journal, changing through [`change`] (a one-row
//!   file per change, run by the connection's engine); [`inactive`]: a user provisioned
//!   inactive is a contact until it is activated;
//! - [`mapping`] (agent ⇄ User), [`filter`] and [`patch`] (pure), [`error`] (the error schema).
//!
//! Served behind the status page's admission rules and limits ([`crate::http::serve_guarded`]:
//! `Host` allowlist, constant-time bearer token, header and request timeouts, connection cap),
//! with a 1 MiB body limit (413), over TLS (rustls) when `tls_cert_file` and `tls_key_file` are set.

pub(crate) mod change;
mod directory;
mod discovery;
mod error;
mod filter;
mod inactive;
mod mapping;
mod patch;
mod store;
mod users;

use crate::config::ScimSettings;
use crate::engine::Engine;
use crate::engine::ports::Api;
use crate::journal::Journal;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The largest request body (1 MiB); a larger one is 413.
pub const MAX_BODY: usize = 1 << 20;
/// Where the service lives under the listen address.
pub const PREFIX: &str = "/scim/v2";

/// What the handlers share.
pub(crate) struct Scim<A> {
    /// The journal on the SCIM connection.
    journal: Journal,
    /// The connection's engine: runs the changes, paces the reads.
    engine: Engine<A>,
    directory: directory::Directory,
    /// Serialises journaling a change ([`change::run`]), so concurrent copies of one request
    /// find one file.
    submit: tokio::sync::Mutex<()>,
}

/// `[scim]`'s TLS, read once at start (an unreadable certificate or key stops `fdsync run`).
pub struct Tls(tokio_rustls::TlsAcceptor);

/// Why `[scim]`'s certificate and key make no TLS configuration: what was being read, and the
/// cause (never the key's bytes).
#[derive(Debug, thiserror::Error)]
#[error("{what}: {cause}")]
pub struct TlsError {
    what: String,
    cause: String,
}

fn tls_error(what: impl Into<String>) -> impl FnOnce(&dyn std::fmt::Display) -> TlsError {
    let what = what.into();
    move |cause| TlsError { what, cause: cause.to_string() }
}

impl Tls {
    /// `None` without `tls_cert_file`/`tls_key_file`.
    pub fn load(settings: &ScimSettings) -> Result<Option<Tls>, TlsError> {
        settings.tls.as_ref().map(|(cert, key)| tls_acceptor(cert, key).map(Tls)).transpose()
    }
}

/// Serves `[scim]` on a bound listener until `shutdown`.
pub async fn serve<A: Api>(
    listener: tokio::net::TcpListener,
    settings: &ScimSettings,
    tls: Option<Tls>,
    journal: Journal,
    engine: Engine<A>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let tls = tls.map(|t| t.0);
    let access = crate::http::Access::new(settings.hosts.clone(), Some(&settings.token));
    let state = Arc::new(Scim {
        journal: journal.on_connection(&settings.connection),
        engine,
        directory: Default::default(),
        submit: Default::default(),
    });
    crate::http::serve_guarded(listener, router(state), access, tls, shutdown).await
}

fn router<A: Api>(state: Arc<Scim<A>>) -> axum::Router {
    let users = axum::Router::new()
        .route("/Users", get(users::list::<A>).post(users::create::<A>))
        .route("/Users/.search", axum::routing::post(users::search::<A>))
        .route(
            "/Users/{id}",
            get(users::get::<A>).put(users::replace::<A>).patch(users::patch::<A>).delete(users::delete::<A>),
        )
        .route("/ServiceProviderConfig", get(discovery::service_provider_config))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{id}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schema_list::<A>))
        .route("/Schemas/{id}", get(discovery::schema_one::<A>))
        // A search at the root (RFC 7644 §3.4.3): Users are the only resources.
        .route("/.search", axum::routing::post(users::search::<A>))
        .with_state(state);
    axum::Router::new()
        .nest(PREFIX, users)
        .fallback(|| async { error::ScimError::not_found("no such endpoint") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
}

/// The TLS acceptor of `tls_cert_file` (chain, PEM) and `tls_key_file` (PEM).
fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, TlsError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| tls_error(format!("reading scim.tls_cert_file {}", cert.display()))(&e))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| tls_error(format!("reading scim.tls_key_file {}", key.display()))(&e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error("setting up TLS")(&e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            tls_error("scim.tls_cert_file and scim.tls_key_file do not make a certificate and its key")(&e)
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// `{scheme}://{Host}/scim/v2`, for `meta.location`.
fn base(headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).unwrap_or("https");
    format!("{scheme}://{host}{PREFIX}")
}

fn scim_json(v: Value) -> Response {
    let mut resp = v.to_string().into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(error::SCIM_JSON));
    resp
}

fn list_response(resources: Vec<Value>, total: usize, start: usize) -> Response {
    scim_json(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    }))
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): `id`, `schemas` and `meta` are
/// always returned.
fn select(user: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let names = |s: Option<&str>| -> Vec<String> {
        s.map(|s| s.split(',').map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()).collect())
            .unwrap_or_default()
    };
    let (only, not) = (names(attributes), names(excluded));
    let Value::Object(obj) = user else { return user };
    let always = |k: &str| matches!(k, "id" | "schemas" | "meta");
    let top = |n: &str| n.rsplit_once(':').map_or(n, |(_, a)| a).split('.').next().unwrap_or("").to_string();
    let keep = |k: &str| {
        let k = k.to_ascii_lowercase();
        if always(&k) {
            return true;
        }
        let named = |list: &[String]| list.iter().any(|n| top(n) == k || *n == k);
        (only.is_empty() || named(&only)) && !named(&not)
    };
    Value::Object(obj.into_iter().filter(|(k, _)| keep(k)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_and_excluded_attributes_keep_id_schemas_and_meta() {
        let u = json!({"id":"1","schemas":[],"meta":{},"userName":"a","title":"t","emails":[]});
        let only = select(u.clone(), Some("userName,emails.value"), None);
        assert_eq!(only.as_object().unwrap().len(), 5, "{only}");
        let not = select(u, None, Some("title"));
        assert!(not.get("title").is_none() && not.get("userName").is_some());
    }
}
