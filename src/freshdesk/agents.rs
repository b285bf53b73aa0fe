//! Agents: the create body, and the agent read back from create, show, `me` and list answers,
//! decoded strictly (a positive integer `id`, else the answer is unverifiable). Each [`Agent`]
//! keeps its own JSON text as the pre-delete snapshot, which the engine stores unread; an undo
//! reads it back as a before-image ([`before_image`]) for `make_agent`. Pure.

use super::answer::Decode;
use crate::domain::{AgentEdit, NewAgent, Restore, TicketScope};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use std::num::NonZeroU64;
use time::OffsetDateTime;

/// The part of an agent fdsync reads, plus its whole record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub id: u64,
    /// `contact.email`, lower-cased.
    pub email: Option<String>,
    pub name: Option<String>,
    /// `None` when absent or not RFC 3339.
    pub created_at: Option<OffsetDateTime>,
    /// The agent's roles: `None` when the answer does not say (list items never do).
    pub role_ids: Option<Vec<u64>>,
    /// The agent's groups: `None` when the answer does not say.
    pub group_ids: Option<Vec<u64>>,
    /// 1 global, 2 group, 3 restricted; `None` when absent.
    pub ticket_scope: Option<u64>,
    /// The agent's JSON as Freshdesk sent it: what a delete saves (`ops.snapshot`) for undo.
    pub record: String,
}

/// Whose credentials these are: an agent with an id and an email, or nothing is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Me {
    pub id: u64,
    /// Lower-cased.
    pub email: String,
}

#[derive(Deserialize)]
struct AgentDto {
    id: NonZeroU64,
    #[serde(default)]
    contact: Option<ContactDto>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    role_ids: Option<Vec<u64>>,
    #[serde(default)]
    group_ids: Option<Vec<u64>>,
    #[serde(default)]
    ticket_scope: Option<u64>,
}

#[derive(Deserialize)]
struct ContactDto {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl Agent {
    fn from_json(text: &str) -> Result<Agent, String> {
        let dto: AgentDto = serde_json::from_str(text).map_err(|e| format!("not an agent ({e})"))?;
        let (email, name) = dto.contact.map(|c| (c.email, c.name)).unwrap_or_default();
        Ok(Agent {
            id: dto.id.get(),
            email: email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()),
            name,
            created_at: dto.created_at.as_deref().and_then(parse_time),
            role_ids: dto.role_ids,
            group_ids: dto.group_ids,
            ticket_scope: dto.ticket_scope,
            record: text.trim().to_string(),
        })
    }
}

/// An RFC 3339 timestamp (Freshdesk's `created_at`, `updated_at`).
pub(crate) fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

fn utf8(body: &[u8]) -> Result<&str, String> {
    std::str::from_utf8(body).map_err(|_| "not UTF-8".to_string())
}

/// `POST agents`, `GET agents/{id}`: one agent.
impl Decode for Agent {
    fn decode(body: &[u8]) -> Result<Self, String> {
        Agent::from_json(utf8(body)?)
    }
}

/// `GET agents?page=`: one page, every item an agent with an id (else the page proves nothing).
impl Decode for Vec<Agent> {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let items: Vec<&RawValue> =
            serde_json::from_str(utf8(body)?).map_err(|e| format!("not a list of agents ({e})"))?;
        items.into_iter().map(|raw| Agent::from_json(raw.get())).collect()
    }
}

/// `GET agents?email=`: the agent with that email, or a proven `None` (an empty list).
impl Decode for Option<Agent> {
    fn decode(body: &[u8]) -> Result<Self, String> {
        Ok(Vec::<Agent>::decode(body)?.into_iter().next())
    }
}

/// What `PUT contacts/{id}/make_agent` answers: Freshdesk sends the **contact**, with the agent
/// nested under `agent` (no top-level `id`; freshconsult `api_contacts/make_agent.json.jbuilder`,
/// `tests/contract/make_agent_200.http`). An agent-shaped answer is read as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeAgent(pub Agent);

#[derive(Deserialize)]
struct MadeAgentDto<'a> {
    #[serde(borrow, default)]
    agent: Option<&'a RawValue>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

impl Decode for MadeAgent {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let text = utf8(body)?;
        let dto: MadeAgentDto =
            serde_json::from_str(text).map_err(|e| format!("not a contact made an agent ({e})"))?;
        let Some(nested) = dto.agent else { return Agent::from_json(text).map(MadeAgent) };
        let mut agent = Agent::from_json(nested.get())?;
        if agent.email.is_none() {
            agent.email = dto.email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty());
        }
        agent.name = agent.name.or(dto.name);
        agent.record = text.trim().to_string();
        Ok(MadeAgent(agent))
    }
}

