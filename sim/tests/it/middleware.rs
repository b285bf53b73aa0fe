//! The request interceptor and routing errors: 415, 406, invalid_json, 405 + Allow, empty 404,
//! oversized bodies, and the version header.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_default, ticket, wait_until};

#[tokio::test]
async fn a_post_without_json_content_type_gets_415() {
    let sim = spawn_default().await;
    let req = sim
        .client
        .post(sim.url("/api/v2/tickets"))
        .basic_auth(&sim.key, Some("X"))
        .header("Content-Type", "text/plain")
        .body("{}");
    let (status, _, body) = sim.send(req).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["code"], "invalid_content_type");
    assert_eq!(
        body["message"],
        "Content-Type header is set to text/plain. It should be set to application/json"
    );
}

#[tokio::test]
async fn json_with_a_charset_is_accepted() {
    let sim = spawn_default().await;
    let req = sim
        .client
        .post(sim.url("/api/v2/tickets"))
        .basic_auth(&sim.key, Some("X"))
        .header("Content-Type", "application/json; charset=utf-8")
        .body(ticket("a@example.com", "t1").to_string());
    assert_eq!(sim.send(req).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn an_accept_header_without_json_gets_406() {
    let sim = spawn_default().await;
    let (status, _, body) = sim.send(sim.get("/api/v2/agents/me").header("Accept", "text/html")).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert_eq!(body["code"], "invalid_accept_header");
    let (status, _, _) = sim.send(sim.get("/api/v2/agents/me").header("Accept", "*/*")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_json_gets_400_invalid_json() {
    let sim = spawn_default().await;
    let req = sim
        .client
        .post(sim.url("/api/v2/tickets"))
        .basic_auth(&sim.key, Some("X"))
        .header("Content-Type", "application/json")
        .body("{\"subject\": ");
    let (status, _, body) = sim.send(req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body, json!({"code":"invalid_json","message":"Request body has invalid json format"}));
}

#[tokio::test]
async fn a_wrong_method_on_a_real_route_gets_405_with_allow() {
    let sim = spawn_default().await;
    let req = sim.client.patch(sim.url("/api/v2/tickets")).basic_auth(&sim.key, Some("X"));
    let (status, headers, body) = sim.send(req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let allow = headers["allow"].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.starts_with("PATCH method is not allowed. It should be one of these method(s): "), "{msg}");
}

#[tokio::test]
async fn unknown_routes_and_records_get_404_with_an_empty_body() {
    let sim = spawn_default().await;
    for path in
        ["/api/v2/nothing", "/api/v2/tickets/999", "/api/v2/agents/12", "/api/v2/tickets/abc", "/other"]
    {
        let resp = sim.get(path).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!resp.headers().contains_key("x-freshdesk-api-version"));
        assert_eq!(resp.text().await.unwrap(), "", "{path}");
    }
}

#[tokio::test]
async fn a_body_over_the_cap_gets_413_and_the_server_lives_on() {
    let sim = spawn_default().await;
    let huge = format!("{{\"subject\":\"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let req = sim
        .client
        .post(sim.url("/api/v2/tickets"))
        .basic_auth(&sim.key, Some("X"))
        .header("Content-Type", "application/json")
        .body(huge);
    // The client may see the 413 or a closed connection (it is still writing when the server
    // answers); either way the server must have refused the body and created nothing.
    if let Ok(resp) = req.send().await {
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let refused =
        wait_until(20, async || sim.handle.counters().route_status("POST /api/v2/tickets", 413) == 1);
    assert!(refused.await, "{:?}", sim.handle.counters().requests);
    assert!(sim.handle.state().tickets.is_empty(), "an oversized body created a ticket");
    assert!(sim.handle.state().contacts.is_empty());
    // And it still serves: a small body right after is created.
    let (status, _) = sim.create_ticket(ticket("after@example.com", "t2")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(sim.handle.state().tickets.len(), 1);
}

#[tokio::test]
async fn answers_carry_the_api_version_header() {
    let sim = spawn_default().await;
    let (_, headers, _) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(headers["x-freshdesk-api-version"], "latest=v2; requested=v2");
}
