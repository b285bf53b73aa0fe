//! Tickets: the create body (idempotency tag added, `external_id` never sent) and the ticket
//! DTO read back from create and list answers (`id`, `tags`). Pure; the client sends.

use crate::domain::NewTicket;
use serde::Deserialize;
use serde_json::Value;

/// The part of a ticket body fdsync reads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Ticket {
    pub id: u64,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl Ticket {
    /// Freshdesk matches tags case-insensitively (freshdesk-api.md §4).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }
}

/// The JSON sent to `POST api/v2/tickets`: the ticket's fields, `custom_fields` as an object,
/// `tag` added to `tags` (once), and no `external_id` (Freshdesk rejects it).
pub fn create_body(t: &NewTicket, tag: &str) -> Value {
    let mut body = serde_json::to_value(t).unwrap_or(Value::Null);
    let Some(map) = body.as_object_mut() else { return Value::Null };
    map.remove("external_id");
    let mut tags = t.tags.clone();
    if !tags.iter().any(|x| x.eq_ignore_ascii_case(tag)) {
        tags.push(tag.to_string());
    }
    map.insert("tags".into(), Value::from(tags));
    body
}

/// One ticket body (create, show); `None` if it has no numeric `id`.
pub fn parse_ticket(body: &Value) -> Option<Ticket> {
    Ticket::deserialize(body).ok()
}

/// A list page; items without an `id` are skipped.
pub fn parse_tickets(body: &Value) -> Vec<Ticket> {
    body.as_array().map(|items| items.iter().filter_map(parse_ticket).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Priority, Status};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn ticket() -> NewTicket {
        NewTicket {
            email: Email::parse("jane@example.com").unwrap(),
            subject: "Disk full".into(),
            description: "<p>98%</p>".into(),
            priority: Priority::High,
            status: Status::Open,
            name: None,
            tags: vec!["monitoring".into()],
            ticket_type: Some("Incident".into()),
            group_id: None,
            responder_id: None,
            source: None,
            cc_emails: vec![],
            custom_fields: BTreeMap::from([("cf_host".to_string(), json!("db-07"))]),
            external_id: Some("MON-1".into()),
        }
    }

    #[test]
    fn the_create_body_adds_the_tag_keeps_custom_fields_and_drops_external_id() {
        let body = create_body(&ticket(), "fds-0011223344556677");
        assert_eq!(
            body,
            json!({
                "email": "jane@example.com", "subject": "Disk full", "description": "<p>98%</p>",
                "priority": 3, "status": 2, "type": "Incident",
                "tags": ["monitoring", "fds-0011223344556677"],
                "custom_fields": {"cf_host": "db-07"}
            })
        );
    }

    #[test]
    fn the_tag_is_not_added_twice() {
        let mut t = ticket();
        t.tags = vec!["FDS-AB".into()];
        assert_eq!(create_body(&t, "fds-ab")["tags"], json!(["FDS-AB"]));
    }

    #[test]
    fn tickets_parse_from_show_and_list_bodies() {
        let one = json!({"id": 1042, "tags": ["monitoring", "FDS-7f3a"], "subject": "x"});
        let t = parse_ticket(&one).unwrap();
        assert_eq!(t.id, 1042);
        assert!(t.has_tag("fds-7f3a") && !t.has_tag("fds-0000"));
        let list = json!([one, {"subject": "no id"}, {"id": 7}]);
        let ids: Vec<u64> = parse_tickets(&list).iter().map(|t| t.id).collect();
        assert_eq!(ids, vec![1042, 7]);
        assert!(parse_tickets(&json!({"not": "a list"})).is_empty());
    }
}
