//! `fdsync sim`: the simulator as a foreground server. Parses flags into a [`SimConfig`], binds,
//! prints the base URL and API key, serves until Ctrl-C or SIGTERM, then stops cleanly.

use std::time::Duration;

use crate::config::{Plan, SimConfig};

/// Flags of `fdsync sim`.
#[derive(clap::Args, Debug, Clone)]
pub struct SimArgs {
    /// Address to listen on (loopback unless --allow-remote).
    #[arg(long, default_value = "127.0.0.1:8089")]
    pub listen: String,
    /// Listen on a non-loopback address: anyone who reaches it can use the simulator (with the
    /// printed API key) and read everything in it.
    #[arg(long)]
    pub allow_remote: bool,
    /// The admin API key clients must send.
    #[arg(long, default_value = "sim-api-key")]
    pub api_key: String,
    /// Plan: trial (50/min), growth (200), pro (400), enterprise (700).
    #[arg(long, default_value = "pro")]
    pub plan: Plan,
    /// Custom requests per window (overrides the plan; sub-limits scale like Pro's).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Quota window in seconds (at least 1).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub window_secs: u64,
    /// Added latency range in milliseconds, e.g. `20..200`.
    #[arg(long, value_parser = parse_range)]
    pub latency_ms: Option<(u64, u64)>,
    /// Probability of a 502/503 answer (change not applied).
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub fail_rate: f64,
    /// Probability of dropping the connection after the change was applied.
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub drop_rate: f64,
    /// Probability of resetting the connection before anything is applied.
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub reset_rate: f64,
    /// Probability of a 502/504 answer *after* a change was applied (changes only).
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub fail_after_rate: f64,
    /// Probability of holding a change for `--late-ms`, then applying it (changes only).
    #[arg(long, default_value_t = 0.0, value_parser = parse_probability)]
    pub late_rate: f64,
    /// How long a late-applied change is held, in milliseconds (beyond the client's timeout).
    #[arg(long, default_value_t = 65_000)]
    pub late_ms: u64,
    /// Requests per window spent by a competing integration on the same quota.
    #[arg(long, default_value_t = 0)]
    pub competitor: u64,
    /// Extra agents to seed (agent0001@example.com, …).
    #[arg(long, default_value_t = 0)]
    pub agents: u32,
    /// Seed of the fault dice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

fn parse_range(s: &str) -> Result<(u64, u64), String> {
    let (a, b) = s.split_once("..").unwrap_or((s, s));
    let n =
        |x: &str| x.trim().parse::<u64>().map_err(|_| format!("expected A..B in milliseconds, got {s:?}"));
    let (a, b) = (n(a)?, n(b)?);
    Ok((a.min(b), a.max(b)))
}

fn parse_probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("expected a probability between 0 and 1, got {s:?}")),
    }
}

impl SimArgs {
    /// The config these flags describe.
    pub fn to_config(&self) -> SimConfig {
        SimConfig {
            api_key: self.api_key.clone(),
            plan: self.plan,
            rate: self.rate,
            window: Duration::from_secs(self.window_secs.max(1)),
            latency_ms: self.latency_ms,
            fail_rate: self.fail_rate,
            drop_rate: self.drop_rate,
            reset_rate: self.reset_rate,
            fail_after_rate: self.fail_after_rate,
            late_rate: self.late_rate,
            late_delay: Duration::from_millis(self.late_ms),
            competitor: self.competitor,
            agents: self.agents,
            seed: self.seed,
            ..SimConfig::default()
        }
    }
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Why [`run`] did not serve.
#[derive(Debug)]
pub enum RunError {
    /// The command line asks for something the simulator will not do (a usage error).
    Refused(String),
    /// It could not start (the address cannot be resolved or bound).
    Failed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Refused(m) | RunError::Failed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RunError {}

/// Runs the simulator until Ctrl-C or SIGTERM.
pub async fn run(args: SimArgs) -> Result<(), RunError> {
    let cannot = |e: std::io::Error| RunError::Failed(format!("cannot listen on {}: {e}", args.listen));
    if !args.allow_remote {
        let addrs: Vec<std::net::SocketAddr> =
            tokio::net::lookup_host(&args.listen).await.map_err(cannot)?.collect();
        check_loopback(&args.listen, &addrs).map_err(RunError::Refused)?;
    }
    let listener = tokio::net::TcpListener::bind(&args.listen).await.map_err(cannot)?;
    let handle = crate::serve(listener, args.to_config(), std::future::pending()).await;
    println!("fdsync-sim listening on {} api_key={}", handle.base_url(), handle.api_key());
    terminated().await;
    handle.stop().await;
    Ok(())
}

/// Refuses `--listen` unless every address it names is loopback.
fn check_loopback(listen: &str, addrs: &[std::net::SocketAddr]) -> Result<(), String> {
    if addrs.is_empty() || addrs.iter().any(|a| !a.ip().is_loopback()) {
        return Err(format!(
            "{listen} is not a loopback address: the simulator has no real security (its API key \
             is printed), so it listens on 127.0.0.1 only; add --allow-remote to serve it to \
             other machines anyway"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: SimArgs,
    }

    #[test]
    fn flags_become_a_config() {
        let argv =
            ["sim", "--plan", "growth", "--window-secs", "2", "--latency-ms", "5..10", "--drop-rate", "0.1"];
        let config = Wrapper::parse_from(argv).args.to_config();
        assert_eq!((config.late_rate, config.fail_after_rate), (0.0, 0.0));
        assert_eq!(config.late_delay, Duration::from_secs(65));
        let argv = ["sim", "--late-rate", "0.2", "--late-ms", "2500", "--fail-after-rate", "0.3"];
        let late = Wrapper::parse_from(argv).args.to_config();
        assert_eq!((late.late_rate, late.late_delay), (0.2, Duration::from_millis(2500)));
        assert_eq!(late.fail_after_rate, 0.3);
        assert!(Wrapper::try_parse_from(["sim", "--late-rate", "2"]).is_err());
        assert_eq!(config.plan, Plan::Growth);
        assert_eq!(config.window, Duration::from_secs(2));
        assert_eq!(config.latency_ms, Some((5, 10)));
        assert_eq!(config.drop_rate, 0.1);
        assert!(Wrapper::try_parse_from(["sim", "--window-secs", "0"]).is_err());
        assert!(Wrapper::try_parse_from(["sim", "--plan", "free"]).is_err());
    }

    #[test]
    fn only_loopback_addresses_pass_without_allow_remote() {
        let at = |s: &str| vec![s.parse::<std::net::SocketAddr>().unwrap()];
        assert!(check_loopback("127.0.0.1:1", &at("127.0.0.1:1")).is_ok());
        assert!(check_loopback("[::1]:1", &at("[::1]:1")).is_ok());
        for remote in ["0.0.0.0:1", "10.0.0.5:1", "[::]:1"] {
            let err = check_loopback(remote, &at(remote)).unwrap_err();
            assert!(err.contains("--allow-remote"), "{err}");
        }
        assert!(check_loopback("x", &[]).is_err());
        assert!(!Wrapper::parse_from(["sim"]).args.allow_remote);
        assert!(Wrapper::parse_from(["sim", "--allow-remote"]).args.allow_remote);
    }

    #[test]
    fn ranges_and_probabilities_parse_strictly() {
        assert_eq!(parse_range("200..20"), Ok((20, 200)));
        assert_eq!(parse_range("5"), Ok((5, 5)));
        assert!(parse_range("a..b").is_err());
        assert!(parse_probability("1.5").is_err());
    }
}
