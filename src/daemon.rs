//! `fdsync run`: the folder-watching daemon.
//!
//! Parts, started in this order and stopped in reverse:
//! - the engines ([`crate::engine`], one per connection, [`connections`]): each one long run over
//!   its connection's `processing` files' rows, in arrival order, so several inboxes and files
//!   share the quota fairly (first come, first served, row by row); connections to one account
//!   share its pacer. When Freshdesk refuses a connection's credentials its breaker probes once
//!   a minute (its files wait, the other connections go on), and the first accepted probe brings
//!   back the full pace;
//! - the [`spool`]: watchers ([`watch`]) wake it, it rescans the inboxes ([`inbox`]), takes
//!   settled files, and moves each file through `processing/`, `done/`, `failed/`, `held/`
//!   ([`lifecycle`]);
//! - the status writer ([`StatusWriter`]): `status.json` ([`crate::status_file`]), systemd
//!   `STATUS=`, metrics gauges, the status page's in-memory view ([`crate::http::Live`]), and
//!   the problems needing a human ([`problems`]);
//! - the optional HTTP listener ([`crate::http`]): status page, `/api/status`, `/metrics`;
//! - the optional SCIM service ([`crate::scim`], `[scim]`), on its connection's engine;
//! - the notification delivery task ([`crate::notify`]), when `[[notify]]` sections exist.
//!
//! The main task handles signals and the systemd watchdog ([`systemd`]). SIGTERM/SIGINT: stop
//! taking files, let requests in flight finish (bounded by the request timeout), leave the rest
//! pending, exit 0. SIGHUP: re-read the config and apply inbox changes (others need a restart).

mod connections;
mod error;
mod inbox;
mod lifecycle;
mod problems;
mod spool;
mod systemd;
mod watch;

use crate::config::Settings;
use crate::exit::Exit;
use crate::journal::{self, Journal, now_ms};
use crate::metrics::Metrics;
use crate::status_file::{self, DaemonStatus};
use connections::Conn;
pub use error::Error;
use lifecycle::{Dirs, Lifecycle};
use problems::Shared;
use spool::{Control, Spool};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Only 429s for longer than this is raised as a problem (the daemon keeps waiting).
const RATE_LIMITED_PROBLEM_AFTER: Duration = Duration::from_secs(60);
/// Overrides [`RATE_LIMITED_PROBLEM_AFTER`] (whole seconds above zero): for tests, which need not
/// sit through a production minute of 429s. Not a config key.
const RATE_LIMITED_PROBLEM_ENV: &str = "FDSYNC_RATE_LIMITED_PROBLEM_SECS";

/// How long only 429s last before they are a problem: the default, or the environment's.
fn rate_limited_problem_after(env: Option<&str>) -> Duration {
    env.and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(RATE_LIMITED_PROBLEM_AFTER, Duration::from_secs)
}
/// The problem key of a credentials refusal.
const AUTH_PROBLEM: &str = "auth";
/// How often `status.json`, `STATUS=` and the metrics gauges are refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(2);
/// The journal's counts are read again at least this often, changed or not.
const STATS_AT_LEAST: Duration = Duration::from_secs(60);

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn run(settings: Settings, config_path: Option<PathBuf>) -> Result<Exit, Error> {
    // Installed first: SIGHUP's default action would kill us.
    let handler = |kind, name| signal(kind).map_err(|source| Error::Signal { signal: name, source });
    let mut term = handler(SignalKind::terminate(), "SIGTERM")?;
    let mut int = handler(SignalKind::interrupt(), "SIGINT")?;
    let mut hup = handler(SignalKind::hangup(), "SIGHUP")?;
    let mut daemon = Running::start(&settings).await?;
    // Ready once the inboxes are watched: a file renamed in from now on is seen at once. (If the
    // spool failed instead, the main loop below reports why.)
    if let Some(watching) = daemon.watching.take() {
        let _ = watching.await;
    }
    systemd::ready();
    tracing::info!(inboxes = settings.inboxes.len(), state_dir = %settings.state_dir.display(), "fdsync run is ready.");
    let reload_from = config_path.or_else(|| settings.source.clone());
    // Without a systemd watchdog the ping is a no-op; the timer just idles.
    let mut watchdog =
        tokio::time::interval(systemd::watchdog_interval().unwrap_or(Duration::from_secs(3600)));
    let failure = loop {
        tokio::select! {
            _ = term.recv() => break None,
            _ = int.recv() => break None,
            _ = hup.recv() => daemon.reload(reload_from.as_deref()),
            _ = watchdog.tick() => systemd::watchdog(),
            ended = join_some(&mut daemon.engine) => break Some(task_failure("engine", ended)),
            ended = join_some(&mut daemon.spool) => break Some(task_failure("spool", ended)),
        }
    };
    systemd::stopping();
    tracing::info!("Stopping: no new files are taken; requests in flight finish, the rest stays queued.");
    daemon.stop().await;
    match failure {
        Some(why) => Err(Error::Stopped(why)),
        None => {
            tracing::info!("fdsync run stopped.");
            Ok(Exit::Success)
        }
    }
}

