//! Who is calling: API key as Basic user name (the real Freshdesk method), legacy e-mail +
//! password when configured, OAuth bearer tokens (a simulator convenience for gateways), and the
//! configurable alternative header. Also the OAuth token store used by `routes::oauth`.
//!
//! Accepted credentials, in `Authorization`: `Basic base64(key:any)`, `Basic base64(email:pw)`
//! (only users in `SimConfig::basic_users`), `Bearer <access token>`. In the configured header
//! (`SimConfig::auth_header`, default `authorization`) additionally `Token <key>` and a bare
//! `<key>`. Anything else is 401 `invalid_credentials`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::app::{App, lock};
use crate::error::ApiError;

/// An issued authorisation code, waiting for its token exchange.
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: Option<String>,
}

/// Codes and tokens issued by the simulator's OAuth endpoints.
#[derive(Default)]
pub(crate) struct OAuthStore {
    pub codes: HashMap<String, AuthCode>,
    /// access token → (user id, expiry)
    pub access: HashMap<String, (u64, Instant)>,
    /// refresh token → (client id, user id)
    pub refresh: HashMap<String, (String, u64)>,
}

/// The authenticated agent.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Caller {
    pub user_id: u64,
    pub admin: bool,
}

/// An authenticated admin (403 `access_denied` for other agents).
pub(crate) struct Admin(pub Caller);

fn key_user(app: &App, key: &str) -> Option<u64> {
    let config = app.config();
    let store = lock(&app.store);
    if !key.is_empty() && key == config.api_key {
        Some(store.owner_id)
    } else if !key.is_empty() && key == config.agent_api_key {
        Some(store.agent_id)
    } else {
        None
    }
}

fn token_user(app: &App, token: &str) -> Option<u64> {
    let oauth = lock(&app.oauth);
    let (user, expires) = oauth.access.get(token)?;
    (Instant::now() < *expires).then_some(*user)
}

fn basic_user(app: &App, encoded: &str) -> Option<u64> {
    let bytes = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':').unwrap_or((text.as_str(), ""));
    if !user.contains('@') {
        return key_user(app, user);
    }
    let config = app.config();
    let ok = config.basic_users.iter().any(|u| u.email.eq_ignore_ascii_case(user) && u.password == password);
    drop(config);
    ok.then(|| lock(&app.store).owner_id)
}

/// Splits `Scheme rest` (scheme case-insensitive).
fn scheme<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    let (s, rest) = value.split_once(' ')?;
    s.eq_ignore_ascii_case(name).then_some(rest.trim())
}

fn credential_user(app: &App, value: &str, alternative: bool) -> Option<u64> {
    if let Some(b) = scheme(value, "Basic") {
        return basic_user(app, b);
    }
    if let Some(t) = scheme(value, "Bearer") {
        return token_user(app, t);
    }
    if !alternative {
        return None;
    }
    let raw = scheme(value, "Token").unwrap_or(value.trim());
    key_user(app, raw).or_else(|| token_user(app, raw))
}

/// Authenticates the request headers; 401 or 403 as Freshdesk would.
pub(crate) fn authenticate(app: &App, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let alt = app.config().auth_header.to_ascii_lowercase();
    let mut user = None;
    if let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
        user = credential_user(app, v, alt == "authorization");
    }
    if user.is_none()
        && alt != "authorization"
        && let Some(v) = headers.get(alt.as_str()).and_then(|v| v.to_str().ok())
    {
        user = credential_user(app, v, true);
    }
    let user_id = user.ok_or_else(ApiError::invalid_credentials)?;
    let store = lock(&app.store);
    let Some(found) = store.users.get(&user_id) else { return Err(ApiError::invalid_credentials()) };
    match &found.agent {
        Some(agent) => Ok(Caller { user_id, admin: agent.admin }),
        None => Err(ApiError::access_denied()),
    }
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        authenticate(app, &parts.headers)
    }
}

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let caller = authenticate(app, &parts.headers)?;
        if caller.admin { Ok(Admin(caller)) } else { Err(ApiError::access_denied()) }
    }
}

/// A random token with a readable prefix.
/// Not drawn from the seeded fault dice, so issuing tokens never shifts a fault sequence.
pub(crate) fn new_token(prefix: &str) -> String {
    let a = fastrand::u64(..);
    let b = fastrand::u64(..);
    format!("{prefix}-{a:016x}{b:016x}")
}
