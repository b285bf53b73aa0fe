//! What the engine needs from Freshdesk, as a typed port: every call returns a [`Reply`] whose
//! success value is already decoded by `freshdesk/` (the engine never reads JSON). Production
//! uses `freshdesk::Client`; the engine's unit tests use the scripted fake in `tests`.

use crate::domain::{AgentEdit, NewAgent, NewContact, NewTicket, Restore};
use crate::freshdesk::{
    Agent, Contact, Group, HeldTicket, Holder, Me, Product, Reply, Role, SearchPage, Ticket, TicketFields,
    TicketState, Upload,
};
use std::future::Future;
use time::OffsetDateTime;

pub trait Api: Send + Sync + 'static {
    /// `POST tickets` with the idempotency tag (and `files` as attachments): the created ticket.
    fn create_ticket(
        &self,
        t: &NewTicket,
        tag: &str,
        files: &[Upload],
    ) -> impl Future<Output = Reply<Ticket>> + Send;
    /// `POST agents`: the created agent.
    fn create_agent(&self, a: &NewAgent) -> impl Future<Output = Reply<Agent>> + Send;
    /// `GET agents?email=`: the agent, or a proven `None`.
    fn find_agent_by_email(&self, email: &str) -> impl Future<Output = Reply<Option<Agent>>> + Send;
    /// `GET agents/{id}`.
    fn get_agent(&self, id: u64) -> impl Future<Output = Reply<Agent>> + Send;
    /// `DELETE agents/{id}`.
    fn delete_agent(&self, id: u64) -> impl Future<Output = Reply<()>> + Send;
    /// `PUT agents/{id}`: the fields in `set` changed; the agent as it is now.
    fn update_agent(&self, id: u64, set: &AgentEdit) -> impl Future<Output = Reply<Agent>> + Send;
    /// `PUT contacts/{id}/make_agent`: a deleted agent restored from its before-image (undo).
    fn make_agent(&self, id: u64, r: &Restore) -> impl Future<Output = Reply<Agent>> + Send;
    /// `DELETE tickets/{id}`: a soft delete (undo of a create).
    fn delete_ticket(&self, id: u64) -> impl Future<Output = Reply<()>> + Send;
    /// `GET tickets/{id}`: whether the ticket is deleted (an undo's reconciliation).
    fn get_ticket(&self, id: u64) -> impl Future<Output = Reply<TicketState>> + Send;
    /// `GET agents/me`: whose credentials these are.
    fn me(&self) -> impl Future<Output = Reply<Me>> + Send;
    /// `GET search/tickets?query="…"&page=` (the query without its quotes).
    fn search_tickets(&self, query: &str, page: u32) -> impl Future<Output = Reply<SearchPage>> + Send;
    /// `GET roles`.
    fn list_roles(&self) -> impl Future<Output = Reply<Vec<Role>>> + Send;
    /// `GET agents?page=&per_page=`.
    fn list_agents(&self, page: u32, per_page: u32) -> impl Future<Output = Reply<Vec<Agent>>> + Send;
    /// `GET tickets?email=&updated_since=&page=`, newest first.
    fn list_tickets_by_email(
        &self,
        email: &str,
        updated_since: OffsetDateTime,
        page: u32,
    ) -> impl Future<Output = Reply<Vec<Ticket>>> + Send;
    /// `GET ticket_fields`: the account's custom fields.
    fn ticket_fields(&self) -> impl Future<Output = Reply<TicketFields>> + Send;
    /// `GET tickets?requester_id=&updated_since=&page=`, newest first.
    fn list_tickets_by_requester(
        &self,
        requester_id: u64,
        updated_since: OffsetDateTime,
        page: u32,
    ) -> impl Future<Output = Reply<Vec<Ticket>>> + Send;
    /// `GET contacts?phone=`: the id of the contact with this phone, or a proven `None`.
    fn find_contact_by_phone(&self, phone: &str) -> impl Future<Output = Reply<Option<u64>>> + Send;
    /// `GET contacts?email=`: the id of the contact with this e-mail, or a proven `None`.
    fn find_contact_by_email(&self, email: &str) -> impl Future<Output = Reply<Option<u64>>> + Send;
    /// `POST contacts`: the created contact (a SCIM user provisioned inactive).
    fn create_contact(&self, c: &NewContact) -> impl Future<Output = Reply<Contact>> + Send;
    /// `PUT tickets/{id}`: the ticket given to `to` (offboarding's handover).
    fn move_ticket(&self, id: u64, to: &Holder) -> impl Future<Output = Reply<HeldTicket>> + Send;
    /// `GET tickets/{id}`: who holds it (a handover's read-back).
    fn ticket_holder(&self, id: u64) -> impl Future<Output = Reply<HeldTicket>> + Send;
    /// `GET groups?page=`: one page (100) of the account's groups.
    fn list_groups(&self, page: u32) -> impl Future<Output = Reply<Vec<Group>>> + Send;
    /// `GET products?page=`: one page (100) of the account's products.
    fn list_products(&self, page: u32) -> impl Future<Output = Reply<Vec<Product>>> + Send;
}

