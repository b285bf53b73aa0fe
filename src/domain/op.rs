//! The four operations a row can ask for, with their validated inputs, the two an undo makes
//! (restore a deleted agent, delete a created ticket), the agent update the SCIM service makes
//! (which an undo also makes, to put the old values back), the contact a SCIM user provisioned
//! inactive is and its later activation, and the idempotency key each one is
//! journaled under (DESIGN.md, "Idempotency key"). [`OpKey`] is the one place that spells and
//! reads the key's format; nothing else builds or parses a key by hand. Pure: no I/O.

use super::fields::{AgentRef, Email, IdOrName, Priority, Status, TicketScope};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// What a row asks for. Parsed from the `action` column or the file's default action; the
/// last two are made only by `fdsync undo` (a file cannot ask for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CreateTicket,
    CreateAgent,
    GetAgent,
    DeleteAgent,
    /// Undo of a delete: the contact made an agent again from its before-image.
    RestoreAgent,
    /// Undo of a create: the ticket soft-deleted.
    DeleteTicket,
    /// An existing agent's name, e-mail or job title changed (SCIM; an undo of it).
    UpdateAgent,
    /// SCIM: a user provisioned inactive, created as a contact (no agent seat).
    CreateContact,
    /// SCIM: that contact made an agent (`make_agent`) with the roles it was provisioned with.
    ActivateContact,
}

impl Action {
    pub const ALL: [Action; 9] = [
        Action::CreateTicket,
        Action::CreateAgent,
        Action::GetAgent,
        Action::DeleteAgent,
        Action::RestoreAgent,
        Action::DeleteTicket,
        Action::UpdateAgent,
        Action::CreateContact,
        Action::ActivateContact,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateTicket => "create_ticket",
            Action::CreateAgent => "create_agent",
            Action::GetAgent => "get_agent",
            Action::DeleteAgent => "delete_agent",
            Action::RestoreAgent => "restore_agent",
            Action::DeleteTicket => "delete_ticket",
            Action::UpdateAgent => "update_agent",
            Action::CreateContact => "create_contact",
            Action::ActivateContact => "activate_contact",
        }
    }

    /// An action by its canonical name as the journal stores it (all nine; a file's `action`
    /// column goes through [`FromStr`], which knows only the four a file may ask for).
    pub fn from_stored(name: &str) -> Result<Self, String> {
        Action::ALL.into_iter().find(|a| a.as_str() == name).ok_or_else(|| format!("unknown action '{name}'"))
    }

    /// Whether the operation changes Freshdesk (and so needs the durable `sending` mark).
    pub fn is_mutating(self) -> bool {
        self != Action::GetAgent
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;

    /// Accepts the canonical names and the seed's aliases (`createTicket`, `getAgentbyEmail`, …),
    /// case-insensitively, ignoring `_`, `-` and spaces.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let norm: String =
            raw.chars().filter(|c| !matches!(c, '_' | '-' | ' ')).flat_map(char::to_lowercase).collect();
        match norm.as_str() {
            "createticket" => Ok(Action::CreateTicket),
            "createagent" => Ok(Action::CreateAgent),
            "getagent" | "getagentbyemail" => Ok(Action::GetAgent),
            "deleteagent" => Ok(Action::DeleteAgent),
            _ => Err(format!(
                "unknown action '{}' (expected create_ticket, create_agent, get_agent or delete_agent)",
                crate::text::Shown(raw.trim())
            )),
        }
    }
}

