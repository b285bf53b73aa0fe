//! Faults: 5xx not applied, drop after commit (applied, no answer), reset (nothing applied, no
//! answer), 502/504 after commit (applied, HTML answer), late apply (applied after the client gave
//! up), latency, 429 storms, and no faults on /_sim.

use std::time::{Duration, Instant};

use fdsync_sim::SimConfig;
use reqwest::StatusCode;

use crate::helpers::{spawn_default, spawn_sim, ticket, wait_until};

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

#[tokio::test]
async fn a_retried_agent_create_after_a_drop_gets_409_with_the_agent_id() {
    let sim = spawn_sim(SimConfig { drop_rate: 1.0, ..SimConfig::default() }).await;
    let body = serde_json::json!({"email": "lost@example.com", "ticket_scope": 1, "name": "Lost Answer"});
    assert!(sim.post("/api/v2/agents", &body).send().await.is_err());
    sim.handle.update(|c| c.drop_rate = 0.0);
    let (status, _, got) = sim.send(sim.post("/api/v2/agents", &body)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let state = sim.handle.state();
    let agent = state.agents.iter().find(|a| a.email.as_deref() == Some("lost@example.com")).unwrap();
    assert_eq!(got["errors"][0]["additional_info"]["agent_id"], agent.id);
}

#[tokio::test]
async fn a_late_apply_lands_after_the_client_has_timed_out() {
    let config = SimConfig { late_rate: 1.0, late_delay: Duration::from_secs(3), ..SimConfig::default() };
    let sim = spawn_sim(config).await;
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().unwrap();
    let req = impatient.post(sim.url("/api/v2/tickets")).basic_auth(&sim.key, Some("X"));
    let err = req.json(&ticket("late@example.com", "fds-late")).send().await.expect_err("no answer in time");
    assert!(err.is_timeout(), "{err}");
    // The client gave up well before the hold ends: nothing is there yet.
    assert!(sim.handle.state().tickets.is_empty(), "applied before the client gave up");
    assert_eq!(sim.handle.counters().late_holds, 1, "held");
    assert!(wait_until(20, async || sim.handle.counters().late_applies == 1).await, "never applied");
    let state: serde_json::Value =
        sim.client.get(sim.url("/_sim/state")).send().await.unwrap().json().await.unwrap();
    let tickets = state["tickets"].as_array().unwrap();
    assert_eq!(tickets.len(), 1, "the change landed once the client was gone: {state}");
    assert_eq!(tickets[0]["tags"], serde_json::json!(["monitoring", "fds-late"]));
    assert_eq!(sim.handle.counters().tickets_created, 1);
}

#[tokio::test]
async fn late_apply_and_5xx_after_commit_are_set_live_and_spare_reads() {
    let sim = spawn_default().await;
    let patch = serde_json::json!({"late_rate": 1, "late_ms": 30000, "fail_after_rate": 0});
    let (status, _, view) = sim.send(sim.client.patch(sim.url("/_sim/config")).json(&patch)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((view["late_rate"].as_f64(), view["late_ms"].as_u64()), (Some(1.0), Some(30000)));
    // A read is never held: it answers long before the 30 s hold would end.
    let quick = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let me = quick.get(sim.url("/api/v2/agents/me")).basic_auth(&sim.key, Some("X")).send().await;
    assert_eq!(me.expect("a read is answered").status(), StatusCode::OK);
    // A change is held.
    let body = serde_json::json!({"email": "held@example.com", "ticket_scope": 1, "name": "Held"});
    let held = quick.post(sim.url("/api/v2/agents")).basic_auth(&sim.key, Some("X")).json(&body);
    let short = tokio::time::timeout(Duration::from_millis(1500), held.send()).await;
    assert!(short.is_err(), "a change answered although late_rate is 1: {short:?}");
    let patch = serde_json::json!({"late_rate": 0, "fail_after_rate": 1});
    let (_, _, view) = sim.send(sim.client.patch(sim.url("/_sim/config")).json(&patch)).await;
    assert_eq!((view["late_rate"].as_f64(), view["fail_after_rate"].as_f64()), (Some(0.0), Some(1.0)));
    let body = serde_json::json!({"email": "gw@example.com", "ticket_scope": 1, "name": "Gateway"});
    let (status, _, _) = sim.send(sim.post("/api/v2/agents", &body)).await;
    assert!(matches!(status.as_u16(), 502 | 504), "{status}");
    assert_eq!(sim.send(sim.get("/api/v2/agents/me")).await.0, StatusCode::OK, "reads are spared");
}

#[tokio::test]
async fn a_502_or_504_after_commit_answers_html_but_the_change_is_applied() {
    let sim = spawn_sim(SimConfig { fail_after_rate: 1.0, ..SimConfig::default() }).await;
    for i in 0..4 {
        let resp = sim.post("/api/v2/tickets", &ticket("gw@example.com", &format!("fds-gw{i}"))).send().await;
        let resp = resp.expect("an answer");
        assert!(matches!(resp.status().as_u16(), 502 | 504), "{}", resp.status());
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(!resp.headers().contains_key("x-ratelimit-total"), "a gateway page, not the API's");
        assert!(resp.text().await.unwrap().contains("<html>"));
    }
    let tickets = sim.handle.state().tickets;
    assert_eq!(tickets.len(), 4, "every change was committed behind the gateway error");
    assert!((0..4).all(|i| tickets.iter().any(|t| t.tags.contains(&format!("fds-gw{i}")))));
    let c = sim.handle.counters();
    assert_eq!((c.faults_5xx_after, c.faults_5xx, c.tickets_created), (4, 0, 4));
    // An agent create behind a 5xx is there too: sending it again is a 409 naming it.
    let body = serde_json::json!({"email": "gw.agent@example.com", "ticket_scope": 1, "name": "Gw Agent"});
    assert!(sim.send(sim.post("/api/v2/agents", &body)).await.0.is_server_error());
    sim.handle.update(|c| c.fail_after_rate = 0.0);
    let (status, _, got) = sim.send(sim.post("/api/v2/agents", &body)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{got}");
    let state = sim.handle.state();
    let agent = state.agents.iter().find(|a| a.email.as_deref() == Some("gw.agent@example.com")).unwrap();
    assert_eq!(got["errors"][0]["additional_info"]["agent_id"], agent.id);
}
