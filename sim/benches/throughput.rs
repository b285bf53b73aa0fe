//! Simulator throughput over loopback: 32 concurrent client tasks, a mix of ticket creates and
//! agent lookups by e-mail, faults off and a practically unlimited quota. Three rounds; prints
//! req/s and p50/p99 latency per round and the median round.
//!
//! Run: `cargo bench -p fdsync-sim --bench throughput` (env `SIM_BENCH_SECS`, `SIM_BENCH_TASKS`).

use std::time::{Duration, Instant};

use fdsync_sim::SimConfig;
use serde_json::json;

const ROUNDS: usize = 3;

struct Round {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Round {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// True when the answer has the expected status and its body was read completely.
async fn answered(result: reqwest::Result<reqwest::Response>, expected: u16) -> bool {
    match result {
        Ok(r) if r.status().as_u16() == expected => r.bytes().await.is_ok(),
        _ => false,
    }
}

async fn client_task(base: String, key: String, task: usize, until: Instant) -> (Vec<Duration>, usize) {
    let client = reqwest::Client::new();
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut i = 0usize;
    while Instant::now() < until {
        let start = Instant::now();
        let ok = if i.is_multiple_of(2) {
            let body = json!({
                "email": format!("bench{task}@example.com"), "subject": "bench", "description": "<p>bench</p>",
                "status": 2, "priority": 1, "tags": [format!("fds-{task}-{i}")],
            });
            let req = client.post(format!("{base}/api/v2/tickets")).basic_auth(&key, Some("X")).json(&body);
            answered(req.send().await, 201).await
        } else {
            let url = format!("{base}/api/v2/agents?email=agent{:04}%40example.com", (i + task) % 100 + 1);
            let req = client.get(url).basic_auth(&key, Some("X"));
            answered(req.send().await, 200).await
        };
        latencies.push(start.elapsed());
        errors += usize::from(!ok);
        i += 1;
    }
    (latencies, errors)
}

async fn round(tasks: usize, secs: u64) -> Round {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let config = SimConfig { rate: Some(10_000_000), agents: 100, ..SimConfig::default() };
    let sim = fdsync_sim::serve(listener, config, std::future::pending()).await;
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let handles: Vec<_> =
        (0..tasks).map(|t| tokio::spawn(client_task(sim.base_url(), sim.api_key(), t, until))).collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (lat, err) = h.await.expect("task");
        all.extend(lat);
        errors += err;
    }
    let elapsed = started.elapsed();
    sim.stop().await;
    all.sort();
    let pick = |q: f64| all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1))).copied();
    Round {
        requests: all.len(),
        errors,
        elapsed,
        p50: pick(0.50).unwrap_or_default(),
        p99: pick(0.99).unwrap_or_default(),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let tasks = usize::try_from(env_or("SIM_BENCH_TASKS", 32)).unwrap_or(32);
    let secs = env_or("SIM_BENCH_SECS", 4);
    println!(
        "fdsync-sim throughput: {tasks} tasks, {secs} s per round, mix 1:1 POST ticket / GET agent by email"
    );
    println!(
        "{:>6} {:>10} {:>8} {:>10} {:>10} {:>10}",
        "round", "requests", "errors", "req/s", "p50 ms", "p99 ms"
    );
    let mut rounds: Vec<Round> = Vec::new();
    for n in 1..=ROUNDS {
        let r = runtime.block_on(round(tasks, secs));
        println!(
            "{n:>6} {:>10} {:>8} {:>10.0} {:>10.2} {:>10.2}",
            r.requests,
            r.errors,
            r.rate(),
            r.p50.as_secs_f64() * 1e3,
            r.p99.as_secs_f64() * 1e3
        );
        rounds.push(r);
    }
    rounds.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
    let m = &rounds[ROUNDS / 2];
    println!(
        "median {:>10} {:>8} {:>10.0} {:>10.2} {:>10.2}",
        m.requests,
        m.errors,
        m.rate(),
        m.p50.as_secs_f64() * 1e3,
        m.p99.as_secs_f64() * 1e3
    );
}
