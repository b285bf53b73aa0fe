//! `fdsync run` latency, against the in-process simulator, printed as a table of medians:
//!
//! - start-to-READY: spawn `fdsync run` with `NOTIFY_SOCKET` pointing at a unix datagram socket
//!   bound here, time until `READY=1` arrives (goal ≤ 200 ms);
//! - drop-to-first-call: time from a file appearing in the inbox to the simulator's first
//!   `POST /api/v2/tickets` for it (goal ≤ settle_secs + 0.5 s), for a file renamed in (ready at
//!   once) and for a file written in place with settle_secs = 1.
//!
//! Run: `cargo bench --bench daemon_latency` (or `cargo test --bench daemon_latency` for a quick
//! debug-build run).

use fdsync_sim::{SimConfig, SimHandle};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const RUNS: usize = 7;

struct Bench {
    sim: SimHandle,
    dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Bench {
    async fn new() -> Bench {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let sim =
            fdsync_sim::serve(listener, SimConfig { rate: Some(6000), ..SimConfig::default() }, async move {
                let _ = stopped.await;
            })
            .await;
        Bench { sim, dir: tempfile::tempdir().expect("tempdir"), _stop: stop }
    }

    fn config(&self, run: usize, settle: f64) -> (PathBuf, PathBuf) {
        let base = self.dir.path().join(format!("run{run}"));
        let inbox = base.join("inbox");
        std::fs::create_dir_all(&inbox).expect("inbox");
        let config = base.join("fdsync.toml");
        let inbox_toml = format!(
            "[[inbox]]\ndir = \"{}\"\naction = \"create_ticket\"\nsettle_secs = {settle}\n",
            inbox.display()
        );
        let text = fdsync::config::simulator_toml(
            &self.sim.base_url(),
            &self.sim.api_key(),
            &base.join("state"),
            &inbox_toml,
        );
        std::fs::write(&config, text).expect("config");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        (config, inbox)
    }

    fn posts(&self) -> u64 {
        self.sim.counters().route("POST /api/v2/tickets")
    }
}

/// Spawns `fdsync run`; returns it and the time to READY=1.
fn start(config: &Path, notify: &Path) -> (Child, Duration) {
    let sock = UnixDatagram::bind(notify).expect("bind notify socket");
    sock.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fdsync"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("NOTIFY_SOCKET", notify)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("spawn");
    let mut buf = [0u8; 4096];
    loop {
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no READY=1 within 10 s: {e}");
            }
        };
        if String::from_utf8_lossy(&buf[..n]).lines().any(|l| l == "READY=1") {
            return (child, t0.elapsed());
        }
    }
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").args(["-s", "TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}

fn tickets(n: usize, tag: &str) -> String {
    let mut s = String::from("email,subject,description,priority,status\n");
    for i in 0..n {
        s.push_str(&format!("u{i}@example.com,{tag} {i},d,High,Open\n"));
    }
    s
}

/// Drops one file (renamed in, or written in place) and times the first POST for it.
fn drop_to_first_call(b: &Bench, inbox: &Path, staging: &Path, name: &str, rename: bool) -> Duration {
    let before = b.posts();
    let body = tickets(3, name);
    let t0 = if rename {
        std::fs::write(staging.join(name), &body).expect("stage");
        let t0 = Instant::now();
        std::fs::rename(staging.join(name), inbox.join(name)).expect("rename");
        t0
    } else {
        let t0 = Instant::now();
        std::fs::write(inbox.join(name), &body).expect("write");
        t0
    };
    while b.posts() == before {
        assert!(t0.elapsed() < Duration::from_secs(30), "no POST within 30 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    let took = t0.elapsed();
    // Let the file finish before the next one.
    while b.posts() < before + 3 {
        std::thread::sleep(Duration::from_millis(5));
    }
    took
}

fn median(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn row(what: &str, goal: &str, v: Vec<Duration>) {
    let (med, min, max) = median(v);
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    println!("| {what:<38} | {:>9} | {:>8} | {:>8} | {goal:<8} |", ms(med), ms(min), ms(max));
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let b = rt.block_on(Bench::new());
    let mut ready = Vec::new();
    let mut renamed = Vec::new();
    let mut written = Vec::new();
    for (run, settle) in [(0usize, 0.0f64), (1, 1.0)] {
        let (config, inbox) = b.config(run, settle);
        let staging = b.dir.path().join(format!("staging{run}"));
        std::fs::create_dir_all(&staging).expect("staging");
        for i in 0..RUNS {
            let notify = b.dir.path().join(format!("notify-{run}-{i}.sock"));
            let (child, t) = start(&config, &notify);
            ready.push(t);
            if i == 0 {
                // One daemon per settle time measures the drops; the others only start and stop.
                for j in 0..RUNS {
                    let name = format!("f{run}-{j}.csv");
                    let took = drop_to_first_call(&b, &inbox, &staging, &name, settle == 0.0);
                    if settle == 0.0 { renamed.push(took) } else { written.push(took) }
                }
            }
            stop(child);
        }
    }
    println!("fdsync run latency, {RUNS} runs each (ms)\n");
    println!("| {:<38} | {:>9} | {:>8} | {:>8} | {:<8} |", "measure", "median", "min", "max", "goal");
    println!(
        "|{}|{}|{}|{}|{}|",
        "-".repeat(40),
        "-".repeat(11),
        "-".repeat(10),
        "-".repeat(10),
        "-".repeat(10)
    );
    row("start to READY=1", "≤ 200", ready);
    row("drop (rename in) to first POST", "≤ 500", renamed);
    row("drop (write, settle 1 s) to first POST", "≤ 1500", written);
}
