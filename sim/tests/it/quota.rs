//! The quota: headers count down, 429 with Retry-After and no X-RateLimit headers, the window
//! resets, everything counts (401 too), include costs, sub-limits, live changes, competitor.

use std::time::Duration;

use fdsync_sim::{Plan, SimConfig};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::helpers::{spawn_sim, wait_until};

fn small(rate: u64, window_ms: u64) -> SimConfig {
    SimConfig { rate: Some(rate), window: Duration::from_millis(window_ms), ..SimConfig::default() }
}

fn header(h: &HeaderMap, name: &str) -> u64 {
    h[name].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn headers_count_down_then_429_with_retry_after_then_the_window_resets() {
    let sim = spawn_sim(small(5, 1500)).await;
    for expected in (0..5).rev() {
        let (status, h, _) = sim.send(sim.get("/api/v2/agents/me")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header(&h, "x-ratelimit-total"), 5);
        assert_eq!(header(&h, "x-ratelimit-remaining"), expected);
        assert_eq!(header(&h, "x-ratelimit-used-currentrequest"), 1);
    }
    let (status, h, body) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry = header(&h, "retry-after");
    assert!((1..=2).contains(&retry), "{retry}");
    assert!(!h.contains_key("x-ratelimit-remaining") && !h.contains_key("x-ratelimit-total"));
    assert_eq!(body["message"], "You have exceeded the limit of requests per minute");
    let reopened =
        wait_until(4, async || sim.send(sim.get("/api/v2/agents/me")).await.0 == StatusCode::OK).await;
    assert!(reopened);
    assert!(sim.handle.counters().rate_limited >= 1);
}

#[tokio::test]
async fn unauthorised_and_unknown_requests_use_credits_too() {
    let sim = spawn_sim(small(10, 60_000)).await;
    let bad = sim.client.get(sim.url("/api/v2/agents/me")).basic_auth("wrong", Some("X"));
    assert_eq!(sim.send(bad).await.0, StatusCode::UNAUTHORIZED);
    sim.send(sim.get("/api/v2/nowhere")).await;
    let (_, h, _) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(header(&h, "x-ratelimit-remaining"), 7);
}

#[tokio::test]
async fn list_includes_cost_two_extra_credits_each() {
    let sim = spawn_sim(small(100, 60_000)).await;
    let (status, h, _) = sim.send(sim.get("/api/v2/tickets?include=requester,stats")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&h, "x-ratelimit-used-currentrequest"), 5);
    assert_eq!(header(&h, "x-ratelimit-remaining"), 95);
}

#[tokio::test]
async fn a_spent_sub_limit_refuses_its_class_only() {
    let sim = spawn_sim(SimConfig { plan: Plan::Growth, ..SimConfig::default() }).await;
    for _ in 0..20 {
        assert_eq!(sim.send(sim.get("/api/v2/tickets")).await.0, StatusCode::OK);
    }
    assert_eq!(sim.send(sim.get("/api/v2/tickets")).await.0, StatusCode::TOO_MANY_REQUESTS);
    let (status, h, _) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&h, "x-ratelimit-total"), 200);
}

#[tokio::test]
async fn the_plan_and_rate_change_live() {
    let sim = spawn_sim(SimConfig::default()).await;
    let (_, h, _) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(header(&h, "x-ratelimit-total"), 400);
    sim.handle.update(|c| c.plan = Plan::Enterprise);
    let (_, h, _) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(header(&h, "x-ratelimit-total"), 700);
    let patch = sim.client.patch(sim.url("/_sim/config")).json(&serde_json::json!({"rate": 3}));
    let (status, _, view) = sim.send(patch).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(view["limits"]["total"], 3);
    let (_, h, _) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(header(&h, "x-ratelimit-remaining"), 0, "three requests used the new budget of three");
    assert_eq!(sim.send(sim.get("/api/v2/agents/me")).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_competitor_spends_the_shared_quota_gradually() {
    let sim = spawn_sim(SimConfig { competitor: 1000, ..small(10_000, 2000) }).await;
    let started = wait_until(3, async || sim.handle.counters().competitor_spent >= 20).await;
    assert!(started);
    let early = sim.handle.counters().competitor_spent;
    assert!(early < 600, "spread over the window, not all at once: {early}");
    let (_, h, _) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert!(header(&h, "x-ratelimit-remaining") < 10_000 - 20);
}
