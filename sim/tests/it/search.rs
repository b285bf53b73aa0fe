//! Ticket search: the quoted query, AND/OR, paging limits and the indexing lag.

use std::time::Duration;

use fdsync_sim::SimConfig;
use reqwest::StatusCode;

use crate::helpers::{spawn_default, spawn_sim, ticket, wait_until};

fn search_path(query: &str) -> String {
    let q: String = percent_encode(query);
    format!("/api/v2/search/tickets?query={q}")
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn search_finds_tickets_by_tag_and_status() {
    let sim = spawn_default().await;
    sim.create_ticket(ticket("s@example.com", "fds-abc")).await;
    sim.create_ticket(ticket("s@example.com", "fds-other")).await;
    let (status, _, body) = sim.send(sim.get(&search_path("\"tag:'FDS-abc' AND status:2\""))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 1);
    assert_eq!(body["results"][0]["id"], 1);
    let (_, _, body) = sim.send(sim.get(&search_path("\"tag:'fds-abc' OR tag:'fds-other'\""))).await;
    assert_eq!(body["total"], 2);
    let (_, _, body) = sim.send(sim.get(&search_path("\"priority:4\""))).await;
    assert_eq!(body["total"], 0);
}

#[tokio::test]
async fn unquoted_malformed_or_long_queries_and_bad_pages_get_400() {
    let sim = spawn_default().await;
    for q in ["tag:'x'", "\"tag:'x' AND\"", &format!("\"{}\"", "x".repeat(513))] {
        let (status, _, body) = sim.send(sim.get(&search_path(q))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(body["errors"][0]["field"], "query");
    }
    let (status, _, body) = sim.send(sim.get(&format!("{}&page=11", search_path("\"status:2\"")))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"][0]["message"], "It should be a Positive Integer less than or equal to 10");
    let (_, _, body) = sim.send(sim.get(&format!("{}&per_page=5", search_path("\"status:2\"")))).await;
    assert_eq!(body["errors"][0]["code"], "invalid_field");
}

#[tokio::test]
async fn a_new_ticket_appears_in_search_only_after_the_lag() {
    let sim = spawn_sim(SimConfig { search_lag: Duration::from_millis(400), ..SimConfig::default() }).await;
    sim.create_ticket(ticket("lag@example.com", "fds-lag")).await;
    let path = search_path("\"tag:'fds-lag'\"");
    let (_, _, body) = sim.send(sim.get(&path)).await;
    assert_eq!(body["total"], 0, "not indexed yet");
    let found = wait_until(3, async || sim.send(sim.get(&path)).await.2["total"] == 1).await;
    assert!(found);
}

#[tokio::test]
async fn an_agents_open_and_pending_tickets_are_found_with_a_total() {
    let sim = spawn_default().await;
    let agent = 43_000_000_777_u64;
    for (responder, status) in [(agent, 2), (agent, 3), (agent, 4), (agent + 1, 2), (agent, 5)] {
        let mut body = ticket("open@example.com", "fds-open");
        body["responder_id"] = serde_json::json!(responder);
        body["status"] = serde_json::json!(status);
        let (created, _) = sim.create_ticket(body).await;
        assert_eq!(created, StatusCode::CREATED);
    }
    let q = format!("\"agent_id:{agent} AND (status:2 OR status:3)\"");
    let (status, _, body) = sim.send(sim.get(&search_path(&q))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 2);
    let mut found: Vec<u64> =
        body["results"].as_array().unwrap().iter().map(|t| t["id"].as_u64().unwrap()).collect();
    found.sort_unstable();
    assert_eq!(found, [1, 2]);
}
