//! Notifications (`[[notify]]`): telling people that a file is held, failed, finished with
//! failed rows or done, and that Freshdesk refuses the credentials or keeps answering 429.
//!
//! Delivery is an outbox in the journal ([`crate::journal`]'s `outbox` table): the journal
//! records a notification in the same transaction as the event that causes it, for each target
//! whose `on` lists the event ([`routes`]). The [`Delivery`] task, started by `fdsync run` only,
//! polls the outbox, builds each message from the journal's facts ([`message`]) and sends it to
//! its target ([`webhook`], [`email`]): at least once, with exponential backoff and jitter
//! between attempts, and given up (logged as an error, row marked) after [`GIVE_UP_AFTER`] or on
//! an answer a retry will not change. Rows left pending by a stopped or killed daemon are sent
//! after the restart. A row whose target is no longer configured is dropped, never sent
//! elsewhere. `fdsync import` records no notifications: its output is the summary.
//!
//! The task never blocks the engine: it runs on its own, every send has a connect timeout and
//! a deadline, and a stop aborts a send in flight (the row stays pending). Logs name a target
//! by its label (`webhook https://hooks.example.com/…`, `smtp mail.example.com`), never by URL.

mod email;
pub mod message;
mod webhook;

use crate::config::notify::Target;
use crate::config::{NotifyEvent, NotifyTarget};
use crate::journal::{Journal, Notice, NoticeEnd, Route, now_ms};
use crate::text::Shown;
use message::Message;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often the outbox is looked at.
const POLL: Duration = Duration::from_secs(1);
/// Notifications sent per look.
const BATCH: usize = 16;
/// A notification not delivered after this long is given up.
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The first retry's delay; each further one doubles, up to [`MAX_DELAY`].
const FIRST_DELAY: Duration = Duration::from_secs(1);
const MAX_DELAY: Duration = Duration::from_secs(600);
/// Bounds of one send: connecting (and each SMTP step), and the whole send.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a notification was not delivered this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Undelivered {
    /// Worth another attempt later (timeouts, refused connections, 5xx, 429).
    Retry(String),
    /// The answer will not change (4xx, a redirect, an unbuildable message): given up now.
    Final(String),
}

/// The journal's routes for `targets`: which target key wants which event.
pub fn routes(targets: &[NotifyTarget]) -> Vec<Route> {
    targets.iter().map(|t| Route { target: t.key.clone(), events: t.on.clone() }).collect()
}

/// The delay before attempt `attempts + 1`: doubling from [`FIRST_DELAY`], capped, plus up to a
/// quarter more of jitter (`jitter` in 0..1) so that retries after an outage spread out.
pub fn backoff(attempts: u32, jitter: f64) -> Duration {
    let base = FIRST_DELAY.saturating_mul(1u32 << attempts.min(20)).min(MAX_DELAY);
    base.mul_f64(1.0 + 0.25 * jitter.clamp(0.0, 1.0))
}

/// The outbox's delivery task.
pub struct Delivery {
    journal: Journal,
    targets: Vec<NotifyTarget>,
    webhook: webhook::Webhook,
    state_dir: PathBuf,
    /// How long the identity provider must have held no new change before its cycle's held
    /// changes are announced (`scim.notify_quiet_secs`); ten times this at most.
    held_quiet: Duration,
}

impl Delivery {
    /// Sets the journal's routes for `targets`; `None` (nothing to run) when there are none.
    pub fn new(
        journal: Journal,
        targets: Vec<NotifyTarget>,
        state_dir: PathBuf,
        held_quiet: Duration,
    ) -> Result<Option<Self>, String> {
        journal.set_notify_routes(routes(&targets));
        if targets.is_empty() {
            return Ok(None);
        }
        let webhook = webhook::Webhook::new(CONNECT_TIMEOUT, SEND_TIMEOUT)?;
        Ok(Some(Self { journal, targets, webhook, state_dir, held_quiet }))
    }

