//! What an offboarding preview (`fdsync plan`) costs in API calls per row, printed as a table
//! (run with `cargo bench --bench preview`). A simulator with `rows` + 500 agents; the file
//! names `rows` of them; one in five has an open ticket assigned (so the open-ticket counts have
//! something to count), and a second account has more open tickets than one search can list
//! (so the counts are searched in batches). The calls are the simulator's own counters.
//!
//! `FDSYNC_BENCH_ROWS` sets the rows (default 1000).

use fdsync::config::Settings;
use fdsync::domain::Action;
use fdsync::engine::pacer::{Pacer, PacerConfig};
use fdsync::engine::{EngineConfig, Mode, Preview};
use fdsync::freshdesk::Client;
use fdsync::journal::Journal;
use fdsync::pipeline::take;
use std::collections::BTreeMap;
use std::io::Write;

struct Measured {
    rows: usize,
    open: usize,
    calls: u64,
    by_route: BTreeMap<String, u64>,
}

async fn measure(rows: usize, open_every: usize, extra_open: usize) -> Measured {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let agents = u32::try_from(rows + 500).unwrap();
    let sim_cfg = fdsync_sim::SimConfig { rate: Some(100_000_000), agents, ..Default::default() };
    let sim = fdsync_sim::serve(listener, sim_cfg, std::future::pending()).await;
    let http = reqwest::Client::new();
    let by_email: BTreeMap<String, u64> =
        sim.state().agents.iter().filter_map(|u| Some((u.email.clone()?, u.id))).collect();
    let leavers: Vec<String> = (1..=rows).map(|n| format!("agent{n:04}@example.com")).collect();
    let mut open = 0;
    for (i, email) in leavers.iter().enumerate() {
        let assigned = i % open_every == 0 || i < extra_open;
        if assigned {
            let body = serde_json::json!({"email": "customer@example.com", "subject": "s", "description": "d",
                                          "priority": 1, "status": 2, "responder_id": by_email[email]});
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
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("leavers.csv");
    let mut w = std::fs::File::create(&csv).unwrap();
    writeln!(w, "email").unwrap();
    leavers.iter().for_each(|e| writeln!(w, "{e}").unwrap());
    let mut s = Settings::for_simulator(&sim.base_url(), &sim.api_key());
    s.state_dir = dir.path().join("state");
    s.limits.concurrency = 8;
    let journal = Journal::open(&s.state_dir).unwrap();
    let taken = take(&journal, &csv, "leavers.csv", Some(Action::DeleteAgent), None).await.unwrap();
    let before = sim.counters().api_requests;
    let engine = Preview::new(
        journal.clone(),
        Client::new(&s).unwrap(),
        Pacer::new(PacerConfig::from_limits(&s.limits)),
        EngineConfig::from_settings(&s, Mode::OneShot),
    );
    engine.preview(taken.file_id()).await.unwrap().unwrap();
    let counters = sim.counters();
    let by_route = counters
        .requests
        .iter()
        .filter(|(k, _)| !k.starts_with("POST /api/v2/tickets"))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    Measured { rows, open, calls: counters.api_requests - before, by_route }
}

fn main() {
    let rows = std::env::var("FDSYNC_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let cases = [("open tickets fit one search", 5, 0), ("more open tickets than one search lists", 5, 400)];
    println!("| case | rows | open tickets | calls | calls per row |");
    println!("|---|---:|---:|---:|---:|");
    let mut details = Vec::new();
    for (name, every, extra) in cases {
        let m = rt.block_on(measure(rows, every, extra.min(rows)));
        println!(
            "| {name} | {} | {} | {} | {:.3} |",
            m.rows,
            m.open,
            m.calls,
            m.calls as f64 / m.rows as f64
        );
        details.push((name, m.by_route));
    }
    for (name, routes) in details {
        println!("\n{name}:");
        for (route, n) in routes {
            println!("  {route}: {n}");
        }
    }
}
