//! `update_agent`: an existing agent's name, e-mail, job title, ticket scope, occasional flag,
//! roles or groups changed with one
//! `PUT agents/{id}` (the SCIM service's changes, and an undo putting the old values back).
//! Decided like every change: the agent's record is read and saved first (the before-image an
//! undo puts back), the durable `sending` mark, a typed answer, and a read-back before any resend.
//!
//! | answer                         | conclusion                                          |
//! |--------------------------------|-----------------------------------------------------|
//! | `Ok`                           | `updated`                                           |
//! | 404 (before or on the PUT)     | `not_found`: no agent with this id                  |
//! | 409 `duplicate_value`          | `failed` (another agent or contact has the e-mail)  |
//! | no answer, 502/504, unreadable | uncertain → `GET agents/{id}`: shows every field set → `updated`; else sent again |
//! | anything else                  | as [`otherwise`]                                    |

use super::Parts;
use super::decision::{Found, Next, done, otherwise, paused};
use super::ports::Api;
use crate::domain::{AgentEdit, Outcome};
use crate::freshdesk::{Answer, EndpointClass, agents};
use crate::journal::{self, OpRecord, OpResult};

/// A final `not_restorable`: an undo with no before-image to put back.
fn no_image(id: u64) -> Next {
    Next::Final(OpResult {
        outcome: Outcome::NotRestorable,
        freshdesk_id: Some(id),
        http_status: None,
        error_code: Some("no_before_image".into()),
        message: "no record of the agent was saved before the update; put the values back by hand".into(),
    })
}

fn not_found(id: u64) -> Next {
    done(Outcome::NotFound, Some(id), Some(404), "no agent with this id")
}

pub(super) async fn update_agent<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    id: u64,
    set: &AgentEdit,
) -> journal::Result<Next> {
    if set.is_empty() {
        return Ok(no_image(id));
    }
    // The grants guard, as before a `create_agent`: setting a protected role holds the file.
    if set.role_ids.is_some() {
        let Parts { journal, sender, cfg, gate, roles, .. } = parts;
        if let Err(reason) =
            gate.check_grants(op.file_id, &cfg.protected_roles, journal, sender, roles).await?
        {
            return Ok(Next::Hold { reason });
        }
    }
    let journal = &parts.journal;
    // 1. The before-image, once: a resend after a lookup keeps the first one.
    if journal.snapshot(op.file_id, op.row).await?.is_none() {
        let Some(reply) = parts.sender.send(EndpointClass::Other, |api| api.get_agent(id)).await else {
            return Ok(paused());
        };
        match &reply.answer {
            Answer::Ok { value, .. } => journal.record_lookup(op.id, id, Some(value.record.clone())).await?,
            Answer::NotFound => return Ok(not_found(id)),
            other => return Ok(otherwise(other, 0, false)),
        }
    }
    // 2. The change.
    let mark = journal.begin_attempt(op.id, true);
    let sent = parts.sender.send_change(EndpointClass::Other, mark, |api| api.update_agent(id, set));
    let Some((reply, sent_at)) = sent.await? else { return Ok(paused()) };
    Ok(match &reply.answer {
        Answer::Ok { status, .. } => done(Outcome::Updated, Some(id), Some(*status), ""),
        Answer::NotFound => not_found(id),
        other => otherwise(other, sent_at, true),
    })
}

/// Whether an uncertain update landed: the agent shows every field it set.
pub(super) async fn find_updated_agent<A: Api>(parts: &Parts<A>, id: u64, set: &AgentEdit) -> Found {
    let Some(reply) = parts.sender.send(EndpointClass::Other, |api| api.get_agent(id)).await else {
        return Found::paused();
    };
    match &reply.answer {
        Answer::Ok { value, status } => match agents::shows(&value.record, set) {
            Ok(true) => Found::Applied(Outcome::Updated, Some(id)),
            Ok(false) => Found::Absent,
            Err(why) => Found::Unknown {
                why: format!("HTTP {status} with an agent record that cannot be read: {why}"),
                wait: None,
                unreadable: true,
            },
        },
        // Gone: the resend's 404 says so.
        Answer::NotFound => Found::Absent,
        other => Found::unknown(other),
    }
}
