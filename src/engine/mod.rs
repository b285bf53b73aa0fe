//! The engine: takes ready ops from the journal in arrival order, runs each through the pacer
//! and the Freshdesk API, and records every step. Uncertain ops (a mutating request sent, no
//! answer) are reconciled by lookup, and only once that request can no longer be in flight.
//!
//! Parts: [`ports`] (the `Api` trait), [`worker`] (one op), [`reconcile`] (uncertain ops),
//! [`pacer`] (quota), [`breaker`] (pipeline pause), [`answers`] (reading bodies).

pub mod answers;
pub mod arc;
pub mod breaker;
mod directory;
mod health;
pub mod pacer;
pub mod ports;
mod reconcile;
pub mod retry;
mod worker;

use crate::journal::{self, Journal, OpRecord, now_ms};
use health::Health;
use pacer::Pacer;
use ports::Api;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Settings the engine needs, taken from the config.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub max_attempts: u32,
    /// The client's request timeout: an uncertain request may land until `sent_at` + this.
    pub request_timeout: Duration,
    /// Lower-cased emails that are never deleted.
    pub protected_emails: Vec<String>,
    /// Most ops handed to tasks at once (the pacer bounds what is really in flight).
    pub max_tasks: usize,
    /// One-shot import: stop on an auth failure or an unreachable Freshdesk instead of waiting.
    pub stop_on_breaker: bool,
}

impl EngineConfig {
    pub fn from_settings(s: &crate::config::Settings, stop_on_breaker: bool) -> Self {
        Self {
            max_attempts: s.limits.max_attempts,
            request_timeout: s.freshdesk.request_timeout,
            protected_emails: s.safety.protected_emails.clone(),
            max_tasks: (s.limits.concurrency * 2).max(4),
            stop_on_breaker,
        }
    }
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
    /// Freshdesk could not be reached at all.
    Unreachable(String),
}

/// The agent who owns the credentials: never deleted by fdsync.
#[derive(Debug, Clone, Default)]
pub(crate) struct Me {
    pub id: Option<u64>,
    pub email: Option<String>,
}

pub(crate) struct Inner<A> {
    pub journal: Journal,
    pub api: A,
    pub pacer: Arc<Pacer>,
    pub cfg: EngineConfig,
    pub me: tokio::sync::OnceCell<Me>,
    pub health: Mutex<Health>,
    /// Uncertain ops and when to look them up (ms since epoch).
    pub uncertain: Mutex<HashMap<i64, i64>>,
    /// The agent directory (see `directory`); an async lock so one listing serves all workers.
    pub directory: tokio::sync::Mutex<directory::DirState>,
}

/// A handle to run the pipeline. Cheap to clone.
pub struct Engine<A> {
    inner: Arc<Inner<A>>,
}

impl<A> Clone for Engine<A> {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone() }
    }
}

/// Ready ops fetched from the journal at once.
const PREFETCH: usize = 256;

enum Task {
    Op(i64),
    Reconcile(i64),
}

impl<A: Api> Engine<A> {
    pub fn new(journal: Journal, api: A, pacer: Arc<Pacer>, cfg: EngineConfig) -> Self {
        let cfg_stop = cfg.stop_on_breaker;
        let inner = Inner {
            journal,
            api,
            pacer,
            cfg,
            me: tokio::sync::OnceCell::new(),
            health: Mutex::new(Health::new(cfg_stop)),
            uncertain: Mutex::new(HashMap::new()),
            directory: tokio::sync::Mutex::new(directory::DirState::default()),
        };
        Self { inner: Arc::new(inner) }
    }

    pub fn pacer(&self) -> &Arc<Pacer> {
        &self.inner.pacer
    }