/// A ticket to create. `external_id` is fdsync's own column (Freshdesk would reject it): it
/// becomes the idempotency key and is never sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    /// The requester: at least one of `email`, `phone` (with `name`), `requester_id`,
    /// `unique_external_id`, `twitter_id`, `facebook_id` (intake checks it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twitter_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facebook_id: Option<String>,
    pub subject: String,
    pub description: String,
    pub priority: Priority,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ticket_type: Option<String>,
    /// A group's id or name, an agent's id or e-mail, a product's id or name: names are
    /// resolved to ids just before the create (`engine::names`), so only ids are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<IdOrName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responder_id: Option<IdOrName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<IdOrName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc_emails: Vec<String>,
    /// `cf_*` columns, keyed by the field's API name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Files to attach (`attachments` column): named by the file, resolved and hashed in the
    /// inbox's `attachments_dir` when the row is journaled. Sent as multipart parts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// How the file writes dates other than `YYYY-MM-DD` (its inbox's `date_format`), kept
    /// with the row so it is sent as it was taken. Never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_format: Option<String>,
}

#[cfg(test)]
impl NewTicket {
    /// A minimal valid ticket from `email` (tests).
    pub(crate) fn example(email: &str) -> Self {
        NewTicket {
            email: Some(Email::parse(email).expect("a valid test e-mail")),
            phone: None,
            requester_id: None,
            unique_external_id: None,
            twitter_id: None,
            facebook_id: None,
            subject: "s".into(),
            description: "d".into(),
            priority: Priority::Low,
            status: Status::Open,
            name: None,
            tags: vec![],
            ticket_type: None,
            group_id: None,
            responder_id: None,
            product_id: None,
            source: None,
            cc_emails: vec![],
            custom_fields: BTreeMap::new(),
            external_id: None,
            attachments: vec![],
            date_format: None,
        }
    }
}

/// How a lost create is looked for: the requester's identity the lookup can filter on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requester<'a> {
    /// The contact's id: list its tickets.
    Id(u64),
    /// List the tickets of the contact with this e-mail.
    Email(&'a str),
    /// Find the contact by phone, then list its tickets.
    Phone(&'a str),
    /// No list filter takes it (`unique_external_id`, `twitter_id`, `facebook_id`): search by tag.
    Other,
}

impl NewTicket {
    /// The identity a lookup uses, the most direct first: id, e-mail, phone, then the others.
    pub fn requester(&self) -> Requester<'_> {
        if let Some(id) = self.requester_id {
            Requester::Id(id)
        } else if let Some(e) = &self.email {
            Requester::Email(e.as_str())
        } else if let Some(p) = &self.phone {
            Requester::Phone(p)
        } else {
            Requester::Other
        }
    }
}

/// One file to attach to a ticket: its name as the row gives it, and once the row is journaled
/// ([`crate::pipeline`]) where it is, its size and its sha256, so that a file changed or removed
/// before the create fails the row instead of sending something else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    /// The resolved path (inside the inbox's `attachments_dir`); empty until resolved.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default)]
    pub size: u64,
    /// Hex sha256 of the content; empty until resolved.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha256: String,
}

impl Attachment {
    /// A name from a row, not resolved yet.
    pub fn named(name: &str) -> Self {
        Self { name: name.to_string(), path: String::new(), size: 0, sha256: String::new() }
    }
}

/// An agent to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewAgent {
    pub email: Email,
    pub ticket_scope: TicketScope,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occasional: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_ids: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_ids: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A contact to create (SCIM: a user provisioned inactive). `POST contacts` is sent the name,
/// the e-mail and the job title; Freshdesk keys a contact by its e-mail, as fdsync does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewContact {
    pub email: Email,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
}

/// What `PUT contacts/{id}/make_agent` is sent to restore a deleted agent: the agent's
/// before-image (facts file §8), read from the record saved before the delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restore {
    pub occasional: bool,
    pub group_ids: Vec<u64>,
    pub role_ids: Vec<u64>,
    pub ticket_scope: TicketScope,
}

/// What `PUT agents/{id}` changes of an existing agent: only the fields given are sent
/// ([`crate::freshdesk::agents::update_body`]). `job_title` `Some("")` clears it; `group_ids`
/// `Some(vec![])` takes the agent out of every group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AgentEdit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_scope: Option<TicketScope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occasional: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ids: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ids: Option<Vec<u64>>,
}

impl AgentEdit {
    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        *self == AgentEdit::default()
    }
}

