//! What offboarding's handover (issue 24) costs in API calls, printed as a table (run with
//! `cargo bench --bench handover`): a file of leavers with 0, 1, 30, 31 and 350 open tickets
//! (repeated `FDSYNC_BENCH_LEAVERS / 5` times, default 10 leavers), half handing over to an agent
//! by e-mail, half to a group by name, run by the real engine against the simulator. The calls
//! are the simulator's own counters; the target is at most 1.05 calls per moved ticket besides
//! the search pages.

use fdsync::config::Settings;
use fdsync::domain::Action;
use fdsync::engine::pacer::{Pacer, PacerConfig};
use fdsync::engine::{Engine, EngineConfig, Mode, RunUntil};
use fdsync::freshdesk::Client;
use fdsync::journal::Journal;
use fdsync::pipeline::take;
use std::collections::BTreeMap;
use std::io::Write;

struct Measured {
    leavers: usize,
    moved: u64,
    calls: u64,
    searches: u64,
    by_route: BTreeMap<String, u64>,
    secs: f64,
}

async fn measure(leavers: usize) -> Measured {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let agents = u32::try_from(leavers + 1).unwrap();
    let sim_cfg = fdsync_sim::SimConfig { rate: Some(100_000_000), agents, ..Default::default() };
    let sim = fdsync_sim::serve(listener, sim_cfg, std::future::pending()).await;
    let http = reqwest::Client::new();
    let by_email: BTreeMap<String, u64> =
        sim.state().agents.iter().filter_map(|u| Some((u.email.clone()?, u.id))).collect();
    let sizes = [0usize, 1, 30, 31, 350];
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("leavers.csv");
    let mut w = std::fs::File::create(&csv).unwrap();
    writeln!(w, "email,successor,successor_group").unwrap();
    let mut open = 0u64;
    for i in 0..leavers {
        let email = format!("agent{:04}@example.com", i + 2);
        let (successor, group) = if i % 2 == 0 { ("agent0001@example.com", "") } else { ("", "Tier 1") };
        writeln!(w, "{email},{successor},{group}").unwrap();
        for _ in 0..sizes[i % sizes.len()] {
            let body = serde_json::json!({"email": "customer@example.com", "subject": "s", "description": "d",
                                          "priority": 1, "status": 2, "responder_id": by_email[&email]});
            let resp = http
                .post(format!("{}/api/v2/tickets", sim.base_url()))
                .basic_auth(sim.api_key(), Some("X"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
            open += 1;
        }
    }
    drop(w);
    let mut s = Settings::for_simulator(&sim.base_url(), &sim.api_key());
    s.state_dir = dir.path().join("state");
    s.limits.concurrency = 8;
    s.safety.max_deletes_percent = 0.0;
    let journal = Journal::open(&s.state_dir).unwrap();
    let taken = take(&journal, &csv, "leavers.csv", Some(Action::DeleteAgent), None).await.unwrap();
    let before = sim.counters();
    let engine = Engine::new(
        journal.clone(),
        Client::new(&s).unwrap(),
        Pacer::new(PacerConfig::from_limits(&s.limits)),
        EngineConfig::from_settings(&s, Mode::OneShot),
    );
    let started = std::time::Instant::now();
    let until = RunUntil::Files(vec![taken.file_id()]);
    engine.run(until, tokio_util::sync::CancellationToken::new()).await.unwrap();
    let secs = started.elapsed().as_secs_f64();
    let counters = sim.counters();
    let moved: u64 = counters.ticket_updates.values().sum();
    assert_eq!(moved, open, "every open ticket moved once");
    assert_eq!(counters.agents_deleted, leavers as u64, "every leaver deleted");
    let by_route: BTreeMap<String, u64> = counters
        .requests
        .iter()
        .filter(|(k, _)| !k.starts_with("POST /api/v2/tickets"))
        .map(|(k, v)| (k.clone(), v - before.requests.get(k.as_str()).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect();
    let searches = by_route.iter().filter(|(k, _)| k.contains("/search/")).map(|(_, v)| v).sum();
    Measured { leavers, moved, calls: counters.api_requests - before.api_requests, searches, by_route, secs }
}

fn main() {
    let leavers = std::env::var("FDSYNC_BENCH_LEAVERS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let m = rt.block_on(measure(leavers));
    let per_ticket = (m.calls - m.searches) as f64 / m.moved.max(1) as f64;
    println!(
        "| leavers | tickets moved | calls | search pages | calls per moved ticket besides the searches | seconds |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {} | {per_ticket:.3} | {:.1} |",
        m.leavers, m.moved, m.calls, m.searches, m.secs
    );
    println!();
    for (route, n) in &m.by_route {
        println!("  {route}: {n}");
    }
    assert!(per_ticket <= 1.05, "{per_ticket:.3} calls per moved ticket besides the searches (target 1.05)");
}
