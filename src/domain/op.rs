//! The four operations a row can ask for, with their validated inputs, and the idempotency key
//! each one is journaled under (DESIGN.md, "Idempotency key").

use super::fields::{Email, Priority, Status, TicketScope};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// What a row asks for. Parsed from the `action` column or the file's default action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    CreateTicket,
    CreateAgent,
    GetAgent,
    DeleteAgent,
}

impl Action {
    pub const ALL: [Action; 4] =
        [Action::CreateTicket, Action::CreateAgent, Action::GetAgent, Action::DeleteAgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateTicket => "create_ticket",
            Action::CreateAgent => "create_agent",
            Action::GetAgent => "get_agent",
            Action::DeleteAgent => "delete_agent",
        }
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
    pub email: Email,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responder_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc_emails: Vec<String>,
    /// `cf_*` columns, keyed by the field's API name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
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

/// Which agent a delete names: its id (`agent_id` column) or its email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentRef {
    Id(u64),
    Email(Email),
}

/// One row's operation, validated. Stored in the journal as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Op {
    CreateTicket(NewTicket),
    CreateAgent(NewAgent),
    GetAgent { email: Email },
    DeleteAgent { agent: AgentRef },
}

impl Op {
    pub fn action(&self) -> Action {
        match self {
            Op::CreateTicket(_) => Action::CreateTicket,
            Op::CreateAgent(_) => Action::CreateAgent,
            Op::GetAgent { .. } => Action::GetAgent,
            Op::DeleteAgent { .. } => Action::DeleteAgent,
        }
    }

    /// The idempotency key (DESIGN.md): a ticket's `external_id` when given, else the file's
    /// sha256 plus the row number; an agent's lower-cased email; a delete by id, the id.
    pub fn key(&self, file_sha256: &str, row: u64) -> String {
        match self {
            Op::CreateTicket(t) => match &t.external_id {
                Some(ext) => format!("ext:{ext}"),
                None => format!("{file_sha256}:{row}"),
            },
            Op::CreateAgent(a) => a.email.key(),
            Op::GetAgent { email } => email.key(),
            Op::DeleteAgent { agent: AgentRef::Email(e) } => e.key(),
            Op::DeleteAgent { agent: AgentRef::Id(id) } => format!("agent:{id}"),
        }
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
        let del = Op::DeleteAgent { agent: AgentRef::Id(43026449322) };
        assert_eq!(del.key("abc", 7), "agent:43026449322");
        let mut t = NewTicket {
            email,
            subject: "s".into(),
            description: "d".into(),
            priority: Priority::Low,
            status: Status::Open,
            name: None,
            tags: vec![],
            ticket_type: None,
            group_id: None,
            responder_id: None,
            source: None,
            cc_emails: vec![],
            custom_fields: BTreeMap::new(),
            external_id: None,
        };
        assert_eq!(Op::CreateTicket(t.clone()).key("abc", 7), "abc:7");
        t.external_id = Some("MON-1".into());
        let op = Op::CreateTicket(t);
        assert_eq!(op.key("abc", 7), "ext:MON-1");
        let json = serde_json::to_string(&op).unwrap();
        assert!(json.contains(r#""action":"create_ticket""#), "{json}");
        assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), op);
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
