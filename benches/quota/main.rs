//! Quota mastery (issue 4), printed as a markdown table: `cargo bench --bench quota`.
//! fdsync (library, in-process) and a hand-written sequential client each run against their own
//! simulator with accelerated 10 s windows; per-window figures are read from the simulator's
//! counters, sampled every 5 ms (a window boundary is where the account's used credits drop).
//! A: quota use with a 10 % reserve (agent creates bind the account total; ticket creates bind
//! the create sub-limit, 40 % of the total); B: the same with a competitor spending 30 %;
//! C: calls per row of an offboarding file; D: the total drops from 700 to 200 mid-run.
//! `FDSYNC_BENCH_RUNS` repeats every scenario (medians are printed; default 3).
//!
//! Layout: `load.rs` (the two loads), `trace.rs` (samples, windows, ratios), `table.rs` (the
//! printed table). This file defines the scenarios and runs them; it must not compute a figure
//! or format a row.

mod load;
mod table;
mod trace;

use fdsync::domain::Action;
use fdsync_sim::{SimConfig, SimHandle};
use load::{baseline_load, baseline_offboard, csv_action, fdsync_load, input_csv};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use trace::{Trace, sampler};

const WINDOW: Duration = Duration::from_secs(10);
const RESERVE: u64 = 10;
const OFFBOARD_ROWS: usize = 200;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Work {
    Tickets,
    Agents,
}

struct Scenario {
    sim: SimConfig,
    work: Work,
    rows: usize,
    /// Windows the load runs for before it is cancelled.
    windows: f64,
    /// After this many windows the simulator's total becomes the given rate.
    change: Option<(f64, u64)>,
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn sim_config(rate: u64, competitor: u64, latency: Option<(u64, u64)>, agents: u32) -> SimConfig {
    SimConfig {
        rate: Some(rate),
        window: WINDOW,
        competitor,
        latency_ms: latency,
        agents,
        seats: 10_000_000,
        ..SimConfig::default()
    }
}

/// A simulator that stops when the returned sender is dropped.
async fn spawn_sim(cfg: SimConfig) -> (Arc<SimHandle>, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sim = fdsync_sim::serve(listener, cfg, async move {
        let _ = stopped.await;
    })
    .await;
    (Arc::new(sim), stop)
}

/// Runs `load` against a fresh simulator for `sc.windows` windows, then cancels it.
async fn measure<F, Fut>(sc: &Scenario, load: F) -> Trace
where
    F: FnOnce(Arc<SimHandle>, CancellationToken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (sim, stop_sim) = spawn_sim(sc.sim.clone()).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sampling = sampler(sim.clone(), stop.clone());
    let cancel = CancellationToken::new();
    let started = Instant::now();
    let task = tokio::spawn(load(sim.clone(), cancel.clone()));
    let mut change_at = None;
    if let Some((after, rate)) = sc.change {
        tokio::time::sleep(WINDOW.mul_f64(after)).await;
        sim.update(|c| c.rate = Some(rate));
        change_at = Some(Instant::now());
    }
    tokio::time::sleep(WINDOW.mul_f64(sc.windows).saturating_sub(started.elapsed())).await;
    let end = Instant::now();
    cancel.cancel();
    let _ = task.await;
    stop.store(true, Ordering::Relaxed);
    let samples = sampling.join().expect("sampler");
    drop(stop_sim);
    Trace { samples, change_at, end }
}

/// fdsync and the baseline side by side (each against its own simulator, at the same time).
async fn both(sc: &Scenario) -> (Trace, Trace) {
    let csv = input_csv(sc.work, sc.rows);
    let action = csv_action(sc.work);
    let work = sc.work;
    let ours = measure(sc, move |sim, c| fdsync_load(sim, c, csv, action));
    let theirs = measure(sc, move |sim, c| baseline_load(sim, c, work));
    tokio::join!(ours, theirs)
}

/// C: deletes `OFFBOARD_ROWS` agents by email out of 300; calls per row.
async fn offboarding(fdsync: bool) -> f64 {
    let (sim, _stop) = spawn_sim(sim_config(100_000, 0, None, 300)).await;
    let mut csv = String::from("email\n");
    for i in 1..=OFFBOARD_ROWS {
        csv.push_str(&format!("agent{i:04}@example.com\n"));
    }
    if fdsync {
        fdsync_load(sim.clone(), CancellationToken::new(), csv, Action::DeleteAgent).await;
    } else {
        baseline_offboard(&sim).await;
    }
    let left = sim
        .state()
        .agents
        .iter()
        .filter(|a| a.email.as_deref().is_some_and(|e| e.starts_with("agent0")))
        .count();
    assert_eq!(left, 300 - OFFBOARD_ROWS, "every listed agent deleted");
    sim.counters().api_requests as f64 / OFFBOARD_ROWS as f64
}

fn main() {
    let runs = env_usize("FDSYNC_BENCH_RUNS", 3).max(1);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let lat = Some((50, 300));
    let a = Scenario {
        sim: sim_config(300, 0, lat, 0),
        work: Work::Agents,
        rows: 1500,
        windows: 3.2,
        change: None,
    };
    let at = Scenario {
        sim: sim_config(300, 0, lat, 0),
        work: Work::Tickets,
        rows: 1000,
        windows: 3.2,
        change: None,
    };
    let b = Scenario {
        sim: sim_config(300, 90, lat, 0),
        work: Work::Agents,
        rows: 1500,
        windows: 3.2,
        change: None,
    };
    let d = Scenario {
        sim: sim_config(700, 0, lat, 0),
        work: Work::Agents,
        rows: 4000,
        windows: 4.2,
        change: Some((1.1, 200)),
    };
    let mut cols: [Vec<(Trace, Trace)>; 4] = Default::default();
    let mut offboard = (Vec::new(), Vec::new());
    for run in 1..=runs {
        eprintln!("run {run}/{runs}: A, A (tickets), B, D, C");
        for (col, sc) in cols.iter_mut().zip([&a, &at, &b, &d]) {
            col.push(rt.block_on(both(sc)));
        }
        offboard.0.push(rt.block_on(offboarding(true)));
        offboard.1.push(rt.block_on(offboarding(false)));
    }
    let [ra, rat, rb, rd] = cols;
    table::print_table(runs, &ra, &rat, &rb, &rd, (median(offboard.0), median(offboard.1)));
}
