//! Agents: the create body and the agent DTO (`id`, `contact.email`, `contact.name`) read back
//! from create, show, `me` and list answers, and the existing id named by a 409. Pure.

use super::answer::ApiFieldError;
use crate::domain::NewAgent;
use serde::Deserialize;
use serde_json::Value;

/// The part of an agent body fdsync reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Agent {
    pub id: u64,
    #[serde(default)]
    pub contact: Contact,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// The JSON sent to `POST api/v2/agents` (`name` always present).
pub fn create_body(a: &NewAgent) -> Value {
    serde_json::to_value(a).unwrap_or(Value::Null)
}

/// One agent body; `None` if it has no numeric `id`.
pub fn parse_agent(body: &Value) -> Option<Agent> {
    Agent::deserialize(body).ok()
}

/// A list page (`GET agents`, `GET agents?email=`); items without an `id` are skipped.
pub fn parse_agents(body: &Value) -> Vec<Agent> {
    body.as_array().map(|items| items.iter().filter_map(parse_agent).collect()).unwrap_or_default()
}

/// The record a 409 `duplicate_value` points at: `additional_info.agent_id` (an agent) or
/// `user_id` (a contact with that email), from the first error that names one.
pub fn existing_id(errors: &[ApiFieldError]) -> Option<u64> {
    errors.iter().filter_map(|e| e.additional_info.as_ref()).find_map(|info| {
        ["agent_id", "user_id"].iter().find_map(|k| {
            let v = info.get(*k)?;
            v.as_u64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
    })
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
    fn agents_parse_with_their_contact_email() {
        let body = json!({"id": 43026449322u64, "contact": {"email": "jane@example.com", "name": "Jane"}});
        let a = parse_agent(&body).unwrap();
        assert_eq!(a.id, 43026449322);
        assert_eq!(a.contact.email.as_deref(), Some("jane@example.com"));
        assert_eq!(parse_agents(&json!([body, {"x": 1}])).len(), 1);
        assert_eq!(parse_agents(&json!([])), vec![]);
    }

    #[test]
    fn the_existing_id_comes_from_agent_id_or_user_id() {
        let err = |info: Value| ApiFieldError {
            field: "email".into(),
            nested_field: None,
            additional_info: Some(info),
            message: "It should be a unique value".into(),
            code: "duplicate_value".into(),
        };
        assert_eq!(existing_id(&[err(json!({"agent_id": 43026449322u64}))]), Some(43026449322));
        assert_eq!(existing_id(&[err(json!({"user_id": "17"}))]), Some(17));
        assert_eq!(existing_id(&[err(json!({"other": 1}))]), None);
        assert_eq!(existing_id(&[]), None);
    }
}