/// The row an undo op reverses: row `row` of file `file_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UndoOf {
    pub file_id: i64,
    pub row: u64,
}

/// One row's operation, validated. Stored in the journal as JSON.
/// A ticket is the largest variant by far (its requester identities, attachments); ops are
/// handled one at a time, so the gap costs little, while boxing would cost an allocation per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[allow(clippy::large_enum_variant)]
pub enum Op {
    CreateTicket(NewTicket),
    CreateAgent(NewAgent),
    GetAgent {
        email: Email,
    },
    DeleteAgent {
        agent: AgentRef,
        /// Who takes over the agent's open tickets before the delete (issue 24); `None`: nobody
        /// (Freshdesk unassigns them), or the inbox's default group.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        successor: Option<super::handover::Successor>,
    },
    /// Undo of a delete. `image`: `None` when no usable before-image was saved (not restorable).
    RestoreAgent {
        agent_id: u64,
        of: UndoOf,
        image: Option<Restore>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// Undo of a ticket create.
    DeleteTicket {
        ticket_id: u64,
        of: UndoOf,
    },
    /// `PUT agents/{id}`: the agent's fields in `set` changed (SCIM), or put back (`of`: the
    /// undo of that row, from its before-image).
    UpdateAgent {
        agent_id: u64,
        set: AgentEdit,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        of: Option<UndoOf>,
    },
    /// SCIM: a user provisioned with `active: false`: a contact, no agent seat.
    CreateContact(NewContact),
    /// SCIM: the contact of [`Op::CreateContact`] made an agent, same id, with what it was
    /// provisioned with (`PUT contacts/{id}/make_agent`). `email` and `role_ids` sit where a
    /// `create_agent`'s do, so the grants guard reads both alike.
    ActivateContact {
        contact_id: u64,
        email: Email,
        ticket_scope: TicketScope,
        occasional: bool,
        role_ids: Vec<u64>,
        group_ids: Vec<u64>,
    },
}

impl Op {
    pub fn action(&self) -> Action {
        match self {
            Op::CreateTicket(_) => Action::CreateTicket,
            Op::CreateAgent(_) => Action::CreateAgent,
            Op::GetAgent { .. } => Action::GetAgent,
            Op::DeleteAgent { .. } => Action::DeleteAgent,
            Op::RestoreAgent { .. } => Action::RestoreAgent,
            Op::DeleteTicket { .. } => Action::DeleteTicket,
            Op::UpdateAgent { .. } => Action::UpdateAgent,
            Op::CreateContact(_) => Action::CreateContact,
            Op::ActivateContact { .. } => Action::ActivateContact,
        }
    }

    /// The idempotency key ([`OpKey::of`]) as the journal's text columns hold it.
    pub fn key(&self, file_sha256: &str, row: u64) -> String {
        OpKey::of(self, file_sha256, row).into()
    }
}

/// The idempotency key an op is journaled under (DESIGN.md, "Idempotency key"). Existing
/// journals hold these strings, so the format never changes:
/// - `ext:<external_id>`: a ticket with fdsync's `external_id` column (one ticket across files);
/// - `<file sha256>:<row>`: a ticket without one (one ticket per row of that content);
/// - the lower-cased email: an agent (create, get, or delete by email), a contact create;
/// - `agent:<id>`: a delete by agent id, an update, a contact's activation (so they run in
///   order for one agent);
/// - `undo:<file id>:<row>`: an undo of that row (one per row, whichever undo file holds it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpKey(String);

impl OpKey {
    const EXTERNAL: &'static str = "ext:";
    const AGENT_ID: &'static str = "agent:";
    const UNDO: &'static str = "undo:";

