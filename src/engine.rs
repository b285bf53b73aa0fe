//! The engine: takes ready ops from the journal in arrival order, runs each through the pacer
//! and the Freshdesk API, and records every step. Uncertain ops (a change sent, no readable
//! answer) are reconciled by lookup, and only once that request can no longer be in flight.
//!
//! Owners: [`send`] (the one send path: pacer permit, health gate, call, observe) over the typed
//! [`ports::Api`]; [`health`] (breaker, pause, reasons to stop); [`safety`] (the safety policy:
//! volume and grants guards, the per-row rules before a delete, whose key this is, the agent
//! listing, the account's roles); [`fieldbook`] (the account's ticket fields, to type custom
//! values); [`names`] (groups, products and agents a ticket names); [`worker`] (one op's
//! decisions), beside it [`undo`] (an undo's two changes), [`update`] (an agent's name, e-mail or
//! title changed), [`contact`] (a SCIM user provisioned inactive, and its activation) and [`preview`] (`fdsync plan`); [`lookup`] (the agent a row names);
//! [`reconcile`] (uncertain ops). What they conclude is typed in [`decision`], a leaf they all
//! share, so none of them imports another's conclusions. Policies: [`pacer`] (quota),
//! [`breaker`], [`retry`], [`arc`].

pub mod arc;
pub mod breaker;
mod cached;
mod contact;
mod decision;
mod fieldbook;
mod give_back;
mod handover;
mod health;
mod lookup;
mod names;
pub mod pacer;
pub mod ports;
mod preview;
mod reconcile;
pub mod retry;
pub mod safety;
mod send;
mod undo;
mod update;
mod worker;

#[cfg(test)]
mod tests;

pub use health::{HealthSnapshot, Mode};
pub(crate) use names::{AccountNames, Kind as NameKind};
pub use preview::{Preview, PreviewHolds};
pub use send::Tally;

use crate::journal::{self, Journal, OpRecord, now_ms};
use crate::pipeline::{self, Progress};
use health::Health;
use pacer::Pacer;
use ports::Api;
use reconcile::Reconciler;
use safety::directory::AgentDirectory;
use safety::identity::Identity;
use safety::{guards, roles};
use send::{SendPolicy, Sender};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Settings the engine needs, taken from the config.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub mode: Mode,
    pub max_attempts: u32,
    /// The client's request timeout: an uncertain request may land until `sent_at` + this.
    pub request_timeout: Duration,
    /// Lower-cased emails that are never deleted.
    pub protected_emails: Vec<String>,
    /// Role names whose agents are never deleted.
    pub protected_roles: Vec<String>,
    /// When a file's deletes are held for approval.
    pub volume: guards::VolumeRules,
    /// The connections to this connection's Freshdesk account (itself included): the volume
    /// rules count the deletes of all of them.
    pub account_connections: Vec<String>,
    /// Most ops handed to tasks at once (the pacer bounds what is really in flight).
    pub max_tasks: usize,
    /// A one-shot run answered only by 429s this long stops.
    pub max_rate_limited: Duration,
    /// Offboarding: each inbox's default `successor_group` (by the inbox folder files record).
    pub successor_groups: Vec<(String, crate::domain::GroupRef)>,
}

impl EngineConfig {
    pub fn from_settings(s: &crate::config::Settings, mode: Mode) -> Self {
        Self {
            mode,
            max_attempts: s.limits.max_attempts,
            request_timeout: s.freshdesk.request_timeout,
            protected_emails: s.safety.protected_emails.clone(),
            protected_roles: s.safety.protected_roles.clone(),
            volume: guards::VolumeRules {
                max_deletes_per_file: s.safety.max_deletes_per_file,
                max_deletes_percent: s.safety.max_deletes_percent,
                window: s.safety.window,
            },
            account_connections: same_account(s),
            max_tasks: (s.limits.concurrency * 2).max(4),
            max_rate_limited: s.limits.max_rate_limited,
            successor_groups: s
                .inboxes
                .iter()
                .filter_map(|i| i.successor_group.clone().map(|g| (i.dir.display().to_string(), g)))
                .collect(),
        }
    }
}

