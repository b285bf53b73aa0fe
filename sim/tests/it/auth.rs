//! Credentials: API key Basic auth, 401/403, the agent key, legacy e-mail + password, and the
//! configurable alternative header.

use fdsync_sim::{BasicUser, SimConfig};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_default, spawn_sim};

#[tokio::test]
async fn a_wrong_or_missing_key_gets_401_invalid_credentials() {
    let sim = spawn_default().await;
    let wrong = sim.client.get(sim.url("/api/v2/agents/me")).basic_auth("nope", Some("X"));
    let (status, headers, body) = sim.send(wrong).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"code":"invalid_credentials","message":"You have to be logged in to perform this action."})
    );
    assert!(headers.contains_key("x-ratelimit-remaining"), "a 401 still uses a credit");
    let (status, _, _) = sim.send(sim.client.get(sim.url("/api/v2/tickets"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_api_key_owner_is_a_seeded_admin_returned_by_agents_me() {
    let sim = spawn_default().await;
    let (status, _, body) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["id"].as_u64().unwrap() > u64::from(u32::MAX));
    assert_eq!(body["contact"]["email"], "admin@example.com");
}

#[tokio::test]
async fn the_agent_key_is_refused_on_admin_routes_only() {
    let sim = spawn_default().await;
    let as_agent = |req: reqwest::RequestBuilder| req.basic_auth("sim-agent-key", Some("X"));
    let list = as_agent(sim.client.get(sim.url("/api/v2/agents")));
    let (status, _, body) = sim.send(list).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "access_denied");
    let create = as_agent(sim.client.post(sim.url("/api/v2/agents"))).json(&json!({"email":"x@y.z"}));
    assert_eq!(sim.send(create).await.0, StatusCode::FORBIDDEN);
    let me = as_agent(sim.client.get(sim.url("/api/v2/agents/me")));
    let (status, _, body) = sim.send(me).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["contact"]["email"], "agent@example.com");
}

#[tokio::test]
async fn email_and_password_work_only_for_configured_users() {
    let users = vec![BasicUser { email: "boss@example.com".into(), password: "pw".into() }];
    let sim = spawn_sim(SimConfig { basic_users: users, ..SimConfig::default() }).await;
    let ok = sim.client.get(sim.url("/api/v2/agents/me")).basic_auth("boss@example.com", Some("pw"));
    assert_eq!(sim.send(ok).await.0, StatusCode::OK);
    let bad = sim.client.get(sim.url("/api/v2/agents/me")).basic_auth("boss@example.com", Some("no"));
    assert_eq!(sim.send(bad).await.0, StatusCode::UNAUTHORIZED);
    let default = spawn_default().await;
    let legacy =
        default.client.get(default.url("/api/v2/agents/me")).basic_auth("boss@example.com", Some("pw"));
    assert_eq!(default.send(legacy).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_and_bare_keys_are_accepted_only_in_the_configured_header() {
    let config = SimConfig { auth_header: "x-api-key".into(), ..SimConfig::default() };
    let sim = spawn_sim(config).await;
    let me = sim.url("/api/v2/agents/me");
    let bare = sim.client.get(&me).header("X-Api-Key", "sim-api-key");
    assert_eq!(sim.send(bare).await.0, StatusCode::OK);
    let token = sim.client.get(&me).header("X-Api-Key", "Token sim-api-key");
    assert_eq!(sim.send(token).await.0, StatusCode::OK);
    let wrong_header = sim.client.get(&me).header("Authorization", "Token sim-api-key");
    assert_eq!(sim.send(wrong_header).await.0, StatusCode::UNAUTHORIZED);
    let recorded = sim.handle.counters().last_request.unwrap();
    assert_eq!(recorded.auth_header, Some(("authorization".into(), "Token sim-api-key".into())));
}

#[tokio::test]
async fn the_raw_auth_header_of_each_request_is_recorded() {
    let sim = spawn_default().await;
    sim.send(sim.get("/api/v2/agents/me")).await;
    let recorded = sim.handle.counters().last_request.unwrap();
    let (name, value) = recorded.auth_header.unwrap();
    assert_eq!(name, "authorization");
    assert_eq!(value, "Basic c2ltLWFwaS1rZXk6WA=="); // sim-api-key:X
}