/// `GET agents/me`: an id and an email, or the answer proves nothing.
impl Decode for Me {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let agent = Agent::decode(body)?;
        let email = agent.email.ok_or("the agent has no contact.email")?;
        Ok(Me { id: agent.id, email })
    }
}

#[derive(Deserialize)]
struct ImageDto {
    occasional: bool,
    ticket_scope: u8,
    role_ids: Vec<NonZeroU64>,
    group_ids: Vec<NonZeroU64>,
}

/// The before-image an agent's saved record (`ops.snapshot`, or a show answer) gives for
/// `make_agent`: `occasional`, `ticket_scope` and every role and group id. A record without one
/// of them (a list item omits `role_ids` and `group_ids`) gives none: restoring an agent with
/// roles guessed would be worse than not restoring it.
pub fn before_image(record: &str) -> Result<Restore, String> {
    let dto: ImageDto =
        serde_json::from_str(record).map_err(|e| format!("not an agent's full record ({e})"))?;
    let ticket_scope = TicketScope::parse(&dto.ticket_scope.to_string())?;
    let ids = |v: Vec<NonZeroU64>| v.into_iter().map(NonZeroU64::get).collect();
    Ok(Restore {
        occasional: dto.occasional,
        group_ids: ids(dto.group_ids),
        role_ids: ids(dto.role_ids),
        ticket_scope,
    })
}

/// Whether `record` is a full agent record that can be restored from ([`before_image`]).
pub fn has_before_image(record: &str) -> bool {
    before_image(record).is_ok()
}

/// The JSON sent to `PUT api/v2/contacts/{id}/make_agent`.
pub fn make_agent_body(r: &Restore) -> Value {
    serde_json::to_value(r).unwrap_or(Value::Null)
}

/// The JSON sent to `PUT api/v2/agents/{id}`: only the fields that change, by the names of
/// freshconsult's `AgentConstants::UPDATE_FIELDS` (`name`, `email`, `job_title`, among others;
/// the answer is the agent as show renders it, a duplicate e-mail 409 `duplicate_value`).
/// Clearing the job title sends `""` (UNCONFIRMED: assumed accepted like any string ≤ 255).
pub fn update_body(set: &AgentEdit) -> Value {
    serde_json::to_value(set).unwrap_or(Value::Null)
}

/// What an agent's record says of the fields an update sets, in [`AgentEdit`]'s terms, every
/// field given (the e-mail lower-cased, an empty or absent job title as `""`; a field the record
/// does not show, such as a listing's role ids, `None`): for the read-back that reconciles a
/// lost update, and the before-image an undo puts back.
pub fn edit_fields(record: &str) -> Result<AgentEdit, String> {
    let v: Value = serde_json::from_str(record).map_err(|e| format!("not an agent's record ({e})"))?;
    let contact = v.get("contact").ok_or("the agent record has no contact")?;
    let text = |k: &str| contact.get(k).and_then(Value::as_str).unwrap_or("").trim().to_string();
    let ids =
        |k: &str| v.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_u64).collect());
    let email = text("email").to_lowercase();
    Ok(AgentEdit {
        name: Some(text("name")),
        email: crate::domain::Email::parse(&email).ok(),
        job_title: Some(text("job_title")),
        ticket_scope: v
            .get("ticket_scope")
            .and_then(Value::as_u64)
            .and_then(|n| TicketScope::parse(&n.to_string()).ok()),
        occasional: v.get("occasional").and_then(Value::as_bool),
        role_ids: ids("role_ids"),
        group_ids: ids("group_ids"),
    })
}

/// Whether the agent `record` shows every field `set` asks for (ids in any order).
pub fn shows(record: &str, set: &AgentEdit) -> Result<bool, String> {
    let now = edit_fields(record)?;
    let same = |want: &Option<Vec<u64>>, have: &Option<Vec<u64>>| {
        want.as_ref().is_none_or(|w| {
            have.as_ref().is_some_and(|h| w.len() == h.len() && w.iter().all(|id| h.contains(id)))
        })
    };
    Ok(set.name.as_ref().is_none_or(|n| Some(n.trim()) == now.name.as_deref())
        && set.email.as_ref().is_none_or(|e| Some(e.key()) == now.email.as_ref().map(|n| n.key()))
        && set.job_title.as_ref().is_none_or(|t| Some(t.trim()) == now.job_title.as_deref())
        && set.ticket_scope.is_none_or(|s| Some(s) == now.ticket_scope)
        && set.occasional.is_none_or(|o| Some(o) == now.occasional)
        && same(&set.role_ids, &now.role_ids)
        && same(&set.group_ids, &now.group_ids))
}

