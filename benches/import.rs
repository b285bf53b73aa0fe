//! Import throughput, printed as a table (run with `cargo bench --bench import`):
//! 1. rows/s parsed and journaled, and peak RSS, for a generated 1 M-row tickets CSV;
//! 2. ops/s against a zero-latency, unlimited simulator (fdsync must never be the bottleneck).
//!
//! `FDSYNC_BENCH_ROWS` and `FDSYNC_BENCH_OPS` shrink the runs; `FDSYNC_BENCH_RUNS` repeats them
//! (medians are printed).

use fdsync::config::Settings;
use fdsync::engine::pacer::{Pacer, PacerConfig};
use fdsync::engine::{Engine, EngineConfig, RunEnd, RunUntil};
use fdsync::freshdesk::Client;
use fdsync::journal::Journal;
use fdsync::pipeline::{Taken, take};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn write_csv(path: &Path, rows: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    writeln!(w, "email,subject,description,priority,status,tags,cf_host").unwrap();
    for i in 0..rows {
        writeln!(
            w,
            "user{}@example.com,Disk full on db-{i},Disk usage 98% on /var at {i},High,Open,monitoring;nightly,db-{}",
            i % 997,
            i % 50
        )
        .unwrap();
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn settings(dir: &Path, base_url: &str, api_key: &str) -> Settings {
    let mut s = Settings::for_simulator(base_url, api_key);
    s.state_dir = dir.to_path_buf();
    s.limits.concurrency = 32;
    s.safety.max_deletes_per_file = 1_000_000;
    s.safety.max_deletes_percent = 0.0;
    s
}

async fn journal_rate(rows: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    write_csv(&csv, rows);
    let s = settings(&dir.path().join("state"), "http://127.0.0.1:9", "k");
    let journal = Journal::open(&s.state_dir).unwrap();
    let t = Instant::now();
    let taken =
        take(&journal, &csv, "big.csv", Some(fdsync::domain::Action::CreateTicket), None).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(matches!(taken, Taken::New { rows: r, .. } if r as usize == rows), "{taken:?}");
    rows as f64 / secs
}

async fn ops_rate(ops: usize) -> f64 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_cfg = fdsync_sim::SimConfig { rate: Some(100_000_000), ..Default::default() };
    let sim = fdsync_sim::serve(listener, sim_cfg, std::future::pending()).await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("ops.csv");
    write_csv(&csv, ops);
    let s = settings(&dir.path().join("state"), &sim.base_url(), &sim.api_key());
    let journal = Journal::open(&s.state_dir).unwrap();
    let taken =
        take(&journal, &csv, "ops.csv", Some(fdsync::domain::Action::CreateTicket), None).await.unwrap();
    let client = Client::new(&s).unwrap();
    let pacer = Pacer::new(PacerConfig::from_limits(&s.limits));
    let engine =
        Engine::new(journal, client, pacer, EngineConfig::from_settings(&s, fdsync::engine::Mode::OneShot));
    let t = Instant::now();
    let end = engine.run(RunUntil::Files(vec![taken.file_id()]), Default::default()).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(end, RunEnd::Finished);
    assert_eq!(sim.state().tickets.len(), ops);
    ops as f64 / secs
}

fn main() {
    let rows = env_usize("FDSYNC_BENCH_ROWS", 1_000_000);
    let ops = env_usize("FDSYNC_BENCH_OPS", 20_000);
    let runs = env_usize("FDSYNC_BENCH_RUNS", 3).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let journal: Vec<f64> = (0..runs).map(|_| rt.block_on(journal_rate(rows))).collect();
    let rss = peak_rss_mb();
    let engine: Vec<f64> = (0..runs).map(|_| rt.block_on(ops_rate(ops))).collect();
    println!("| measure | runs | median | goal |");
    println!("|---|---|---|---|");
    println!("| parse + journal, {rows} rows | {runs} | {:.0} rows/s | >= 100000 rows/s |", median(journal));
    println!("| peak RSS after parse + journal | - | {rss:.1} MB | <= 100 MB |");
    println!(
        "| ops against an unlimited zero-latency simulator, {ops} creates | {runs} | {:.0} ops/s | >= 2000 ops/s |",
        median(engine)
    );
}
