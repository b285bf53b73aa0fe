//! The in-memory account: tickets, users (agents and contacts), and their JSON renderings.
//!
//! One `Store` lives behind a std `Mutex` in the app; every method is synchronous and the lock
//! is never held across an await. Route modules validate input; this module only stores,
//! finds and renders. Ticket ids run 1, 2, …; user ids start near 43 000 000 000 (> 2^32).

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::config::SimConfig;

/// The first user id (agents and contacts share one id space, as in Freshdesk).
pub const FIRST_USER_ID: u64 = 43_000_000_001;
/// The default signature Freshdesk gives new agents.
pub const DEFAULT_SIGNATURE: &str = "<div dir=\"ltr\"><p><br></p>\r\n</div>";

/// The built-in roles every account has: (id, name, description). New agents get "Agent".
pub const BUILT_IN_ROLES: [(u64, &str, &str); 4] = [
    (ROLE_ACCOUNT_ADMIN, "Account Administrator", "Has complete control over the help desk"),
    (ROLE_ADMIN, "Administrator", "Can configure all features through the Admin tab"),
    (ROLE_SUPERVISOR, "Supervisor", "Can perform all agent related activities and access reports"),
    (ROLE_AGENT, "Agent", "Can log, view, reply, update and resolve tickets"),
];
/// The account's groups: (id, name, description).
pub const BUILT_IN_GROUPS: [(u64, &str, &str); 3] = [
    (43_000_090_001, "Tier 1", "First line: every new ticket lands here"),
    (43_000_090_002, "Tier 2", "Escalations from Tier 1"),
    (43_000_090_003, "Billing", "Invoices and refunds"),
];
/// The account's products: (id, name, description). "Acme Mobile" and "AcmeMobile" differ only
/// by a space, so a row's `acme mobile` matches both alike (fdsync refuses it as ambiguous).
pub const BUILT_IN_PRODUCTS: [(u64, &str, &str); 3] = [
    (43_000_095_001, "Acme Cloud", "The hosted service"),
    (43_000_095_002, "Acme Mobile", "The phone app"),
    (43_000_095_003, "AcmeMobile", "The phone app's old name, kept for its portal"),
];
pub const ROLE_ACCOUNT_ADMIN: u64 = 43_000_078_898;
pub const ROLE_ADMIN: u64 = 43_000_078_899;
pub const ROLE_SUPERVISOR: u64 = 43_000_078_900;
pub const ROLE_AGENT: u64 = 43_000_078_901;

/// A stored ticket.
#[derive(Clone, Debug, Serialize)]
pub struct Ticket {
    pub id: u64,
    pub subject: String,
    pub description: String,
    pub status: u64,
    pub priority: u64,
    pub source: u64,
    pub requester_id: u64,
    pub responder_id: Option<u64>,
    pub group_id: Option<u64>,
    pub company_id: Option<u64>,
    pub product_id: Option<u64>,
    pub email_config_id: Option<u64>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub tags: Vec<String>,
    pub cc_emails: Vec<String>,
    pub custom_fields: Map<String, Value>,
    /// Files sent with the create (multipart), bytes and all.
    pub attachments: Vec<Attachment>,
    pub deleted: bool,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip)]
    pub(crate) created: OffsetDateTime,
    #[serde(skip)]
    pub(crate) updated: OffsetDateTime,
    #[serde(skip)]
    pub(crate) stored_at: Instant,
}