/// The edit that puts back, from the before-image `record`, the fields `set` changed.
pub fn put_back(record: &str, set: &AgentEdit) -> Result<AgentEdit, String> {
    let then = edit_fields(record)?;
    let email = match &set.email {
        Some(_) => Some(then.email.ok_or("the before-image shows no e-mail address")?),
        None => None,
    };
    Ok(AgentEdit {
        name: set.name.as_ref().and(then.name),
        email,
        job_title: set.job_title.as_ref().and(then.job_title),
        ticket_scope: set.ticket_scope.and(then.ticket_scope),
        occasional: set.occasional.and(then.occasional),
        role_ids: set.role_ids.as_ref().and(then.role_ids),
        group_ids: set.group_ids.as_ref().and(then.group_ids),
    })
}

/// The JSON sent to `POST api/v2/agents` (`name` always present).
pub fn create_body(a: &NewAgent) -> Value {
    serde_json::to_value(a).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, TicketScope};
    use serde_json::json;

    #[test]
    fn the_create_body_always_has_a_name_and_numeric_scope() {
        let a = NewAgent {
            email: Email::parse("jo@example.com").unwrap(),
            ticket_scope: TicketScope::Group,
            name: "Jo".into(),
            job_title: None,
            occasional: Some(false),
            role_ids: vec![],
            group_ids: vec![43000561234],
            language: None,
            time_zone: None,
        };
        assert_eq!(
            create_body(&a),
            json!({"email": "jo@example.com", "ticket_scope": 2, "name": "Jo", "occasional": false,
                   "group_ids": [43000561234u64]})
        );
    }

    #[test]
    fn an_update_sends_only_what_changes_and_is_seen_in_the_record_read_back() {
        let set = AgentEdit {
            name: Some("Jo Lee".into()),
            email: None,
            job_title: Some("Lead".into()),
            ..Default::default()
        };
        assert_eq!(update_body(&set), json!({"name": "Jo Lee", "job_title": "Lead"}));
        let after = r#"{"id": 7, "contact": {"name": "Jo Lee", "email": "Jo@X.io", "job_title": "Lead"}}"#;
        let before = r#"{"id": 7, "contact": {"name": "Jo", "email": "jo@x.io", "job_title": null}}"#;
        assert_eq!(shows(after, &set), Ok(true));
        assert_eq!(shows(before, &set), Ok(false));
        let back = put_back(before, &set).unwrap();
        assert_eq!(
            back,
            AgentEdit {
                name: Some("Jo".into()),
                email: None,
                job_title: Some(String::new()),
                ..Default::default()
            }
        );
        assert!(shows("<html>", &set).is_err());
    }

    #[test]
    fn an_update_of_roles_groups_scope_and_occasional_is_seen_and_put_back() {
        let set = AgentEdit {
            ticket_scope: Some(TicketScope::Restricted),
            occasional: Some(false),
            role_ids: Some(vec![3, 1]),
            group_ids: Some(vec![]),
            ..Default::default()
        };
        assert_eq!(
            update_body(&set),
            json!({"ticket_scope": 3, "occasional": false, "role_ids": [3, 1], "group_ids": []})
        );
        let before = r#"{"id": 7, "ticket_scope": 1, "occasional": true, "role_ids": [4], "group_ids": [9],
            "contact": {"email": "jo@x.io"}}"#;
        let after = r#"{"id": 7, "ticket_scope": 3, "occasional": false, "role_ids": [1, 3], "group_ids": [],
            "contact": {"email": "jo@x.io"}}"#;
        let listed = r#"{"id": 7, "ticket_scope": 3, "occasional": false, "contact": {"email": "jo@x.io"}}"#;
        assert_eq!((shows(after, &set), shows(before, &set)), (Ok(true), Ok(false)));
        assert_eq!(shows(listed, &set), Ok(false), "a record without role ids proves nothing");
        let back = put_back(before, &set).unwrap();
        assert_eq!(
            (back.ticket_scope, back.occasional, back.role_ids, back.group_ids, back.name),
            (Some(TicketScope::Global), Some(true), Some(vec![4]), Some(vec![9]), None)
        );
    }

    #[test]
    fn agents_decode_with_their_contact_email_and_record() {
        let body = br#"{"id": 43026449322, "contact": {"email": "Jane@Example.com", "name": "Jane"}, "created_at": "2025-03-03T10:20:00Z"}"#;
        let a = Agent::decode(body).unwrap();
        assert_eq!(a.id, 43026449322);
        assert_eq!(a.email.as_deref(), Some("jane@example.com"));
        assert!(a.created_at.is_some());
        assert_eq!(serde_json::from_str::<Value>(&a.record).unwrap()["contact"]["name"], "Jane");
        let list = format!("[{}, {{\"id\": 7}}]", String::from_utf8_lossy(body));
        let agents = Vec::<Agent>::decode(list.as_bytes()).unwrap();
        assert_eq!(agents.len(), 2);
        assert_eq!(agents[1].record, r#"{"id": 7}"#);
        assert_eq!(Option::<Agent>::decode(b"[]").unwrap(), None);
    }

    #[test]
    fn a_full_record_gives_a_before_image_and_a_list_item_none() {
        let full = r#"{"id": 7, "occasional": false, "ticket_scope": 2, "role_ids": [43000078901, 5],
                       "group_ids": [], "contact": {"email": "j@x.io"}}"#;
        let image = before_image(full).unwrap();
        assert_eq!(image.role_ids, vec![43000078901, 5]);
        assert_eq!(
            (image.occasional, image.ticket_scope, image.group_ids.len()),
            (false, TicketScope::Group, 0)
        );
        assert_eq!(
            make_agent_body(&image),
            json!({"occasional": false, "group_ids": [], "role_ids": [43000078901u64, 5], "ticket_scope": 2})
        );
        let item = r#"{"id": 7, "occasional": false, "ticket_scope": 2, "contact": {"email": "j@x.io"}}"#;
        assert!(before_image(item).is_err(), "a list item has no role_ids");
        assert!(!has_before_image(item) && has_before_image(full));
        for bad in [
            r#"{"occasional": false, "ticket_scope": 4, "role_ids": [1], "group_ids": []}"#,
            r#"{"occasional": false, "ticket_scope": 1, "role_ids": [0], "group_ids": []}"#,
            r#"{"occasional": "no", "ticket_scope": 1, "role_ids": [1], "group_ids": []}"#,
            "<html>",
        ] {
            assert!(before_image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn make_agent_answers_the_contact_with_the_agent_nested_and_needs_its_id() {
        let contact = br#"{"active": false, "email": "Pat@Example.com", "name": "Pat", "created_at": "2025-03-03T11:00:00Z",
                           "agent": {"id": 43026449350, "occasional": false, "ticket_scope": 2}}"#;
        let made = MadeAgent::decode(contact).unwrap().0;
        assert_eq!(
            (made.id, made.email.as_deref(), made.name.as_deref()),
            (43026449350, Some("pat@example.com"), Some("Pat"))
        );
        assert_eq!(MadeAgent::decode(br#"{"id": 7}"#).unwrap().0.id, 7, "an agent-shaped answer");
        for bad in
            [&br#"{"email": "p@x.io", "agent": {"occasional": false}}"#[..], br#"{"agent": 7}"#, b"<html>"]
        {
            assert!(MadeAgent::decode(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn an_answer_that_is_not_an_agent_proves_nothing() {
        for body in
            [&b"<html>login</html>"[..], br#"{"id": 7"#, br#"{"id": "7"}"#, br#"{"id": 0}"#, br#"{}"#, b""]
        {
            assert!(Agent::decode(body).is_err(), "{}", String::from_utf8_lossy(body));
            assert!(Me::decode(body).is_err());
        }
        assert!(Option::<Agent>::decode(br#"{"id": 7}"#).is_err(), "an object is not a list");
        assert!(Option::<Agent>::decode(br#"[{"name": "x"}]"#).is_err());
        assert!(Me::decode(br#"{"id": 7, "contact": {"email": ""}}"#).is_err(), "me needs an email");
        assert_eq!(
            Me::decode(br#"{"id": 7, "contact": {"email": "Me@X.io"}}"#).unwrap(),
            Me { id: 7, email: "me@x.io".into() }
        );
    }
}
