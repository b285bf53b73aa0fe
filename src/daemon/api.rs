//! The Freshdesk API as the daemon's engine sees it: the real client, with every answer counted
//! for the metrics under its connection. (Refused credentials are the engine's health gate's to notice; the status
//! writer shows them.)

use crate::domain::{NewAgent, NewTicket};
use crate::engine::ports::Api;
use crate::freshdesk::{Agent, Me, Reply, Ticket};
use crate::metrics::Metrics;
use std::sync::Arc;
use time::OffsetDateTime;

/// Wraps an [`Api`] to observe its answers.
#[derive(Clone)]
pub(super) struct Observed<A> {
    inner: A,
    metrics: Arc<Metrics>,
    connection: Arc<str>,
}

impl<A: Api> Observed<A> {
    pub(super) fn new(inner: A, metrics: Arc<Metrics>, connection: &str) -> Self {
        Self { inner, metrics, connection: connection.into() }
    }

    fn seen<T>(&self, reply: Reply<T>) -> Reply<T> {
        self.metrics.observe_answer_on(&self.connection, &reply.answer);
        reply
    }
}

impl<A: Api> Api for Observed<A> {
    async fn create_ticket(&self, t: &NewTicket, tag: &str) -> Reply<Ticket> {
        self.seen(self.inner.create_ticket(t, tag).await)
    }
    async fn create_agent(&self, a: &NewAgent) -> Reply<Agent> {
        self.seen(self.inner.create_agent(a).await)
    }
    async fn find_agent_by_email(&self, email: &str) -> Reply<Option<Agent>> {
        self.seen(self.inner.find_agent_by_email(email).await)
    }
    async fn get_agent(&self, id: u64) -> Reply<Agent> {
        self.seen(self.inner.get_agent(id).await)
    }
    async fn delete_agent(&self, id: u64) -> Reply<()> {
        self.seen(self.inner.delete_agent(id).await)
    }
    async fn me(&self) -> Reply<Me> {
        self.seen(self.inner.me().await)
    }
    async fn list_agents(&self, page: u32, per_page: u32) -> Reply<Vec<Agent>> {
        self.seen(self.inner.list_agents(page, per_page).await)
    }
    async fn list_tickets_by_email(
        &self,
        email: &str,
        updated_since: OffsetDateTime,
        page: u32,
    ) -> Reply<Vec<Ticket>> {
        self.seen(self.inner.list_tickets_by_email(email, updated_since, page).await)
    }
}