    /// Delivers due notifications until `stop`.
    pub async fn run(self, stop: CancellationToken) {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            let due = match self.journal.due_notices(now_ms(), BATCH).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "Notifications cannot be read from the journal.");
                    continue;
                }
            };
            for notice in due {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    r = self.deliver(notice) => if let Err(e) = r {
                        tracing::warn!(error = %e, "Notification state cannot be recorded.");
                    },
                }
            }
        }
    }

    /// One attempt at one notification, and its record.
    async fn deliver(&self, n: Notice) -> crate::journal::Result<()> {
        let event = n.event.as_str();
        let Some(target) = self.targets.iter().find(|t| t.key == n.target) else {
            tracing::warn!(event, notice = n.id, "Notification for a target no longer configured; dropped.");
            let why = "its target is no longer configured".to_string();
            return self.journal.notice_end(n.id, NoticeEnd::Dropped, Some(why)).await;
        };
        if n.event == NotifyEvent::Held
            && let Some(cycle) = self.journal.held_cycle(n.id, crate::scim::change::SOURCE).await?
        {
            return self.deliver_cycle(&n, target, cycle).await;
        }
        let result = match self.message(&n).await? {
            Some(message) => self.send(target, &message).await,
            None => Err(Undelivered::Final(format!(
                "file {} is no longer in the journal",
                n.file_id.unwrap_or(0)
            ))),
        };
        self.record(&n, &[n.id], target, result).await
    }

    /// The held SCIM changes of one provisioning cycle (`cycle`: their pending notices for this
    /// target, `n` among them) as one message, once the identity provider has held no new
    /// change for [`Self::held_quiet`] (or ten times that after the first): until then they
    /// are put off together; then one send, whose outcome every notice of the cycle shares.
    async fn deliver_cycle(
        &self,
        n: &Notice,
        target: &NotifyTarget,
        cycle: Vec<Notice>,
    ) -> crate::journal::Result<()> {
        if !cycle.iter().any(|c| c.id == n.id) {
            return Ok(()); // delivered with its cycle
        }
        let ids: Vec<i64> = cycle.iter().map(|c| c.id).collect();
        let quiet = self.held_quiet.as_millis() as i64;
        let newest = cycle.iter().map(|c| c.created_at).max().unwrap_or(n.created_at);
        let oldest = cycle.iter().map(|c| c.created_at).min().unwrap_or(n.created_at);
        let due = (newest + quiet).min(oldest + 10 * quiet);
        if now_ms() < due {
            return self.journal.notice_defer(ids, due).await;
        }
        let mut held = Vec::with_capacity(cycle.len());
        for c in &cycle {
            if let Some(facts) = self.journal.file_facts(c.file_id.unwrap_or(0), 0).await? {
                held.push(facts);
            }
        }
        let result = match held.is_empty() {
            true => Err(Undelivered::Final("the held changes are no longer in the journal".into())),
            false => self.send(target, &message::for_held_cycle(&held)).await,
        };
        self.record(n, &ids, target, result).await
    }

    /// Records one attempt's outcome for `ids` (one notice, or a cycle's, led by `n`).
    async fn record(
        &self,
        n: &Notice,
        ids: &[i64],
        target: &NotifyTarget,
        result: Result<(), Undelivered>,
    ) -> crate::journal::Result<()> {
        let (event, to) = (n.event.as_str(), target.label.as_str());
        let age = Duration::from_millis((now_ms() - n.created_at).max(0) as u64);
        let (end, why) = match result {
            Ok(()) => {
                tracing::info!(
                    event,
                    to,
                    file_id = n.file_id,
                    notices = ids.len(),
                    "Notification delivered."
                );
                (NoticeEnd::Sent, None)
            }
            Err(Undelivered::Retry(why)) if age < GIVE_UP_AFTER => {
                let delay = backoff(n.attempts, fastrand::f64());
                tracing::warn!(event, to, error = %Shown(&why), retry_in_secs = delay.as_secs_f32(), "Notification not delivered; will retry.");
                for &id in ids {
                    self.journal.notice_retry(id, now_ms() + delay.as_millis() as i64, why.clone()).await?;
                }
                return Ok(());
            }
            Err(Undelivered::Retry(why) | Undelivered::Final(why)) => {
                tracing::error!(event, to, error = %Shown(&why), attempts = n.attempts + 1, "Notification given up.");
                (NoticeEnd::GivenUp, Some(why))
            }
        };
        for &id in ids {
            self.journal.notice_end(id, end, why.clone()).await?;
        }
        Ok(())
    }

    /// The message of `n`, from the journal's facts now; `None` if its file is gone.
    async fn message(&self, n: &Notice) -> crate::journal::Result<Option<Message>> {
        let Some(file_id) = n.file_id else {
            return Ok(Some(message::for_daemon(n.event, n.detail.as_deref().unwrap_or_default())));
        };
        let Some(facts) = self.journal.file_facts(file_id, message::FIRST_FAILURES).await? else {
            return Ok(None);
        };
        let rejects = match n.event {
            NotifyEvent::Rejected => crate::report::rejects_path(&self.state_dir, file_id, &facts.file.name),
            _ => None,
        };
        Ok(Some(message::for_file(n.event, &facts, rejects.map(|p| p.display().to_string()))))
    }

    async fn send(&self, target: &NotifyTarget, message: &Message) -> Result<(), Undelivered> {
        match &target.target {
            Target::Webhook { url } => self.webhook.send(url, message).await,
            Target::Email(e) => email::send(e, message, CONNECT_TIMEOUT, SEND_TIMEOUT).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_second_is_capped_and_jitters_by_a_quarter_at_most() {
        assert_eq!(backoff(0, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(3, 0.0), Duration::from_secs(8));
        assert_eq!(backoff(30, 0.0), MAX_DELAY);
        assert_eq!(backoff(0, 1.0), Duration::from_millis(1250));
        assert_eq!(backoff(2, 7.0), Duration::from_secs(5), "jitter is clamped");
    }
}
