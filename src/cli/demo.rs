//! `fdsync demo`: the whole job in seconds with no account. Starts the simulator in-process on a
//! free loopback port (Enterprise plan quota, realistic latency, some agents already on the account),
//! writes the example files from `examples/data/` into a fresh state folder, imports them, and
//! prints each file's summary and where the reports are.

use crate::config::Settings;
use crate::domain::Action;
use crate::exit::Exit;
use anyhow::Context;
use fdsync_sim::SimConfig;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The example files, embedded so the demo works from any folder, with their default action.
const EXAMPLES: &[(&str, &str, Option<Action>)] = &[
    ("tickets.csv", include_str!("../../examples/data/tickets.csv"), Some(Action::CreateTicket)),
    ("tickets.json", include_str!("../../examples/data/tickets.json"), Some(Action::CreateTicket)),
    ("agents.csv", include_str!("../../examples/data/agents.csv"), None),
    ("offboarding.csv", include_str!("../../examples/data/offboarding.csv"), Some(Action::DeleteAgent)),
];

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// State folder for the journal and reports (default: a new folder under the temp dir).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

pub(super) async fn run(args: DemoArgs) -> anyhow::Result<Exit> {
    crate::telemetry::init("warn", false);
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.context("binding the simulator")?;
    let sim_config = SimConfig {
        plan: fdsync_sim::Plan::Enterprise,
        latency_ms: Some((20, 120)),
        // Enough agents that the example offboarding (8 rows) stays under safety.max_deletes_percent.
        agents: 120,
        ..SimConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let sim = fdsync_sim::serve(listener, sim_config, async move {
        let _ = stopped.await;
    })
    .await;
    let state_dir = args.state_dir.unwrap_or_else(|| {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        std::env::temp_dir().join(format!("fdsync-demo-{stamp}-{}", std::process::id()))
    });
    let inbox = state_dir.join("examples");
    std::fs::create_dir_all(&inbox).with_context(|| format!("creating {}", inbox.display()))?;
    println!(
        "fdsync demo: simulator at {} (Enterprise plan quota, 20-120 ms latency); state in {}",
        sim.base_url(),
        state_dir.display()
    );
    let limits = "[limits]\nconcurrency = 8\n";
    let config = crate::config::simulator_toml(&sim.base_url(), &sim.api_key(), &state_dir, limits);
    let settings = Settings::from_toml(&config)?;
    let config_path = state_dir.join("fdsync.toml");
    write_private(&config_path, &config).with_context(|| format!("writing {}", config_path.display()))?;
    let shutdown = super::signals::shutdown_token();
    for (name, text, action) in EXAMPLES {
        let path = inbox.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        super::import::import_paths(&settings, &[path], *action, shutdown.clone()).await?;
    }
    let state = sim.state();
    let counters = sim.counters();
    println!(
        "done in {:.1} s: {} API calls ({} answered 429); the account now has {} tickets, {} agents, {} contacts",
        started.elapsed().as_secs_f64(),
        counters.api_requests,
        counters.rate_limited,
        state.tickets.len(),
        state.agents.len(),
        state.contacts.len()
    );
    println!("reports: {}", state_dir.join("reports").display());
    println!(
        "next: fdsync --config {} status   (the journal stays; each demo starts a fresh account)",
        config_path.display()
    );
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(2), sim.stop()).await.ok();
    Ok(Exit::Success)
}

/// Writes a file only its owner can read (the demo config holds the simulator's key).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}