type Task = Option<JoinHandle<journal::Result<()>>>;

/// The daemon's running parts, stopped in reverse order of start.
struct Running {
    engine: Task,
    spool: Task,
    status: JoinHandle<()>,
    notifier: Option<JoinHandle<()>>,
    http_server: Option<JoinHandle<std::io::Result<()>>>,
    /// `[scim]`: the SCIM service ([`crate::scim`]).
    scim_server: Option<JoinHandle<std::io::Result<()>>>,
    /// Fires once the spool watches the inboxes.
    watching: Option<tokio::sync::oneshot::Receiver<()>>,
    stop_intake: CancellationToken,
    stop_engine: CancellationToken,
    stop_rest: CancellationToken,
    control: tokio::sync::mpsc::UnboundedSender<Control>,
    inboxes: tokio::sync::watch::Sender<Vec<PathBuf>>,
    shared: Arc<Shared>,
    /// This process is the only one sending from the state folder while it runs.
    _lock: crate::journal::RunLock,
}

impl Running {
    /// Opens the journal and starts the engine, the spool, the status writer and the HTTP listener.
    async fn start(settings: &Settings) -> Result<Running, Error> {
        let started_at = now_ms();
        let dirs = Dirs::create(&settings.state_dir)
            .map_err(|source| Error::StateDirs { path: settings.state_dir.display().to_string(), source })?;
        let lock = crate::journal::RunLock::acquire(&settings.state_dir)?;
        let journal = Journal::open(&settings.state_dir)
            .map_err(|source| Error::OpenJournal { read_only: false, source })?;
        let (shared, metrics) = (Shared::new(), Metrics::new());
        // Routes first: a file held or finished from now on records its notifications.
        let notifier = crate::notify::Delivery::new(
            journal.clone(),
            settings.notify.clone(),
            settings.state_dir.clone(),
            settings.scim.as_ref().map_or(crate::config::SCIM_NOTIFY_QUIET, |s| s.notify_quiet),
        )
        .map_err(Error::Notify)?;
        shared.record_events_in(journal.clone());
        let http_listener = match settings.http.listen {
            Some(addr) => Some(tokio::net::TcpListener::bind(addr).await.map_err(|source| Error::Bind {
                what: "http.listen",
                addr,
                source,
            })?),
            None => None,
        };
        let live = crate::http::Live::new();
        let conns = connections::start_all(settings, &journal, &metrics)?;
        let (stop_intake, stop_engine, stop_rest) =
            (CancellationToken::new(), CancellationToken::new(), CancellationToken::new());
        let scim_server = start_scim(settings, &journal, &conns, &stop_rest).await?;
        let run_engine =
            connections::run_all(conns.iter().map(|c| c.engine.clone()).collect(), stop_engine.clone());
        let (wake_tx, wake_rx) = tokio::sync::mpsc::unbounded_channel();
        let (control, control_rx) = tokio::sync::mpsc::unbounded_channel();
        let (watching_tx, watching) = tokio::sync::oneshot::channel();
        let lifecycle = Lifecycle::new(
            journal.clone(),
            dirs.clone(),
            crate::intake::Limits::with_max_request(settings.limits.max_request_bytes),
            shared.clone(),
            conns.iter().map(|c| c.engine.clone()).collect(),
        );
        let spool = Spool::new(
            lifecycle,
            inbox::InboxState::all(settings),
            watch::Watchers::new(wake_tx),
            shared.clone(),
        );
        let spool = spool.run(wake_rx, control_rx, stop_intake.clone(), watching_tx);
        let (inboxes, inboxes_rx) =
            tokio::sync::watch::channel(settings.inboxes.iter().map(|i| i.dir.clone()).collect());
        let site = crate::http::Site {
            journal: Journal::open_read_only(&settings.state_dir)
                .map_err(|source| Error::OpenJournal { read_only: true, source })?,
            state_dir: settings.state_dir.clone(),
            inboxes: settings.inboxes.iter().map(|i| i.dir.clone()).collect(),
            max_deletes_per_file: settings.safety.max_deletes_per_file,
            live: live.clone(),
            metrics: metrics.clone(),
            connections: crate::status_file::ConnectionInfo::of(settings),
        };
        let reporter = StatusWriter {
            journal,
            live,
            conns,
            unconfigured: Default::default(),
            metrics: metrics.clone(),
            shared: shared.clone(),
            dirs,
            started_at,
            rate_limited_after: rate_limited_problem_after(
                std::env::var(RATE_LIMITED_PROBLEM_ENV).ok().as_deref(),
            ),
        };
        Ok(Running {
            _lock: lock,
            engine: Some(tokio::spawn(run_engine)),
            spool: Some(tokio::spawn(spool)),
            status: tokio::spawn(reporter.run(inboxes_rx, stop_rest.clone())),
            notifier: notifier.map(|n| tokio::spawn(n.run(stop_rest.clone()))),
            http_server: http_listener.map(|l| {
                let access =
                    crate::http::Access::new(settings.http.hosts.clone(), settings.http.token.as_ref());
                tokio::spawn(crate::http::serve(l, site, access, stop_rest.clone()))
            }),
            scim_server,
            watching: Some(watching),
            stop_intake,
            stop_engine,
            stop_rest,
            control,
            inboxes,
            shared,
        })
    }

