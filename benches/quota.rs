//! Quota mastery (issue 4), printed as a markdown table: `cargo bench --bench quota`.
//! fdsync (library, in-process) and a hand-written sequential client each run against their own
//! simulator with accelerated 10 s windows; per-window figures are read from the simulator's
//! counters, sampled every 5 ms (a window boundary is where the account's used credits drop).
//! A: quota use with a 10 % reserve (agent creates bind the account total; ticket creates bind
//! the create sub-limit, 40 % of the total); B: the same with a competitor spending 30 %;
//! C: calls per row of an offboarding file; D: the total drops from 700 to 200 mid-run.
//! `FDSYNC_BENCH_RUNS` repeats every scenario (medians are printed; default 3).

use fdsync::config::Settings;
use fdsync::domain::Action;
use fdsync::engine::pacer::{Pacer, PacerConfig};
use fdsync::engine::{Engine, EngineConfig, RunUntil};
use fdsync::files::{self, Taken};
use fdsync::freshdesk::Client;
use fdsync::journal::Journal;
use fdsync_sim::{SimConfig, SimHandle};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

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

/// One sample of the simulator's counters.
#[derive(Clone, Copy)]
struct Sample {
    at: Instant,
    used: u64,
    created: u64,
    api: u64,
    limited: u64,
    competitor: u64,
}

/// What one measured run saw.
struct Trace {
    samples: Vec<Sample>,
    change_at: Option<Instant>,
    end: Instant,
}

/// A full quota window of a trace: deltas between two boundary samples.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: Instant,
    created: u64,
    api: u64,
    competitor: u64,
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

