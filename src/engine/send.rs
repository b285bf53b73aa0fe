//! The one send path: wait for quota (a pacer permit), pass the health gate (the breaker's
//! half-open probe), do what must be durable first (mark the op `sending`), make the call, and
//! feed the answer to the pacer and the health gate. Every request the engine makes goes here.

use super::health::Health;
use super::pacer::Pacer;
use super::ports::Api;
use crate::freshdesk::{EndpointClass, Reply};
use crate::journal;
use std::future::Future;
use std::sync::Arc;

pub(crate) struct Sender<A> {
    api: A,
    pacer: Arc<Pacer>,
    health: Health,
}

impl<A: Api> Sender<A> {
    pub(crate) fn new(api: A, pacer: Arc<Pacer>, health: Health) -> Self {
        Self { api, pacer, health }
    }

    pub(crate) fn pacer(&self) -> &Arc<Pacer> {
        &self.pacer
    }

    pub(crate) fn health(&self) -> &Health {
        &self.health
    }

    /// Permit → gate → `before` (e.g. commit `sending`; its value is returned) → call → observe.
    /// `Ok(None)`: the breaker holds requests back; nothing was sent and `before` did not run.
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
        let permit = self.pacer.acquire(class).await;
        if !self.health.allow() {
            return Ok(None);
        }
        let marked = before.await?;
        let reply = call(&self.api).await;
        permit.finish(&reply);
        self.health.observe(&reply.answer);
        Ok(Some((reply, marked)))
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
}
