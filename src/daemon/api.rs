//! The Freshdesk API as the daemon's engine sees it: the real client, with every answer counted
//! for the metrics under its connection. (Refused credentials are the engine's health gate's to notice; the status
//! writer shows them.)

use crate::domain::{NewAgent, NewTicket, Restore};
use crate::engine::ports::Api;
use crate::freshdesk::{Agent, Me, Reply, Role, SearchPage, Ticket, TicketState};
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
    async fn make_agent(&self, id: u64, r: &Restore) -> Reply<Agent> {
        self.seen(self.inner.make_agent(id, r).await)
    }
    async fn delete_ticket(&self, id: u64) -> Reply<()> {
        self.seen(self.inner.delete_ticket(id).await)
    }
    async fn get_ticket(&self, id: u64) -> Reply<TicketState> {
        self.seen(self.inner.get_ticket(id).await)
    }
    async fn move_ticket(
        &self,
        id: u64,
        to: &crate::freshdesk::Holder,
    ) -> Reply<crate::freshdesk::HeldTicket> {
        self.seen(self.inner.move_ticket(id, to).await)
    }
    async fn ticket_holder(&self, id: u64) -> Reply<crate::freshdesk::HeldTicket> {
        self.seen(self.inner.ticket_holder(id).await)
    }
    async fn list_groups(&self, page: u32) -> Reply<Vec<crate::freshdesk::Group>> {
        self.seen(self.inner.list_groups(page).await)
    }
    async fn me(&self) -> Reply<Me> {
        self.seen(self.inner.me().await)
    }
    async fn list_agents(&self, page: u32, per_page: u32) -> Reply<Vec<Agent>> {
        self.seen(self.inner.list_agents(page, per_page).await)
    }
    async fn list_roles(&self) -> Reply<Vec<Role>> {
        self.seen(self.inner.list_roles().await)
    }
    async fn search_tickets(&self, query: &str, page: u32) -> Reply<SearchPage> {
        self.seen(self.inner.search_tickets(query, page).await)
    }
    async fn list_tickets_by_email(
        &self,
        email: &str,
        updated_since: OffsetDateTime,
        page: u32,
    ) -> Reply<Vec<Ticket>> {
        self.seen(self.inner.list_tickets_by_email(email, updated_since, page).await)
    }
    async fn ticket_fields(&self) -> Reply<crate::freshdesk::TicketFields> {
        self.seen(self.inner.ticket_fields().await)
    }
}
