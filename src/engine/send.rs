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
use super::retry;
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

    /// A read that must succeed for a safety decision, retried through passing trouble as
    /// [`retry::SAFETY_READ`] says: answers that prove nothing (5xx, transport, unreadable), each
    /// after a short backoff, and 429s (each waited out in the pacer). `Err` says why the answer
    /// is still unknown; any other refusal ends it at once. `Ok` has the value and whether a
    /// next page exists.
    pub(crate) async fn read<'a, T, F, Fut>(
        &'a self,
        class: EndpointClass,
        call: F,
    ) -> Result<(T, bool), String>
    where
        F: Fn(&'a A) -> Fut,
        Fut: Future<Output = Reply<T>>,
    {
        let never = || None::<std::convert::Infallible>;
        self.read_as(&retry::SAFETY_READ, class, call, never).await.map_err(|unread| match unread {
            Unread::Paused => "requests are paused".into(),
            Unread::Stopped(never) => match never {},
            Unread::Refused(why) | Unread::Final(why) | Unread::Exhausted(why) => why,
        })
    }

    /// A read carried through passing trouble as `policy` says; `stop`, asked after a pause, a
    /// refusal of the credentials and a 429, ends it early with its reason.
    pub(crate) async fn read_as<'a, T, F, Fut, E>(
        &'a self,
        policy: &retry::ReadPolicy,
        class: EndpointClass,
        call: F,
        stop: impl Fn() -> Option<E>,
    ) -> Result<(T, bool), Unread<E>>
    where
        F: Fn(&'a A) -> Fut,
        Fut: Future<Output = Reply<T>>,
    {
        let (mut tries, mut limited) = (0, 0);
        let mut last = String::from("no answer");
        while tries < policy.tries && limited < policy.rate_limited {
            let Some(reply) = self.send(class, &call).await else {
                // The breaker holds requests: whatever made it open may be the answer.
                if let Some(reason) = stop() {
                    return Err(Unread::Stopped(reason));
                }
                let Some(wait) = policy.paused else { return Err(Unread::Paused) };
                tokio::time::sleep(wait).await;
                tries += 1;
                continue;
            };
            let answer = match reply.answer {
                Answer::Ok { value, .. } => return Ok((value, reply.next_page)),
                other => other,
            };
            match answer.verdict() {
                Verdict::Refused => {
                    return Err(stop().map_or_else(|| Unread::Refused(answer.describe().1), Unread::Stopped));
                }
                // The pacer waits out the Retry-After before the next permit.
                Verdict::RateLimited(_) => {
                    limited += 1;
                    if let Some(reason) = stop() {
                        return Err(Unread::Stopped(reason));
                    }
                }
                Verdict::ProvesNothing { .. } => {
                    last = answer.describe().1;
                    tokio::time::sleep(policy.backoff.after(tries)).await;
                    tries += 1;
                }
                Verdict::Ok | Verdict::Final => return Err(Unread::Final(answer.describe().1)),
            }
        }
        Err(Unread::Exhausted(last))
    }
}

/// Why [`Sender::read_as`] got no value.
pub(crate) enum Unread<E> {
    /// The breaker holds requests, and the policy does not wait.
    Paused,
    /// `stop` gave this reason.
    Stopped(E),
    /// Freshdesk refused the credentials (as the answer describes it).
    Refused(String),
    /// A definite answer other than the value.
    Final(String),
    /// The tries ran out: the last answer that proved nothing.
    Exhausted(String),
}
