//! [`Client`]: one `reqwest::Client` with the base URL, timeouts and credential; one method per
//! Freshdesk call the engine makes. Every call returns a typed [`Reply`] (never an error):
//! answers are read up to `limits.max_answer_bytes` and classified and decoded by [`classify`];
//! transport failures are classified here (connect → Transient, otherwise Uncertain).

use super::agents::{Agent, Me};
use super::answer::{Answer, Decode, RateHeaders, Reply};
use super::multipart::{self, Upload};
use super::oauth::TokenSource;
use super::ticket_fields::TicketFields;
use super::tickets::{Ticket, TicketState};
use super::{Error, agents, auth, classify, quota, tickets};
use crate::config::Settings;
use crate::domain::{AgentEdit, NewAgent, NewContact, NewTicket, Restore};
use reqwest::header::{ACCEPT, HeaderName, HeaderValue, USER_AGENT};
use reqwest::{Method, redirect};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;
use url::Url;

const AGENT: &str = concat!("fdsync/", env!("CARGO_PKG_VERSION"));

/// A request body.
enum Payload {
    Json(Value),
    Form(multipart::Form),
}

/// The Freshdesk API client. Cheap to clone (one shared connection pool).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    credential: Credential,
    /// Most bytes of an answer read (`limits.max_answer_bytes`).
    max_answer: usize,
    /// Longest `Retry-After` obeyed (`limits.max_retry_after_secs`).
    max_retry_after: std::time::Duration,
}