    /// Runs ops until `until` is met, the breaker stops a one-shot run, or `shutdown` fires. On
    /// shutdown no new op starts; ops in flight finish (their requests are bounded by the client's
    /// timeout) and everything else stays pending for the next run.
    pub async fn run(&self, until: RunUntil, shutdown: CancellationToken) -> journal::Result<RunEnd> {
        let inner = &self.inner;
        if let Some(end) = inner.identify().await {
            return Ok(end);
        }
        inner.queue_uncertain().await?;
        let mut tasks: JoinSet<(Task, journal::Result<()>)> = JoinSet::new();
        let mut busy: HashSet<i64> = HashSet::new();
        // Ready ops fetched but not started yet: the journal is asked again only when it is empty.
        let mut queue: VecDeque<OpRecord> = VecDeque::new();
        let end = loop {
            if shutdown.is_cancelled() {
                break RunEnd::Interrupted;
            }
            if let Some(end) = inner.breaker_end() {
                break end;
            }
            let cap = inner.breaker_room().unwrap_or(inner.cfg.max_tasks).min(inner.cfg.max_tasks);
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
            let idle = Duration::from_millis(if started == 0 { 100 } else { 20 });
            tokio::select! {
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    self.task_done(done, &mut busy)?;
                }
                _ = tokio::time::sleep(idle) => {}
                _ = shutdown.cancelled() => {}
            }
        };
        // Drain: requests in flight finish and are recorded.
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
        let due: Vec<i64> = {
            let map = inner.uncertain.lock().expect("uncertain lock");
            map.iter().filter(|(id, at)| **at <= now && !busy.contains(id)).map(|(id, _)| *id).collect()
        };
        for id in due {
            if tasks.len() >= cap {
                return Ok(started);
            }
            busy.insert(id);
            let me = self.inner.clone();
            tasks.spawn(async move { (Task::Reconcile(id), me.reconcile(id).await) });
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
            tasks.spawn(async move {
                let id = op.id;
                (Task::Op(id), me.execute(op).await)
            });
            started += 1;
        }
        Ok(started)
    }
}

impl<A: Api> Inner<A> {
    async fn files_final(&self, ids: &[i64]) -> journal::Result<bool> {
        if !self.uncertain.lock().expect("uncertain lock").is_empty() {
            return Ok(false);
        }
        for id in ids {
            if !self.journal.row_counts(*id).await?.is_final() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Learns who the credentials belong to (never deleted), and fails fast on bad credentials.
    pub(crate) async fn identify(&self) -> Option<RunEnd> {
        if self.me.initialized() {
            return None;
        }
        for attempt in 0..3u32 {
            let permit = self.pacer.acquire(crate::freshdesk::EndpointClass::Other).await;
            let reply = self.api.me().await;
            permit.finish(&reply);
            self.observe(&reply.answer);
            match &reply.answer {
                crate::freshdesk::Answer::Success { body, .. } => {
                    let me = Me {
                        id: crate::freshdesk::agents::parse_agent(body).map(|a| a.id),
                        email: body.pointer("/contact/email").and_then(|v| v.as_str()).map(str::to_lowercase),
                    };
                    let _ = self.me.set(me);
                    return None;
                }
                crate::freshdesk::Answer::Auth { .. } => return self.breaker_end(),
                crate::freshdesk::Answer::RateLimited { retry_after } => {
                    tokio::time::sleep(*retry_after).await
                }
                crate::freshdesk::Answer::Transient { .. } | crate::freshdesk::Answer::Uncertain { .. } => {
                    if attempt == 2 && self.cfg.stop_on_breaker {
                        let (_, why) = answers::describe(&reply.answer);
                        return Some(RunEnd::Unreachable(format!("Freshdesk could not be reached: {why}")));
                    }
                    tokio::time::sleep(Duration::from_millis(500 << attempt)).await;
                }
                other => {
                    // A key that may not read its own profile still works for other calls.
                    let (_, why) = answers::describe(other);
                    tracing::warn!(reason = %why, "Could not learn whose API key this is.");
                    let _ = self.me.set(Me::default());
                    return None;
                }
            }
        }
        let _ = self.me.set(Me::default());
        None
    }

    /// Ops left `sending` by an earlier process are uncertain: look them up once their request
    /// can no longer be in flight.
    async fn queue_uncertain(&self) -> journal::Result<()> {
        let ops = self.journal.sending_ops().await?;
        let mut map = self.uncertain.lock().expect("uncertain lock");
        for op in ops {
            map.entry(op.id).or_insert_with(|| self.reconcile_due(op.sent_at));
        }
        Ok(())
    }

    /// When an op sent at `sent_at` can be looked up: after the request timeout, plus a margin.
    pub(crate) fn reconcile_due(&self, sent_at: Option<i64>) -> i64 {
        let sent = sent_at.unwrap_or_else(now_ms);
        sent + self.cfg.request_timeout.as_millis() as i64 + 1000
    }
}