    /// SIGHUP: re-reads the config; applies its inboxes, or keeps the old config if it is invalid.
    fn reload(&self, path: Option<&std::path::Path>) {
        systemd::reloading();
        match Settings::load(path) {
            Ok(new) => {
                let _ = self.inboxes.send(new.inboxes.iter().map(|i| i.dir.clone()).collect());
                let _ = self.control.send(Control::Inboxes(inbox::InboxState::all(&new)));
                self.shared.clear("config");
                tracing::info!(
                    "Configuration reloaded: inbox changes apply now; other changes need a restart."
                );
            }
            Err(e) => {
                let msg = format!("the reloaded configuration is invalid, the old one stays in force: {e}");
                self.shared.raise("config", &msg);
                tracing::error!(error = %e, "The reloaded configuration is invalid; keeping the old one.");
            }
        }
        systemd::reloaded();
    }

    /// Stops taking files, then lets the engine drain its requests in flight, then the rest.
    async fn stop(mut self) {
        self.stop_intake.cancel();
        if let Some(s) = self.spool.take() {
            log_end("spool", s.await);
        }
        self.stop_engine.cancel();
        if let Some(e) = self.engine.take() {
            log_end("engine", e.await);
        }
        self.stop_rest.cancel();
        let _ = self.status.await;
        if let Some(m) = self.http_server {
            let _ = m.await;
        }
        if let Some(s) = self.scim_server
            && let Ok(Err(e)) = s.await
        {
            tracing::error!(error = %e, "The SCIM service ended with an error.");
        }
        if let Some(n) = self.notifier {
            let _ = n.await;
        }
    }
}

/// `[scim]`: binds its address and serves it with its connection's engine.
async fn start_scim(
    settings: &Settings,
    journal: &Journal,
    conns: &[Conn],
    stop: &CancellationToken,
) -> Result<Option<JoinHandle<std::io::Result<()>>>, Error> {
    let Some(scim) = settings.scim.clone() else { return Ok(None) };
    let tls = crate::scim::Tls::load(&scim)?;
    let listener = tokio::net::TcpListener::bind(scim.listen).await.map_err(|source| Error::Bind {
        what: "scim.listen",
        addr: scim.listen,
        source,
    })?;
    let conn = conns
        .iter()
        .find(|c| c.name == scim.connection)
        .ok_or_else(|| Error::Stopped(format!("scim.connection {} has no engine", scim.connection)))?;
    let (journal, engine, stop) = (journal.clone(), conn.engine.clone(), stop.clone());
    tracing::info!(listen = %scim.listen, connection = %scim.connection, tls = scim.tls.is_some(), "SCIM service listening.");
    Ok(Some(tokio::spawn(
        async move { crate::scim::serve(listener, &scim, tls, journal, engine, stop).await },
    )))
}

/// Awaits a task held in an option (pending forever once taken).
async fn join_some(task: &mut Task) -> Result<journal::Result<()>, tokio::task::JoinError> {
    match task.as_mut() {
        Some(t) => {
            let r = t.await;
            *task = None;
            r
        }
        None => std::future::pending().await,
    }
}

/// A task that ended on its own: the daemon cannot go on without it.
fn task_failure(what: &str, ended: Result<journal::Result<()>, tokio::task::JoinError>) -> String {
    match ended {
        Ok(Ok(())) => format!("the {what} stopped unexpectedly"),
        Ok(Err(e)) => format!("the {what} stopped: {e}"),
        Err(e) => format!("the {what} failed: {e}"),
    }
}

fn log_end(what: &str, ended: Result<journal::Result<()>, tokio::task::JoinError>) {
    match ended {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(task = what, error = %e, "Task ended with an error."),
        Err(e) => tracing::error!(task = what, error = %e, "Task failed."),
    }
}