/// The connections to the Freshdesk account of `s`'s connection, itself first.
fn same_account(s: &crate::config::Settings) -> Vec<String> {
    let account = crate::config::account_of(&s.freshdesk.base_url);
    let mut names = vec![s.connection.clone()];
    for c in &s.connections {
        if c.name != s.connection && c.account() == account {
            names.push(c.name.clone());
        }
    }
    names
}

/// Which ops a run waits for.
#[derive(Debug, Clone)]
pub enum RunUntil {
    /// Until every op of these files is final.
    Files(Vec<i64>),
    /// Until shut down (the daemon).
    Shutdown,
}

/// Why a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    Finished,
    Interrupted,
    /// Freshdesk refused the credentials (or the account): nothing more can succeed.
    AuthFailed(String),
    /// Freshdesk could not be reached at all, or kept failing.
    Unreachable(String),
    /// Freshdesk answered only 429s for longer than `limits.max_rate_limited_secs`.
    RateLimited(String),
}

impl RunEnd {
    /// Why a one-shot run stopped early, for the operator.
    pub fn reason(&self) -> Option<&str> {
        match self {
            RunEnd::Finished | RunEnd::Interrupted => None,
            RunEnd::AuthFailed(why) | RunEnd::Unreachable(why) | RunEnd::RateLimited(why) => Some(why),
        }
    }
}

/// What every task of a run shares; each part owns its own state.
pub(crate) struct Parts<A> {
    pub(crate) journal: Journal,
    pub(crate) sender: Sender<A>,
    pub(crate) cfg: EngineConfig,
    pub(crate) identity: Identity,
    pub(crate) directory: AgentDirectory,
    pub(crate) gate: guards::FileGate,
    pub(crate) roles: roles::RoleBook,
    /// The account's ticket fields, to type custom field values.
    pub(crate) fields: fieldbook::FieldBook,
    /// The account's groups, products and agents, for a ticket's names instead of ids.
    pub(crate) names: names::NameBook,
    pub(crate) reconciler: Reconciler,
    /// What offboarding's handover reads of the account once (groups, required fields).
    pub(crate) lookups: handover::Lookups,
    /// Rung when new ops may be ready (a file taken or approved): an idle engine looks at once.
    pub(crate) wake: tokio::sync::Notify,
}

/// A handle to run the pipeline. Cheap to clone.
pub struct Engine<A> {
    inner: Arc<Parts<A>>,
}

impl<A> Clone for Engine<A> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

/// Ready ops fetched from the journal at once.
const PREFETCH: usize = 256;
/// How soon an engine with nothing to do looks at the journal again; doubled while it stays
/// idle, up to [`IDLE_MAX`] in the daemon, where [`Engine::nudge`] says when new work arrives.
const IDLE_FIRST: Duration = Duration::from_millis(100);
/// The daemon engine's longest idle look: it catches ops made ready by another process
/// (`fdsync retry`) and retries whose time came.
const IDLE_MAX: Duration = Duration::from_secs(2);

enum Task {
    Op(i64),
    Reconcile(i64),
}

impl<A: Api> Engine<A> {
    pub fn new(journal: Journal, api: A, pacer: Arc<Pacer>, cfg: EngineConfig) -> Self {
        Self::build(journal, api, pacer, cfg, SendPolicy::default())
    }

    /// An engine whose send path tells `tally` of every answer (the daemon's metrics).
    pub fn with_tally(
        journal: Journal,
        api: A,
        pacer: Arc<Pacer>,
        cfg: EngineConfig,
        tally: Arc<dyn Tally>,
    ) -> Self {
        Self::build(journal, api, pacer, cfg, SendPolicy { tally: Some(tally), read_only: false })
    }

