//! The one send path: wait for quota (a pacer permit), pass the health gate (the breaker's
//! half-open probe), do what must be durable first (mark the op `sending`), make the call, and
//! feed the answer to the pacer, the health gate and the tally (the daemon's metrics). Every
//! request the engine makes goes here, and every change through [`Sender::send_change`], which
//! a read-only send path (the preview, `fdsync plan`) answers itself: no change leaves it.
//! A run that stops ([`Sender::stop_waiting`]) lets requests already sent finish, but a request
//! still waiting for quota (a long Retry-After) gives up at once: nothing was sent, so its op
//! stays pending for the next run.

use super::health::Health;
use super::pacer::Pacer;
use super::ports::Api;
use crate::freshdesk::{Answer, EndpointClass, Reply, Verdict};
use crate::journal;
use std::future::Future;
use std::sync::Arc;

/// Told of every answer the send path gets (the daemon counts them per connection for its
/// metrics). `http_status`: `None` when no answer arrived.
pub trait Tally: Send + Sync {
    fn answer(&self, http_status: Option<u16>);
}

/// How a send path treats what goes through it, besides pacing and the health gate.
#[derive(Clone, Default)]
pub(crate) struct SendPolicy {
    /// Told of every answer.
    pub(crate) tally: Option<Arc<dyn Tally>>,
    /// Changes are refused here, never sent (the preview).
    pub(crate) read_only: bool,
}

pub(crate) struct Sender<A> {
    api: A,
    pacer: Arc<Pacer>,
    health: Health,
    policy: SendPolicy,
    /// Cancelled when the current run stops; a fresh one for the next run.
    stopping: std::sync::Mutex<tokio_util::sync::CancellationToken>,
}

impl<A: Api> Sender<A> {
    pub(crate) fn new(api: A, pacer: Arc<Pacer>, health: Health, policy: SendPolicy) -> Self {
        Self { api, pacer, health, policy, stopping: Default::default() }
    }

    /// The run is stopping: every request still waiting for quota gives up (nothing sent).
    pub(crate) fn stop_waiting(&self) {
        let mut stopping = self.stopping.lock().unwrap_or_else(|e| e.into_inner());
        stopping.cancel();
        *stopping = tokio_util::sync::CancellationToken::new();
    }

    pub(crate) fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }

    pub(crate) fn health(&self) -> &Health {
        &self.health
    }

    /// Permit → gate → `before` (e.g. commit `sending`; its value is returned) → call → observe.
    /// `Ok(None)`: the breaker holds requests back, or the run stopped while this waited for
    /// quota; nothing was sent and `before` did not run.
    pub(crate) async fn send_after<'a, T, B, F, Fut>(
        &'a self,
        class: EndpointClass,
        before: B,
        call: F,
    ) -> journal::Result<Option<(Reply<T>, i64)>>
    where
        B: Future<Output = journal::Result<i64>>,
        F: FnOnce(&'a A) -> Fut,
        Fut: Future<Output = Reply<T>>,
    {
        let stop = self.stopping.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let permit = tokio::select! {
            permit = self.pacer.acquire(class) => permit,
            _ = stop.cancelled() => return Ok(None),
        };
        if !self.health.allow() {
            return Ok(None);
        }
        let marked = before.await?;
        let reply = call(&self.api).await;
        permit.finish(&reply);
        self.health.observe(&reply.answer);
        if let Some(tally) = &self.policy.tally {
            tally.answer(reply.answer.http_status());
        }
        Ok(Some((reply, marked)))
    }

    /// A change (create, delete, restore): [`Sender::send_after`], unless this send path is
    /// read-only; then it is refused here, nothing is sent and `before` does not run.
    pub(crate) async fn send_change<'a, T, B, F, Fut>(
        &'a self,
        class: EndpointClass,
        before: B,
        call: F,
    ) -> journal::Result<Option<(Reply<T>, i64)>>
    where
        B: Future<Output = journal::Result<i64>>,
        F: FnOnce(&'a A) -> Fut,
        Fut: Future<Output = Reply<T>>,
    {
        if self.policy.read_only {
            let message = "a preview sends no change".to_string();
            let refused =
                Answer::Invalid { status: 0, code: Some("read_only".into()), message, errors: vec![] };
            return Ok(Some((Reply::bare(refused), journal::now_ms())));
        }
        self.send_after(class, before, call).await
    }

    /// A read that needs nothing durable first (lookups, listings, `me`).
    pub(crate) async fn send<'a, T, F, Fut>(&'a self, class: EndpointClass, call: F) -> Option<Reply<T>>
    where
        F: FnOnce(&'a A) -> Fut,
        Fut: Future<Output = Reply<T>>,
    {
        match self.send_after(class, async { Ok(0) }, call).await {
            Ok(sent) => sent.map(|(reply, _)| reply),
            Err(_) => None,
        }
    }

    /// A read that must succeed for a safety decision, retried through passing trouble: up to
    /// [`READ_TRIES`] answers that prove nothing (5xx, transport, unreadable), each after a short
    /// backoff, and up to [`READ_RATE_LIMITED`] 429s (each waited out in the pacer). `Err` says
    /// why the answer is still unknown; any other refusal ends it at once. `Ok` has the value and
    /// whether a next page exists.
    pub(crate) async fn read<'a, T, F, Fut>(
        &'a self,
        class: EndpointClass,
        call: F,
    ) -> Result<(T, bool), String>
    where
        F: Fn(&'a A) -> Fut,
        Fut: Future<Output = Reply<T>>,
    {
        let (mut tries, mut limited) = (0, 0);
        let mut last = String::from("no answer");
        while tries < READ_TRIES && limited < READ_RATE_LIMITED {
            let Some(reply) = self.send(class, &call).await else {
                return Err("requests are paused".into());
            };
            let answer = match reply.answer {
                Answer::Ok { value, .. } => return Ok((value, reply.next_page)),
                other => other,
            };
            match answer.verdict() {
                Verdict::RateLimited(_) => limited += 1,
                Verdict::ProvesNothing { .. } => {
                    last = answer.describe().1;
                    tokio::time::sleep(super::retry::READ.after(tries)).await;
                    tries += 1;
                }
                Verdict::Ok | Verdict::Refused | Verdict::Final => return Err(answer.describe().1),
            }
        }
        Err(last)
    }
}

/// Answers that prove nothing tolerated by [`Sender::read`].
const READ_TRIES: u32 = 3;
/// 429s tolerated by [`Sender::read`].
const READ_RATE_LIMITED: u32 = 20;