/// Refreshes `status.json`, systemd's `STATUS=` and the metrics gauges.
struct StatusWriter {
    journal: Journal,
    live: Arc<crate::http::Live>,
    /// Every configured connection; the first one's quota is the daemon's `quota`.
    conns: Vec<Conn>,
    /// Connections not configured whose rows wait (raised as problems).
    unconfigured: std::collections::BTreeSet<String>,
    metrics: Arc<Metrics>,
    shared: Arc<Shared>,
    dirs: Dirs,
    started_at: i64,
    /// Only 429s for longer than this is a problem ([`rate_limited_problem_after`]).
    rate_limited_after: Duration,
}

impl StatusWriter {
    /// Refused credentials and a long run of 429s are problems the operator should see; each
    /// engine's health gate decides when they start and end (a refusal ends when a probe is
    /// accepted), and this is the one place they are worded. With several connections each
    /// problem names its connection (and only its files wait).
    fn raise_health_problems(&self) {
        let several = self.conns.len() > 1;
        for conn in &self.conns {
            let health = conn.engine.health();
            let (on, key) = match several {
                true => (format!("connection {}: ", conn.name), format!(":{}", conn.name)),
                false => (String::new(), String::new()),
            };
            let auth_key = format!("{AUTH_PROBLEM}{key}");
            match health.auth_refused {
                Some(why) => {
                    let msg = format!(
                        "{on}{why}; nothing is sent; fdsync probes once a minute and resumes by itself when \
                         Freshdesk accepts the key again (a new key in the config needs a restart)"
                    );
                    if self.shared.raise(&auth_key, &msg) {
                        tracing::error!(connection = %conn.name, reason = %why, "Freshdesk refused the credentials; nothing is sent until it accepts them.");
                    }
                }
                None => {
                    if self.shared.clear(&auth_key) {
                        tracing::info!(connection = %conn.name, "Freshdesk accepts the credentials again.");
                    }
                }
            }
            match health.rate_limited_for {
                Some(d) if d > self.rate_limited_after => {
                    let msg = format!(
                        "{on}Freshdesk has answered only 429 (rate limited) for {} s; waiting",
                        d.as_secs()
                    );
                    if self.shared.raise(&format!("rate_limited{key}"), &msg) {
                        tracing::warn!(connection = %conn.name, secs = d.as_secs(), "Freshdesk keeps answering 429; the daemon waits.");
                    }
                }
                _ => {
                    self.shared.clear(&format!("rate_limited{key}"));
                }
            }
        }
    }

    async fn run(mut self, inboxes: tokio::sync::watch::Receiver<Vec<PathBuf>>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(STATUS_EVERY);
        let mut last: Option<DaemonStatus> = None;
        let (mut seen, mut refreshed) = (None, std::time::Instant::now());
        let mut cached: Option<journal::JournalStats> = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => break,
            }
            self.raise_health_problems();
            // The counts read every row of the journal: read them again only when it changed
            // (and once a minute, for the age of what waits).
            let version = self.journal.version().await.ok();
            let fresh = version.is_some() && version == seen && refreshed.elapsed() < STATS_AT_LEAST;
            let stats = match (&cached, fresh) {
                (Some(stats), true) => Ok(stats.clone()),
                _ => self.journal.stats().await,
            };
            match stats {
                Ok(stats) => {
                    if !fresh {
                        (seen, refreshed, cached) = (version, std::time::Instant::now(), Some(stats.clone()));
                    }
                    connections::raise_unconfigured(
                        &stats,
                        &self.conns,
                        &self.shared,
                        &mut self.unconfigured,
                    );
                    let per: Vec<_> = self.conns.iter().map(|c| c.status(&stats, &self.metrics)).collect();
                    let snap = per.first().map(|c| c.quota.clone()).unwrap_or_default();
                    self.metrics.update(&stats, &snap, now_ms());
                    let st = DaemonStatus::new(
                        self.started_at,
                        inboxes.borrow().clone(),
                        &stats,
                        &snap,
                        self.shared.problems(),
                        self.shared.last_error(),
                    )
                    .with_connections(per);
                    systemd::status(&st.line());
                    self.live.record(&st);
                    if let Err(e) = status_file::write_status(&self.dirs.state, &st) {
                        tracing::debug!(error = %e, "status.json cannot be written.");
                    }
                    last = Some(st);
                }
                Err(e) => tracing::warn!(error = %e, "Journal statistics unavailable."),
            }
        }
        if let Some(mut st) = last {
            st.running = false;
            st.updated_at = now_ms();
            let _ = status_file::write_status(&self.dirs.state, &st);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_of_429s_is_a_problem_unless_the_environment_says_otherwise() {
        assert_eq!(rate_limited_problem_after(None), Duration::from_secs(60));
        assert_eq!(rate_limited_problem_after(Some("5")), Duration::from_secs(5));
        for bad in ["0", "-3", "x", ""] {
            assert_eq!(rate_limited_problem_after(Some(bad)), Duration::from_secs(60), "{bad:?}");
        }
    }
}
