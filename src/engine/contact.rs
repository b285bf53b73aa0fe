//! The two changes of a SCIM user provisioned inactive: `create_contact` (`POST contacts`: the
//! person without an agent seat) and, when the identity provider activates it,
//! `activate_contact` (`PUT contacts/{id}/make_agent` with the roles, groups, scope and
//! occasional it was provisioned with). Neither can come from a dropped file: intake and inbox
//! powers know only the four row actions ([`crate::domain::Action`]'s `FromStr`).
//!
//! | answer                         | create_contact                            | activate_contact                 |
//! |--------------------------------|-------------------------------------------|----------------------------------|
//! | `Ok`                           | `created` + the contact id                | `created` (an agent, same id)    |
//! | 409                            | `GET contacts?email=`: a contact → `exists` + its id; none (an agent has the e-mail) → `failed` | `not_restorable` `already_agent` |
//! | 404, 400 `incompatible_value`  | (as any other answer)                     | `not_restorable` (`hard_deleted`, `seat_limit`) |
//! | no answer, 502/504, unreadable | uncertain → `GET contacts?email=`: found → `created`; none → sent again | uncertain → `GET agents/{id}`: an agent → `created`; 404 → sent again |
//! | anything else                  | as [`otherwise`]                          | as [`otherwise`]                 |
//!
//! An activation is a privileged creation: it passes the grants guard first (a protected role
//! holds its file, as a `create_agent` row's would).

use super::Parts;
use super::decision::{Found, Next, done, otherwise, paused};
use super::ports::Api;
use crate::domain::{NewContact, Outcome, Restore};
use crate::freshdesk::{Answer, EndpointClass};
use crate::journal::{self, OpRecord};

pub(super) async fn create_contact<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    c: &NewContact,
) -> journal::Result<Next> {
    let mark = parts.journal.begin_attempt(op.id, true);
    let sent = parts.sender.send_change(EndpointClass::Other, mark, |api| api.create_contact(c));
    let Some((reply, sent_at)) = sent.await? else { return Ok(paused()) };
    Ok(match &reply.answer {
        Answer::Ok { status, value } => done(Outcome::Created, Some(value.id), Some(*status), ""),
        // Someone has the e-mail: a contact (ours from a lost answer, or one Freshdesk already
        // had) is the person; an agent is not.
        Answer::Conflict { .. } => match find_contact(parts, c.email.as_str()).await {
            Found::Applied(_, id) => {
                done(Outcome::Exists, id, Some(409), "a contact with this e-mail exists")
            }
            Found::Absent => otherwise(&reply.answer, sent_at, true),
            Found::Unknown { why, .. } => Next::Retry {
                refund: false,
                delay: std::time::Duration::ZERO,
                code: Some("conflict_unresolved".into()),
                message: format!("409 on the e-mail, and the contact cannot be looked up: {why}"),
                http_status: Some(409),
            },
        },
        other => otherwise(other, sent_at, true),
    })
}

/// Whether a contact with this e-mail exists (a lost create landed): `GET contacts?email=`.
pub(super) async fn find_contact<A: Api>(parts: &Parts<A>, email: &str) -> Found {
    let found = parts.sender.send(EndpointClass::ContactsList, |api| api.find_contact_by_email(email)).await;
    let Some(reply) = found else { return Found::paused() };
    match reply.answer {
        Answer::Ok { value: Some(id), .. } => Found::Applied(Outcome::Created, Some(id)),
        Answer::Ok { value: None, .. } => Found::Absent,
        other => Found::unknown(&other),
    }
}

/// `make_agent` with what the user was provisioned with, once the grants guard lets it.
pub(super) async fn activate_contact<A: Api>(
    parts: &Parts<A>,
    op: &OpRecord,
    id: u64,
    image: &Restore,
) -> journal::Result<Next> {
    let Parts { journal, sender, cfg, gate, roles, .. } = parts;
    if let Err(reason) = gate.check_grants(op.file_id, &cfg.protected_roles, journal, sender, roles).await? {
        return Ok(Next::Hold { reason });
    }
    let next = super::undo::restore_agent(parts, op, id, Some(image)).await?;
    Ok(match next {
        Next::Final(mut result) if result.outcome == Outcome::Restored => {
            result.outcome = Outcome::Created;
            Next::Final(result)
        }
        other => other,
    })
}

/// Whether a lost activation landed: the contact fdsync created is an agent now (whoever made
/// it one, the person has their seat; a resend could only answer 409).
pub(super) async fn find_activated<A: Api>(parts: &Parts<A>, id: u64) -> Found {
    let Some(reply) = parts.sender.send(EndpointClass::Other, |api| api.get_agent(id)).await else {
        return Found::paused();
    };
    match &reply.answer {
        Answer::Ok { .. } => Found::Applied(Outcome::Created, Some(id)),
        Answer::NotFound => Found::Absent,
        other => Found::unknown(other),
    }
}
