//! The simulator never panics on input: random bodies, bad query strings, raw garbage on the
//! socket, odd headers; and reset/stop work.

use fdsync_sim::SimConfig;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{spawn_default, spawn_sim};

#[tokio::test]
async fn random_bodies_never_crash_the_server() {
    let sim = spawn_default().await;
    let mut rng = fastrand::Rng::with_seed(5);
    for i in 0..60 {
        let len = rng.usize(0..300);
        let body: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        let path =
            ["/api/v2/tickets", "/api/v2/agents", "/api/v2/tickets/1", "/api/v2/contacts/1/make_agent"]
                [i % 4];
        let method = if i % 3 == 0 { reqwest::Method::PUT } else { reqwest::Method::POST };
        let req = sim
            .client
            .request(method, sim.url(path))
            .basic_auth(&sim.key, Some("X"))
            .header("Content-Type", "application/json")
            .body(body);
        let status = req.send().await.unwrap().status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let req = sim
        .client
        .post(sim.url("/api/v2/tickets"))
        .basic_auth(&sim.key, Some("X"))
        .header("Content-Type", "application/json")
        .body(nested);
    assert_eq!(req.send().await.unwrap().status(), StatusCode::BAD_REQUEST);
    assert_eq!(sim.send(sim.get("/api/v2/agents/me")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_query_strings_get_400_not_a_crash() {
    let sim = spawn_default().await;
    for q in [
        "email=%zz",
        "per_page=-1",
        "page=99999999999999999999999",
        "updated_since=yesterday",
        "order_by=x",
        "&&&=",
        "email=%F0%28%8C%28",
        "requester_id=abc",
    ] {
        let (status, _, body) = sim.send(sim.get(&format!("/api/v2/tickets?{q}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
    }
    let (status, _, body) = sim.send(sim.get("/api/v2/tickets?email=%zz")).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_encoding")));
}

#[tokio::test]
async fn raw_garbage_on_the_socket_is_survived() {
    let sim = spawn_default().await;
    let addr = sim.base.trim_start_matches("http://").to_string();
    for garbage in [
        &b"\x00\x01\x02 not http\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n",
        b"POST /api/v2/tickets HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
    ] {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let _ = stream.write_all(garbage).await;
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), stream.read_to_end(&mut buf)).await;
    }
    let weird = sim.client.get(sim.url("/api/v2/agents/me")).header("Authorization", "Basic !!!not-base64");
    assert_eq!(sim.send(weird).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(sim.send(sim.get("/api/v2/agents/me")).await.0, StatusCode::OK);
}

#[tokio::test]
async fn reset_clears_data_and_counters_but_keeps_the_config() {
    let sim = spawn_sim(SimConfig { agents: 2, rate: Some(77), ..SimConfig::default() }).await;
    sim.create_ticket(crate::helpers::ticket("r@example.com", "r")).await;
    let resp = sim.client.post(sim.url("/_sim/reset")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let state = sim.handle.state();
    assert!(state.tickets.is_empty() && state.contacts.is_empty());
    assert_eq!(state.agents.len(), 4);
    assert_eq!(sim.handle.counters().api_requests, 0);
    let (_, h, _) = sim.send(sim.get("/api/v2/agents/me")).await;
    assert_eq!(h["x-ratelimit-total"], "77");
    let counters: serde_json::Value =
        sim.client.get(sim.url("/_sim/counters")).send().await.unwrap().json().await.unwrap();
    assert_eq!(counters["requests"]["GET /api/v2/agents/me 200"], 1);
}

#[tokio::test]
async fn stop_finishes_and_the_port_closes() {
    let sim = spawn_default().await;
    let url = sim.url("/api/v2/agents/me");
    assert_eq!(sim.send(sim.get("/api/v2/agents/me")).await.0, StatusCode::OK);
    let client = sim.client.clone();
    tokio::time::timeout(std::time::Duration::from_secs(10), sim.handle.stop()).await.expect("stop in time");
    let fresh = reqwest::Client::new();
    assert!(fresh.get(&url).send().await.is_err());
    drop(client);
}
