//! The daemon's connections: one engine per configured connection, each with its own client
//! (and OAuth token cache), breaker, identity and agent directory, on a journal handle that
//! sees only that connection's files; connections to one Freshdesk account share its pacer
//! ([`Accounts`]). Also what the status writer shows of them, and the problem of rows that wait
//! on a connection the config no longer has (they are never sent elsewhere). It only wires,
//! runs and reports; it must not move files (the spool) or decide when an op runs (the engine).

use super::Error;
use super::problems::Shared;
use crate::config::Settings;
use crate::engine::pacer::Accounts;
use crate::engine::{Engine, EngineConfig, Mode, RunUntil};
use crate::freshdesk::Client;
use crate::journal::{self, Journal, JournalStats};
use crate::metrics::{ConnectionGauges, ConnectionTally, Metrics};
use crate::status_file::ConnectionStatus;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub(super) type DaemonEngine = Engine<Client>;

/// One configured connection and its engine.
pub(super) struct Conn {
    pub(super) name: String,
    pub(super) account: String,
    pub(super) engine: DaemonEngine,
}

/// An engine for every configured connection, in config order.
pub(super) fn start_all(
    settings: &Settings,
    journal: &Journal,
    metrics: &Arc<Metrics>,
) -> Result<Vec<Conn>, Error> {
    let accounts = Accounts::new();
    let mut conns = Vec::with_capacity(settings.connections.len());
    for c in &settings.connections {
        let on = settings.on_connection(&c.name)?;
        let client =
            Client::new(&on).map_err(|source| Error::Client { connection: c.name.clone(), source })?;
        let tally = Arc::new(ConnectionTally::new(metrics.clone(), &c.name));
        let cfg = EngineConfig::from_settings(&on, Mode::Daemon);
        let journal = journal.on_connection(&c.name);
        let engine = Engine::with_tally(journal, client, accounts.pacer_for(&on), cfg, tally);
        conns.push(Conn { name: c.name.clone(), account: c.account(), engine });
    }
    Ok(conns)
}

/// Runs every engine until `stop`. A journal error in one stops the others (they drain their
/// requests in flight first) and is the result.
pub(super) async fn run_all(engines: Vec<DaemonEngine>, stop: CancellationToken) -> journal::Result<()> {
    let all = stop.child_token();
    let mut set = JoinSet::new();
    for engine in engines {
        let stop = all.clone();
        set.spawn(async move { engine.run(RunUntil::Shutdown, stop).await.map(|_| ()) });
    }
    let mut first_error = None;
    while let Some(done) = set.join_next().await {
        let error = match done {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e,
            Err(e) => journal::Error::Data(format!("an engine failed: {e}")),
        };
        all.cancel();
        first_error.get_or_insert(error);
    }
    first_error.map_or(Ok(()), Err)
}

impl Conn {
    /// Its line in `status.json`, and its metrics gauges refreshed.
    pub(super) fn status(&self, stats: &JournalStats, metrics: &Metrics) -> ConnectionStatus {
        let quota = self.engine.pacer().snapshot();
        let rows_pending = stats.pending_by_connection.get(&self.name).copied().unwrap_or(0);
        let credentials_refused = self.engine.health().auth_refused;
        metrics.update_connection(&ConnectionGauges {
            connection: &self.name,
            pacer: &quota,
            rows_pending,
            credentials_refused: credentials_refused.is_some(),
        });
        ConnectionStatus {
            name: self.name.clone(),
            account: self.account.clone(),
            quota,
            rows_pending,
            credentials_refused,
        }
    }
}

/// Rows of running or held files on a connection the config does not have: they wait, and
/// say so, until it is configured again (or the files are dealt with). `raised` holds the
/// names raised so far; one that no longer waits is cleared.
pub(super) fn raise_unconfigured(
    stats: &JournalStats,
    conns: &[Conn],
    shared: &Shared,
    raised: &mut BTreeSet<String>,
) {
    let waiting: BTreeSet<String> = stats
        .pending_by_connection
        .iter()
        .filter(|(name, n)| **n > 0 && !conns.iter().any(|c| &c.name == *name))
        .map(|(name, _)| name.clone())
        .collect();
    for name in &waiting {
        let n = stats.pending_by_connection[name];
        let msg = format!(
            "connection {} is not configured; {n} ops wait (they are never sent on another connection; \
             configure it, then restart fdsync run: a reload does not start connections)",
            crate::text::Shown(name)
        );
        if shared.raise(&format!("unconfigured:{name}"), &msg) {
            tracing::warn!(connection = %crate::text::Shown(name), ops = n, "Rows wait on a connection that is not configured.");
        }
    }
    for gone in raised.difference(&waiting) {
        shared.clear(&format!("unconfigured:{gone}"));
    }
    *raised = waiting;
}
