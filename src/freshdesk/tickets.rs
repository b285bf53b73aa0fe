//! Tickets: the create body (idempotency tag added, `external_id` never sent) and the ticket
//! read back from create and list answers (`id`, `tags`, `created_at`) and from show answers
//! (`id`, `deleted`: an undo's reconciliation), decoded strictly: a positive integer `id` or the
//! answer is unverifiable. Pure; the client sends.

use super::answer::Decode;
use crate::domain::NewTicket;
use serde::Deserialize;
use serde_json::Value;
use std::num::NonZeroU64;
use time::OffsetDateTime;

/// The part of a ticket fdsync reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub id: u64,
    pub tags: Vec<String>,
    /// `None` when absent or not RFC 3339.
    pub created_at: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
struct TicketDto {
    id: NonZeroU64,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    created_at: Option<String>,
}

impl From<TicketDto> for Ticket {
    fn from(t: TicketDto) -> Self {
        Ticket {
            id: t.id.get(),
            tags: t.tags.unwrap_or_default(),
            created_at: t.created_at.as_deref().and_then(super::agents::parse_time),
        }
    }
}

impl Ticket {
    /// Freshdesk matches tags case-insensitively (freshdesk-api.md §4).
    pub fn has_tag(&self, tag: &str) -> bool {
        self.tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }
}

/// `POST tickets`: the created ticket.
impl Decode for Ticket {
    fn decode(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice::<TicketDto>(body).map(Ticket::from).map_err(|e| format!("not a ticket ({e})"))
    }
}

/// `GET tickets?…`: one page, every item a ticket with an id (else the page proves nothing).
impl Decode for Vec<Ticket> {
    fn decode(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice::<Vec<TicketDto>>(body)
            .map(|items| items.into_iter().map(Ticket::from).collect())
            .map_err(|e| format!("not a list of tickets ({e})"))
    }
}

/// A ticket as `GET tickets/{id}` shows it: whether it is (soft-)deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketState {
    pub id: u64,
    /// `deleted: true`; absent or false means not deleted.
    pub deleted: bool,
}

#[derive(Deserialize)]
struct TicketStateDto {
    id: NonZeroU64,
    #[serde(default)]
    deleted: Option<bool>,
}

/// `GET tickets/{id}`.
impl Decode for TicketState {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let dto =
            serde_json::from_slice::<TicketStateDto>(body).map_err(|e| format!("not a ticket ({e})"))?;
        Ok(TicketState { id: dto.id.get(), deleted: dto.deleted.unwrap_or(false) })
    }
}

/// The JSON sent to `POST api/v2/tickets`: the ticket's fields, `custom_fields` as an object,
/// `tag` added to `tags` (once), and neither `external_id` (Freshdesk rejects it) nor
/// `date_format` (fdsync's own).
pub fn create_body(t: &NewTicket, tag: &str) -> Value {
    let mut body = serde_json::to_value(t).unwrap_or(Value::Null);
    let Some(map) = body.as_object_mut() else { return Value::Null };
    map.remove("external_id");
    map.remove("date_format");
    map.remove("attachments");
    let mut tags = t.tags.clone();
    if !tags.iter().any(|x| x.eq_ignore_ascii_case(tag)) {
        tags.push(tag.to_string());
    }
    map.insert("tags".into(), Value::from(tags));
    body
}

/// `GET contacts?…`: the ids of the matching contacts (each must have a positive id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactIds(pub Vec<u64>);

#[derive(Deserialize)]
struct ContactIdDto {
    id: NonZeroU64,
}

impl Decode for ContactIds {
    fn decode(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice::<Vec<ContactIdDto>>(body)
            .map(|items| ContactIds(items.into_iter().map(|c| c.id.get()).collect()))
            .map_err(|e| format!("not a list of contacts ({e})"))
    }
}

/// One page of `GET search/tickets`: how many match in all, and this page's hits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchPage {
    pub total: u64,
    pub hits: Vec<SearchHit>,
}

/// A ticket found by search: its id, the agent and group it is assigned to, and its custom
/// fields (a handover's preview checks those required for agents).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SearchHit {
    pub id: NonZeroU64,
    #[serde(default)]
    pub responder_id: Option<u64>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub custom_fields: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct SearchDto {
    total: u64,
    results: Vec<SearchHit>,
}

