//! Simulator-only OAuth 2.0 (RFC 6749 + PKCE S256): `/oauth/authorize` approves at once and
//! redirects with a code; `/oauth/token` serves the authorization_code, refresh_token, password
//! and client_credentials grants. Real Freshdesk v2 takes API keys; this exists for gateways and
//! for testing fdsync's OAuth support. Every token request is recorded in the counters.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::{App, RecordedRequest, header_pairs, lock};
use crate::auth::{AuthCode, new_token};

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({ "error": error, "error_description": description });
    (status, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}

fn client_known(app: &App, id: &str, secret: Option<&str>) -> bool {
    let config = app.config();
    config.oauth_clients.iter().any(|c| c.client_id == id && secret.is_none_or(|s| s == c.client_secret))
}

pub(crate) async fn authorize(State(app): State<Arc<App>>, RawQuery(raw): RawQuery) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let Some(client_id) = get(&pairs, "client_id").filter(|c| client_known(&app, c, None)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client", "unknown client_id");
    };
    let Some(redirect_uri) = get(&pairs, "redirect_uri") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri is required");
    };
    if get(&pairs, "response_type") != Some("code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "response_type must be code",
        );
    }
    let challenge = get(&pairs, "code_challenge").map(str::to_string);
    let method = get(&pairs, "code_challenge_method").unwrap_or("plain");
    if challenge.is_some() && method != "S256" && method != "plain" {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "code_challenge_method must be S256");
    }
    let challenge = challenge.map(|c| if method == "plain" { format!("plain:{c}") } else { c });
    let code = new_token("code");
    let entry = AuthCode { client_id: client_id.into(), redirect_uri: redirect_uri.into(), challenge };
    lock(&app.oauth).codes.insert(code.clone(), entry);
    let mut back = vec![("code".to_string(), code)];
    if let Some(state) = get(&pairs, "state") {
        back.push(("state".into(), state.into()));
    }
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let target = format!("{redirect_uri}{sep}{}", serde_urlencoded::to_string(&back).unwrap_or_default());
    let mut resp = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// Client id and secret from HTTP Basic, else from the form.
fn client_auth(headers: &HeaderMap, form: &[(String, String)]) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if let Some((id, secret)) = basic.as_deref().and_then(|b| b.split_once(':')) {
        return (Some(id.to_string()), Some(secret.to_string()));
    }
    (get(form, "client_id").map(str::to_string), get(form, "client_secret").map(str::to_string))
}

fn pkce_ok(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
        (None, _) => true,
        (Some(c), Some(v)) => match c.strip_prefix("plain:") {
            Some(plain) => plain == v,
            None => URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == c,
        },
        (Some(_), None) => false,
    }
}

fn issue(app: &App, client_id: &str, user: u64, with_refresh: bool) -> Response {
    let ttl = app.config().token_ttl;
    let access = new_token("at");
    let mut oauth = lock(&app.oauth);
    oauth.access.insert(access.clone(), (user, Instant::now() + ttl));
    let mut body = json!({
        "access_token": access, "token_type": "Bearer", "expires_in": ttl.as_secs(),
    });
    if with_refresh {
        let refresh = new_token("rt");
        oauth.refresh.insert(refresh.clone(), (client_id.to_string(), user));
        body["refresh_token"] = json!(refresh);
    }
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
}

fn grant(app: &App, form: &[(String, String)], client_id: &str) -> Response {
    let bad_grant = |why: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", why);
    let owner = lock(&app.store).owner_id;
    match get(form, "grant_type") {
        Some("authorization_code") => {
            let code = get(form, "code").and_then(|c| lock(&app.oauth).codes.remove(c));
            let Some(code) = code.filter(|c| c.client_id == client_id) else {
                return bad_grant("unknown, used or foreign authorization code");
            };
            if get(form, "redirect_uri").is_some_and(|r| r != code.redirect_uri) {
                return bad_grant("redirect_uri does not match the authorization request");
            }
            if !pkce_ok(code.challenge.as_deref(), get(form, "code_verifier")) {
                return bad_grant("PKCE verification failed");
            }
            issue(app, client_id, owner, true)
        }
        Some("refresh_token") => {
            let old = get(form, "refresh_token").and_then(|r| lock(&app.oauth).refresh.remove(r));
            match old.filter(|(c, _)| c == client_id) {
                Some((_, user)) => issue(app, client_id, user, true),
                None => bad_grant("unknown or revoked refresh token"),
            }
        }
        Some("password") => {
            let (user, pw) = (get(form, "username").unwrap_or(""), get(form, "password").unwrap_or(""));
            let ok = app
                .config()
                .basic_users
                .iter()
                .any(|u| u.email.eq_ignore_ascii_case(user) && u.password == pw);
            if ok {
                issue(app, client_id, owner, true)
            } else {
                bad_grant("invalid resource owner credentials")
            }
        }
        Some("client_credentials") => issue(app, client_id, owner, false),
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "unsupported grant_type"),
    }
}

pub(crate) async fn token(State(app): State<Arc<App>>, headers: HeaderMap, body: Body) -> Response {
    let limit = app.config().max_body_bytes;
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request", "body too large");
    };
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let recorded = RecordedRequest {
        method: "POST".into(),
        path: "/oauth/token".into(),
        headers: header_pairs(&headers),
        form: form.clone(),
        ..RecordedRequest::default()
    };
    app.counters().token_requests.push(recorded);
    let (id, secret) = client_auth(&headers, &form);
    let Some(id) = id.filter(|id| client_known(&app, id, Some(secret.as_deref().unwrap_or("")))) else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed");
    };
    grant(&app, &form, &id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_the_rfc_7636_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_ok(Some(challenge), Some(verifier)));
        assert!(!pkce_ok(Some(challenge), Some("wrong")));
        assert!(!pkce_ok(Some(challenge), None));
    }
}
