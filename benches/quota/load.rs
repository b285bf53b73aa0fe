//! The two loads a scenario runs: fdsync's library end to end (take the file, run the engine)
//! and the hand-written sequential client users write (POST after POST, sleep on 429), plus the
//! offboarding baseline. It only generates load; it must not sample or judge it (`trace.rs`).

use super::{OFFBOARD_ROWS, RESERVE, WINDOW, Work};
use fdsync::config::Settings;
use fdsync::domain::Action;
use fdsync::engine::pacer::{Pacer, PacerConfig};
use fdsync::engine::{Engine, EngineConfig, RunUntil};
use fdsync::freshdesk::Client;
use fdsync::journal::Journal;
use fdsync::pipeline::{Taken, take};
use fdsync_sim::SimHandle;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

fn settings(dir: &Path, base_url: &str, api_key: &str) -> Settings {
    let mut s = Settings::for_simulator(base_url, api_key);
    s.state_dir = dir.to_path_buf();
    s.limits.requests_per_window = 0;
    s.limits.window = WINDOW;
    s.limits.reserve_percent = RESERVE as u8;
    s.limits.concurrency = 32;
    s.safety.max_deletes_per_file = 1_000_000;
    s.safety.max_deletes_percent = 0.0;
    s
}

pub(crate) fn input_csv(work: Work, rows: usize) -> String {
    let mut s = String::new();
    match work {
        Work::Tickets => {
            s.push_str("email,subject,description,priority,status\n");
            for i in 0..rows {
                s.push_str(&format!("user{}@example.com,Quota bench {i},Body {i},Low,Open\n", i % 97));
            }
        }
        Work::Agents => {
            s.push_str("email,name,ticket_scope\n");
            for i in 0..rows {
                s.push_str(&format!("new{i:06}@example.com,New Agent {i},1\n"));
            }
        }
    }
    s
}

/// fdsync's library end to end: take the file in, run the engine until cancelled.
pub(crate) async fn fdsync_load(sim: Arc<SimHandle>, cancel: CancellationToken, csv: String, action: Action) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("input.csv");
    std::fs::write(&path, csv).expect("write input");
    let s = settings(&dir.path().join("state"), &sim.base_url(), &sim.api_key());
    let journal = Journal::open(&s.state_dir).expect("journal");
    let taken = take(&journal, &path, "input.csv", Some(action), None).await.expect("take");
    assert!(matches!(taken, Taken::New { .. }), "{taken:?}");
    let client = Client::new(&s).expect("client");
    let pacer = Pacer::new(PacerConfig::from_limits(&s.limits));
    let engine =
        Engine::new(journal, client, pacer, EngineConfig::from_settings(&s, fdsync::engine::Mode::OneShot));
    engine.run(RunUntil::Files(vec![taken.file_id()]), cancel).await.expect("run");
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("reqwest")
}

/// Sends one request; on 429 sleeps `Retry-After` and sends it again. Returns the final answer.
async fn send_retrying(
    make: impl Fn() -> reqwest::RequestBuilder,
    cancel: &CancellationToken,
) -> Option<reqwest::Response> {
    loop {
        let resp = make().send().await.ok()?;
        if resp.status().as_u16() != 429 {
            return Some(resp);
        }
        let secs = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(1);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
            _ = cancel.cancelled() => return None,
        }
    }
}

/// The tool users write by hand: one POST after another, Basic auth, sleep on 429.
pub(crate) async fn baseline_load(sim: Arc<SimHandle>, cancel: CancellationToken, work: Work) {
    let (http, base, key) = (http(), sim.base_url(), sim.api_key());
    let mut i = 0u64;
    while !cancel.is_cancelled() {
        let (route, body) = match work {
            Work::Tickets => (
                "tickets",
                serde_json::json!({"email": format!("user{}@example.com", i % 97), "subject": format!("Baseline {i}"),
                    "description": "Body", "priority": 1, "status": 2}),
            ),
            Work::Agents => (
                "agents",
                serde_json::json!({"email": format!("base{i:06}@example.com"), "name": format!("Base {i}"), "ticket_scope": 1}),
            ),
        };
        let url = format!("{base}/api/v2/{route}");
        if send_retrying(|| http.post(&url).basic_auth(&key, Some("X")).json(&body), &cancel).await.is_none()
        {
            break;
        }
        i += 1;
    }
}

pub(crate) fn csv_action(work: Work) -> Action {
    if work == Work::Tickets { Action::CreateTicket } else { Action::CreateAgent }
}

/// The hand-written offboarding: look each agent up by email, then delete it by id.
pub(crate) async fn baseline_offboard(sim: &SimHandle) {
    let (http, base, key) = (http(), sim.base_url(), sim.api_key());
    let never = CancellationToken::new();
    for i in 1..=OFFBOARD_ROWS {
        let url = format!("{base}/api/v2/agents?email=agent{i:04}@example.com");
        let Some(resp) = send_retrying(|| http.get(&url).basic_auth(&key, Some("X")), &never).await else {
            continue;
        };
        let found: serde_json::Value = resp.json().await.unwrap_or_default();
        let Some(id) = found.pointer("/0/id").and_then(|v| v.as_u64()) else { continue };
        let url = format!("{base}/api/v2/agents/{id}");
        send_retrying(|| http.delete(&url).basic_auth(&key, Some("X")), &never).await;
    }
}