/// `GET search/tickets?query=`: `{"results": [...], "total": N}`, every hit with an id.
impl Decode for SearchPage {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(body).map_err(|_| "not UTF-8".to_string())?;
        let dto: SearchDto = serde_json::from_str(text).map_err(|e| format!("not a search answer ({e})"))?;
        Ok(SearchPage { total: dto.total, hits: dto.results })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Priority, Status};
    use serde_json::json;
    use std::collections::BTreeMap;

    fn ticket() -> NewTicket {
        NewTicket {
            email: Some(Email::parse("jane@example.com").unwrap()),
            phone: None,
            requester_id: None,
            unique_external_id: None,
            twitter_id: None,
            facebook_id: None,
            subject: "Disk full".into(),
            description: "<p>98%</p>".into(),
            priority: Priority::High,
            status: Status::Open,
            name: None,
            tags: vec!["monitoring".into()],
            ticket_type: Some("Incident".into()),
            group_id: None,
            responder_id: None,
            product_id: None,
            source: None,
            cc_emails: vec![],
            custom_fields: BTreeMap::from([("cf_host".to_string(), json!("db-07"))]),
            external_id: Some("MON-1".into()),
            attachments: vec![],
            date_format: Some("DD/MM/YYYY".into()),
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
    fn tickets_decode_from_create_and_list_bodies() {
        let one =
            br#"{"id": 1042, "tags": ["monitoring", "FDS-7f3a"], "created_at": "2025-03-03T10:20:00Z"}"#;
        let t = Ticket::decode(one).unwrap();
        assert_eq!(t.id, 1042);
        assert!(t.has_tag("fds-7f3a") && !t.has_tag("fds-0000"));
        assert!(t.created_at.is_some());
        let list = Vec::<Ticket>::decode(br#"[{"id": 7, "tags": null}, {"id": 8}]"#).unwrap();
        assert_eq!(list.iter().map(|t| t.id).collect::<Vec<_>>(), vec![7, 8]);
    }

    #[test]
    fn a_shown_ticket_says_whether_it_is_deleted_and_proves_nothing_without_an_id() {
        assert_eq!(
            TicketState::decode(br#"{"id": 5, "deleted": true}"#),
            Ok(TicketState { id: 5, deleted: true })
        );
        assert!(!TicketState::decode(br#"{"id": 5, "subject": "s"}"#).unwrap().deleted);
        assert!(TicketState::decode(br#"{"id": 5, "deleted": "yes"}"#).is_err());
        assert!(TicketState::decode(br#"{"deleted": true}"#).is_err());
    }

    #[test]
    fn a_ticket_without_a_positive_integer_id_proves_nothing() {
        for body in [
            &br#"{"subject": "no id"}"#[..],
            br#"{"id": "1042"}"#,
            br#"{"id": -1}"#,
            br#"{"id": 0}"#,
            br#"{"id": 10.5}"#,
            br#"{"id": 1042"#,
            b"<html>OK</html>",
            b"",
        ] {
            assert!(Ticket::decode(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        assert!(Vec::<Ticket>::decode(br#"[{"id": 1}, {"subject": "x"}]"#).is_err());
        assert!(Vec::<Ticket>::decode(br#"{"not": "a list"}"#).is_err());
        assert!(Vec::<Ticket>::decode(br#"[{"id": 1},"#).is_err());
    }

    #[test]
    fn a_search_page_has_a_total_and_hits_with_ids() {
        let body = br#"{"results": [{"id": 3, "responder_id": 7, "status": 2}, {"id": 4, "responder_id": null}], "total": 42}"#;
        let page = SearchPage::decode(body).unwrap();
        assert_eq!(page.total, 42);
        assert_eq!(page.hits.iter().map(|h| h.responder_id).collect::<Vec<_>>(), vec![Some(7), None]);
        assert!(SearchPage::decode(br#"{"results": []}"#).is_err(), "no total proves nothing");
        assert!(SearchPage::decode(br#"{"results": [{"id": 0}], "total": 1}"#).is_err());
    }
}
