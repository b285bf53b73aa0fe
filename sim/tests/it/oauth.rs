//! The simulator's OAuth 2.0 endpoints: authorization code with PKCE, refresh, password and
//! client credentials grants, errors, expiry, revocation, and recording of token requests.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fdsync_sim::{BasicUser, SimConfig};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{TestSim, spawn_default, spawn_sim, wait_until};

async fn token(sim: &TestSim, params: &[(&str, &str)]) -> (StatusCode, Value) {
    let body = serde_urlencoded::to_string(params).unwrap();
    let req = sim
        .client
        .post(sim.url("/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Extra", "1")
        .body(body);
    let (status, _, json) = sim.send(req).await;
    (status, json)
}

async fn authorize(sim: &TestSim, challenge: &str) -> String {
    let path = format!(
        "/oauth/authorize?response_type=code&client_id=sim-client&redirect_uri=http%3A%2F%2Flocalhost%2Fcb\
         &state=xyz&code_challenge={challenge}&code_challenge_method=S256&scope=all"
    );
    let resp = sim.client.get(sim.url(&path)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with("http://localhost/cb?code=") && location.ends_with("&state=xyz"),
        "{location}"
    );
    let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap();
    code.to_string()
}

async fn me_with(sim: &TestSim, access: &str) -> StatusCode {
    sim.send(sim.client.get(sim.url("/api/v2/agents/me")).bearer_auth(access)).await.0
}

const SECRET: [(&str, &str); 2] = [("client_id", "sim-client"), ("client_secret", "sim-secret")];

#[tokio::test]
async fn the_code_flow_with_pkce_issues_working_bearer_tokens() {
    let sim = spawn_default().await;
    let verifier = "a-long-random-verifier-string-of-43-chars-xx";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let code = authorize(&sim, &challenge).await;
    let mut params = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://localhost/cb"),
        ("code_verifier", verifier),
    ];
    params.extend(SECRET);
    let (status, body) = token(&sim, &params).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["refresh_token"].is_string());
    assert_eq!(me_with(&sim, body["access_token"].as_str().unwrap()).await, StatusCode::OK);
    let (status, again) = token(&sim, &params).await;
    assert_eq!((status, again["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
    let recorded = sim.handle.counters().token_requests;
    assert_eq!(recorded[0].header("x-extra"), Some("1"));
    assert_eq!(recorded[0].param("code_verifier"), Some(verifier));
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_invalid_grant() {
    let sim = spawn_default().await;
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(b"right"));
    let code = authorize(&sim, &challenge).await;
    let mut params =
        vec![("grant_type", "authorization_code"), ("code", code.as_str()), ("code_verifier", "wrong")];
    params.extend(SECRET);
    let (status, body) = token(&sim, &params).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_can_be_revoked() {
    let sim = spawn_default().await;
    let mut params = vec![("grant_type", "client_credentials")];
    params.extend(SECRET);
    let (_, cc) = token(&sim, &params).await;
    assert!(cc.get("refresh_token").is_none(), "client_credentials has no refresh token");
    let users = vec![BasicUser { email: "boss@example.com".into(), password: "pw".into() }];
    sim.handle.update(|c| c.basic_users = users);
    let mut params = vec![("grant_type", "password"), ("username", "boss@example.com"), ("password", "pw")];
    params.extend(SECRET);
    let (status, first) = token(&sim, &params).await;
    assert_eq!(status, StatusCode::OK);
    let refresh = first["refresh_token"].as_str().unwrap().to_string();
    let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())];
    params.extend(SECRET);
    let (status, second) = token(&sim, &params).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(token(&sim, &params).await.0, StatusCode::BAD_REQUEST, "the old refresh token is spent");
    assert_eq!(sim.send(sim.client.post(sim.url("/_sim/revoke"))).await.0, StatusCode::NO_CONTENT);
    let newer = second["refresh_token"].as_str().unwrap();
    let mut params = vec![("grant_type", "refresh_token"), ("refresh_token", newer)];
    params.extend(SECRET);
    let (status, body) = token(&sim, &params).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn a_bad_client_secret_is_invalid_client_and_basic_client_auth_works() {
    let sim = spawn_default().await;
    let (status, body) = token(
        &sim,
        &[("grant_type", "client_credentials"), ("client_id", "sim-client"), ("client_secret", "no")],
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
    let req = sim
        .client
        .post(sim.url("/oauth/token"))
        .basic_auth("sim-client", Some("sim-secret"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials");
    assert_eq!(sim.send(req).await.0, StatusCode::OK);
}

#[tokio::test]
async fn an_expired_access_token_gets_401() {
    let sim = spawn_sim(SimConfig { token_ttl: Duration::from_millis(300), ..SimConfig::default() }).await;
    let mut params = vec![("grant_type", "client_credentials")];
    params.extend(SECRET);
    let (_, body) = token(&sim, &params).await;
    let access = body["access_token"].as_str().unwrap().to_string();
    assert_eq!(me_with(&sim, &access).await, StatusCode::OK);
    assert!(wait_until(3, async || me_with(&sim, &access).await == StatusCode::UNAUTHORIZED).await);
}
