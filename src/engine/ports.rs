//! What the engine needs from Freshdesk, as a trait: production uses `freshdesk::Client`, unit
//! tests of pure engine logic may use a fake. Every call returns a classified [`Reply`].

use crate::domain::{NewAgent, NewTicket};
use crate::freshdesk::Reply;
use std::future::Future;
use time::OffsetDateTime;

pub trait Api: Send + Sync + 'static {
    fn create_ticket(&self, t: &NewTicket, tag: &str) -> impl Future<Output = Reply> + Send;
    fn create_agent(&self, a: &NewAgent) -> impl Future<Output = Reply> + Send;
    fn find_agent_by_email(&self, email: &str) -> impl Future<Output = Reply> + Send;
    fn get_agent(&self, id: u64) -> impl Future<Output = Reply> + Send;
    fn delete_agent(&self, id: u64) -> impl Future<Output = Reply> + Send;
    fn me(&self) -> impl Future<Output = Reply> + Send;
    fn list_agents(&self, page: u32, per_page: u32) -> impl Future<Output = Reply> + Send;
    fn list_tickets_by_email(
        &self,
        email: &str,
        updated_since: OffsetDateTime,
        page: u32,
    ) -> impl Future<Output = Reply> + Send;
}

/// Production: the real client.
impl Api for crate::freshdesk::Client {
    async fn create_ticket(&self, t: &NewTicket, tag: &str) -> Reply {
        crate::freshdesk::Client::create_ticket(self, t, tag).await
    }
    async fn create_agent(&self, a: &NewAgent) -> Reply {
        crate::freshdesk::Client::create_agent(self, a).await
    }
    async fn find_agent_by_email(&self, email: &str) -> Reply {
        crate::freshdesk::Client::find_agent_by_email(self, email).await
    }
    async fn get_agent(&self, id: u64) -> Reply {
        crate::freshdesk::Client::get_agent(self, id).await
    }
    async fn delete_agent(&self, id: u64) -> Reply {
        crate::freshdesk::Client::delete_agent(self, id).await
    }
    async fn me(&self) -> Reply {
        crate::freshdesk::Client::me(self).await
    }
    async fn list_agents(&self, page: u32, per_page: u32) -> Reply {
        crate::freshdesk::Client::list_agents(self, page, per_page).await
    }
    async fn list_tickets_by_email(&self, email: &str, updated_since: OffsetDateTime, page: u32) -> Reply {
        crate::freshdesk::Client::list_tickets_by_email(self, email, updated_since, page).await
    }
}