    /// The key of `op`, row `row` of the file whose content hashes to `file_sha256`: a ticket's
    /// `external_id` when given, else the file and row; an agent's email; a delete by id, the id.
    pub fn of(op: &Op, file_sha256: &str, row: u64) -> Self {
        match op {
            Op::CreateTicket(t) => match &t.external_id {
                Some(ext) => Self::external(ext),
                None => Self::row(file_sha256, row),
            },
            Op::CreateAgent(NewAgent { email, .. })
            | Op::CreateContact(NewContact { email, .. })
            | Op::GetAgent { email }
            | Op::DeleteAgent { agent: AgentRef::Email(email), .. } => Self::agent(email),
            Op::DeleteAgent { agent: AgentRef::Id(id), .. } => Self::agent_id(*id),
            Op::RestoreAgent { of, .. }
            | Op::DeleteTicket { of, .. }
            | Op::UpdateAgent { of: Some(of), .. } => Self::undo(*of),
            Op::UpdateAgent { agent_id, of: None, .. } | Op::ActivateContact { contact_id: agent_id, .. } => {
                Self::agent_id(*agent_id)
            }
        }
    }

    /// `undo:<file id>:<row>`: the undo of that row, so no row is undone twice.
    pub fn undo(of: UndoOf) -> Self {
        Self(format!("{}{}:{}", Self::UNDO, of.file_id, of.row))
    }

    /// `ext:<external_id>`: the same ticket whichever file or row names it.
    pub fn external(external_id: &str) -> Self {
        Self(format!("{}{external_id}", Self::EXTERNAL))
    }

    /// `<sha256>:<row>`: row `row` of the file whose content hashes to `file_sha256`. Also the
    /// key of an invalid row that names nothing better.
    pub fn row(file_sha256: &str, row: u64) -> Self {
        Self(format!("{file_sha256}:{row}"))
    }

    /// An agent's natural key: its email, lower-cased ([`Email::key`]).
    pub fn agent(email: &Email) -> Self {
        Self(email.key())
    }

    /// `agent:<id>`: an agent named by its Freshdesk id.
    pub fn agent_id(id: u64) -> Self {
        Self(format!("{}{id}", Self::AGENT_ID))
    }