enum Credential {
    Static(HeaderName, HeaderValue),
    OAuth(Box<TokenSource>),
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.inner.base.as_str()).finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client from validated settings. Refuses plain HTTP except to loopback.
    pub fn new(settings: &Settings) -> Result<Client, Error> {
        let base = settings.freshdesk.base_url.clone();
        if base.scheme() != "https" && !(base.scheme() == "http" && crate::config::is_loopback(&base)) {
            return Err(Error::Config(format!("refusing to send credentials to {base}: https is required")));
        }
        let http = http_client(settings)?;
        let credential = match auth::static_header(&settings.auth)? {
            Some((name, value)) => Credential::Static(name, value),
            None => Credential::OAuth(Box::new(TokenSource::new(settings, http.clone())?)),
        };
        let max_answer = settings.limits.max_answer_bytes;
        let max_retry_after = settings.limits.max_retry_after;
        Ok(Client { inner: Arc::new(Inner { http, base, credential, max_answer, max_retry_after }) })
    }

    /// The base URL requests go to (ends in `/`).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// `POST api/v2/tickets` with `tag` added to the tags, as JSON.
    pub async fn create_ticket(&self, t: &NewTicket, tag: &str) -> Reply<Ticket> {
        self.create_ticket_with(t, tag, &[]).await
    }

    /// `POST api/v2/tickets` with `tag` added to the tags: JSON, or `multipart/form-data` with
    /// `files` as its attachments.
    pub async fn create_ticket_with(&self, t: &NewTicket, tag: &str, files: &[Upload]) -> Reply<Ticket> {
        let body = tickets::create_body(t, tag);
        if files.is_empty() {
            return self.send(Method::POST, "api/v2/tickets", &[], Some(body)).await;
        }
        let form = multipart::encode(&multipart::parts_of(&body), files);
        self.send_payload(Method::POST, "api/v2/tickets", &[], Some(Payload::Form(form))).await
    }

    /// `POST api/v2/agents`.
    pub async fn create_agent(&self, a: &NewAgent) -> Reply<Agent> {
        self.send(Method::POST, "api/v2/agents", &[], Some(agents::create_body(a))).await
    }

    /// `GET api/v2/agents?email=` (200 `[]` when none).
    pub async fn find_agent_by_email(&self, email: &str) -> Reply<Option<Agent>> {
        self.send(Method::GET, "api/v2/agents", &[("email", email.to_string())], None).await
    }

    /// `GET api/v2/agents/{id}`.
    pub async fn get_agent(&self, id: u64) -> Reply<Agent> {
        self.send(Method::GET, &format!("api/v2/agents/{id}"), &[], None).await
    }

    /// `DELETE api/v2/agents/{id}`.
    pub async fn delete_agent(&self, id: u64) -> Reply<()> {
        self.send(Method::DELETE, &format!("api/v2/agents/{id}"), &[], None).await
    }

    /// `PUT api/v2/agents/{id}` with the fields to change: the agent as it is now.
    pub async fn update_agent(&self, id: u64, set: &AgentEdit) -> Reply<Agent> {
        self.send(Method::PUT, &format!("api/v2/agents/{id}"), &[], Some(agents::update_body(set))).await
    }

    /// `PUT api/v2/contacts/{id}/make_agent`: the contact an agent again, from a before-image.
    pub async fn make_agent(&self, id: u64, r: &Restore) -> Reply<Agent> {
        let path = format!("api/v2/contacts/{id}/make_agent");
        let reply: Reply<agents::MadeAgent> =
            self.send(Method::PUT, &path, &[], Some(agents::make_agent_body(r))).await;
        let Reply { answer, rate, elapsed, next_page } = reply;
        Reply { answer: answer.map(|made| made.0), rate, elapsed, next_page }
    }

    /// `DELETE api/v2/tickets/{id}`: a soft delete (204; 405 when already deleted).
    pub async fn delete_ticket(&self, id: u64) -> Reply<()> {
        self.send(Method::DELETE, &format!("api/v2/tickets/{id}"), &[], None).await
    }

    /// `GET api/v2/tickets/{id}`: whether it is deleted.
    pub async fn get_ticket(&self, id: u64) -> Reply<TicketState> {
        self.send(Method::GET, &format!("api/v2/tickets/{id}"), &[], None).await
    }

    /// `GET api/v2/agents/me`: whose credential this is.
    pub async fn me(&self) -> Reply<Me> {
        self.send(Method::GET, "api/v2/agents/me", &[], None).await
    }

    /// `GET api/v2/tickets?email=&updated_since=&per_page=100&order_by=created_at&page=`.
    pub async fn list_tickets_by_email(
        &self,
        email: &str,
        updated_since: time::OffsetDateTime,
        page: u32,
    ) -> Reply<Vec<Ticket>> {
        self.list_tickets(("email", email.to_string()), updated_since, page).await
    }

    /// `GET api/v2/tickets?requester_id=&updated_since=&per_page=100&order_by=created_at&page=`.
    pub async fn list_tickets_by_requester(
        &self,
        requester_id: u64,
        updated_since: time::OffsetDateTime,
        page: u32,
    ) -> Reply<Vec<Ticket>> {
        self.list_tickets(("requester_id", requester_id.to_string()), updated_since, page).await
    }

    async fn list_tickets(
        &self,
        filter: (&str, String),
        updated_since: time::OffsetDateTime,
        page: u32,
    ) -> Reply<Vec<Ticket>> {
        let since = updated_since
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(updated_since)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let query = [
            filter,
            ("updated_since", since),
            ("per_page", "100".to_string()),
            ("order_by", "created_at".to_string()),
            ("page", page.to_string()),
        ];
        self.send(Method::GET, "api/v2/tickets", &query, None).await
    }

    /// `GET api/v2/contacts?phone=`: the first matching contact's id (`None`: no contact).
    pub async fn find_contact_by_phone(&self, phone: &str) -> Reply<Option<u64>> {
        self.find_contact(("phone", phone)).await
    }

    /// `GET api/v2/contacts?email=`: the matching contact's id (`None`: no contact; an agent is
    /// not listed among contacts).
    pub async fn find_contact_by_email(&self, email: &str) -> Reply<Option<u64>> {
        self.find_contact(("email", email)).await
    }

    async fn find_contact(&self, (key, value): (&str, &str)) -> Reply<Option<u64>> {
        let reply: Reply<tickets::ContactIds> =
            self.send(Method::GET, "api/v2/contacts", &[(key, value.to_string())], None).await;
        let Reply { answer, rate, elapsed, next_page } = reply;
        Reply { answer: answer.map(|ids| ids.0.first().copied()), rate, elapsed, next_page }
    }

    /// `POST api/v2/contacts`: a contact (no agent seat).
    pub async fn create_contact(&self, c: &NewContact) -> Reply<super::Contact> {
        self.send(Method::POST, "api/v2/contacts", &[], Some(super::contacts::create_body(c))).await
    }

    /// `GET api/v2/ticket_fields`: the account's custom fields (a read: `EndpointClass::Other`).
    pub async fn ticket_fields(&self) -> Reply<TicketFields> {
        self.send(Method::GET, "api/v2/ticket_fields", &[], None).await
    }

    /// `GET api/v2/agents?page=&per_page=`.
    pub async fn list_agents(&self, page: u32, per_page: u32) -> Reply<Vec<Agent>> {
        let query = [("page", page.to_string()), ("per_page", per_page.to_string())];
        self.send(Method::GET, "api/v2/agents", &query, None).await
    }

    /// `GET api/v2/search/tickets?query="…"&page=`: one page (30 hits) of a ticket search.
    pub async fn search_tickets(&self, query: &str, page: u32) -> Reply<super::SearchPage> {
        let query = [("query", format!("\"{query}\"")), ("page", page.to_string())];
        self.send(Method::GET, "api/v2/search/tickets", &query, None).await
    }

    /// `PUT api/v2/tickets/{id}`: the ticket given to `to` (offboarding's handover).
    pub async fn move_ticket(&self, id: u64, to: &super::Holder) -> Reply<super::HeldTicket> {
        let body = super::handover::move_body(to);
        self.send(Method::PUT, &format!("api/v2/tickets/{id}"), &[], Some(body)).await
    }

    /// `GET api/v2/tickets/{id}`: who holds it (a handover's read-back).
    pub async fn ticket_holder(&self, id: u64) -> Reply<super::HeldTicket> {
        self.send(Method::GET, &format!("api/v2/tickets/{id}"), &[], None).await
    }

    /// `GET api/v2/groups?page=&per_page=100`.
    pub async fn list_groups(&self, page: u32) -> Reply<Vec<super::Group>> {
        let query = [("page", page.to_string()), ("per_page", "100".to_string())];
        self.send(Method::GET, "api/v2/groups", &query, None).await
    }

    /// `GET api/v2/products?page=&per_page=100`.
    pub async fn list_products(&self, page: u32) -> Reply<Vec<super::Product>> {
        let query = [("page", page.to_string()), ("per_page", "100".to_string())];
        self.send(Method::GET, "api/v2/products", &query, None).await
    }

    /// `GET api/v2/roles`: the account's roles.
    pub async fn list_roles(&self) -> Reply<Vec<super::Role>> {
        self.send(Method::GET, "api/v2/roles", &[], None).await
    }

    /// Sends a JSON body (or none) once; see [`Client::send_payload`].
    async fn send<T: Decode>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Value>,
    ) -> Reply<T> {
        self.send_payload(method, path, query, body.map(Payload::Json)).await
    }

    /// Sends once; with OAuth, a 401 refreshes the token once and re-sends once.
    async fn send_payload<T: Decode>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<Payload>,
    ) -> Reply<T> {
        let started = Instant::now();
        let (mut reply, generation) = self.attempt(&method, path, query, body.as_ref(), None).await;
        // generation 0: no token was sent (the token request itself failed).
        if let (Credential::OAuth(_), Answer::Auth { status: 401, .. }, 1..) =
            (&self.inner.credential, &reply.answer, generation)
        {
            reply = self.attempt(&method, path, query, body.as_ref(), Some(generation)).await.0;
        }
        reply.elapsed = started.elapsed();
        tracing::debug!(
            method = %method,
            path,
            status = reply.answer.http_status(),
            elapsed_ms = reply.elapsed.as_millis() as u64,
            "freshdesk request"
        );
        reply
    }

    async fn attempt<T: Decode>(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Payload>,
        refused: Option<u64>,
    ) -> (Reply<T>, u64) {
        let started = Instant::now();
        let (name, value, generation) = match self.credential_header(refused).await {
            Ok(h) => h,
            Err(answer) => return (bare(answer.map(|never| match never {}), started), 0),
        };
        (self.exchange(method, path, query, body, name, value).await, generation)
    }

    async fn exchange<T: Decode>(
        &self,
        method: &Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Payload>,
        name: HeaderName,
        value: HeaderValue,
    ) -> Reply<T> {
        let started = Instant::now();
        let url = match self.inner.base.join(path) {
            Ok(u) => u,
            Err(e) => {
                let answer =
                    Answer::Invalid { status: 0, code: None, message: e.to_string(), errors: vec![] };
                return bare(answer, started);
            }
        };
        let mut req = self.inner.http.request(method.clone(), url).header(name, value);
        if !query.is_empty() {
            req = req.query(query);
        }
        match body {
            Some(Payload::Json(b)) => req = req.json(b),
            Some(Payload::Form(f)) => {
                req = req.header(reqwest::header::CONTENT_TYPE, &f.content_type).body(f.body.clone());
            }
            None => {}
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return bare(transport_answer(&e), started),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let max_retry_after = self.inner.max_retry_after;
        let answer = match read_bounded(resp, self.inner.max_answer).await {
            Ok(Some(bytes)) => classify::classify(status, &headers, &bytes, max_retry_after),
            // The headers of a 429 are what matter; its body is never needed.
            Ok(None) if status == 429 => classify::classify(status, &headers, b"", max_retry_after),
            Ok(None) => Answer::TooLarge { status, limit: self.inner.max_answer },
            Err(e) => return bare(transport_answer(&e), started),
        };
        Reply {
            answer,
            rate: quota::rate_headers(&headers),
            elapsed: started.elapsed(),
            next_page: quota::has_next_page(&headers),
        }
    }

    /// The header to send and the OAuth token generation it carries (0 for a static one).
    async fn credential_header(
        &self,
        refused: Option<u64>,
    ) -> Result<(HeaderName, HeaderValue, u64), super::oauth::Refusal> {
        match &self.inner.credential {
            Credential::Static(name, value) => Ok((name.clone(), value.clone(), 0)),
            Credential::OAuth(source) => source.header(refused).await,
        }
    }
}