    fn build(journal: Journal, api: A, pacer: Arc<Pacer>, cfg: EngineConfig, policy: SendPolicy) -> Self {
        let health = Health::new(cfg.mode, cfg.max_rate_limited);
        let reconciler = Reconciler::new(cfg.request_timeout);
        let inner = Parts {
            journal,
            sender: Sender::new(api, pacer, health, policy),
            cfg,
            identity: Identity::new(),
            directory: AgentDirectory::default(),
            gate: guards::FileGate::default(),
            roles: roles::RoleBook::new(),
            fields: fieldbook::FieldBook::new(),
            names: names::NameBook::new(),
            reconciler,
            lookups: handover::Lookups::default(),
            wake: tokio::sync::Notify::new(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Says new ops may be ready (a file taken or approved): an idle run looks at once.
    pub fn nudge(&self) {
        self.inner.wake.notify_one();
    }

    /// One page (100) of the agent listing, read through this engine's pacer and health gate
    /// (the SCIM service's directory): the agents and whether a next page exists.
    pub async fn read_agents_page(&self, page: u32) -> Result<(Vec<crate::freshdesk::Agent>, bool), String> {
        let class = crate::freshdesk::EndpointClass::Other;
        self.inner.sender.read(class, |api| api.list_agents(page, 100)).await
    }

    /// One agent by id through the pacer: `Ok(None)` when Freshdesk says there is none.
    pub async fn read_agent(&self, id: u64) -> Result<Option<crate::freshdesk::Agent>, String> {
        let class = crate::freshdesk::EndpointClass::Other;
        let Some(reply) = self.inner.sender.send(class, |api| api.get_agent(id)).await else {
            return Err("requests are paused".into());
        };
        match reply.answer {
            crate::freshdesk::Answer::Ok { value, .. } => Ok(Some(value)),
            crate::freshdesk::Answer::NotFound => Ok(None),
            other => Err(other.describe().1),
        }
    }

    /// The account's role and group names (the SCIM service's `roles` and `groups`), read
    /// through the pacer by the [`names::NameBook`] that resolves a ticket's names.
    pub(crate) async fn account_names(&self) -> Result<names::AccountNames, String> {
        self.inner.names.account(&self.inner).await
    }

    pub fn pacer(&self) -> &Arc<Pacer> {
        self.inner.sender.pacer()
    }

    /// Refused credentials and long rate limiting, for the daemon's problems.
    pub fn health(&self) -> HealthSnapshot {
        self.inner.sender.health().snapshot()
    }

    /// Runs ops until `until` is met, the breaker stops a one-shot run, or `shutdown` fires. On
    /// shutdown no new op starts; ops in flight finish (their requests are bounded by the client's
    /// timeout) and everything else stays pending for the next run.
    pub async fn run(&self, until: RunUntil, shutdown: CancellationToken) -> journal::Result<RunEnd> {
        let inner = &self.inner;
        if let Err(end) = inner.identity.learn(&inner.sender).await {
            return Ok(end);
        }
        inner.reconciler.queue_sending(&inner.journal).await?;
        let mut tasks: JoinSet<(Task, journal::Result<()>)> = JoinSet::new();
        let mut busy: HashSet<i64> = HashSet::new();
        // Ready ops fetched but not started yet: the journal is asked again only when it is empty.
        let mut queue: VecDeque<OpRecord> = VecDeque::new();
        // A one-shot run has its ops already; only the daemon waits for new ones to arrive.
        let idle_max = match until {
            RunUntil::Files(_) => IDLE_FIRST,
            RunUntil::Shutdown => IDLE_MAX,
        };
        let mut idle = IDLE_FIRST;
        let end = loop {
            if shutdown.is_cancelled() {
                break RunEnd::Interrupted;
            }
            if let Some(end) = inner.sender.health().end() {
                break end;
            }
            let cap = inner.sender.health().room().unwrap_or(inner.cfg.max_tasks).min(inner.cfg.max_tasks);
            let started = if tasks.len() < cap {
                self.dispatch(&mut tasks, &mut busy, &mut queue, cap).await?
            } else {
                0
            };
            if let RunUntil::Files(ids) = &until
                && tasks.is_empty()
                && started == 0
                && inner.files_final(ids).await?
            {
                break RunEnd::Finished;
            }
            let nap = if started > 0 {
                idle = IDLE_FIRST;
                Duration::from_millis(20)
            } else if !tasks.is_empty() || !inner.reconciler.is_empty() {
                idle = IDLE_FIRST;
                IDLE_FIRST
            } else {
                let nap = idle;
                idle = (idle * 2).min(idle_max);
                nap
            };
            tokio::select! {
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    self.task_done(done, &mut busy)?;
                }
                _ = tokio::time::sleep(nap) => {}
                _ = inner.wake.notified() => idle = IDLE_FIRST,
                _ = shutdown.cancelled() => {}
            }
        };
        // Drain: requests in flight finish and are recorded; those still waiting for quota give
        // up (nothing sent, their ops stay pending).
        inner.sender.stop_waiting();
        while let Some(done) = tasks.join_next().await {
            self.task_done(done, &mut busy)?;
        }
        Ok(end)
    }

    fn task_done(
        &self,
        done: Result<(Task, journal::Result<()>), tokio::task::JoinError>,
        busy: &mut HashSet<i64>,
    ) -> journal::Result<()> {
        match done {
            Ok((Task::Op(id) | Task::Reconcile(id), result)) => {
                busy.remove(&id);
                result
            }
            Err(e) => Err(journal::Error::Data(format!("an engine task failed: {e}"))),
        }
    }

    /// Starts reconciliations that are due and ready ops, up to the task bound.
    async fn dispatch(
        &self,
        tasks: &mut JoinSet<(Task, journal::Result<()>)>,
        busy: &mut HashSet<i64>,
        queue: &mut VecDeque<OpRecord>,
        cap: usize,
    ) -> journal::Result<usize> {
        let inner = &self.inner;
        let mut started = 0;
        let now = now_ms();
        for id in inner.reconciler.due(now, busy) {
            if tasks.len() >= cap {
                return Ok(started);
            }
            busy.insert(id);
            let me = self.inner.clone();
            let span = tracing::info_span!("reconcile", connection = %inner.journal.connection(), op_id = id);
            tasks.spawn(
                async move { (Task::Reconcile(id), me.reconciler.reconcile(&me, id).await) }.instrument(span),
            );
            started += 1;
        }
        let room = cap.saturating_sub(tasks.len());
        if room == 0 {
            return Ok(started);
        }
        if queue.is_empty() {
            // Ops waiting for quota are still `pending`: fetch past them, keep the rest for later.
            let ready = inner.journal.ready_ops(now, PREFETCH.max(room) + busy.len()).await?;
            queue.extend(ready.into_iter().filter(|op| !busy.contains(&op.id)));
        }
        let take = room.min(queue.len());
        for op in queue.drain(..take) {
            busy.insert(op.id);
            let me = self.inner.clone();
            // Every event of this op inherits where it comes from.
            let span = tracing::info_span!(
                "op",
                connection = %inner.journal.connection(),
                file_id = op.file_id,
                row = op.row,
                key = %crate::text::Shown(&op.key),
                op_id = op.id,
            );
            tasks.spawn(
                async move {
                    let id = op.id;
                    (Task::Op(id), worker::Worker::new(&me).execute(op).await)
                }
                .instrument(span),
            );
            started += 1;
        }
        Ok(started)
    }
}

impl<A: Api> Parts<A> {
    /// Every op of these files is final (or their file was held), and nothing is uncertain.
    async fn files_final(&self, ids: &[i64]) -> journal::Result<bool> {
        if !self.reconciler.is_empty() {
            return Ok(false);
        }
        for id in ids {
            if pipeline::progress(&self.journal, *id).await? == Progress::Running {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
