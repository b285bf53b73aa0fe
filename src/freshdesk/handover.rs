//! Offboarding's handover, as Freshdesk sees it: who holds a ticket (`responder_id`,
//! `group_id`, read back from `PUT` and `GET tickets/{id}`), the body that moves one
//! (`PUT tickets/{id}`: `responder_id`, or `group_id` with `responder_id: null`), and the
//! account's groups (`GET groups`). Decoded strictly: a positive integer `id` or the answer proves
//! nothing. Pure; the client sends.

use super::answer::Decode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::num::NonZeroU64;

/// Who a ticket is with: its agent and group (either may be unset), and whether it is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub responder_id: Option<u64>,
    pub group_id: Option<u64>,
}

/// A ticket as `PUT`/`GET tickets/{id}` answers it, the part a handover reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldTicket {
    pub id: u64,
    pub holder: Holder,
    pub deleted: bool,
}

#[derive(Deserialize)]
struct HeldDto {
    id: NonZeroU64,
    #[serde(default)]
    responder_id: Option<u64>,
    #[serde(default)]
    group_id: Option<u64>,
    #[serde(default)]
    deleted: Option<bool>,
}

impl Decode for HeldTicket {
    fn decode(body: &[u8]) -> Result<Self, String> {
        let d = serde_json::from_slice::<HeldDto>(body).map_err(|e| format!("not a ticket ({e})"))?;
        let holder = Holder { responder_id: d.responder_id, group_id: d.group_id };
        Ok(HeldTicket { id: d.id.get(), holder, deleted: d.deleted.unwrap_or(false) })
    }
}

/// The body that gives a ticket to `to`: the agent (and the group, when one is given), or the
/// group with no agent (`"responder_id": null` unassigns; facts file §9).
pub fn move_body(to: &Holder) -> Value {
    match (to.responder_id, to.group_id) {
        (Some(agent), Some(group)) => json!({ "responder_id": agent, "group_id": group }),
        (Some(agent), None) => json!({ "responder_id": agent }),
        (None, group) => json!({ "responder_id": null, "group_id": group }),
    }
}

/// One of the account's groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: u64,
    pub name: String,
}

#[derive(Deserialize)]
struct GroupDto {
    id: NonZeroU64,
    name: String,
}

/// `GET groups`: a page of groups, every item with an id and a name.
impl Decode for Vec<Group> {
    fn decode(body: &[u8]) -> Result<Self, String> {
        serde_json::from_slice::<Vec<GroupDto>>(body)
            .map(|v| v.into_iter().map(|g| Group { id: g.id.get(), name: g.name }).collect())
            .map_err(|e| format!("not a list of groups ({e})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_move_names_the_agent_or_the_group_without_an_agent() {
        let agent = Holder { responder_id: Some(7), group_id: None };
        assert_eq!(move_body(&agent), json!({"responder_id": 7}));
        let group = Holder { responder_id: None, group_id: Some(9) };
        assert_eq!(move_body(&group), json!({"responder_id": null, "group_id": 9}));
        let both = Holder { responder_id: Some(7), group_id: Some(9) };
        assert_eq!(move_body(&both), json!({"responder_id": 7, "group_id": 9}));
    }

    #[test]
    fn a_held_ticket_needs_an_id_and_groups_need_names() {
        let t = HeldTicket::decode(br#"{"id": 5, "responder_id": null, "group_id": 3}"#).unwrap();
        assert_eq!(t.holder, Holder { responder_id: None, group_id: Some(3) });
        assert!(!t.deleted);
        assert!(HeldTicket::decode(br#"{"id": 0}"#).is_err());
        assert!(<Vec<Group>>::decode(br#"[{"id": 1, "name": "Tier 1"}]"#).unwrap()[0].name == "Tier 1");
        assert!(<Vec<Group>>::decode(br#"[{"id": 1}]"#).is_err());
    }
}
