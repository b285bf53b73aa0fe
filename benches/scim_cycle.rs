//! What an identity provider's provisioning cycle costs in Freshdesk calls (issue 25): the SCIM
//! service over a simulator with `users` agents, and a cycle in Entra's shape (one
//! `GET /Users?filter=userName eq "…"` per user in scope, all unchanged), then a second cycle
//! within the directory's age. Goal: one cycle over 1,000 unchanged users ≤ 12 calls. Run with
//! `cargo bench --bench scim_cycle` (`FDSYNC_BENCH_USERS` sets the users, default 1000).

use fdsync::config::{ScimSettings, Settings};
use fdsync::engine::pacer::{Pacer, PacerConfig};
use fdsync::engine::{Engine, EngineConfig, Mode};
use fdsync::freshdesk::Client;
use fdsync::journal::Journal;
use std::time::Instant;

const TOKEN: &str = "bench-token";

async fn cycle(http: &reqwest::Client, base: &str, users: usize) -> usize {
    let mut found = 0;
    for n in 1..=users {
        let filter = format!("userName eq \"agent{n:04}@example.com\"");
        let q: String = url::form_urlencoded::byte_serialize(filter.as_bytes()).collect();
        let resp = http.get(format!("{base}/Users?filter={q}")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: serde_json::Value = resp.json().await.unwrap();
        found += body["totalResults"].as_u64().unwrap() as usize;
    }
    found
}

fn main() {
    let users: usize = std::env::var("FDSYNC_BENCH_USERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let agents = u32::try_from(users).unwrap();
        let sim_cfg = fdsync_sim::SimConfig { rate: Some(100_000_000), agents, ..Default::default() };
        let sim = fdsync_sim::serve(listener, sim_cfg, std::future::pending()).await;
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::for_simulator(&sim.base_url(), &sim.api_key());
        s.state_dir = dir.path().join("state");
        let journal = Journal::open(&s.state_dir).unwrap();
        let engine = Engine::new(
            journal.on_connection("default"),
            Client::new(&s).unwrap(),
            Pacer::new(PacerConfig::from_limits(&s.limits)),
            EngineConfig::from_settings(&s, Mode::Daemon),
        );
        let scim_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = scim_listener.local_addr().unwrap();
        let settings = ScimSettings {
            listen: addr,
            connection: "default".into(),
            token: TOKEN.to_string().into(),
            tls: None,
            hosts: vec![],
            notify_quiet: fdsync::config::SCIM_NOTIFY_QUIET,
        };
        let stop = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn({
            let stop = stop.clone();
            async move { fdsync::scim::serve(scim_listener, &settings, None, journal, engine, stop).await }
        });
        let http = reqwest::Client::new();
        let base = format!("http://{addr}/scim/v2");
        println!("| cycle | users | found | Freshdesk calls | calls per user | wall |");
        println!("|---|---:|---:|---:|---:|---:|");
        let mut first = 0;
        for name in ["first (directory listed)", "second (within its age)"] {
            let before = sim.counters().api_requests;
            let t = Instant::now();
            let found = cycle(&http, &base, users).await;
            let calls = sim.counters().api_requests - before;
            if first == 0 {
                first = calls;
            }
            println!(
                "| {name} | {users} | {found} | {calls} | {:.3} | {:.1} s |",
                calls as f64 / users as f64,
                t.elapsed().as_secs_f64()
            );
        }
        stop.cancel();
        let _ = server.await;
        let goal = (users as u64).div_ceil(100) + 2;
        assert!(first <= goal, "one cycle over {users} unchanged users cost {first} calls (goal ≤ {goal})");
    });
}