/// A file attached to a ticket.
#[derive(Clone, Debug, Serialize)]
pub struct Attachment {
    pub id: u64,
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// The content as received (tests compare it with what was sent).
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// The agent part of a user; `None` on a [`User`] means the user is a contact.
#[derive(Clone, Debug, Serialize)]
pub struct AgentInfo {
    pub occasional: bool,
    pub ticket_scope: u64,
    pub signature: String,
    pub group_ids: Vec<u64>,
    pub role_ids: Vec<u64>,
    pub agent_type: u64,
    /// Admins may use the admin-only routes (agents create, list, delete).
    pub admin: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A user: a contact, or an agent when `agent` is set. Agent id = user id.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub id: u64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub job_title: Option<String>,
    pub active: bool,
    pub created_at: String,
    pub updated_at: String,
    pub agent: Option<AgentInfo>,
}

/// A snapshot of the account for tests and `/_sim/state`.
#[derive(Clone, Debug, Serialize)]
pub struct SimState {
    pub tickets: Vec<Ticket>,
    pub agents: Vec<User>,
    pub contacts: Vec<User>,
}

/// Formats a timestamp the way Freshdesk does: ISO-8601 UTC, whole seconds, `Z`.
pub fn timestamp(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The accounts's data.
pub(crate) struct Store {
    pub tickets: Vec<Ticket>,
    pub users: BTreeMap<u64, User>,
    by_email: HashMap<String, u64>,
    /// Contacts by `unique_external_id` (the "unique contact identifier" feature).
    pub by_external_id: HashMap<String, u64>,
    next_user: u64,
    /// The admin agent who owns `api_key`.
    pub owner_id: u64,
    /// The non-admin agent who owns `agent_api_key`.
    pub agent_id: u64,
}

/// Fields of a new agent, already validated.
pub(crate) struct NewAgent {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub job_title: Option<String>,
    pub info: AgentInfo,
}

impl Store {
    pub fn new(config: &SimConfig) -> Store {
        let mut store = Store {
            tickets: Vec::new(),
            users: BTreeMap::new(),
            by_email: HashMap::new(),
            by_external_id: HashMap::new(),
            next_user: FIRST_USER_ID,
            owner_id: 0,
            agent_id: 0,
        };
        store.owner_id = store.seed_agent("Sim Admin", "admin@example.com", true);
        store.agent_id = store.seed_agent("Sim Agent", "agent@example.com", false);
        for n in 1..=config.agents {
            store.seed_agent(&format!("Agent {n:04}"), &format!("agent{n:04}@example.com"), false);
        }
        store
    }

    fn seed_agent(&mut self, name: &str, email: &str, admin: bool) -> u64 {
        let mut info = Store::agent_info(false, 1);
        info.admin = admin;
        if admin {
            info.role_ids = vec![ROLE_ACCOUNT_ADMIN];
        }
        let new = NewAgent {
            name: name.into(),
            email: email.into(),
            phone: None,
            mobile: None,
            job_title: None,
            info,
        };
        self.add_agent(new)
    }

    pub fn agent_info(occasional: bool, ticket_scope: u64) -> AgentInfo {
        let now = timestamp(OffsetDateTime::now_utc());
        AgentInfo {
            occasional,
            ticket_scope,
            signature: DEFAULT_SIGNATURE.into(),
            group_ids: Vec::new(),
            role_ids: vec![ROLE_AGENT],
            agent_type: 1,
            admin: false,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_user;
        self.next_user += 1;
        id
    }

    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.by_email.get(&email.to_lowercase()).and_then(|id| self.users.get(id))
    }

    /// Creates a contact; its name defaults to the identifier.
    pub fn add_contact(&mut self, name: Option<&str>, email: Option<&str>, phone: Option<&str>) -> u64 {
        let id = self.next_id();
        let now = timestamp(OffsetDateTime::now_utc());
        let ident = email.or(phone).unwrap_or("contact");
        let user = User {
            id,
            name: name.unwrap_or(ident).to_string(),
            email: email.map(str::to_string),
            phone: phone.map(str::to_string),
            mobile: None,
            job_title: None,
            active: false,
            created_at: now.clone(),
            updated_at: now,
            agent: None,
        };
        if let Some(e) = email {
            self.by_email.insert(e.to_lowercase(), id);
        }
        self.users.insert(id, user);
        id
    }

    pub fn add_agent(&mut self, new: NewAgent) -> u64 {
        let id = self.next_id();
        let now = new.info.created_at.clone();
        self.by_email.insert(new.email.to_lowercase(), id);
        let user = User {
            id,
            name: new.name,
            email: Some(new.email),
            phone: new.phone,
            mobile: new.mobile,
            job_title: new.job_title,
            active: false,
            created_at: now.clone(),
            updated_at: now,
            agent: Some(new.info),
        };
        self.users.insert(id, user);
        id
    }

    /// Gives user `id` a new e-mail, keeping the e-mail index in step.
    pub fn set_email(&mut self, id: u64, email: &str) {
        let Some(user) = self.users.get_mut(&id) else { return };
        if let Some(old) = user.email.replace(email.to_string()) {
            self.by_email.remove(&old.to_lowercase());
        }
        self.by_email.insert(email.to_lowercase(), id);
    }

    pub fn full_time_agents(&self) -> u64 {
        let full = self.users.values().filter(|u| u.agent.as_ref().is_some_and(|a| !a.occasional));
        full.count() as u64
    }

    pub fn ticket(&self, id: u64) -> Option<&Ticket> {
        id.checked_sub(1).and_then(|i| self.tickets.get(usize::try_from(i).ok()?))
    }

    pub fn ticket_mut(&mut self, id: u64) -> Option<&mut Ticket> {
        id.checked_sub(1).and_then(|i| self.tickets.get_mut(usize::try_from(i).ok()?))
    }

    pub fn next_ticket_id(&self) -> u64 {
        self.tickets.len() as u64 + 1
    }

    /// An id for a new attachment: one more than every attachment stored.
    pub fn next_attachment_id(&self) -> u64 {
        43_000_900_000 + self.tickets.iter().map(|t| t.attachments.len() as u64).sum::<u64>() + 1
    }

    pub fn snapshot(&self) -> SimState {
        let (agents, contacts) = self.users.values().cloned().partition(|u| u.agent.is_some());
        SimState { tickets: self.tickets.clone(), agents, contacts }
    }
}

/// Crude HTML-to-text for `description_text`.
fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// How much of a ticket to render.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TicketView {
    /// Create and show: every field, `description`, `attachments`.
    Full,
    /// List and search items: no description (unless asked), no attachments.
    Item { description: bool },
}

pub(crate) fn ticket_json(t: &Ticket, view: TicketView) -> Value {
    let mut v = json!({
        "cc_emails": t.cc_emails, "fwd_emails": [], "reply_cc_emails": t.cc_emails,
        "ticket_cc_emails": t.cc_emails, "fr_escalated": false, "spam": false,
        "email_config_id": t.email_config_id, "group_id": t.group_id, "priority": t.priority,
        "requester_id": t.requester_id, "responder_id": t.responder_id, "source": t.source,
        "company_id": t.company_id, "status": t.status, "subject": t.subject, "to_emails": null,
        "product_id": t.product_id, "id": t.id, "type": t.kind,
        "due_by": timestamp(t.created + time::Duration::days(3)),
        "fr_due_by": timestamp(t.created + time::Duration::days(1)),
        "is_escalated": false, "custom_fields": t.custom_fields,
        "created_at": t.created_at, "updated_at": t.updated_at, "tags": t.tags,
    });
    let Some(obj) = v.as_object_mut() else { return v };
    let with_description = match view {
        TicketView::Full => {
            let files: Vec<Value> = t
                .attachments
                .iter()
                .map(|a| {
                    json!({"id": a.id, "name": a.name, "content_type": a.content_type, "size": a.size,
                           "created_at": t.created_at, "updated_at": t.created_at,
                           "attachment_url": format!("https://attachments.example/{}/{}", a.id, a.name)})
                })
                .collect();
            obj.insert("attachments".into(), Value::Array(files));
            true
        }
        TicketView::Item { description } => {
            obj.insert("associated_tickets_count".into(), Value::Null);
            description
        }
    };
    if with_description {
        obj.insert("description".into(), json!(t.description));
        obj.insert("description_text".into(), json!(strip_html(&t.description)));
    }
    if t.deleted {
        obj.insert("deleted".into(), json!(true));
    }
    v
}

fn contact_part(u: &User) -> Value {
    json!({
        "active": u.active, "email": u.email, "job_title": u.job_title, "language": "en",
        "last_login_at": null, "mobile": u.mobile, "name": u.name, "phone": u.phone,
        "time_zone": "Eastern Time (US & Canada)", "created_at": u.created_at, "updated_at": u.updated_at,
    })
}

/// The agent body (show, create, me); `list` omits group_ids, role_ids and skill_ids.
pub(crate) fn agent_json(u: &User, list: bool) -> Value {
    let Some(a) = &u.agent else { return Value::Null };
    let type_name = match a.agent_type {
        2 => "field_agent",
        3 => "collaborator",
        _ => "support_agent",
    };
    let mut v = json!({
        "available": false, "occasional": a.occasional, "id": u.id, "ticket_scope": a.ticket_scope,
        "signature": a.signature, "created_at": a.created_at, "updated_at": a.updated_at,
        "last_active_at": null, "available_since": null, "type": type_name, "contact": contact_part(u),
    });
    if let (false, Some(obj)) = (list, v.as_object_mut()) {
        obj.insert("group_ids".into(), json!(a.group_ids));
        obj.insert("role_ids".into(), json!(a.role_ids));
        obj.insert("skill_ids".into(), json!([]));
    }
    v
}

/// The answer to `PUT contacts/{id}/make_agent`: the contact, with the agent nested under
/// `agent` (no top-level `id`, no role or group ids; freshconsult
/// `api_contacts/make_agent.json.jbuilder`, `tests/contract/make_agent_200.http`).
pub(crate) fn made_agent_json(u: &User) -> Value {
    let Some(a) = &u.agent else { return Value::Null };
    let mut v = contact_part(u);
    if let Some(obj) = v.as_object_mut() {
        let agent = json!({
            "available_since": null, "available": false, "occasional": a.occasional,
            "signature": a.signature, "signature_html": a.signature, "id": u.id,
            "ticket_scope": a.ticket_scope, "created_at": a.created_at, "updated_at": a.updated_at,
        });
        obj.insert("agent".into(), agent);
    }
    v
}

/// The `requester` object a ticket embeds with `include=requester` (list and show).
pub(crate) fn requester_json(u: &User) -> Value {
    json!({"id": u.id, "name": u.name, "email": u.email, "mobile": u.mobile, "phone": u.phone})
}

/// The answer to `POST contacts` (freshconsult `api_contacts/create.json.api`: no
/// `last_login_at`; `tests/contract/contact_create_201.http`).
pub(crate) fn created_contact_json(u: &User) -> Value {
    let mut v = contact_json(u);
    if let Some(obj) = v.as_object_mut() {
        obj.remove("last_login_at");
        for key in ["address", "description", "twitter_id", "facebook_id", "csat_rating", "avatar"] {
            obj.insert(key.into(), Value::Null);
        }
        obj.insert("view_all_tickets".into(), json!(false));
        obj.insert("deleted".into(), json!(false));
        obj.insert("custom_fields".into(), json!({}));
        obj.insert("other_emails".into(), json!([]));
        obj.insert("preferred_source".into(), json!(0));
    }
    v
}

/// The contact body (contacts list and show).
pub(crate) fn contact_json(u: &User) -> Value {
    let mut v = contact_part(u);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("id".into(), json!(u.id));
        obj.insert("company_id".into(), Value::Null);
        obj.insert("tags".into(), json!([]));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_seeds_owner_agent_and_numbered_agents() {
        let cfg = SimConfig { agents: 3, ..SimConfig::default() };
        let s = Store::new(&cfg);
        assert_eq!(s.users.len(), 5);
        assert!(s.users[&s.owner_id].agent.as_ref().unwrap().admin);
        assert!(s.user_by_email("AGENT0003@example.com").is_some());
        assert!(s.owner_id > u64::from(u32::MAX));
    }

    #[test]
    fn timestamps_are_utc_with_z() {
        let t = time::macros::datetime!(2025-03-03 10:15:22 UTC);
        assert_eq!(timestamp(t), "2025-03-03T10:15:22Z");
    }
}