fn http_client(settings: &Settings) -> Result<reqwest::Client, Error> {
    let mut defaults = reqwest::header::HeaderMap::new();
    defaults.insert(ACCEPT, HeaderValue::from_static("application/json"));
    defaults.insert(USER_AGENT, HeaderValue::from_static(AGENT));
    reqwest::Client::builder()
        .default_headers(defaults)
        .connect_timeout(settings.freshdesk.connect_timeout)
        .timeout(settings.freshdesk.request_timeout)
        // A redirect would carry the credential elsewhere; classify it instead.
        .redirect(redirect::Policy::none())
        .build()
        .map_err(|e| Error::Build(e.without_url().to_string()))
}

/// The body, or `None` as soon as it is known to exceed `limit` (announced or read so far):
/// nothing past the limit is held in memory.
async fn read_bounded(mut resp: reqwest::Response, limit: usize) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

fn bare<T>(answer: Answer<T>, started: Instant) -> Reply<T> {
    Reply { answer, rate: RateHeaders::default(), elapsed: started.elapsed(), next_page: false }
}

/// Connect failures sent nothing (Transient); anything later may have reached Freshdesk.
pub(super) fn transport_answer<T>(e: &reqwest::Error) -> Answer<T> {
    let reason = describe(e);
    if e.is_connect() {
        Answer::Transient { status: None, reason }
    } else if e.is_builder() {
        Answer::Invalid { status: 0, code: None, message: reason, errors: vec![] }
    } else {
        Answer::Uncertain { reason }
    }
}

/// The error and its causes, without the URL (its query may hold an email).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out after the request was sent"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "the connection failed after the request was sent"
    };
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    if causes.is_empty() { kind.to_string() } else { format!("{kind}: {}", causes.join(": ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::from_toml("[freshdesk]\nbase_url = \"http://127.0.0.1:9\"\n[auth]\napi_key = \"k\"\n")
            .unwrap()
    }

    #[test]
    fn plain_http_to_a_remote_host_is_refused_even_if_config_let_it_through() {
        let mut s = settings();
        s.freshdesk.base_url = Url::parse("http://acme.freshdesk.com/").unwrap();
        let err = Client::new(&s).unwrap_err().to_string();
        assert!(err.contains("https"), "{err}");
        assert!(Client::new(&settings()).is_ok());
    }
}