    /// Whether this is a ticket's `external_id` key, which can have been created by another file.
    pub fn is_external(&self) -> bool {
        self.0.starts_with(Self::EXTERNAL)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key read back from the journal, as it was written.
impl From<String> for OpKey {
    fn from(key: String) -> Self {
        Self(key)
    }
}

impl From<&str> for OpKey {
    fn from(key: &str) -> Self {
        Self(key.to_string())
    }
}

impl FromStr for OpKey {
    type Err = Infallible;

    /// Every journaled string is a key; [`OpKey::is_external`] tells the kinds apart.
    fn from_str(key: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(key))
    }
}

impl From<OpKey> for String {
    fn from(key: OpKey) -> Self {
        key.0
    }
}

/// The tag a created ticket carries so that an uncertain create can be found again: `fds-` and
/// 16 hex digits of the key's sha256 (20 characters: within Freshdesk's 32, no comma).
pub fn idempotency_tag(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("fds-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_accept_the_seed_aliases() {
        assert_eq!("createTicket".parse(), Ok(Action::CreateTicket));
        assert_eq!("createAgent".parse(), Ok(Action::CreateAgent));
        assert_eq!("getAgentbyEmail".parse(), Ok(Action::GetAgent));
        assert_eq!("deleteAgent".parse(), Ok(Action::DeleteAgent));
        assert_eq!(" Delete-Agent ".parse(), Ok(Action::DeleteAgent));
        assert!("dropTable".parse::<Action>().unwrap_err().contains("dropTable"));
    }

    #[test]
    fn keys_follow_the_design() {
        let email = Email::parse("Jane@Example.com").unwrap();
        let get = Op::GetAgent { email: email.clone() };
        assert_eq!(get.key("abc", 7), "jane@example.com");
        let del = Op::DeleteAgent { agent: AgentRef::Id(43026449322), successor: None };
        assert_eq!(del.key("abc", 7), "agent:43026449322");
        let mut t = NewTicket::example(email.as_str());
        assert_eq!(Op::CreateTicket(t.clone()).key("abc", 7), "abc:7");
        t.external_id = Some("MON-1".into());
        let op = Op::CreateTicket(t);
        assert_eq!(op.key("abc", 7), "ext:MON-1");
        let json = serde_json::to_string(&op).unwrap();
        assert!(json.contains(r#""action":"create_ticket""#), "{json}");
        assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), op);
    }

    #[test]
    fn keys_are_spelled_as_existing_journals_hold_them() {
        assert_eq!(OpKey::external("MON-1").as_str(), "ext:MON-1");
        assert_eq!(OpKey::row("abc", 7).to_string(), "abc:7");
        assert_eq!(OpKey::agent(&Email::parse("Jane@Example.com").unwrap()).as_str(), "jane@example.com");
        assert_eq!(String::from(OpKey::agent_id(43026449322)), "agent:43026449322");
        assert_eq!(OpKey::undo(UndoOf { file_id: 3, row: 7 }).as_str(), "undo:3:7");
    }

    #[test]
    fn undo_actions_are_stored_by_name_but_never_read_from_a_file() {
        for a in Action::ALL {
            assert_eq!(Action::from_stored(a.as_str()), Ok(a));
        }
        assert!("restore_agent".parse::<Action>().is_err(), "a file cannot ask for an undo action");
        assert!("delete_ticket".parse::<Action>().is_err());
        for scim_only in ["create_contact", "activate_contact", "createContact"] {
            assert!(scim_only.parse::<Action>().is_err(), "no file or inbox can ask for {scim_only}");
        }
        let of = UndoOf { file_id: 2, row: 5 };
        let image = Restore {
            occasional: false,
            group_ids: vec![4],
            role_ids: vec![1, 2],
            ticket_scope: TicketScope::Group,
        };
        let op = Op::RestoreAgent { agent_id: 9, of, image: Some(image), email: None };
        let json = serde_json::to_string(&op).unwrap();
        assert!(
            json.contains(r#""action":"restore_agent""#) && json.contains(r#""ticket_scope":2"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), op);
        assert_eq!(op.key("abc", 5), "undo:2:5");
        assert_eq!(Op::DeleteTicket { ticket_id: 1, of }.key("abc", 5), "undo:2:5", "one undo per row");
    }

    #[test]
    fn an_update_names_only_what_it_changes_and_is_keyed_by_its_agent() {
        let set = AgentEdit { name: Some("Ann B".into()), ..AgentEdit::default() };
        let op = Op::UpdateAgent { agent_id: 7, set, of: None };
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(json, r#"{"action":"update_agent","agent_id":7,"set":{"name":"Ann B"}}"#);
        assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), op);
        assert_eq!(op.key("abc", 1), "agent:7");
        assert_eq!(Action::from_stored("update_agent"), Ok(Action::UpdateAgent));
        assert!("update_agent".parse::<Action>().is_err(), "a file cannot ask for it");
        let undo = Op::UpdateAgent {
            agent_id: 7,
            set: AgentEdit::default(),
            of: Some(UndoOf { file_id: 2, row: 1 }),
        };
        assert_eq!(undo.key("abc", 1), "undo:2:1");
    }

    #[test]
    fn only_external_id_keys_are_external_even_when_read_back() {
        assert!(OpKey::external("MON-1").is_external());
        assert!(OpKey::from("ext:MON-1".to_string()).is_external());
        assert!("ext:".parse::<OpKey>().unwrap().is_external());
        assert!(!OpKey::row("abc", 7).is_external());
        assert!(!OpKey::agent_id(1).is_external());
        assert!(!OpKey::from("next:1").is_external());
        let read: OpKey = "abc:7".parse().unwrap();
        assert_eq!(read, OpKey::row("abc", 7));
    }

    #[test]
    fn tags_are_short_stable_and_comma_free() {
        let tag = idempotency_tag("abc:7");
        assert_eq!(tag, idempotency_tag("abc:7"));
        assert_ne!(tag, idempotency_tag("abc:8"));
        assert_eq!(tag.len(), 20);
        assert!(tag.starts_with("fds-") && !tag.contains(','));
    }
}