/// Samples the counters every 5 ms on a plain thread until `stop` is set.
fn sampler(sim: Arc<SimHandle>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<Sample>> {
    std::thread::spawn(move || {
        let mut out = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let c = sim.counters();
            out.push(Sample {
                at: Instant::now(),
                used: c.quota_used,
                created: c.tickets_created + c.agents_created,
                api: c.api_requests,
                limited: c.rate_limited,
                competitor: c.competitor_spent,
            });
            std::thread::sleep(Duration::from_millis(5));
        }
        out
    })
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

fn settings(dir: &Path, base_url: &str, api_key: &str) -> Settings {
    let mut s = Settings::for_simulator(base_url, api_key);
    s.state_dir = dir.to_path_buf();
    s.limits.requests_per_window = 0;
    s.limits.window = WINDOW;
    s.limits.reserve_percent = RESERVE as u8;
    s.limits.concurrency = 32;
    s.safety.max_deletes_per_file = 1_000_000;
    s
}

fn input_csv(work: Work, rows: usize) -> String {
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
async fn fdsync_load(sim: Arc<SimHandle>, cancel: CancellationToken, csv: String, action: Action) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("input.csv");
    std::fs::write(&path, csv).expect("write input");
    let s = settings(&dir.path().join("state"), &sim.base_url(), &sim.api_key());
    let journal = Journal::open(&s.state_dir).expect("journal");
    let taken = files::take(&journal, &path, "input.csv", Some(action), None, &s.safety).await.expect("take");
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
async fn baseline_load(sim: Arc<SimHandle>, cancel: CancellationToken, work: Work) {
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

/// Full windows: between consecutive boundaries (the used count drops), ending before the load stopped.
fn windows(t: &Trace) -> Vec<Window> {
    let s = &t.samples;
    let mut bounds: Vec<usize> = Vec::new();
    for i in 1..s.len() {
        let first = bounds.is_empty() && s[i - 1].used == 0 && s[i].used > 0;
        if first || (!bounds.is_empty() && s[i].used < s[i - 1].used) {
            bounds.push(i);
        }
    }
    let window = |pair: &[usize]| {
        let (a, b) = (&s[pair[0]], &s[pair[1]]);
        Window {
            start: a.at,
            created: b.created - a.created,
            api: b.api - a.api,
            competitor: b.competitor - a.competitor,
        }
    };
    bounds.windows(2).filter(|p| s[p[1]].at <= t.end).map(window).collect()
}

fn last(t: &Trace) -> Sample {
    *t.samples.last().expect("samples")
}

fn budget(total: u64) -> f64 {
    (total * (100 - RESERVE)) as f64 / 100.0
}

/// Mean creates per steady window (full windows after the first) ÷ `allowed`.
fn steady_ratio(t: &Trace, allowed: f64) -> f64 {
    let w = windows(t);
    let steady: Vec<f64> = w.iter().skip(1).map(|w| w.created as f64).collect();
    steady.iter().sum::<f64>() / steady.len() as f64 / allowed
}

fn share_429(t: &Trace) -> f64 {
    let s = last(t);
    s.limited as f64 / s.api.max(1) as f64
}

/// Own use (credits) of full windows ÷ (total × (1 − reserve) − the competitor's spend in it):
/// the first window's, and the largest of the steady ones.
fn own_use(t: &Trace, total: u64) -> (f64, f64) {
    let f = |w: &Window| w.api as f64 / (budget(total) - w.competitor as f64);
    let w = windows(t);
    let first = w.first().map_or(f64::NAN, f);
    (first, w.iter().skip(1).map(f).fold(f64::NAN, f64::max))
}

/// Creates in the `n`th (from 0) full window that starts after the change ÷ the new budget.
fn after_change(t: &Trace, new_total: u64, n: usize) -> f64 {
    let Some(at) = t.change_at else { return f64::NAN };
    let w = windows(t).into_iter().filter(|w| w.start >= at).nth(n);
    w.map_or(f64::NAN, |w| w.created as f64 / budget(new_total))
}

/// Seconds from the change to the first full window whose creates keep to the new budget
/// (+5 %), and the 429s after the change.
fn follow(t: &Trace, new_total: u64) -> (f64, u64) {
    let Some(at) = t.change_at else { return (f64::NAN, 0) };
    let limit = budget(new_total) * 1.05;
    let secs = windows(t)
        .iter()
        .find(|w| w.start >= at && w.created as f64 <= limit)
        .map_or(f64::NAN, |w| (w.start - at).as_secs_f64());
    let before = t.samples.iter().take_while(|s| s.at < at).last().map_or(0, |s| s.limited);
    (secs, last(t).limited - before)
}

fn csv_action(work: Work) -> Action {
    if work == Work::Tickets { Action::CreateTicket } else { Action::CreateAgent }
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

/// The hand-written offboarding: look each agent up by email, then delete it by id.
async fn baseline_offboard(sim: &SimHandle) {
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

/// Median cells "fdsync | baseline" of `f` over the runs.
fn pair(runs: &[(Trace, Trace)], f: impl Fn(&Trace) -> f64, fmt: impl Fn(f64) -> String) -> (String, String) {
    let ours = median(runs.iter().map(|(o, _)| f(o)).collect());
    let theirs = median(runs.iter().map(|(_, b)| f(b)).collect());
    (fmt(ours), fmt(theirs))
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

fn ratio(x: f64) -> String {
    format!("{x:.3}")
}

fn row(measure: &str, cells: (String, String), goal: &str) {
    println!("| {measure} | {} | {} | {goal} |", cells.0, cells.1);
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
    print_table(runs, &ra, &rat, &rb, &rd, (median(offboard.0), median(offboard.1)));
}

fn print_table(
    runs: usize,
    a: &[(Trace, Trace)],
    at: &[(Trace, Trace)],
    b: &[(Trace, Trace)],
    d: &[(Trace, Trace)],
    c: (f64, f64),
) {
    println!(
        "Medians of {runs} runs; 10 s windows; reserve {RESERVE} %; latency 50-300 ms; command: cargo bench --bench quota\n"
    );
    println!("| measure | fdsync | sequential baseline | goal |");
    println!("|---|---|---|---|");
    let secs = |x: f64| format!("{x:.1} s");
    let count = |x: f64| format!("{x:.0}");
    row(
        "A: agent creates per steady window ÷ (300 × 0.9 = 270)",
        pair(a, |t| steady_ratio(t, budget(300)), ratio),
        ">= 0.97",
    );
    row("A: share of answers that were 429", pair(a, share_429, pct), "<= 0.5 %");
    row(
        "A (tickets): creates per steady window ÷ (create sub-limit 120 × 0.9 = 108)",
        pair(at, |t| steady_ratio(t, budget(120)), ratio),
        ">= 0.97",
    );
    row("A (tickets): share of 429", pair(at, share_429, pct), "<= 0.5 %");
    row(
        "B: agent creates per steady window ÷ (270 − competitor 90 = 180)",
        pair(b, |t| steady_ratio(t, budget(300) - 90.0), ratio),
        "≈ 1",
    );
    row("B: share of answers that were 429", pair(b, share_429, pct), "<= 1 %");
    row(
        "B: first window, own credits ÷ (270 − competitor's spend)",
        pair(b, |t| own_use(t, 300).0, ratio),
        "<= 1",
    );
    row(
        "B: worst steady window, own credits ÷ (270 − competitor's spend)",
        pair(b, |t| own_use(t, 300).1, ratio),
        "<= 1",
    );
    row(
        "D: seconds from 700 → 200 to the first window with ≤ 189 creates",
        pair(d, |t| follow(t, 200).0, secs),
        "within the next window",
    );
    row(
        "D: creates in the 1st full window after the change ÷ (200 × 0.9 = 180)",
        pair(d, |t| after_change(t, 200, 0), ratio),
        "<= 1.05",
    );
    row(
        "D: creates in the 2nd full window after the change ÷ 180",
        pair(d, |t| after_change(t, 200, 1), ratio),
        "0.97 to 1.05",
    );
    row(
        "D: 429s after the change",
        pair(d, |t| follow(t, 200).1 as f64, count),
        "few (the change window only)",
    );
    row("C: API calls per row, 200 deletes by email (300 agents)", (ratio(c.0), ratio(c.1)), "<= 1.05");
}
