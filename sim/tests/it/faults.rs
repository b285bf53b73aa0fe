//! Faults: 5xx not applied, drop after commit (applied, no answer), reset (nothing applied, no
//! answer), latency, 429 storms, and no faults on /_sim.

use std::time::{Duration, Instant};

use fdsync_sim::SimConfig;
use reqwest::StatusCode;

use crate::helpers::{spawn_sim, ticket};

#[tokio::test]
async fn a_5xx_fault_answers_html_and_applies_nothing() {
    let sim = spawn_sim(SimConfig { fail_rate: 1.0, ..SimConfig::default() }).await;
    let resp = sim.post("/api/v2/tickets", &ticket("f@example.com", "f")).send().await.unwrap();
    assert!(matches!(resp.status().as_u16(), 502 | 503));
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(resp.text().await.unwrap().contains("<html>"));
    assert!(sim.handle.state().tickets.is_empty());
    assert_eq!(sim.handle.counters().faults_5xx, 1);
}

#[tokio::test]
async fn a_drop_applies_the_change_but_the_client_gets_no_status() {
    let sim = spawn_sim(SimConfig { drop_rate: 1.0, ..SimConfig::default() }).await;
    let result = sim.post("/api/v2/tickets", &ticket("drop@example.com", "fds-drop")).send().await;
    let err = result.expect_err("no HTTP answer at all");
    assert!(err.status().is_none());
    let state = sim.handle.state();
    assert_eq!(state.tickets.len(), 1, "the ticket was committed");
    assert_eq!(state.tickets[0].tags, ["monitoring", "fds-drop"]);
    assert_eq!(sim.handle.counters().drops, 1);
    let state_over_http = sim.client.get(sim.url("/_sim/state")).send().await.unwrap();
    let body: serde_json::Value = state_over_http.json().await.unwrap();
    assert_eq!(body["tickets"].as_array().unwrap().len(), 1, "/_sim is never faulted");
}

#[tokio::test]
async fn a_reset_closes_the_connection_before_anything_is_applied() {
    let sim = spawn_sim(SimConfig { reset_rate: 1.0, ..SimConfig::default() }).await;
    let result = sim.post("/api/v2/tickets", &ticket("reset@example.com", "r")).send().await;
    assert!(result.is_err());
    assert!(sim.handle.state().tickets.is_empty());
    assert!(sim.handle.state().contacts.is_empty());
    assert_eq!(sim.handle.counters().resets, 1);
}

#[tokio::test]
async fn faults_change_live_and_latency_delays_answers() {
    let sim = spawn_sim(SimConfig { fail_rate: 1.0, ..SimConfig::default() }).await;
    assert!(sim.send(sim.get("/api/v2/agents/me")).await.0.is_server_error());
    sim.handle.update(|c| {
        c.fail_rate = 0.0;
        c.latency_ms = Some((150, 150));
    });
    let start = Instant::now();
    assert_eq!(sim.send(sim.get("/api/v2/agents/me")).await.0, StatusCode::OK);
    assert!(start.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn a_429_storm_refuses_everything_for_its_period() {
    let sim = spawn_sim(SimConfig::default()).await;
    let patch = sim.client.patch(sim.url("/_sim/config")).json(&serde_json::json!({"storm_secs": 30}));
    assert_eq!(sim.send(patch).await.0, StatusCode::OK);
    let (status, h, _) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((29..=30).contains(&retry));
    sim.handle.update(|c| c.storm_until = None);
    assert_eq!(sim.send(sim.get("/api/v2/agents/me")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn the_same_seed_drops_the_same_requests() {
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let sim = spawn_sim(SimConfig { drop_rate: 0.5, seed: 9, ..SimConfig::default() }).await;
        let mut seen = Vec::new();
        for _ in 0..12 {
            seen.push(sim.get("/api/v2/agents/me").send().await.is_ok());
        }
        outcomes.push(seen);
    }
    assert_eq!(outcomes[0], outcomes[1]);
    assert!(outcomes[0].contains(&true) && outcomes[0].contains(&false));
}