/// Production: the real client.
impl Api for crate::freshdesk::Client {
    async fn create_ticket(&self, t: &NewTicket, tag: &str, files: &[Upload]) -> Reply<Ticket> {
        crate::freshdesk::Client::create_ticket_with(self, t, tag, files).await
    }
    async fn create_agent(&self, a: &NewAgent) -> Reply<Agent> {
        crate::freshdesk::Client::create_agent(self, a).await
    }
    async fn find_agent_by_email(&self, email: &str) -> Reply<Option<Agent>> {
        crate::freshdesk::Client::find_agent_by_email(self, email).await
    }
    async fn get_agent(&self, id: u64) -> Reply<Agent> {
        crate::freshdesk::Client::get_agent(self, id).await
    }
    async fn delete_agent(&self, id: u64) -> Reply<()> {
        crate::freshdesk::Client::delete_agent(self, id).await
    }
    async fn update_agent(&self, id: u64, set: &AgentEdit) -> Reply<Agent> {
        crate::freshdesk::Client::update_agent(self, id, set).await
    }
    async fn make_agent(&self, id: u64, r: &Restore) -> Reply<Agent> {
        crate::freshdesk::Client::make_agent(self, id, r).await
    }
    async fn delete_ticket(&self, id: u64) -> Reply<()> {
        crate::freshdesk::Client::delete_ticket(self, id).await
    }
    async fn get_ticket(&self, id: u64) -> Reply<TicketState> {
        crate::freshdesk::Client::get_ticket(self, id).await
    }
    async fn me(&self) -> Reply<Me> {
        crate::freshdesk::Client::me(self).await
    }
    async fn list_agents(&self, page: u32, per_page: u32) -> Reply<Vec<Agent>> {
        crate::freshdesk::Client::list_agents(self, page, per_page).await
    }
    async fn list_roles(&self) -> Reply<Vec<Role>> {
        crate::freshdesk::Client::list_roles(self).await
    }
    async fn search_tickets(&self, query: &str, page: u32) -> Reply<SearchPage> {
        crate::freshdesk::Client::search_tickets(self, query, page).await
    }
    async fn list_tickets_by_email(
        &self,
        email: &str,
        updated_since: OffsetDateTime,
        page: u32,
    ) -> Reply<Vec<Ticket>> {
        crate::freshdesk::Client::list_tickets_by_email(self, email, updated_since, page).await
    }
    async fn ticket_fields(&self) -> Reply<TicketFields> {
        crate::freshdesk::Client::ticket_fields(self).await
    }
    async fn list_tickets_by_requester(
        &self,
        id: u64,
        since: OffsetDateTime,
        page: u32,
    ) -> Reply<Vec<Ticket>> {
        crate::freshdesk::Client::list_tickets_by_requester(self, id, since, page).await
    }
    async fn find_contact_by_phone(&self, phone: &str) -> Reply<Option<u64>> {
        crate::freshdesk::Client::find_contact_by_phone(self, phone).await
    }
    async fn find_contact_by_email(&self, email: &str) -> Reply<Option<u64>> {
        crate::freshdesk::Client::find_contact_by_email(self, email).await
    }
    async fn create_contact(&self, c: &NewContact) -> Reply<Contact> {
        crate::freshdesk::Client::create_contact(self, c).await
    }
    async fn move_ticket(&self, id: u64, to: &Holder) -> Reply<HeldTicket> {
        crate::freshdesk::Client::move_ticket(self, id, to).await
    }
    async fn ticket_holder(&self, id: u64) -> Reply<HeldTicket> {
        crate::freshdesk::Client::ticket_holder(self, id).await
    }
    async fn list_groups(&self, page: u32) -> Reply<Vec<Group>> {
        crate::freshdesk::Client::list_groups(self, page).await
    }
    async fn list_products(&self, page: u32) -> Reply<Vec<Product>> {
        crate::freshdesk::Client::list_products(self, page).await
    }
}
