//! The two changes an undo makes (`fdsync undo`), decided like every other op: the durable
//! `sending` mark before the request, a typed answer, and a lookup before any resend. Also the
//! delete's side of an undo: the record saved before a delete must be a full one (role and group
//! ids), which a listing does not give.
//!
//! | answer                         | restore an agent (`make_agent`)     | delete a ticket               |
//! |--------------------------------|-------------------------------------|-------------------------------|
//! | `Ok`                           | `restored`                          | `deleted`                     |
//! | 404                            | `not_restorable` `hard_deleted`     | `not_restorable` `gone`       |
//! | 409                            | `not_restorable` `already_agent`    | (as any other answer)         |
//! | 400 `incompatible_value`       | `not_restorable` `seat_limit`       | (as any other answer)         |
//! | 405                            | (as any other answer)               | `already_deleted`             |
//! | no answer, 502/504, unreadable | uncertain → looked up               | uncertain → looked up         |
//! | anything else                  | as [`otherwise`]                    | as [`otherwise`]              |
//!
//! Reconciliation: `GET agents/{id}` an agent with the before-image's roles → `restored`; not an
//! agent (404) or one with other roles → absent, sent again (a resend cannot restore twice: an
//! agent answers 409). `GET tickets/{id}` with `deleted: true` → `deleted`; else absent.

use super::Parts;
use super::decision::{Found, Next, done, otherwise, paused};
use super::ports::Api;
use crate::domain::{Outcome, Restore};
use crate::freshdesk::{Answer, EndpointClass, agents};
use crate::journal::{self, OpRecord, OpResult};
use std::collections::BTreeSet;

/// A final `not_restorable` with its reason's code.
fn not_restorable(id: u64, status: Option<u16>, code: &str, message: impl Into<String>) -> Next {
    Next::Final(OpResult {
        outcome: Outcome::NotRestorable,
        freshdesk_id: Some(id),
        http_status: status,
        error_code: Some(code.into()),
        message: message.into(),
    })
}

/// `make_agent` with the before-image; `image` `None`: nothing usable was saved, nothing is sent.
pub(super) async fn restore_agent<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    id: u64,
    image: Option<&Restore>,
) -> journal::Result<Next> {
    let Some(image) = image else {
        let why = "no before-image (role and group ids) was saved before the delete; restore it by hand";
        return Ok(not_restorable(id, None, "no_before_image", why));
    };
    // Restored already by this undo (its answer, or a lookup, said so): give its tickets back.
    if super::give_back::restored_already(parts, op).await? {
        return super::give_back::give_back(parts, op, id).await;
    }
    let mark = parts.journal.begin_attempt(op.id, true);
    let sent = parts.sender.send_change(EndpointClass::Other, mark, |api| api.make_agent(id, image));
    let Some((reply, sent_at)) = sent.await? else { return Ok(paused()) };
    Ok(match &reply.answer {
        Answer::Ok { .. } if super::give_back::has_moves(parts, op).await? => {
            super::give_back::open(parts, op).await?;
            super::give_back::give_back(parts, op, id).await?
        }
        Answer::Ok { status, value } => done(Outcome::Restored, Some(value.id), Some(*status), ""),
        Answer::NotFound => not_restorable(
            id,
            Some(404),
            "hard_deleted",
            "no contact with this id: it was hard-deleted (cannot be undone)",
        ),
        Answer::Conflict { .. } => {
            not_restorable(id, Some(409), "already_agent", "the contact is an agent already; nothing changed")
        }
        Answer::Invalid { status: 400, errors, .. }
            if errors.iter().any(|e| e.code == "incompatible_value") =>
        {
            let (_, why) = reply.answer.describe();
            not_restorable(id, Some(400), "seat_limit", format!("no agent seat is free: {why}"))
        }
        other => otherwise(other, sent_at, true),
    })
}

/// `DELETE tickets/{id}` (a soft delete).
pub(super) async fn delete_ticket<A: Api>(parts: &Parts<A>, op: &OpRecord, id: u64) -> journal::Result<Next> {
    let mark = parts.journal.begin_attempt(op.id, true);
    let sent = parts.sender.send_change(EndpointClass::Other, mark, |api| api.delete_ticket(id));
    let Some((reply, sent_at)) = sent.await? else { return Ok(paused()) };
    Ok(match &reply.answer {
        Answer::Ok { status, .. } => done(Outcome::Deleted, Some(id), Some(*status), ""),
        Answer::Invalid { status: 405, .. } => {
            done(Outcome::AlreadyDeleted, Some(id), Some(405), "already deleted")
        }
        Answer::NotFound => not_restorable(id, Some(404), "gone", "no ticket with this id any more"),
        other => otherwise(other, sent_at, true),
    })
}

/// Whether an uncertain restore landed: the agent is there with the before-image's roles.
pub(super) async fn find_restored_agent<A: Api>(parts: &Parts<A>, id: u64, image: &Restore) -> Found {
    let Some(reply) = parts.sender.send(EndpointClass::Other, |api| api.get_agent(id)).await else {
        return Found::paused();
    };
    match &reply.answer {
        Answer::Ok { value, status } => match agents::before_image(&value.record) {
            Ok(now) if same_ids(&now.role_ids, &image.role_ids) => {
                Found::Applied(Outcome::Restored, Some(id))
            }
            // Not ours (or changed since): sending again cannot restore twice, an agent gets 409.
            Ok(_) => Found::Absent,
            Err(why) => Found::Unknown {
                why: format!("HTTP {status} with an agent record that cannot be read: {why}"),
                wait: None,
                unreadable: true,
            },
        },
        // Still a contact (or gone: the resend's 404 says so).
        Answer::NotFound => Found::Absent,
        other => Found::unknown(other),
    }
}

/// Whether an uncertain ticket delete landed: the ticket shows `deleted: true`.
pub(super) async fn find_deleted_ticket<A: Api>(parts: &Parts<A>, id: u64) -> Found {
    let Some(reply) = parts.sender.send(EndpointClass::Other, |api| api.get_ticket(id)).await else {
        return Found::paused();
    };
    match &reply.answer {
        Answer::Ok { value, .. } if value.deleted => Found::Applied(Outcome::Deleted, Some(id)),
        Answer::Ok { .. } | Answer::NotFound => Found::Absent,
        other => Found::unknown(other),
    }
}

fn same_ids(a: &[u64], b: &[u64]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}
